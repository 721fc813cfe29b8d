package session

import (
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/store"
)

// A persistent session journals every change of its queue, its QoS 2
// inflight window and its inbound awaiting-PUBREL set to a store.Store, with
// its lock held so that the store sees them in order. Stored messages carry a
// Seq. QoS 0 messages are stored only while the client is offline or the
// queue lives partly on disk (they are at-most-once: a crash may lose them).
//
// The queue is kept in memory up to Config.MemQueueLen messages; past that
// (spilled > 0) new messages go to disk only, and Take pages them back in,
// in order, through store.LoadQueue as the client takes messages. An offline
// session never pages in.

// Persist makes s persistent: from now on its changes are journaled to st.
// Messages already queued in memory are not written (the broker persists a
// session from its start).
func (s *Session) Persist(st store.Store) {
	s.mu.Lock()
	switch {
	case st == nil:
		s.j = nil
	case s.j == nil:
		s.j = &journal{st: st}
	default:
		s.j.st = st
	}
	s.durable.Store(st != nil)
	s.mu.Unlock()
}

// Durable returns a ticket for the session's writes so far (a QoS 2
// publisher's awaiting-PUBREL id, say), or nil when it is not persistent.
func (s *Session) Durable() core.Backlog {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.j == nil {
		return nil
	}
	return s.j.st.Mark()
}

// Persistent reports whether the session journals to a store.
func (s *Session) Persistent() bool { return s.durable.Load() }

// Restore rebuilds a persistent session from what a store held at start:
// its QoS 2 inflight window and inbound awaiting-PUBREL ids in memory, its
// queue on disk, paged in once the client is back.
func Restore(r *store.RestoredSession, cfg *Config, st store.Store) *Session {
	s := NewShared(r.Record.ClientID, cfg)
	s.j = &journal{st: st, nextSeq: r.LastSeq, spilled: r.Queued}
	s.durable.Store(true)
	if r.Queued > 0 {
		s.j.loadAfter = r.FirstSeq - 1
	}
	for id, at := range r.AwaitingRel {
		if s.awaitingRel == nil {
			s.awaitingRel = make(map[uint16]time.Time, len(r.AwaitingRel))
		}
		s.awaitingRel[id] = at
	}
	for i := range r.Inflight {
		e := &r.Inflight[i]
		if e.PacketID == 0 || e.Phase == store.PhaseQueued || e.Phase == store.PhaseRec && e.Msg == nil {
			continue
		}
		ie := &inflightEntry{Pending: pendingFrom(e), id: e.PacketID, phase: phaseRec}
		if e.Phase == store.PhaseComp {
			ie.phase = phaseComp
		}
		if s.byID == nil {
			s.byID = make(map[uint16]*inflightEntry)
		}
		if _, dup := s.byID[e.PacketID]; dup {
			continue
		}
		s.byID[e.PacketID] = ie
		s.inflight = append(s.inflight, ie)
		s.live++
		s.nextID = max(s.nextID, e.PacketID)
	}
	return s
}

func pendingFrom(e *store.Entry) Pending {
	return Pending{Msg: e.Msg, QoS: e.QoS, Retain: e.Retain, SubIDs: e.SubIDs, Shared: e.Shared, Seq: e.Seq, SharedBody: e.SharedBody}
}

// unstored is p as another session receives it (a redispatch).
func (p Pending) unstored() Pending {
	p.Seq, p.SharedBody = 0, false
	return p
}

// store writes p to the session's stored queue when it needs to be there,
// giving it a Seq; it reports false when the store refused it (disk quota).
// Caller holds mu and has checked s.j.
func (s *Session) store(p *Pending) bool {
	j := s.j
	if p.QoS == core.QoS0 && s.notifier != nil && j.spilled == 0 && s.queue.len() < s.cfg.MemQueueLen {
		return true // kept in memory only
	}
	e := store.Entry{Seq: j.nextSeq + 1, Msg: p.Msg, QoS: p.QoS, Retain: p.Retain, SubIDs: p.SubIDs, Shared: p.Shared, SharedBody: p.SharedBody}
	if err := j.st.Enqueue(s.ClientID, &e); err != nil {
		return false
	}
	j.nextSeq++
	p.Seq = j.nextSeq
	return true
}

// spill leaves a stored message on disk only: the queue in memory is full,
// or earlier messages are already on disk. Caller holds mu and has checked
// s.j.
func (s *Session) spill(p *Pending) {
	if s.j.spilled == 0 {
		s.j.loadAfter = p.Seq - 1
	}
	s.j.spilled++
}

// pageIn asks the store for spilled messages once the queue in memory is
// down to half of MemQueueLen, and only while a client is connected. Caller
// holds mu.
func (s *Session) pageIn() {
	j := s.j
	if j == nil || j.spilled == 0 || s.loading || s.notifier == nil || s.queue.len() > s.cfg.MemQueueLen/2 {
		return
	}
	s.loading = true
	want := min(j.spilled, s.cfg.MemQueueLen-s.queue.len())
	j.st.LoadQueue(s.ClientID, j.loadAfter, want, func(es []store.Entry, err error) { s.loaded(j, es, err) })
}

// loaded appends the messages LoadQueue read to the queue in memory and
// wakes the connection.
func (s *Session) loaded(from *journal, es []store.Entry, err error) {
	s.mu.Lock()
	j := s.j
	if j != from {
		s.mu.Unlock() // discarded meanwhile
		return
	}
	s.loading = false
	if err == nil && len(es) == 0 {
		// Every spilled message was written before the load was asked for,
		// so the store must have returned some: it has none left.
		j.spilled = 0
	}
	for i := range es {
		e := &es[i]
		if e.Seq <= j.loadAfter || j.spilled == 0 {
			continue
		}
		s.queue.push(pendingFrom(e))
		j.loadAfter = e.Seq
		j.spilled--
	}
	n := s.notifier
	wake := n != nil && !s.wakeSent && s.queue.len() > 0
	if wake {
		s.wakeSent = true
	}
	s.mu.Unlock()
	if wake {
		n.Notify()
	}
}

// markSent moves a stored QoS 2 message from the stored queue to the stored
// inflight window with its packet identifier. Caller holds mu.
func (s *Session) markSent(e *inflightEntry) {
	if s.j == nil || e.Seq == 0 {
		return
	}
	s.j.st.MarkSent(s.ClientID, &store.Entry{
		Seq: e.Seq, Msg: e.Msg, QoS: e.QoS, Retain: e.Retain, SubIDs: e.SubIDs, Shared: e.Shared,
		SharedBody: e.SharedBody, PacketID: e.id, Phase: store.PhaseRec,
	})
}

// markReleased records the client's PUBREC of a stored QoS 2 message. Caller
// holds mu.
func (s *Session) markReleased(e *inflightEntry) {
	if s.j == nil || e.Seq == 0 || e.Msg == nil {
		return
	}
	s.j.st.MarkReleased(s.ClientID, e.Seq, e.id, e.Msg.ID, e.SharedBody)
}

// forget removes a stored message that was delivered, acknowledged, dropped
// or expired; inflight says it was in the stored inflight window (a QoS 2
// message after markSent). Caller holds mu.
func (s *Session) forget(p *Pending, inflight bool) {
	if s.j == nil || p.Seq == 0 {
		return
	}
	var id uint64
	shared := false
	if p.Msg != nil {
		id, shared = p.Msg.ID, p.SharedBody
	}
	s.j.st.Remove(s.ClientID, p.Seq, inflight, id, shared)
}
