package bench

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/manifold-iot/manifold/codec/mqtt"
)

// publisher is one publishing client.
type publisher struct {
	cl    *client
	id    uint32 // publisher id in the payload
	topic string
	qos   byte
	count uint64        // messages to send; 0 = until stopped
	every time.Duration // pacing: one message per every; 0 = no pacing
	phase time.Duration // offset of this publisher's schedule, so paced publishers take turns instead of bursting together
	magic uint32

	free     chan uint16   // packet ids not in flight: the QoS 1/2 window
	sent     atomic.Uint64 // written to the socket (see client.pending)
	acked    atomic.Uint64
	rejected atomic.Uint64 // v5 acks with a failure reason code
	stalled  atomic.Bool   // gave up waiting for the window
	lastAck  atomic.Int64
	readErr  atomic.Pointer[error]
	done     chan struct{} // closed when the ack reader ends
}

// run publishes until count, stop, or a stalled window. stall bounds the wait
// for a free packet id.
func (p *publisher) run(start time.Time, stop *atomic.Bool, stopCh <-chan struct{}, stall time.Duration, size int, version byte) {
	pay := NewPayload(size, Header{Magic: p.magic, Publisher: p.id})
	pkt, err := mqtt.Encode(nil, &mqtt.Publish{QoS: p.qos, Topic: p.topic, PacketID: 1, Payload: pay}, version)
	if err != nil {
		return // topics were validated by Parse; nothing else can fail
	}
	payload := pkt[len(pkt)-size:]
	p.cl.mu.Lock()
	p.cl.sent, p.cl.pktLen = &p.sent, len(pkt)
	p.cl.mu.Unlock()
	// Fixed header: type byte, then the remaining length (1..4 bytes, MSB
	// continuation); the packet id follows the topic (MQTT 5.0 §3.3.2).
	hdr := 2
	for pkt[hdr-1]&0x80 != 0 {
		hdr++
	}
	pidOff := hdr + 2 + len(p.topic)
	var stallTimer *time.Timer
	defer func() {
		if stallTimer != nil {
			stallTimer.Stop()
		}
		_ = p.cl.flush()
	}()
	for seq := uint64(0); p.count == 0 || seq < p.count; seq++ {
		if stop.Load() {
			return
		}
		if p.every > 0 {
			next := start.Add(time.Duration(seq)*p.every + p.phase)
			if d := time.Until(next); d > 0 {
				if p.cl.flush() != nil {
					return
				}
				select {
				case <-time.After(d):
				case <-stopCh:
					return
				}
			}
		}
		if p.qos > 0 {
			var id uint16
			select {
			case id = <-p.free:
			default:
				if p.cl.flush() != nil {
					return
				}
				if stallTimer == nil {
					stallTimer = time.NewTimer(stall)
				} else {
					stallTimer.Reset(stall)
				}
				select {
				case id = <-p.free:
				case <-stopCh:
					return
				case <-p.done:
					return
				case <-stallTimer.C:
					p.stalled.Store(true)
					return
				}
				stallTimer.Stop()
			}
			binary.BigEndian.PutUint16(pkt[pidOff:], id)
		}
		PutSeq(payload, seq, time.Now().UnixNano())
		if p.cl.writePublish(pkt) != nil {
			return
		}
	}
}

// readAcks handles PUBACK, PUBREC (answered with PUBREL) and PUBCOMP until
// the connection closes.
func (p *publisher) readAcks() {
	defer close(p.done)
	pending := false
	var lastDisc *mqtt.Disconnect
	for {
		if pending && !p.cl.buffered() {
			_ = p.cl.flush()
			pending = false
		}
		pk, err := p.cl.readPacket()
		if err != nil {
			if err = p.cl.readError(err, lastDisc); err != nil {
				p.readErr.Store(&err)
			}
			return
		}
		switch a := pk.(type) {
		case *mqtt.Disconnect:
			d := *a
			lastDisc = &d
		case *mqtt.Puback:
			p.ack(a.PacketID, a.ReasonCode)
		case *mqtt.Pubrec:
			if a.ReasonCode >= 0x80 { // MQTT 5.0 §4.3.3: a failed PUBREC ends the exchange
				p.ack(a.PacketID, a.ReasonCode)
				continue
			}
			rel := ackPacket(mqtt.TypePubrel, a.PacketID)
			_ = p.cl.write(rel[:])
			pending = true
		case *mqtt.Pubcomp:
			p.ack(a.PacketID, a.ReasonCode)
		}
	}
}

func (p *publisher) ack(id uint16, rc mqtt.ReasonCode) {
	if rc >= 0x80 {
		p.rejected.Add(1)
	}
	p.acked.Add(1)
	p.lastAck.Store(time.Now().UnixNano())
	select {
	case p.free <- id:
	default: // an id acknowledged twice: the window is already full
	}
}

// subscriber is one subscribing client.
type subscriber struct {
	cl     *client
	filter string
	magic  uint32
	hist   Histogram
	track  Tracker

	recv     atomic.Uint64 // bench messages received, duplicates included
	unique   atomic.Uint64
	dup      atomic.Uint64
	ooo      atomic.Uint64
	foreign  atomic.Uint64 // PUBLISHes without our header
	lastRecv atomic.Int64
	readErr  atomic.Pointer[error]
	done     chan struct{}
}

// run receives until the connection closes, answering QoS 1 and 2 and
// batching the answers until the read buffer is empty.
func (s *subscriber) run() {
	defer close(s.done)
	pending := false
	var lastDisc *mqtt.Disconnect
	for {
		if pending && !s.cl.buffered() {
			_ = s.cl.flush()
			pending = false
		}
		pk, err := s.cl.readPacket()
		if err != nil {
			if err = s.cl.readError(err, lastDisc); err != nil {
				s.readErr.Store(&err)
			}
			return
		}
		switch m := pk.(type) {
		case *mqtt.Disconnect:
			d := *m
			lastDisc = &d
		case *mqtt.Publish:
			now := time.Now().UnixNano()
			switch m.QoS {
			case 1:
				a := ackPacket(mqtt.TypePuback, m.PacketID)
				_ = s.cl.write(a[:])
				pending = true
			case 2:
				a := ackPacket(mqtt.TypePubrec, m.PacketID)
				_ = s.cl.write(a[:])
				pending = true
			}
			s.record(m.Payload, now)
		case *mqtt.Pubrel:
			a := ackPacket(mqtt.TypePubcomp, m.PacketID)
			_ = s.cl.write(a[:])
			pending = true
		}
	}
}

func (s *subscriber) record(payload []byte, now int64) {
	h, err := ParseHeader(payload)
	if err != nil || h.Magic != s.magic {
		s.foreign.Add(1)
		return
	}
	s.hist.Record(now - h.SentNanos)
	if s.track.Observe(h.Publisher, h.Seq) {
		s.unique.Add(1)
	}
	s.dup.Store(s.track.Dup)
	s.ooo.Store(s.track.OutOfOrder)
	s.lastRecv.Store(now)
	s.recv.Add(1)
}
