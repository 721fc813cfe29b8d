package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// BrokerFigures are what --pid measured of the broker process.
type BrokerFigures struct {
	CPU         time.Duration // CPU time used during the run
	RSSBeforeKB int64
	RSSAfterKB  int64
	// RSSConnectedKB is, in conn mode, VmRSS once every connection is open.
	RSSConnectedKB int64
}

// Latency holds the percentiles of a latency histogram.
type Latency struct {
	Count                     uint64
	P50, P99, P999, Max, Mean time.Duration
}

func latencyOf(s *Snapshot) Latency {
	return Latency{Count: s.Total, P50: s.Quantile(0.50), P99: s.Quantile(0.99), P999: s.Quantile(0.999), Max: time.Duration(s.Max), Mean: s.Mean()}
}

// Result is the summary of one run.
type Result struct {
	Mode      Mode
	Transport string
	Addr      string
	Version   byte
	QoS       byte
	Size      int
	Pubs      int
	Subs      int

	// Publishing figures (pub, pubsub).
	PublishTime time.Duration // from start to the last publish
	Sent        uint64
	Acked       uint64 // PUBACK or PUBCOMP received
	Rejected    uint64 // acknowledged with a failure reason code (5.0)
	Stalled     int    // publishers that gave up waiting for their window
	SendRate    float64

	// Receiving figures (sub, pubsub).
	Received   uint64 // bench messages delivered, duplicates included
	Unique     uint64
	Expected   uint64 // pubsub: deliveries the sent messages should make
	Lost       uint64 // pubsub: Expected - Unique; sub: gaps in the sequences seen
	Duplicated uint64
	OutOfOrder uint64
	Foreign    uint64        // PUBLISHes without this run's payload header
	RecvTime   time.Duration // from start to the last delivery
	RecvRate   float64
	Latency    Latency

	// Connection figures (conn).
	Connected   int
	Failed      int
	FirstError  string
	ConnectTime time.Duration
	ConnackRate float64
	ConnLatency Latency
	Alive       int // connections still open after the hold

	Elapsed time.Duration
	GenCPU  time.Duration // this process's CPU time
	Broker  *BrokerFigures
	Errors  []string // connections that ended with an error
}

func newResult(cfg *Config) *Result {
	return &Result{
		Mode: cfg.Mode, Transport: cfg.Transport(), Addr: cfg.Addr(), Version: cfg.Version,
		QoS: cfg.QoS, Size: cfg.Size, Pubs: cfg.Publishers(), Subs: cfg.Subscribers(),
	}
}

// collect fills the message figures at the end of a run.
func (r *Result) collect(start, pubEnd, end time.Time, pubs []*publisher, subs []*subscriber, expected uint64) {
	r.Elapsed = end.Sub(start)
	r.PublishTime = pubEnd.Sub(start)
	var lastAck int64
	for _, p := range pubs {
		r.Sent += p.sent.Load()
		r.Acked += p.acked.Load()
		r.Rejected += p.rejected.Load()
		if p.stalled.Load() {
			r.Stalled++
		}
		if e := p.readErr.Load(); e != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("publisher %d: %v", p.id, *e))
		}
		lastAck = max(lastAck, p.lastAck.Load())
	}
	if r.PublishTime > 0 {
		r.SendRate = float64(r.Sent) / r.PublishTime.Seconds()
	}
	var snap Snapshot
	var lastRecv int64
	var gaps uint64
	for _, s := range subs {
		r.Received += s.recv.Load()
		r.Unique += s.unique.Load()
		r.Duplicated += s.dup.Load()
		r.OutOfOrder += s.ooo.Load()
		r.Foreign += s.foreign.Load()
		lastRecv = max(lastRecv, s.lastRecv.Load())
		s.hist.AddTo(&snap)
		gaps += s.track.Gaps() // the subscriber goroutine has ended
		if e := s.readErr.Load(); e != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("subscriber %s: %v", s.filter, *e))
		}
	}
	r.Expected = expected
	switch r.Mode {
	case ModePubSub:
		if expected > r.Unique {
			r.Lost = expected - r.Unique
		}
	case ModeSub:
		r.Lost = gaps
	}
	if lastRecv > 0 {
		r.RecvTime = time.Unix(0, lastRecv).Sub(start)
		if r.RecvTime > 0 {
			r.RecvRate = float64(r.Received) / r.RecvTime.Seconds()
		}
	}
	r.Latency = latencyOf(&snap)
}

// CPUPerMessage is the broker's CPU time per delivered message (per sent
// message when nothing was received, per connection in conn mode); 0 without
// --pid.
func (r *Result) CPUPerMessage() time.Duration {
	if r.Broker == nil {
		return 0
	}
	n := r.Received
	switch {
	case r.Mode == ModeConn:
		n = uint64(r.Connected)
	case n == 0:
		n = r.Sent
	}
	if n == 0 {
		return 0
	}
	return r.Broker.CPU / time.Duration(n)
}

// BytesPerConn is, in conn mode, the broker RSS growth per open connection.
func (r *Result) BytesPerConn() float64 {
	if r.Broker == nil || r.Connected == 0 {
		return 0
	}
	return float64(r.Broker.RSSConnectedKB-r.Broker.RSSBeforeKB) * 1024 / float64(r.Connected)
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }

func us(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 2, 64) }

func rate(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) }

// fields is the summary as ordered key/value pairs (the kv format; the table
// shows the same figures).
func (r *Result) fields() [][2]string {
	kv := [][2]string{
		{"mode", string(r.Mode)}, {"transport", r.Transport}, {"addr", r.Addr},
		{"mqtt", strconv.Itoa(int(r.Version))}, {"qos", strconv.Itoa(int(r.QoS))},
	}
	add := func(k, v string) { kv = append(kv, [2]string{k, v}) }
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	if r.Mode == ModeConn {
		add("connected", strconv.Itoa(r.Connected))
		add("failed", strconv.Itoa(r.Failed))
		add("connect_s", strconv.FormatFloat(r.ConnectTime.Seconds(), 'f', 2, 64))
		add("connack_rate", rate(r.ConnackRate))
		add("connect_p50_ms", ms(r.ConnLatency.P50))
		add("connect_p99_ms", ms(r.ConnLatency.P99))
		add("alive", strconv.Itoa(r.Alive))
	} else {
		add("size", strconv.Itoa(r.Size))
		add("pubs", strconv.Itoa(r.Pubs))
		add("subs", strconv.Itoa(r.Subs))
		if r.Pubs > 0 {
			add("sent", u(r.Sent))
			add("send_rate", rate(r.SendRate))
			add("acked", u(r.Acked))
			add("rejected", u(r.Rejected))
			add("stalled_pubs", strconv.Itoa(r.Stalled))
		}
		if r.Subs > 0 {
			add("received", u(r.Received))
			add("recv_rate", rate(r.RecvRate))
			if r.Mode == ModePubSub {
				add("expected", u(r.Expected))
			}
			add("lost", u(r.Lost))
			add("duplicated", u(r.Duplicated))
			add("out_of_order", u(r.OutOfOrder))
			add("foreign", u(r.Foreign))
			add("lat_p50_ms", ms(r.Latency.P50))
			add("lat_p99_ms", ms(r.Latency.P99))
			add("lat_p999_ms", ms(r.Latency.P999))
			add("lat_max_ms", ms(r.Latency.Max))
		}
	}
	add("elapsed_s", strconv.FormatFloat(r.Elapsed.Seconds(), 'f', 2, 64))
	add("gen_cpu_s", strconv.FormatFloat(r.GenCPU.Seconds(), 'f', 2, 64))
	if b := r.Broker; b != nil {
		add("broker_cpu_s", strconv.FormatFloat(b.CPU.Seconds(), 'f', 2, 64))
		if r.Mode == ModeConn {
			add("broker_cpu_us_per_conn", us(r.CPUPerMessage()))
			add("broker_rss_kb_before", strconv.FormatInt(b.RSSBeforeKB, 10))
			add("broker_rss_kb_connected", strconv.FormatInt(b.RSSConnectedKB, 10))
			add("bytes_per_conn", strconv.FormatFloat(r.BytesPerConn(), 'f', 0, 64))
		} else {
			add("broker_cpu_us_per_msg", us(r.CPUPerMessage()))
			add("broker_rss_kb_before", strconv.FormatInt(b.RSSBeforeKB, 10))
		}
		add("broker_rss_kb_after", strconv.FormatInt(b.RSSAfterKB, 10))
	}
	return kv
}

// WriteKV writes the summary as one line of key=value pairs.
func (r *Result) WriteKV(w io.Writer) {
	var sb strings.Builder
	for i, f := range r.fields() {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(f[0] + "=" + f[1])
	}
	sb.WriteByte('\n')
	_, _ = io.WriteString(w, sb.String())
}

// WriteTable writes the summary as an aligned table.
func (r *Result) WriteTable(w io.Writer) {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	row := func(k, v, note string) { fmt.Fprintf(tw, "%s\t%s\t%s\n", k, v, note) }
	fmt.Fprintf(tw, "manifold bench %s: %s %s, MQTT %s", r.Mode, r.Transport, r.Addr, versionName(r.Version))
	if r.Mode != ModeConn {
		fmt.Fprintf(tw, ", QoS %d, %d-byte payloads, %d pub / %d sub", r.QoS, r.Size, r.Pubs, r.Subs)
	}
	fmt.Fprintln(tw)
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	if r.Mode == ModeConn {
		row("connected", strconv.Itoa(r.Connected), fmt.Sprintf("in %.2f s", r.ConnectTime.Seconds()))
		row("failed", strconv.Itoa(r.Failed), r.FirstError)
		row("CONNACK/s", rate(r.ConnackRate), "")
		row("connect p50 / p99", ms(r.ConnLatency.P50)+" / "+ms(r.ConnLatency.P99)+" ms", "")
		row("alive after hold", strconv.Itoa(r.Alive), "")
	} else {
		if r.Pubs > 0 {
			row("sent", u(r.Sent), rate(r.SendRate)+" msg/s over "+strconv.FormatFloat(r.PublishTime.Seconds(), 'f', 2, 64)+" s")
			if r.QoS > 0 {
				row("acknowledged", u(r.Acked), fmt.Sprintf("%d rejected, %d stalled publishers", r.Rejected, r.Stalled))
			}
		}
		if r.Subs > 0 {
			row("received", u(r.Received), rate(r.RecvRate)+" msg/s")
			if r.Mode == ModePubSub {
				row("expected", u(r.Expected), "sent x matching subscriptions")
				row("lost", u(r.Lost), "expected - unique received")
			} else {
				row("lost", u(r.Lost), "gaps in the sequences seen")
			}
			row("duplicated", u(r.Duplicated), "")
			row("out-of-order", u(r.OutOfOrder), "")
			if r.Foreign > 0 {
				row("foreign", u(r.Foreign), "messages without this run's header")
			}
			row("latency p50", ms(r.Latency.P50)+" ms", "")
			row("latency p99", ms(r.Latency.P99)+" ms", "")
			row("latency p99.9", ms(r.Latency.P999)+" ms", "")
			row("latency max", ms(r.Latency.Max)+" ms", "")
		}
	}
	row("elapsed", strconv.FormatFloat(r.Elapsed.Seconds(), 'f', 2, 64)+" s", "generator CPU "+strconv.FormatFloat(r.GenCPU.Seconds(), 'f', 2, 64)+" s")
	if b := r.Broker; b != nil {
		if r.Mode == ModeConn {
			row("broker CPU", strconv.FormatFloat(b.CPU.Seconds(), 'f', 2, 64)+" s", us(r.CPUPerMessage())+" µs per connection")
			row("broker RSS", fmt.Sprintf("%d KiB", b.RSSConnectedKB), fmt.Sprintf("%.0f B per connection (from %d KiB)", r.BytesPerConn(), b.RSSBeforeKB))
		} else {
			row("broker CPU", strconv.FormatFloat(b.CPU.Seconds(), 'f', 2, 64)+" s", us(r.CPUPerMessage())+" µs per message")
			row("broker RSS", fmt.Sprintf("%d KiB", b.RSSAfterKB), fmt.Sprintf("from %d KiB", b.RSSBeforeKB))
		}
	}
	for _, e := range r.Errors {
		row("error", e, "")
	}
	_ = tw.Flush()
	var out strings.Builder
	for _, l := range strings.SplitAfter(sb.String(), "\n") {
		if t := strings.TrimRight(l, " \n"); t != "" {
			out.WriteString(t + "\n")
		}
	}
	_, _ = io.WriteString(w, out.String())
}

func versionName(v byte) string {
	switch v {
	case 3:
		return "3.1"
	case 4:
		return "3.1.1"
	}
	return "5.0"
}

// progressLine prints one line per second of rates and the latency of the
// last second.
type progressLine struct {
	w        io.Writer
	start    time.Time
	pubs     []*publisher
	subs     []*subscriber
	lastSent uint64
	lastRecv uint64
	lastAt   time.Time
	prev     *Snapshot
}

func newProgress(w io.Writer, start time.Time, pubs []*publisher, subs []*subscriber) *progressLine {
	return &progressLine{w: w, start: start, pubs: pubs, subs: subs, lastAt: start, prev: &Snapshot{}}
}

func (p *progressLine) line() {
	if p.w == nil {
		return
	}
	now := time.Now()
	dt := now.Sub(p.lastAt).Seconds()
	var sent, acked, recv uint64
	for _, x := range p.pubs {
		sent += x.sent.Load()
		acked += x.acked.Load()
	}
	snap := &Snapshot{}
	for _, s := range p.subs {
		recv += s.recv.Load()
		s.hist.AddTo(snap)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%5.0fs", now.Sub(p.start).Seconds())
	if len(p.pubs) > 0 {
		fmt.Fprintf(&sb, "  sent %8.0f/s %10d", float64(sent-p.lastSent)/dt, sent)
		if acked > 0 {
			fmt.Fprintf(&sb, "  acked %10d", acked)
		}
	}
	if len(p.subs) > 0 {
		d := snap.Sub(p.prev)
		fmt.Fprintf(&sb, "  recv %8.0f/s %10d  p50 %s p99 %s p99.9 %s ms", float64(recv-p.lastRecv)/dt, recv,
			ms(d.Quantile(0.5)), ms(d.Quantile(0.99)), ms(d.Quantile(0.999)))
	}
	sb.WriteByte('\n')
	_, _ = io.WriteString(p.w, sb.String())
	p.lastSent, p.lastRecv, p.lastAt, p.prev = sent, recv, now, snap
}
