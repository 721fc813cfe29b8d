package trace

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/topic"
)

// Trace types (EMQX's type field).
const (
	TypeClientID = "clientid"
	TypeTopic    = "topic"
	TypeIP       = "ip_address"
)

// Payload encodings (EMQX's payload_encode).
const (
	EncodeText   = "text"
	EncodeHex    = "hex"
	EncodeHidden = "hidden"
)

// Statuses a trace reports.
const (
	StatusWaiting = "waiting"
	StatusRunning = "running"
	StatusStopped = "stopped"
)

// Limits.
const (
	MaxTraces          = 30               // traces kept, whatever their status (EMQX's limit)
	DefaultMaxFileSize = 64 << 20         // bytes per trace log
	DefaultDuration    = 10 * time.Minute // end_at when not given
	queueLen           = 4096             // records waiting for the writer, all traces together
)

// Errors of Create, Stop and Delete.
var (
	ErrInvalid  = errors.New("trace: invalid trace")
	ErrExists   = errors.New("trace: a trace with this name exists")
	ErrFull     = errors.New("trace: too many traces")
	ErrNotFound = errors.New("trace: no such trace")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// Spec is what a trace is asked to record.
type Spec struct {
	Name          string
	Type          string // TypeClientID, TypeTopic or TypeIP
	ClientID      string // for TypeClientID
	Topic         string // a topic filter, for TypeTopic
	IPAddress     string // for TypeIP
	Start, End    time.Time
	PayloadEncode string // EncodeText (default), EncodeHex or EncodeHidden
}

// Info is a trace and its state.
type Info struct {
	Spec
	Status    string
	LogSize   int64  // bytes written to its file
	Dropped   uint64 // records dropped because the writer's queue was full
	Truncated bool   // the file reached the size bound; nothing more is written
}

// trace is one trace; its spec never changes after Create except end (Stop).
type trace struct {
	spec    Spec
	ip      netip.Addr
	path    string
	end     atomic.Int64 // unix ns; Stop moves it to now
	dropped atomic.Uint64
	size    atomic.Int64
	trunc   atomic.Bool

	wmu      sync.Mutex    // guards the fields below (the writer and readers of the file)
	f        *os.File      // nil once deleted
	w        *bufio.Writer // over f
	reported uint64        // dropped count already written as a trace_dropped line
}

func (t *trace) status(now time.Time) string {
	switch {
	case now.UnixNano() >= t.end.Load():
		return StatusStopped
	case now.Before(t.spec.Start):
		return StatusWaiting
	}
	return StatusRunning
}

// record is one event on its way to the writer.
type record struct {
	t        *trace
	at       time.Time
	event    string
	clientID string
	topic    string
	msg      *core.Message // publish and deliver: the message (immutable)
	qos      core.QoS
	extra    string // preformatted fields of rare events
}

// Tracer is the node's traces and their writer.
type Tracer struct {
	dir     string
	maxSize int64
	log     zerolog.Logger
	now     func() time.Time

	running atomic.Pointer[[]*trace] // the running traces; nil when none

	mu     sync.Mutex
	traces map[string]*trace // guarded by mu

	ch   chan record
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New returns a tracer writing under dir (created on the first Create);
// maxFileSize <= 0 is DefaultMaxFileSize. Its writer runs until Close.
func New(dir string, maxFileSize int64, log zerolog.Logger) *Tracer {
	if maxFileSize <= 0 {
		maxFileSize = DefaultMaxFileSize
	}
	tr := &Tracer{dir: dir, maxSize: maxFileSize, log: log, now: time.Now, traces: map[string]*trace{},
		ch: make(chan record, queueLen), stop: make(chan struct{}), done: make(chan struct{})}
	tr.restore()
	go tr.writer()
	return tr
}

// indexFile lists the traces in dir, so that they survive a restart (EMQX
// keeps its traces too); their logs are appended to.
const indexFile = "traces.json"

// restore reloads the traces of indexFile; one that cannot be reloaded is
// logged and left out.
func (tr *Tracer) restore() {
	data, err := os.ReadFile(filepath.Join(tr.dir, indexFile))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var specs []Spec
	if err == nil {
		err = json.Unmarshal(data, &specs)
	}
	if err != nil {
		tr.log.Error().Err(err).Str("file", filepath.Join(tr.dir, indexFile)).Msg("trace_index_unreadable")
		return
	}
	for _, spec := range specs {
		if !nameRE.MatchString(spec.Name) || len(tr.traces) >= MaxTraces || tr.traces[spec.Name] != nil {
			continue
		}
		t := &trace{spec: spec, path: filepath.Join(tr.dir, spec.Name+".log")}
		t.end.Store(spec.End.UnixNano())
		if spec.Type == TypeIP {
			ip, err := netip.ParseAddr(spec.IPAddress)
			if err != nil {
				continue
			}
			t.ip = ip.Unmap()
		}
		f, err := os.OpenFile(t.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
		if err == nil {
			var st os.FileInfo
			if st, err = f.Stat(); err == nil {
				t.size.Store(st.Size())
				t.trunc.Store(st.Size() >= tr.maxSize)
			} else {
				_ = f.Close()
			}
		}
		if err != nil {
			tr.log.Error().Err(err).Str("trace", spec.Name).Msg("trace_restore_failed")
			continue
		}
		t.f, t.w = f, bufio.NewWriterSize(f, 32<<10)
		tr.traces[spec.Name] = t
	}
	tr.refreshLocked(tr.now())
}

// saveLocked writes indexFile; caller holds mu. A failure is logged: the
// traces go on, only a restart forgets them.
func (tr *Tracer) saveLocked() {
	specs := make([]Spec, 0, len(tr.traces))
	for _, t := range tr.traces {
		s := t.spec
		s.End = time.Unix(0, t.end.Load()).UTC()
		specs = append(specs, s)
	}
	slices.SortFunc(specs, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
	data, err := json.MarshalIndent(specs, "", "  ")
	if err == nil {
		p := filepath.Join(tr.dir, indexFile)
		if err = os.WriteFile(p+".tmp", data, 0o600); err == nil {
			err = os.Rename(p+".tmp", p)
		}
	}
	if err != nil {
		tr.log.Error().Err(err).Msg("trace_index_save_failed")
	}
}

// Dir is the directory of the trace logs.
func (tr *Tracer) Dir() string { return tr.dir }

// Active reports whether any trace is running; false for a nil tracer. The
// broker calls it before every event, so that tracing costs one atomic load
// while nothing is traced.
func (tr *Tracer) Active() bool { return tr != nil && tr.running.Load() != nil }

// Create validates spec, fills its defaults (start now, end start+10min,
// payload text) and starts the trace; its log file is created empty.
func (tr *Tracer) Create(spec Spec) (Info, error) {
	now := tr.now()
	if err := tr.check(&spec, now); err != nil {
		return Info{}, err
	}
	t := &trace{spec: spec, path: filepath.Join(tr.dir, spec.Name+".log")}
	t.end.Store(spec.End.UnixNano())
	if spec.Type == TypeIP {
		t.ip = netip.MustParseAddr(spec.IPAddress).Unmap()
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.traces[spec.Name] != nil {
		return Info{}, ErrExists
	}
	if len(tr.traces) >= MaxTraces {
		return Info{}, ErrFull
	}
	if err := os.MkdirAll(tr.dir, 0o750); err != nil {
		return Info{}, fmt.Errorf("trace: %w", err)
	}
	f, err := os.OpenFile(t.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return Info{}, fmt.Errorf("trace: %w", err)
	}
	t.f, t.w = f, bufio.NewWriterSize(f, 32<<10)
	tr.traces[spec.Name] = t
	tr.refreshLocked(now)
	tr.saveLocked()
	return tr.info(t, now), nil
}

func (tr *Tracer) check(s *Spec, now time.Time) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if !nameRE.MatchString(s.Name) {
		return bad("name must be 1 to 256 of A-Z a-z 0-9 _ -")
	}
	switch s.Type {
	case TypeClientID:
		if s.ClientID == "" {
			return bad("clientid required for type clientid")
		}
		s.Topic, s.IPAddress = "", ""
	case TypeTopic:
		if s.Topic == "" || topic.ValidFilter(s.Topic, 0) != nil {
			return bad("topic must be a valid topic filter for type topic")
		}
		s.ClientID, s.IPAddress = "", ""
	case TypeIP:
		ip, err := netip.ParseAddr(s.IPAddress)
		if err != nil {
			return bad("ip_address must be an IP address for type ip_address")
		}
		s.IPAddress = ip.Unmap().String()
		s.ClientID, s.Topic = "", ""
	default:
		return bad("type must be clientid, topic or ip_address")
	}
	switch s.PayloadEncode {
	case "":
		s.PayloadEncode = EncodeText
	case EncodeText, EncodeHex, EncodeHidden:
	default:
		return bad("payload_encode must be text, hex or hidden")
	}
	if s.Start.IsZero() {
		s.Start = now
	}
	if s.End.IsZero() {
		s.End = s.Start.Add(DefaultDuration)
	}
	if !s.End.After(s.Start) {
		return bad("end_at must be after start_at")
	}
	if !s.End.After(now) {
		return bad("end_at has already passed")
	}
	return nil
}

// refreshLocked recomputes the running set; caller holds mu.
func (tr *Tracer) refreshLocked(now time.Time) {
	var run []*trace
	for _, t := range tr.traces {
		if t.status(now) == StatusRunning && !t.trunc.Load() {
			run = append(run, t)
		}
	}
	if len(run) == 0 {
		tr.running.Store(nil)
		return
	}
	tr.running.Store(&run)
}

func (tr *Tracer) info(t *trace, now time.Time) Info {
	i := Info{Spec: t.spec, Status: t.status(now), LogSize: t.size.Load(), Dropped: t.dropped.Load(), Truncated: t.trunc.Load()}
	i.End = time.Unix(0, t.end.Load())
	return i
}

// List returns every trace, by name.
func (tr *Tracer) List() []Info {
	now := tr.now()
	tr.mu.Lock()
	out := make([]Info, 0, len(tr.traces))
	for _, t := range tr.traces {
		out = append(out, tr.info(t, now))
	}
	tr.mu.Unlock()
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Get returns one trace.
func (tr *Tracer) Get(name string) (Info, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t := tr.traces[name]
	if t == nil {
		return Info{}, false
	}
	return tr.info(t, tr.now()), true
}

// Stop ends a trace now; its log stays until Delete.
func (tr *Tracer) Stop(name string) (Info, error) {
	now := tr.now()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t := tr.traces[name]
	if t == nil {
		return Info{}, ErrNotFound
	}
	if now.UnixNano() < t.end.Load() {
		t.end.Store(now.UnixNano())
		tr.saveLocked()
	}
	tr.refreshLocked(now)
	return tr.info(t, now), nil
}

// Delete stops a trace and removes its log file.
func (tr *Tracer) Delete(name string) error {
	tr.mu.Lock()
	t := tr.traces[name]
	if t == nil {
		tr.mu.Unlock()
		return ErrNotFound
	}
	delete(tr.traces, name)
	tr.refreshLocked(tr.now())
	tr.saveLocked()
	tr.mu.Unlock()
	t.closeFile()
	if err := os.Remove(t.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("trace: %w", err)
	}
	return nil
}

// DeleteAll deletes every trace.
func (tr *Tracer) DeleteAll() error {
	tr.mu.Lock()
	names := make([]string, 0, len(tr.traces))
	for n := range tr.traces {
		names = append(names, n)
	}
	tr.mu.Unlock()
	var errs []error
	for _, n := range names {
		if err := tr.Delete(n); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Open flushes a trace's buffered lines and opens its log for reading; the
// caller closes it. Size is the file's size at the moment.
func (tr *Tracer) Open(name string) (*os.File, int64, error) {
	tr.mu.Lock()
	t := tr.traces[name]
	tr.mu.Unlock()
	if t == nil {
		return nil, 0, ErrNotFound
	}
	t.wmu.Lock()
	if t.w != nil {
		_ = t.w.Flush()
	}
	t.wmu.Unlock()
	f, err := os.Open(t.path)
	if err != nil {
		return nil, 0, fmt.Errorf("trace: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("trace: %w", err)
	}
	return f, st.Size(), nil
}

func (t *trace) closeFile() {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.f == nil {
		return
	}
	_ = t.w.Flush()
	_ = t.f.Close()
	t.f, t.w = nil, nil
}

// Close stops the writer and closes every log; New on the same directory
// brings the traces back.
func (tr *Tracer) Close() {
	tr.once.Do(func() {
		close(tr.stop)
		<-tr.done
		tr.mu.Lock()
		ts := make([]*trace, 0, len(tr.traces))
		for _, t := range tr.traces {
			ts = append(ts, t)
		}
		tr.running.Store(nil)
		tr.mu.Unlock()
		for _, t := range ts {
			t.closeFile()
		}
	})
}
