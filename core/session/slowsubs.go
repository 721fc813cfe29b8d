package session

import (
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/slowsubs"
)

// observe runs step, the acknowledgement of the delivery id awaiting want,
// and tells t the delivery's latency from its message's publish time. The
// message is looked up first and t is called after step, so that s.mu stays
// a leaf lock; only the connection's goroutine acknowledges, so the entry
// does not change in between.
func (s *Session) observe(t *slowsubs.Tracker, id uint16, want phase, step func() bool) bool {
	var m *core.Message
	s.mu.Lock()
	if e := s.byID[id]; e != nil && e.phase == want {
		m = e.Msg
	}
	s.mu.Unlock()
	ok := step()
	if ok && m != nil {
		t.Observe(s.ClientID, m.Topic, m.Timestamp)
	}
	return ok
}
