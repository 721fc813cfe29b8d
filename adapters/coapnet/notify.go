package coapnet

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
)

// ErrNotifyClosed is returned by Notify after Shutdown.
var ErrNotifyClosed = errors.New("coapnet: server shut down")

// Outcome is how a confirmable notification ended.
type Outcome uint8

// The outcomes of a confirmable notification.
const (
	Acked    Outcome = iota // the observer acknowledged it
	Reset                   // the observer answered RST: it no longer observes (RFC 7641 §3.6)
	TimedOut                // no answer after MAX_RETRANSMIT retransmissions (RFC 7252 §4.2)
)

// String names the outcome for logs.
func (o Outcome) String() string {
	switch o {
	case Acked:
		return "acked"
	case Reset:
		return "reset"
	}
	return "timed_out"
}

// Notification is one observe notification (RFC 7641 §4.2).
type Notification struct {
	Token       []byte
	Observe     uint32     // the sequence number; only its low 24 bits are sent
	Code        codes.Code // 0 means 2.05 Content
	Format      int        // content format; < 0 sends none
	ETag        []byte     // optional; lets a Block2 continuation be checked (RFC 7959 §2.4)
	Payload     []byte
	Confirmable bool
}

// Notify sends n to cc. A representation larger than one block goes as its
// first block with Block2 and Size2; the observer fetches the rest with GET
// and Block2 (RFC 7959 §3.4), which the Handler answers with the same
// representation. For a confirmable notification, done is called exactly
// once with the outcome, from another goroutine; for a non-confirmable one it
// is not called. Notify does not block.
func (s *Server) Notify(cc *Conn, n Notification, done func(Outcome)) error {
	msg := cc.AcquireMessage(context.Background())
	code := n.Code
	if code == 0 {
		code = codes.Content
	}
	msg.SetCode(code)
	msg.SetToken(n.Token)
	msg.SetObserve(n.Observe & 0xFFFFFF)
	if len(n.ETag) > 0 {
		_ = msg.SetETag(n.ETag)
	}
	if n.Format >= 0 {
		msg.SetContentFormat(message.MediaType(n.Format))
	}
	body := n.Payload
	if bs := int(s.opts.szx().Size()); len(body) > bs {
		v, _ := blockwise.EncodeBlockOption(s.opts.szx(), 0, true)
		msg.SetOptionUint32(message.Block2, v)
		msg.SetOptionUint32(message.Size2, uint32(len(body)))
		body = body[:bs]
	}
	if len(body) > 0 {
		msg.SetBody(bytes.NewReader(body))
	}
	mid := cc.GetMessageID()
	msg.SetMessageID(mid)
	if !n.Confirmable {
		msg.SetType(message.NonConfirmable)
		err := cc.Session().WriteMessage(msg)
		cc.ReleaseMessage(msg)
		return err
	}
	msg.SetType(message.Confirmable)
	return s.notes.send(cc, mid, msg, done)
}

// noteKey identifies a confirmable message we sent by the peer's address and
// the message id: the address, not the go-coap Conn, because go-coap may
// replace the Conn of a UDP peer that was idle while the notification was
// outstanding.
type noteKey struct {
	peer string
	mid  int32
}

type note struct {
	wmu      sync.Mutex // serialises writes of msg (its body reader) and its release
	cc       *Conn
	msg      *pool.Message
	done     func(Outcome)
	timer    *time.Timer
	attempts int
	timeout  time.Duration
}

// notes are the confirmable notifications awaiting ACK or RST.
type notes struct {
	s      *Server
	mu     sync.Mutex
	m      map[noteKey]*note // guarded by mu
	closed bool              // guarded by mu
}

func (ns *notes) init(s *Server) {
	ns.s = s
	ns.m = make(map[noteKey]*note)
}

func keyOf(cc *Conn, mid int32) noteKey {
	return noteKey{peer: Listener(cc) + "|" + cc.RemoteAddr().String(), mid: mid}
}

func (ns *notes) send(cc *Conn, mid int32, msg *pool.Message, done func(Outcome)) error {
	k := keyOf(cc, mid)
	n := &note{cc: cc, msg: msg, done: done, timeout: ns.s.opts.AckTimeout}
	ns.mu.Lock()
	if ns.closed {
		ns.mu.Unlock()
		cc.ReleaseMessage(msg)
		return ErrNotifyClosed
	}
	ns.m[k] = n
	n.wmu.Lock()
	n.timer = time.AfterFunc(n.timeout, func() { ns.retransmit(k, n) })
	ns.mu.Unlock()
	err := cc.Session().WriteMessage(msg)
	n.wmu.Unlock()
	if err != nil {
		ns.s.log.Debug().Err(err).Msg("coap_write_failed") // retransmitted, then timed out
	}
	return nil
}

// retransmit resends a notification with the timeout doubled, or gives up
// after MaxRetransmit attempts (RFC 7252 §4.2).
func (ns *notes) retransmit(k noteKey, n *note) {
	ns.mu.Lock()
	if ns.m[k] != n {
		ns.mu.Unlock()
		return
	}
	if n.attempts >= ns.s.opts.MaxRetransmit {
		delete(ns.m, k)
		ns.mu.Unlock()
		n.release()
		n.done(TimedOut)
		return
	}
	n.attempts++
	n.timeout *= 2
	n.timer = time.AfterFunc(n.timeout, func() { ns.retransmit(k, n) })
	n.wmu.Lock()
	ns.mu.Unlock()
	err := n.cc.Session().WriteMessage(n.msg)
	n.wmu.Unlock()
	if err != nil {
		ns.s.log.Debug().Err(err).Msg("coap_write_failed")
	}
}

// complete ends a notification on the peer's ACK or RST; it reports false
// when mid is not one of ours.
func (ns *notes) complete(cc *Conn, mid int32, reset bool) bool {
	k := keyOf(cc, mid)
	ns.mu.Lock()
	n := ns.m[k]
	if n == nil {
		ns.mu.Unlock()
		return false
	}
	delete(ns.m, k)
	n.timer.Stop()
	ns.mu.Unlock()
	n.release()
	if reset {
		n.done(Reset)
	} else {
		n.done(Acked)
	}
	return true
}

// release returns the message to the pool once no write uses it.
func (n *note) release() {
	n.wmu.Lock()
	n.cc.ReleaseMessage(n.msg)
	n.msg = nil
	n.wmu.Unlock()
}

func (ns *notes) close() {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.closed = true
	for k, n := range ns.m {
		n.timer.Stop()
		delete(ns.m, k)
	}
}

// Pending is the number of confirmable notifications awaiting an answer.
func (s *Server) Pending() int {
	s.notes.mu.Lock()
	defer s.notes.mu.Unlock()
	return len(s.notes.m)
}
