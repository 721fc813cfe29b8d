package core

import "errors"

// ErrBanned is the authentication error of a client on the banned list
// (client id, username or address). Adapters answer it with their
// protocol's "banned" (MQTT 5 CONNACK 0x8A, MQTT 3 return code 5).
var ErrBanned = errors.New("core: client banned")
