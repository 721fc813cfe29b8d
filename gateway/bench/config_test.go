package bench

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseErrorsNameTheFlag(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no mode", nil, "missing mode"},
		{"unknown mode", []string{"flood"}, `unknown mode "flood"`},
		{"qos 3", []string{"pub", "-q", "3"}, "-q:"},
		{"sub qos 3", []string{"pubsub", "--sub-qos", "3"}, "-sub-qos:"},
		{"version 6", []string{"pub", "-V", "6"}, "-V:"},
		{"payload smaller than the header", []string{"pub", "-s", "10"}, "-s:"},
		{"no clients", []string{"sub", "-c", "0"}, "-c:"},
		{"window 0", []string{"pub", "-q", "1", "--inflight", "0"}, "-inflight:"},
		{"window above 65535", []string{"pub", "--inflight", "70000"}, "-inflight:"},
		{"negative rate", []string{"pub", "--rate", "-5"}, "-rate:"},
		{"unbounded", []string{"pub", "--duration", "0"}, "-duration:"},
		{"wildcard in a publish topic", []string{"pub", "-t", "a/+"}, "-t:"},
		{"bad filter", []string{"sub", "-t", "a/#/b"}, "-t:"},
		{"bad pubsub filter", []string{"pubsub", "--sub-topic", "a#"}, "-sub-topic:"},
		{"bad source address", []string{"conn", "--ifaddr", "127.0.0.2,nope"}, "-ifaddr:"},
		{"bad format", []string{"pub", "--format", "json"}, "-format:"},
		{"port out of range", []string{"pub", "-p", "70000"}, "-p:"},
		{"not a number", []string{"pub", "-c", "many"}, "-c"},
		{"unknown flag", []string{"pub", "--frob"}, "frob"},
		{"stray argument", []string{"pub", "extra"}, `unexpected argument "extra"`},
		{"cacert without verify", []string{"pub", "--tls", "--cacert", "x.pem"}, "-cacert:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var errOut strings.Builder
			_, err := Parse(tc.args, &errOut)
			if err == nil {
				t.Fatal("Parse accepted a bad command line")
			}
			if !strings.Contains(err.Error()+errOut.String(), tc.want) {
				t.Errorf("error %q (stderr %q) does not name %q", err, errOut.String(), tc.want)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	c, err := Parse([]string{"pubsub", "-h", "::1", "-c", "8", "--subs", "3", "-I", "5", "-t", "s/%c/x",
		"-q", "2", "-s", "100", "-V", "5", "-L", "1000", "--duration", "3s", "--inflight", "16", "--rate", "20000",
		"--ifaddr", "127.0.0.2, 127.0.0.3", "--ws", "--tls", "-k", "60", "--format", "kv"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"mode", c.Mode, ModePubSub},
		{"addr", c.Addr(), "[::1]:8084"},
		{"transport", c.Transport(), "wss"},
		{"publishers", c.Publishers(), 8},
		{"subscribers", c.Subscribers(), 3},
		{"interval", c.Interval, 5 * time.Millisecond},
		{"qos", c.QoS, byte(2)},
		{"sub qos follows -q", c.SubQoS, byte(2)},
		{"size", c.Size, 100},
		{"version", c.Version, byte(5)},
		{"limit", c.Limit, uint64(1000)},
		{"duration", c.Duration, 3 * time.Second},
		{"inflight", c.Inflight, 16},
		{"rate", c.Rate, 20000.0},
		{"ifaddr", strings.Join(c.IfAddrs, ","), "127.0.0.2,127.0.0.3"},
		{"keepalive", c.KeepAlive, uint16(60)},
		{"derived filter", c.SubTopic, "s/+/x"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	cases := []struct {
		args      []string
		addr      string
		topic     string
		subs, pub int
	}{
		{[]string{"pub"}, "127.0.0.1:1883", "bench/%i", 0, 1},
		{[]string{"sub", "-c", "4"}, "127.0.0.1:1883", "bench/#", 4, 0},
		{[]string{"pubsub", "--ws"}, "127.0.0.1:8083", "bench/%i", 1, 1},
		{[]string{"conn", "--tls", "-c", "100"}, "127.0.0.1:8883", "bench/%i", 0, 0},
	}
	for _, tc := range cases {
		c, err := Parse(tc.args, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if c.Addr() != tc.addr || c.Topic != tc.topic || c.Subscribers() != tc.subs || c.Publishers() != tc.pub {
			t.Errorf("%v: addr %s topic %s subs %d pubs %d", tc.args, c.Addr(), c.Topic, c.Subscribers(), c.Publishers())
		}
	}
}

func TestMainExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"-help"}, exitOK, "Usage: manifold bench"},
		{[]string{"-h"}, exitOK, "Usage: manifold bench"},
		{[]string{"pub", "-help"}, exitOK, "-inflight"},
		{[]string{"pub", "-q", "9"}, exitUsage, "-q: QoS must be 0, 1 or 2"},
		{[]string{"pub", "-p", "1", "-L", "1", "--quiet"}, exitFailed, "connecting publishers"},
	}
	for _, tc := range cases {
		var out, errOut strings.Builder
		if code := Main(tc.args, &out, &errOut); code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errOut.String())
		}
		if !strings.Contains(errOut.String(), tc.err) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.err, errOut.String())
		}
	}
}
