package pebble

import (
	"encoding/binary"
	"errors"
	"time"
)

// Keyspaces: the first byte of every key (see core/store's doc.go for the
// whole layout).
const (
	kindVersion  = 'V' // V → format version, decimal ASCII
	kindSession  = 'S' // S client → SessionRecord
	kindSub      = 'U' // U client filter → SubOptions
	kindAwaiting = 'A' // A client pid(2) → time the PUBLISH arrived
	kindQueue    = 'Q' // Q client seq(8) → queued entry
	kindInflight = 'I' // I client seq(8) → QoS 2 inflight entry
	kindBody     = 'M' // M msgid(8) → shared message body
	kindRetained = 'R' // R topic → retained message
	kindDelayed  = 'D' // D due-unixnano(8) msgid(8) → delayed message
)

// formatVersion is the data layout this code reads and writes.
const formatVersion = 1

var versionKey = []byte{kindVersion}

var errBadKey = errors.New("malformed key")

// clientPrefix appends kind, the client id's length (uvarint) and the id:
// uvarint is prefix-free, so one client's prefix is never a prefix of
// another's keys.
func clientPrefix(dst []byte, kind byte, clientID string) []byte {
	dst = append(dst, kind)
	dst = binary.AppendUvarint(dst, uint64(len(clientID)))
	return append(dst, clientID...)
}

func seqKey(dst []byte, kind byte, clientID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(clientPrefix(dst, kind, clientID), seq)
}

func subKey(clientID, filter string) []byte {
	return append(clientPrefix(nil, kindSub, clientID), filter...)
}

func awaitingKey(clientID string, pid uint16) []byte {
	return binary.BigEndian.AppendUint16(clientPrefix(nil, kindAwaiting, clientID), pid)
}

func bodyKey(dst []byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, kindBody), id)
}

func retainedKey(topic string) []byte {
	return append([]byte{kindRetained}, topic...)
}

// delayedKey orders delayed messages by due time; times before 1970 (never
// due in the future) sort first.
func delayedKey(due time.Time, id uint64) []byte {
	n := due.UnixNano()
	if n < 0 {
		n = 0
	}
	k := binary.BigEndian.AppendUint64([]byte{kindDelayed}, uint64(n))
	return binary.BigEndian.AppendUint64(k, id)
}

// splitClient parses kind+len+client from k and returns the client id (a
// subslice of k) and the rest.
func splitClient(k []byte) (client, rest []byte, err error) {
	if len(k) < 1 {
		return nil, nil, errBadKey
	}
	n, w := binary.Uvarint(k[1:])
	if w <= 0 || n > uint64(len(k)-1-w) {
		return nil, nil, errBadKey
	}
	start := 1 + w
	return k[start : start+int(n)], k[start+int(n):], nil
}

// prefixEnd is the smallest key greater than every key starting with p (nil
// when there is none: p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
