package api

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/hooks"
)

// benchNode is a Node over a bare broker.
type benchNode struct {
	stubNode
	b *broker.Broker
}

func (n benchNode) Broker() *broker.Broker { return n.b }
func (benchNode) Banned() *hooks.Banned    { return hooks.NewBanned() }
func (benchNode) NodeName() string         { return "bench@127.0.0.1" }
func (benchNode) Listeners() []Listener {
	return []Listener{{ID: "tcp:default", Type: "tcp", Name: "default", Running: true}}
}

type nopConn struct{}

func (nopConn) Notify()    {}
func (nopConn) Kick(error) {}

// BenchmarkMetricsScrape is one GET /metrics with 10 000 connected clients
// holding a subscription each.
func BenchmarkMetricsScrape(b *testing.B) {
	br := broker.New(broker.DefaultConfig(), zerolog.Nop())
	defer br.Close()
	for i := 0; i < 10000; i++ {
		id := fmt.Sprintf("c%05d", i)
		br.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: id, Proto: "mqtt", Listener: "tcp:default"}, Conn: nopConn{}, CleanStart: true})
		if _, err := br.SubscribeFor(id, "t/"+id, core.SubOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	a, err := New(benchNode{b: br}, Options{DataDir: b.TempDir(), DefaultUsername: "admin", DefaultPassword: "public", HashIterations: 1, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Handler()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
		_, _ = io.Copy(io.Discard, w.Body)
	}
}

// BenchmarkLoginHash is the default PBKDF2 cost of one login.
func BenchmarkLoginHash(b *testing.B) {
	s := &authStore{iters: defaultIterations}
	h := s.hashPassword("public")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !checkPassword(h, "public") {
			b.Fatal("mismatch")
		}
	}
}
