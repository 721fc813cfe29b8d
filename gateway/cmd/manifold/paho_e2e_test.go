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
func pahoV5(t *testing.T, b *runningBroker, id string, cp *paho.Connect) (*paho.Client, *paho.Connack, chan *paho.Publish) {
	t.Helper()
	conn, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *paho.Publish, 1000)
	c := paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- pr.Packet
			return true, nil
		}},
	})
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
