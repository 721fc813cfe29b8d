package sensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/manifold-iot/manifold/adapters/raw"
	rawcodec "github.com/manifold-iot/manifold/codec/raw"
	"github.com/manifold-iot/manifold/core"
)

// Name is the handler's registered name.
const Name = "sensor"

// Frame types.
const (
	TypeHello    byte = 0x01
	TypeReading  byte = 0x02
	TypeCmd      byte = 0x03
	TypePing     byte = 0x04
	TypeHelloAck byte = 0x81
	TypePong     byte = 0x84
	TypeError    byte = 0x7F
)

// Timing of the protocol.
const (
	HelloTimeout = 10 * time.Second // a device must say HELLO by then
	Keepalive    = 120 * time.Second
)

// Errors a sensor connection closes with.
var (
	ErrNoHello  = errors.New("sensor: no HELLO within the hello timeout")
	ErrBadFrame = errors.New("sensor: bad frame")
	ErrRefused  = errors.New("sensor: HELLO refused")
)

func init() { raw.Register(Name, New) }

// New makes the handler of one connection.
func New() raw.Handler { return &handler{} }

// Config is the raw listener configuration the protocol needs: 2-byte
// big-endian length framing and this handler.
func Config() raw.Config {
	c := raw.DefaultConfig()
	c.Handler = Name
	c.Framing = rawcodec.Config{Type: rawcodec.TypeLength, LengthBytes: 2, Endian: "big", MaxLength: 1024}
	return c
}

// handler is one device's connection state.
type handler struct {
	id string // "" until HELLO
}

func (h *handler) OnConnect(c raw.Conn) error {
	c.StartTimer("hello", HelloTimeout)
	return nil
}

func (h *handler) OnFrame(c raw.Conn, f []byte) {
	if len(f) == 0 {
		h.fail(c, "empty frame")
		return
	}
	switch typ, body := f[0], f[1:]; {
	case typ == TypeHello:
		h.hello(c, body)
	case h.id == "":
		h.fail(c, fmt.Sprintf("frame type 0x%02x before HELLO", typ))
	case typ == TypeReading:
		h.reading(c, body)
	case typ == TypePing:
		c.Send([]byte{TypePong})
	default:
		h.fail(c, fmt.Sprintf("unknown frame type 0x%02x", typ))
	}
}

// hello authenticates the device and subscribes its command topic.
func (h *handler) hello(c raw.Conn, body []byte) {
	if h.id != "" {
		h.fail(c, "second HELLO")
		return
	}
	id, password, _ := bytes.Cut(body, []byte{0})
	if len(id) == 0 || len(id) > 64 {
		h.fail(c, "HELLO client id must be 1-64 bytes")
		return
	}
	if err := c.Authenticate(string(id), string(id), password); err != nil {
		c.Log(c.Logger().Info()).Err(err).Msg("sensor_hello_refused")
		c.Send([]byte{TypeHelloAck, 1})
		c.Close(fmt.Errorf("%w: %w", ErrRefused, err))
		return
	}
	h.id = string(id)
	c.StartTimer("hello", 0)
	c.SetKeepalive(Keepalive)
	if err := c.Subscribe("sensors/"+h.id+"/cmd", core.QoS1); err != nil {
		c.Log(c.Logger().Warn()).Err(err).Msg("sensor_subscribe_failed")
	}
	c.Send([]byte{TypeHelloAck, 0})
}

// reading publishes one measurement as JSON.
func (h *handler) reading(c raw.Conn, body []byte) {
	if len(body) != 5 {
		h.fail(c, fmt.Sprintf("READING body is 5 bytes, got %d", len(body)))
		return
	}
	milli := int32(binary.BigEndian.Uint32(body[1:]))
	payload := fmt.Appendf(nil, `{"sensor":%d,"value":%s}`, body[0], strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64))
	if err := c.Publish("sensors/"+h.id+"/reading", payload, core.QoS0, false); err != nil {
		c.Log(c.Logger().Info()).Err(err).Msg("sensor_publish_failed")
	}
}

// OnMessage turns a command into a CMD frame.
func (h *handler) OnMessage(c raw.Conn, m *core.Message) {
	c.Send(append([]byte{TypeCmd}, m.Payload...))
}

func (h *handler) OnTimer(c raw.Conn, name string) {
	if name == "hello" && h.id == "" {
		c.Log(c.Logger().Info()).Msg("sensor_hello_timeout")
		c.Send(append([]byte{TypeError}, "no HELLO"...))
		c.Close(ErrNoHello)
	}
}

func (h *handler) OnClose(raw.Conn, error) {}

// fail answers ERROR and closes: the device broke the protocol.
func (h *handler) fail(c raw.Conn, why string) {
	c.Log(c.Logger().Warn()).Str("cause", why).Msg("sensor_bad_frame")
	c.Send(append([]byte{TypeError}, why...))
	c.Close(fmt.Errorf("%w: %s", ErrBadFrame, why))
}

// Hello is a HELLO body, for devices and tests.
func Hello(id, password string) []byte {
	b := append([]byte{TypeHello}, id...)
	if password != "" {
		b = append(append(b, 0), password...)
	}
	return b
}

// Reading is a READING body: value in thousandths (21500 is 21.5).
func Reading(sensor uint8, milli int32) []byte {
	return binary.BigEndian.AppendUint32([]byte{TypeReading, sensor}, uint32(milli))
}
