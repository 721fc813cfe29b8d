package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Mode is what a run does: publish, subscribe, both, or hold connections.
type Mode string

// The bench modes.
const (
	ModePub    Mode = "pub"    // -c publishers
	ModeSub    Mode = "sub"    // -c subscribers
	ModePubSub Mode = "pubsub" // -c publishers and --subs subscribers in one process: exact loss
	ModeConn   Mode = "conn"   // -c idle connections
)

// HeaderSize is the payload header: magic, publisher, sequence, send time.
const HeaderSize = 24

// Config is one bench run, as parsed from the command line by Parse.
type Config struct {
	Mode       Mode
	Host       string
	Port       int // 0: 1883, 8883 with TLS, 8083 with WebSocket, 8084 with both
	Clients    int // publishers (pub, pubsub), subscribers (sub) or connections (conn)
	Subs       int // subscribers in pubsub
	Interval   time.Duration
	Topic      string // publish topic or (sub) filter; %i = client index, %c = client id
	SubTopic   string // pubsub subscription filter; "" derives it from Topic
	QoS        byte
	SubQoS     byte
	Size       int
	Version    byte // 3, 4 or 5
	Limit      uint64
	Duration   time.Duration
	Inflight   int
	Rate       float64 // total msg/s over all publishers; 0 = no limit
	TLS        bool
	TLSVerify  bool
	CACert     string
	WS         bool
	WSPath     string
	ConnRate   float64 // conn: new connections per second; 0 = as fast as the workers go
	Workers    int     // concurrent connectors
	IfAddrs    []string
	KeepAlive  uint16
	Username   string
	Password   string
	Prefix     string
	PID        int
	Drain      time.Duration
	Idle       time.Duration
	Format     string // table or kv
	Quiet      bool
	StartIndex int

	// ready, when set, is called once every subscription is acknowledged and
	// before publishing starts (tests use it to start a separate publisher).
	ready func()
}

// Addr is the broker address host:port with the transport's default port.
func (c *Config) Addr() string {
	p := c.Port
	if p == 0 {
		switch {
		case c.WS && c.TLS:
			p = 8084
		case c.WS:
			p = 8083
		case c.TLS:
			p = 8883
		default:
			p = 1883
		}
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(p))
}

// Transport names the connection kind: tcp, tls, ws or wss.
func (c *Config) Transport() string {
	switch {
	case c.WS && c.TLS:
		return "wss"
	case c.WS:
		return "ws"
	case c.TLS:
		return "tls"
	}
	return "tcp"
}

// Publishers is the number of publishing clients of the run.
func (c *Config) Publishers() int {
	if c.Mode == ModePub || c.Mode == ModePubSub {
		return c.Clients
	}
	return 0
}

// Subscribers is the number of subscribing clients of the run.
func (c *Config) Subscribers() int {
	switch c.Mode {
	case ModeSub:
		return c.Clients
	case ModePubSub:
		return c.Subs
	}
	return 0
}

// ErrHelp is returned by Parse when -help was asked for; the usage has been
// printed.
var ErrHelp = flag.ErrHelp

// usageText heads the flag list of `manifold bench -help`.
const usageText = `Usage: manifold bench pub|sub|pubsub|conn [flags]

  pub     -c publishers send to -t (placeholders %i client index, %c client id)
  sub     -c subscribers on filter -t; latency, duplicates, gaps of our payloads
  pubsub  -c publishers and --subs subscribers in one process: exact loss count
  conn    -c idle connections opened at --conn-rate, held for --duration

Every run ends by itself: publishing stops at -L messages or --duration, then
waits at most --drain for acknowledgements and deliveries. A progress line goes
to stderr every second; the summary goes to stdout.

Flags (-flag and --flag are the same):
`

// Parse reads a bench command line: the mode, then flags. Errors name the
// flag at fault. Usage and flag errors are written to stderr.
func Parse(args []string, stderr io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = io.WriteString(stderr, usageText)
		fs.PrintDefaults()
	}
	var qos, subQoS, version, keepAlive int
	var limit int64
	var interval int
	var ifaddr string
	fs.StringVar(&c.Host, "h", "127.0.0.1", "broker `host`")
	fs.IntVar(&c.Port, "p", 0, "broker `port` (default 1883; 8883 --tls, 8083 --ws, 8084 both)")
	fs.IntVar(&c.Clients, "c", 1, "`clients`: publishers (pub, pubsub), subscribers (sub), connections (conn)")
	fs.IntVar(&c.Subs, "subs", 1, "subscribers in pubsub mode")
	fs.IntVar(&interval, "I", 0, "`ms` between two messages of one publisher; 0 = as fast as the window allows")
	fs.StringVar(&c.Topic, "t", "", "publish `topic`, or filter in sub mode; %i = client index, %c = client id (default bench/%i, sub: bench/#)")
	fs.StringVar(&c.SubTopic, "sub-topic", "", "pubsub subscription `filter` (default: -t with each placeholder level replaced by +)")
	fs.IntVar(&qos, "q", 0, "`QoS` of publishes and subscriptions (0, 1, 2)")
	fs.IntVar(&subQoS, "sub-qos", -1, "subscription `QoS` (default -q)")
	fs.IntVar(&c.Size, "s", 64, fmt.Sprintf("payload `bytes` (>= %d)", HeaderSize))
	fs.IntVar(&version, "V", 4, "MQTT `version`: 3 (3.1), 4 (3.1.1), 5 (5.0)")
	fs.Int64Var(&limit, "L", 0, "total message `limit` (pub, pubsub: sent; sub: received); 0 = none")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "publish phase, or conn hold time")
	fs.IntVar(&c.Inflight, "inflight", 64, "QoS 1/2 window of unacknowledged publishes per publisher (1..65535)")
	fs.Float64Var(&c.Rate, "rate", 0, "total publish `rate` in msg/s over all publishers (overrides -I); 0 = no limit")
	fs.BoolVar(&c.TLS, "tls", false, "connect with TLS")
	fs.BoolVar(&c.TLSVerify, "tls-verify", false, "verify the broker certificate (default: do not, test certificates)")
	fs.StringVar(&c.CACert, "cacert", "", "PEM `file` of CAs for --tls-verify")
	fs.BoolVar(&c.WS, "ws", false, "connect over WebSocket (subprotocol mqtt)")
	fs.StringVar(&c.WSPath, "ws-path", "/mqtt", "WebSocket `path`")
	fs.Float64Var(&c.ConnRate, "conn-rate", 0, "conn: new connections per second; 0 = as fast as --workers go")
	fs.IntVar(&c.Workers, "workers", 64, "concurrent connection attempts")
	fs.StringVar(&ifaddr, "ifaddr", "", "comma-separated local `addresses` used in turn (more ephemeral ports), e.g. 127.0.0.2,127.0.0.3")
	fs.IntVar(&keepAlive, "k", 300, "MQTT keep-alive `seconds`")
	fs.StringVar(&c.Username, "u", "", "user `name`")
	fs.StringVar(&c.Password, "P", "", "`password`")
	fs.StringVar(&c.Prefix, "prefix", "bench", "client id `prefix`")
	fs.IntVar(&c.StartIndex, "n", 0, "first client `index` (%i and publisher ids start here)")
	fs.IntVar(&c.PID, "pid", 0, "broker `PID`: report its CPU per message and RSS from /proc")
	fs.DurationVar(&c.Drain, "drain", 10*time.Second, "most time to wait for acknowledgements and deliveries after publishing")
	fs.DurationVar(&c.Idle, "idle", 2*time.Second, "the drain ends early when nothing arrived for this long")
	fs.StringVar(&c.Format, "format", "table", "summary `format`: table or kv (one line of key=value)")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress lines")

	if len(args) == 0 {
		fs.Usage()
		return nil, errors.New("missing mode: pub, sub, pubsub or conn")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help", "-?": // -h is the host only after the mode
		fs.SetOutput(stderr)
		fs.Usage()
		return nil, ErrHelp
	}
	c.Mode = Mode(args[0])
	switch c.Mode {
	case ModePub, ModeSub, ModePubSub, ModeConn:
	default:
		return nil, fmt.Errorf("unknown mode %q: want pub, sub, pubsub or conn", args[0])
	}
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if ifaddr != "" {
		for _, a := range strings.Split(ifaddr, ",") {
			a = strings.TrimSpace(a)
			if net.ParseIP(a) == nil {
				return nil, fmt.Errorf("-ifaddr: %q is not an IP address", a)
			}
			c.IfAddrs = append(c.IfAddrs, a)
		}
	}
	if c.Topic == "" {
		c.Topic = "bench/%i"
		if c.Mode == ModeSub {
			c.Topic = "bench/#"
		}
	}
	checks := []struct {
		bad  bool
		flag string
		msg  string
	}{
		{c.Host == "", "h", "host is empty"},
		{c.Port < 0 || c.Port > 65535, "p", "port must be 0..65535"},
		{c.Clients < 1, "c", "need at least one client"},
		{c.Subs < 1, "subs", "need at least one subscriber"},
		{interval < 0, "I", "interval must be >= 0"},
		{qos < 0 || qos > 2, "q", "QoS must be 0, 1 or 2"},
		{subQoS < -1 || subQoS > 2, "sub-qos", "QoS must be 0, 1 or 2"},
		{c.Size < HeaderSize || c.Size > 256<<20, "s", fmt.Sprintf("payload size must be %d..%d bytes (the header carries publisher, sequence and send time)", HeaderSize, 256<<20)},
		{version < 3 || version > 5, "V", "MQTT version must be 3, 4 or 5"},
		{limit < 0, "L", "limit must be >= 0"},
		{c.Duration < 0, "duration", "duration must be >= 0"},
		{limit == 0 && c.Duration == 0, "duration", "a run needs a bound: -L or a --duration above 0"},
		{c.Inflight < 1 || c.Inflight > 65535, "inflight", "window must be 1..65535"},
		{c.Rate < 0, "rate", "rate must be >= 0"},
		{c.ConnRate < 0, "conn-rate", "rate must be >= 0"},
		{c.Workers < 1, "workers", "need at least one worker"},
		{keepAlive < 0 || keepAlive > 65535, "k", "keep-alive must be 0..65535 seconds"},
		{c.PID < 0, "pid", "PID must be > 0"},
		{c.Drain < 0, "drain", "drain must be >= 0"},
		{c.Idle <= 0, "idle", "idle must be > 0"},
		{c.Format != "table" && c.Format != "kv", "format", "format must be table or kv"},
		{c.CACert != "" && !c.TLSVerify, "cacert", "needs --tls-verify"},
		{c.WSPath == "" || c.WSPath[0] != '/', "ws-path", "path must start with /"},
		{c.StartIndex < 0, "n", "index must be >= 0"},
	}
	for _, ch := range checks {
		if ch.bad {
			return nil, fmt.Errorf("-%s: %s", ch.flag, ch.msg)
		}
	}
	c.QoS, c.Version, c.KeepAlive = byte(qos), byte(version), uint16(keepAlive)
	c.SubQoS = c.QoS
	if subQoS >= 0 {
		c.SubQoS = byte(subQoS)
	}
	c.Limit = uint64(limit)
	c.Interval = time.Duration(interval) * time.Millisecond
	if c.Mode == ModePubSub && c.SubTopic == "" {
		c.SubTopic = FilterFor(c.Topic)
	}
	if err := checkTopics(c); err != nil {
		return nil, err
	}
	return c, nil
}
