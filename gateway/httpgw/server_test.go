package httpgw

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/codec"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/internal/testkit"
)

// lineCodec frames lines.
type lineCodec struct{}

func (lineCodec) Decode(b []byte) (codec.Frame, int, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, 0, codec.ErrIncomplete
	}
	if i > 0 && b[0] == '!' {
		return nil, 0, errors.New("bad line")
	}
	return string(b[:i]), i + 1, nil
}
func (lineCodec) Encode(dst []byte, f codec.Frame) ([]byte, error) {
	return append(append(dst, f.(string)...), '\n'), nil
}

// echo answers each line upper-cased; "quit" closes; HandleDeliver writes
// "delivered".
type echo struct {
	mu     sync.Mutex
	infos  []adapters.ConnInfo
	closed []error
}

func (e *echo) Name() string { return "echo" }
func (e *echo) NewChannel(ci adapters.ConnInfo, _ adapters.Context) (adapters.Channel, error) {
	e.mu.Lock()
	e.infos = append(e.infos, ci)
	e.mu.Unlock()
	return &echoCh{e: e, h: ci.Handle}, nil
}

type echoCh struct {
	e *echo
	h adapters.Handle
}

func (c *echoCh) Codec() codec.Codec     { return lineCodec{} }
func (c *echoCh) Open() adapters.Replies { return adapters.Replies{} }
func (c *echoCh) HandleIn(f codec.Frame) adapters.Replies {
	s := f.(string)
	if s == "quit" {
		return adapters.Replies{Out: []codec.Frame{"bye"}, Shutdown: errors.New("quit")}
	}
	if s == "notify" {
		go c.h.Notify()
	}
	return adapters.Replies{Out: []codec.Frame{strings.ToUpper(s)}}
}
func (c *echoCh) HandleFrameError(error) adapters.Replies {
	return adapters.Replies{Out: []codec.Frame{"error"}}
}
func (c *echoCh) HandleDeliver() adapters.Replies {
	return adapters.Replies{Out: []codec.Frame{"delivered"}}
}
func (c *echoCh) HandleTimeout(adapters.TimerID, time.Time) adapters.Replies {
	return adapters.Replies{}
}
func (c *echoCh) HandleEvent(any) adapters.Replies { return adapters.Replies{} }
func (c *echoCh) Close(reason error) {
	c.e.mu.Lock()
	c.e.closed = append(c.e.closed, reason)
	c.e.mu.Unlock()
}

// nopContext is an adapters.Context the echo adapter never calls.
type nopContext struct{ log zerolog.Logger }

func (n *nopContext) Logger() *zerolog.Logger                 { return &n.log }
func (n *nopContext) Authenticate(adapters.AuthRequest) error { return nil }
func (n *nopContext) Authorize(*core.ClientInfo, core.Action, string, core.QoS, bool) bool {
	return true
}
func (n *nopContext) DenyAction() string { return "ignore" }
func (n *nopContext) Connect(broker.ConnectRequest) broker.ConnectResult {
	return broker.ConnectResult{}
}
func (n *nopContext) Disconnect(string, broker.Conn, bool, *time.Duration, string) {}
func (n *nopContext) Publish(*core.Message) (broker.PublishResult, error) {
	return broker.PublishResult{}, nil
}
func (n *nopContext) Subscribe(string, broker.Conn, string, core.SubOptions) (broker.SubscribeResult, error) {
	return broker.SubscribeResult{}, nil
}
func (n *nopContext) Unsubscribe(string, broker.Conn, string) (bool, error) { return false, nil }

func start(t *testing.T, cfg Config) (*Server, *echo) {
	t.Helper()
	e := &echo{}
	cfg.Name, cfg.Key, cfg.Bind = "echo:http:default", "gateway.echo.listeners.http.default", "127.0.0.1:0"
	cfg.WebSocketPath, cfg.Subprotocols, cfg.SockJSPrefix = "/ws", []string{"v12.stomp"}, "/sockjs"
	s := New(cfg, e, &nopContext{log: zerolog.Nop()}, zerolog.Nop())
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s, e
}

func dial(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *websocket.Conn) (string, error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	return string(b), err
}

func TestWebSocketSession(t *testing.T) {
	tests := []struct {
		name string
		send []string
		want []string
	}{
		{"one frame", []string{"hi\n"}, []string{"HI\n"}},
		{"frame split over messages", []string{"h", "i\n"}, []string{"HI\n"}},
		{"two frames in one message go out in one", []string{"a\nb\n"}, []string{"A\nB\n"}},
		{"notify from another goroutine", []string{"notify\n"}, []string{"NOTIFY\n", "delivered\n"}},
		{"bad bytes: replies, then close", []string{"!x\n"}, []string{"error\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := start(t, Config{})
			c := dial(t, s)
			for _, m := range tc.send {
				if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range tc.want {
				if got, err := read(t, c); err != nil || got != want {
					t.Fatalf("read %q %v, want %q", got, err, want)
				}
			}
		})
	}
}

func TestShutdownSendsThenCloses(t *testing.T) {
	s, e := start(t, Config{})
	c := dial(t, s)
	_ = c.WriteMessage(websocket.TextMessage, []byte("quit\n"))
	if got, err := read(t, c); got != "bye\n" || err != nil {
		t.Fatalf("%q %v", got, err)
	}
	_, err := read(t, c)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("want a normal close frame, got %v", err)
	}
	testkit.MustEventually(t, 5*time.Second, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.closed) == 1 && e.closed[0] != nil && e.closed[0].Error() == "quit"
	})
}

func TestMaxConnections(t *testing.T) {
	s, _ := start(t, Config{MaxConnections: 1})
	dial(t, s)
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr().String()+"/ws", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second connection: %v %v", err, resp)
	}
}

func TestStopClosesSessions(t *testing.T) {
	s, e := start(t, Config{})
	c := dial(t, s)
	_ = c.WriteMessage(websocket.TextMessage, []byte("x\n"))
	if _, err := read(t, c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, c); err == nil {
		t.Fatal("session still open after Stop")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.closed) != 1 {
		t.Fatalf("Close called %d times", len(e.closed))
	}
}

func TestSockJSSessionsAreTextOnly(t *testing.T) {
	s, e := start(t, Config{})
	base := "http://" + s.Addr().String() + "/sockjs/000/abc/"
	resp, err := http.Post(base+"xhr", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ws := dial(t, s)
	_ = ws.WriteMessage(websocket.TextMessage, []byte("x\n"))
	if _, err := read(t, ws); err != nil {
		t.Fatal(err)
	}
	testkit.MustEventually(t, 5*time.Second, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.infos) == 2
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	text := 0
	for _, ci := range e.infos {
		if ci.TextOnly {
			text++
		}
	}
	if text != 1 {
		t.Fatalf("TextOnly on %d of 2 sessions (want the SockJS one only): %+v", text, e.infos)
	}
}
