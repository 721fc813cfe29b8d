package alarm

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
)

// DefaultHistory is how many deactivated alarms a Registry keeps when New is
// given 0 (EMQX keeps 1000 by default: alarm.size_limit).
const DefaultHistory = 1000

// Publisher is what alarm messages are published through: the broker's
// system publisher, the one core/sys uses (sys.Publisher has the same
// method). Publish must not block.
type Publisher interface {
	Publish(*core.Message) (int, error)
}

// Alarm is one alarm, active or deactivated. The JSON form of the API is
// built by the API from these fields (see gateway/api/alarms.go).
type Alarm struct {
	// Node is the node that raised it (node.name).
	Node string
	// Name identifies the alarm; one alarm of a name is active at a time.
	Name string
	// Message is the human sentence, "System memory usage is higher than 70%".
	Message string
	// Details are the figures behind it; never modified after activation.
	Details map[string]any
	// ActivateAt is when it was raised.
	ActivateAt time.Time
	// DeactivateAt is when it was cleared; zero while active.
	DeactivateAt time.Time
	// Activated is true while the alarm is active.
	Activated bool
}

// Duration is how long the alarm has been (or was) active at now.
func (a *Alarm) Duration(now time.Time) time.Duration {
	end := a.DeactivateAt
	if a.Activated || end.IsZero() {
		end = now
	}
	return max(end.Sub(a.ActivateAt), 0)
}

// sysPayload is the JSON published on $SYS/brokers/<node>/alarms/activate
// and .../deactivate: EMQX 5's keys, times in microseconds since the epoch
// as EMQX publishes them, deactivate_at "infinity" while active.
type sysPayload struct {
	Node         string         `json:"node"`
	Name         string         `json:"name"`
	Message      string         `json:"message"`
	Details      map[string]any `json:"details"`
	ActivateAt   int64          `json:"activate_at"`
	DeactivateAt any            `json:"deactivate_at"`
	Activated    bool           `json:"activated"`
}

// Registry holds a node's alarms: the active ones by name and a bounded
// history of deactivated ones. It is safe for concurrent use; mu is never
// held while publishing or logging.
type Registry struct {
	node   string
	pub    Publisher // nil: nothing is published
	log    zerolog.Logger
	now    func() time.Time
	topics [2]string // activate, deactivate
	limit  int       // history bound

	mu      sync.Mutex
	active  map[string]*Alarm // guarded by mu
	history []Alarm           // guarded by mu; oldest first, at most limit
}

// New returns an empty registry for node that publishes through pub (nil
// publishes nothing) and keeps at most history deactivated alarms (0 means
// DefaultHistory).
func New(node string, pub Publisher, history int, log zerolog.Logger) *Registry {
	if history <= 0 {
		history = DefaultHistory
	}
	prefix := "$SYS/brokers/" + node + "/alarms/"
	return &Registry{
		node: node, pub: pub, log: log, now: time.Now, limit: history,
		topics: [2]string{prefix + "activate", prefix + "deactivate"},
		active: map[string]*Alarm{},
	}
}

// Activate raises the alarm name. It reports false, and changes nothing,
// when an alarm of that name is already active (EMQX answers
// already_existed): activation is idempotent. details is kept as given and
// must not be modified afterwards.
func (r *Registry) Activate(name, message string, details map[string]any) bool {
	if details == nil {
		details = map[string]any{}
	}
	r.mu.Lock()
	if _, ok := r.active[name]; ok {
		r.mu.Unlock()
		return false
	}
	a := &Alarm{Node: r.node, Name: name, Message: message, Details: details, ActivateAt: r.now(), Activated: true}
	r.active[name] = a
	snap := *a
	r.mu.Unlock()
	r.log.Warn().Str("name", name).Str("message", message).Interface("details", details).Msg("alarm_activated")
	r.publish(0, &snap)
	return true
}

// Deactivate clears the active alarm name and moves it to the history
// (dropping the oldest entry past the bound). It reports false when no
// alarm of that name is active.
func (r *Registry) Deactivate(name string) bool {
	r.mu.Lock()
	a, ok := r.active[name]
	if !ok {
		r.mu.Unlock()
		return false
	}
	delete(r.active, name)
	a.Activated = false
	a.DeactivateAt = r.now()
	if len(r.history) >= r.limit {
		n := copy(r.history, r.history[len(r.history)-r.limit+1:])
		clear(r.history[n:])
		r.history = r.history[:n]
	}
	r.history = append(r.history, *a)
	snap := *a
	r.mu.Unlock()
	r.log.Info().Str("name", name).Str("message", snap.Message).Msg("alarm_deactivated")
	r.publish(1, &snap)
	return true
}

// IsActive reports whether the alarm name is active.
func (r *Registry) IsActive(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.active[name]
	return ok
}

// ActiveCount is the number of active alarms.
func (r *Registry) ActiveCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.active)
}

// List returns the active alarms (activated true), oldest first, or the
// deactivated ones (false), most recently deactivated first, as EMQX lists
// them.
func (r *Registry) List(activated bool) []Alarm {
	r.mu.Lock()
	defer r.mu.Unlock()
	if activated {
		out := make([]Alarm, 0, len(r.active))
		for _, name := range slices.Sorted(maps.Keys(r.active)) {
			out = append(out, *r.active[name])
		}
		slices.SortStableFunc(out, func(a, b Alarm) int { return a.ActivateAt.Compare(b.ActivateAt) })
		return out
	}
	out := make([]Alarm, len(r.history))
	for i, a := range r.history {
		out[len(out)-1-i] = a
	}
	return out
}

// ClearDeactivated forgets every deactivated alarm (EMQX's DELETE /alarms).
func (r *Registry) ClearDeactivated() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.history)
	r.history = r.history[:0]
}

// publish sends a's JSON to $SYS/brokers/<node>/alarms/activate (which 0)
// or .../deactivate (1), QoS 0, not retained, From "" (the system).
func (r *Registry) publish(which int, a *Alarm) {
	if r.pub == nil {
		return
	}
	p := sysPayload{Node: a.Node, Name: a.Name, Message: a.Message, Details: a.Details,
		ActivateAt: a.ActivateAt.UnixMicro(), DeactivateAt: "infinity", Activated: a.Activated}
	if !a.Activated {
		p.DeactivateAt = a.DeactivateAt.UnixMicro()
	}
	data, err := json.Marshal(&p)
	if err != nil { // a detail that is not JSON: publish without details
		p.Details = map[string]any{}
		data, _ = json.Marshal(&p)
	}
	if _, err := r.pub.Publish(&core.Message{Topic: r.topics[which], Payload: data}); err != nil {
		r.log.Warn().Err(err).Str("topic", r.topics[which]).Msg("alarm_publish_failed")
	}
}
