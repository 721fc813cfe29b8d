package stomp

import (
	"strconv"
	"strings"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/manifold-iot/manifold/adapters"
	sc "github.com/manifold-iot/manifold/codec/stomp"
	"github.com/manifold-iot/manifold/core"
)

// maxTransactions bounds the transactions one connection may have open.
const maxTransactions = 64

// ackID is the ack (and message-id) header of a delivery that waits for an
// ACK: the message's broker id and the session's packet identifier, which
// is what the ACK settles.
func ackID(msgID uint64, pid uint16) string {
	return strconv.FormatUint(msgID, 10) + "-" + strconv.FormatUint(uint64(pid), 10)
}

// parseAckID returns the packet identifier in an ackID; false for a
// message that needs no ACK (auto mode, or a QoS 0 delivery).
func parseAckID(s string) (uint16, bool) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i+1:], 10, 16)
	return uint16(n), err == nil && n != 0
}

// handleAck handles ACK and NACK outside a transaction.
func (c *channel) handleAck(f *frame.Frame) adapters.Replies {
	if r, ok := c.ack(f); !ok {
		return r
	}
	c.receipt(f)
	return c.deliver()
}

// ack settles what an ACK or NACK names (STOMP 1.2 ACK, NACK): in client
// mode everything sent on that subscription up to that message, in
// client-individual mode that message alone. A NACKed message is queued
// again and redelivered (it is not dropped). An id we do not know (already
// settled, or a message that needs no ACK) is ignored. It reports false,
// with the replies to return, when the frame is invalid.
func (c *channel) ack(f *frame.Frame) (adapters.Replies, bool) {
	// STOMP 1.2 names the message by id (the MESSAGE's ack header); 1.0 and
	// 1.1 by message-id. Either is accepted at any version.
	id, ok := f.Header.Contains(frame.Id)
	if !ok || c.version < sc.V12 {
		if mid, has := f.Header.Contains(frame.MessageId); has {
			id, ok = mid, true
		}
	}
	if !ok {
		return c.fail("invalid "+f.Command, f.Command+" needs an id header", f), false
	}
	pid, ok := parseAckID(id)
	if !ok {
		return adapters.Replies{}, true
	}
	u, ok := c.unacked[pid]
	if !ok {
		return adapters.Replies{}, true
	}
	nack := f.Command == frame.NACK
	s := u.sub
	if s.ack == ackClient {
		// Cumulative: every earlier message of the subscription too.
		n := 0
		for n < len(s.pending) && s.pending[n] != pid {
			n++
		}
		for _, p := range s.pending[:min(n+1, len(s.pending))] {
			c.settle(p, nack)
		}
		s.pending = s.pending[min(n+1, len(s.pending)):]
		return adapters.Replies{}, true
	}
	c.settle(pid, nack)
	for i, p := range s.pending {
		if p == pid {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			break
		}
	}
	return adapters.Replies{}, true
}

// settle completes one delivery in the session; a NACKed one is queued again.
func (c *channel) settle(pid uint16, nack bool) {
	u, ok := c.unacked[pid]
	if !ok {
		return
	}
	delete(c.unacked, pid)
	c.sess.Ack(pid)
	if nack && u.p.Msg != nil {
		c.sess.Enqueue(u.p)
	}
}

// hold keeps a SEND, ACK or NACK of a transaction until COMMIT (STOMP 1.2
// BEGIN: frames of a transaction take effect when it commits).
func (c *channel) hold(tx string, f *frame.Frame) adapters.Replies {
	ops, ok := c.txs[tx]
	if !ok {
		return c.fail("unknown transaction", "transaction "+tx+" was not begun", f)
	}
	if len(ops) >= c.cfg.MaxTransactionFrames {
		return c.fail("transaction too large", "more than "+strconv.Itoa(c.cfg.MaxTransactionFrames)+" frames in transaction "+tx, f)
	}
	c.txs[tx] = append(ops, txOp{f: f})
	c.receipt(f)
	return c.reply()
}

// handleTransaction handles BEGIN, COMMIT and ABORT.
func (c *channel) handleTransaction(f *frame.Frame) adapters.Replies {
	tx, ok := f.Header.Contains(frame.Transaction)
	if !ok || tx == "" {
		return c.fail("invalid "+f.Command, f.Command+" needs a transaction header", f)
	}
	ops, open := c.txs[tx]
	switch f.Command {
	case frame.BEGIN:
		if open {
			return c.fail("duplicate transaction", "transaction "+tx+" is already open", f)
		}
		if len(c.txs) >= maxTransactions {
			return c.fail("too many transactions", "at most "+strconv.Itoa(maxTransactions)+" open transactions", f)
		}
		if c.txs == nil {
			c.txs = map[string][]txOp{}
		}
		c.txs[tx] = nil
	case frame.ABORT:
		if !open {
			return c.fail("unknown transaction", "transaction "+tx+" was not begun", f)
		}
		delete(c.txs, tx)
	case frame.COMMIT:
		if !open {
			return c.fail("unknown transaction", "transaction "+tx+" was not begun", f)
		}
		delete(c.txs, tx)
		var pressured []core.Backlog
		for _, op := range ops {
			var r adapters.Replies
			ok := true
			if op.f.Command == frame.SEND {
				var p []core.Backlog
				p, r, ok = c.send(op.f)
				pressured = append(pressured, p...)
			} else {
				r, ok = c.ack(op.f)
			}
			if !ok {
				return r
			}
		}
		c.receiptAfter(f, pressured)
		return c.deliver()
	}
	c.receipt(f)
	return c.deliver()
}
