package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// pahoV5 connects an eclipse/paho.golang (MQTT 5) client to b; received
// messages arrive on the returned channel.
func pahoV5(t *testing.T, b *runningBroker, id string, cp *paho.Connect, mods ...func(*paho.ClientConfig)) (*paho.Client, *paho.Connack, chan *paho.Publish) {
	t.Helper()
	conn, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *paho.Publish, 1000)
	cc := paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- pr.Packet
			return true, nil
		}},
	}
	for _, m := range mods {
		m(&cc)
	}
	c := paho.NewClient(cc)
	if cp == nil {
		cp = &paho.Connect{KeepAlive: 30, CleanStart: true}
	}
	cp.ClientID = id
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, cp)
	if err != nil {
		t.Fatalf("paho.golang connect %s: %v (%+v)", id, err, ack)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, ack, got
}

func recvWithin(t *testing.T, ch chan *paho.Publish, d time.Duration) *paho.Publish {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(d):
		t.Fatal("no message received")
		return nil
	}
}

func TestE2EPahoV5QoSAndProperties(t *testing.T) {
	b := startBroker(t)
	sub, ack, got := pahoV5(t, b, "paho-sub", nil)
	if ack.Properties == nil || ack.Properties.ReceiveMaximum == nil || *ack.Properties.ReceiveMaximum != 32 {
		t.Fatalf("CONNACK properties %+v, want Receive Maximum 32", ack.Properties)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "v5/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := pahoV5(t, b, "paho-pub", nil)
	for qos := byte(0); qos <= 2; qos++ {
		_, err := pub.Publish(ctx, &paho.Publish{
			Topic: "v5/q", QoS: qos, Payload: []byte(fmt.Sprint(qos)),
			Properties: &paho.PublishProperties{
				ContentType: "text/plain", ResponseTopic: "v5/reply", CorrelationData: []byte{1, 2},
				User: paho.UserProperties{{Key: "k", Value: "v"}},
			},
		})
		if err != nil {
			t.Fatalf("publish QoS %d: %v", qos, err)
		}
		m := recvWithin(t, got, 5*time.Second)
		if m.QoS != qos || string(m.Payload) != fmt.Sprint(qos) || m.Properties == nil ||
			m.Properties.ContentType != "text/plain" || m.Properties.ResponseTopic != "v5/reply" ||
			string(m.Properties.CorrelationData) != "\x01\x02" || m.Properties.User.Get("k") != "v" {
			t.Fatalf("QoS %d delivery %+v props %+v", qos, m, m.Properties)
		}
	}
}

func TestE2EPahoV5SharedSubscription(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var members []chan *paho.Publish
	for i := range 2 {
		c, _, got := pahoV5(t, b, fmt.Sprintf("member-%d", i), nil)
		if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "$share/g/work/+", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		members = append(members, got)
	}
	pub, _, _ := pahoV5(t, b, "producer", nil)
	const total = 20
	for i := range total {
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: "work/item", QoS: 1, Payload: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	counts := []int{0, 0}
	deadline := time.After(10 * time.Second)
	for counts[0]+counts[1] < total {
		select {
		case <-members[0]:
			counts[0]++
		case <-members[1]:
			counts[1]++
		case <-deadline:
			t.Fatalf("group received %v of %d", counts, total)
		}
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Fatalf("round_robin gave one member everything: %v", counts)
	}
}

func TestE2EPahoV3PersistentSession(t *testing.T) {
	b := startBroker(t)
	var mu sync.Mutex
	var received []string
	opts := pahov3.NewClientOptions().AddBroker("tcp://" + b.addr).SetClientID("v3-persistent").
		SetCleanSession(false).SetAutoReconnect(false).SetProtocolVersion(4).
		SetDefaultPublishHandler(func(_ pahov3.Client, m pahov3.Message) {
			mu.Lock()
			received = append(received, string(m.Payload()))
			mu.Unlock()
		})
	sub := pahov3.NewClient(opts)
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := sub.Subscribe("v3/t", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	sub.Disconnect(100)

	pub := pahov3.NewClient(pahov3.NewClientOptions().AddBroker("tcp://" + b.addr).SetClientID("v3-pub").SetProtocolVersion(4))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	for i := range 3 {
		if tok := pub.Publish("v3/t", 1, false, fmt.Sprint(i)); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	sub = pahov3.NewClient(opts)
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("reconnect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if !eventually(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(received) == 3 }) {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("offline messages received %v, want 0 1 2", received)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(received) != "[0 1 2]" {
		t.Fatalf("offline messages %v, want [0 1 2] in order", received)
	}
}

func TestE2EPahoV5TakeoverDelayedAliasExpiry(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("takeover sends DISCONNECT 0x8E to the first connection", func(t *testing.T) {
		kicked := make(chan byte, 1)
		pahoV5(t, b, "twin", nil, func(cc *paho.ClientConfig) {
			cc.OnServerDisconnect = func(d *paho.Disconnect) { kicked <- d.ReasonCode }
		})
		pahoV5(t, b, "twin", nil)
		select {
		case rc := <-kicked:
			if rc != 0x8E {
				t.Fatalf("first connection got DISCONNECT 0x%02X, want 0x8E", rc)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("first connection was not told it was taken over")
		}
	})

	t.Run("delayed publish arrives after its delay", func(t *testing.T) {
		sub, _, got := pahoV5(t, b, "delay-sub", nil)
		if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "later/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		pub, _, _ := pahoV5(t, b, "delay-pub", nil)
		start := time.Now()
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: "$delayed/1/later/x", QoS: 1, Payload: []byte("tick")}); err != nil {
			t.Fatal(err)
		}
		m := recvWithin(t, got, 5*time.Second)
		if m.Topic != "later/x" || string(m.Payload) != "tick" || time.Since(start) < time.Second {
			t.Fatalf("got %s %q after %v, want later/x tick after at least 1s", m.Topic, m.Payload, time.Since(start))
		}
	})

	t.Run("topic alias from the client", func(t *testing.T) {
		sub, _, got := pahoV5(t, b, "alias-sub", nil)
		if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "alias/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		pub, _, _ := pahoV5(t, b, "alias-pub", nil)
		alias := uint16(7)
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: "alias/long/topic", QoS: 1, Payload: []byte("1"), Properties: &paho.PublishProperties{TopicAlias: &alias}}); err != nil {
			t.Fatal(err)
		}
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: "", QoS: 1, Payload: []byte("2"), Properties: &paho.PublishProperties{TopicAlias: &alias}}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"1", "2"} {
			if m := recvWithin(t, got, 5*time.Second); m.Topic != "alias/long/topic" || string(m.Payload) != want {
				t.Fatalf("got %s %q, want alias/long/topic %q", m.Topic, m.Payload, want)
			}
		}
	})

	t.Run("an expired message is not delivered to a returning session", func(t *testing.T) {
		expiry := uint32(600)
		cp := &paho.Connect{KeepAlive: 30, CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}
		sub, _, _ := pahoV5(t, b, "expiry-sub", cp)
		if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "exp/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		_ = sub.Disconnect(&paho.Disconnect{})
		pub, _, _ := pahoV5(t, b, "expiry-pub", nil)
		short, long := uint32(1), uint32(600)
		pub.Publish(ctx, &paho.Publish{Topic: "exp/short", QoS: 1, Payload: []byte("gone"), Properties: &paho.PublishProperties{MessageExpiry: &short}})
		pub.Publish(ctx, &paho.Publish{Topic: "exp/long", QoS: 1, Payload: []byte("kept"), Properties: &paho.PublishProperties{MessageExpiry: &long}})
		time.Sleep(2100 * time.Millisecond) // let exp/short's expiry interval pass: the behaviour under test is time itself
		_, ack, got := pahoV5(t, b, "expiry-sub", &paho.Connect{KeepAlive: 30, CleanStart: false, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
		if !ack.SessionPresent {
			t.Fatal("session not resumed")
		}
		m := recvWithin(t, got, 5*time.Second)
		if m.Topic != "exp/long" || m.Properties == nil || m.Properties.MessageExpiry == nil || *m.Properties.MessageExpiry > 598 {
			t.Fatalf("got %s with properties %+v, want exp/long with its remaining expiry (< 600 s)", m.Topic, m.Properties)
		}
		select {
		case m := <-got:
			t.Fatalf("also got %s %q: the expired message was delivered", m.Topic, m.Payload)
		case <-time.After(300 * time.Millisecond):
		}
	})
}
