package coap

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	piondtls "github.com/pion/dtls/v3"
	"github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/manifold-iot/manifold/adapters/coapnet"
	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

func TestTakeoverByMQTTClientEndsCoAPClient(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw()
	observeRaw(t, r, "/ps/t", "clientid=k1")
	eventually(t, time.Second, func() bool { return e.srv.Clients() == 1 })
	m := &mqtt{t: t, b: e.ctx.Broker, id: "k1"}
	m.sess = e.ctx.Connect(broker.ConnectRequest{Client: &core.ClientInfo{ClientID: "k1", Proto: "mqtt"}, Conn: m, CleanStart: true}).Session
	eventually(t, 2*time.Second, func() bool { return e.srv.Clients() == 0 })
	e.mqttClient("pub").publish("t", "after", core.QoS0)
	if n, ok := r.recv(200 * time.Millisecond); ok {
		t.Fatalf("a taken-over observer still got %q", n.Payload)
	}
}

func TestIdleObserverGetsConfirmableNotification(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Heartbeat = 50 * time.Millisecond })
	r := e.raw()
	observeRaw(t, r, "/ps/t", "clientid=p1", "qos=0")
	c := func() *client { e.srv.mu.Lock(); defer e.srv.mu.Unlock(); return e.srv.clients["p1"] }()
	eventually(t, 2*time.Second, func() bool { return c.probe.Load() })
	e.mqttClient("pub").publish("t", "still-there?", core.QoS0)
	n := r.mustRecv()
	if n.Type != message.Confirmable {
		t.Fatalf("notification to an idle observer is %v, want CON (RFC 7641 §4.5)", n.Type)
	}
	r.sendMsg(message.Message{Type: message.Acknowledgement, Code: codes.Empty, MessageID: n.MessageID})
	eventually(t, time.Second, func() bool { return e.srv.net.Pending() == 0 })
	if len(e.ctx.Subscriptions("p1")) != 1 {
		t.Fatal("an acknowledged probe ended the observation")
	}
}

// selfSigned writes a throwaway ECDSA certificate and key for 127.0.0.1.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "manifold-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestDTLSCertificate(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	e := newEnv(t, func(c *Config) {
		c.Listeners.DTLS = map[string]coapnet.DTLSListener{"default": {Bind: "127.0.0.1:0", Certfile: certFile, Keyfile: keyFile}}
	})
	sub := e.mqttClient("sub")
	sub.subscribe("cert/#", core.QoS0)
	cc, err := dtls.Dial(e.srv.Addr("dtls:default").String(), dtls.NewDTLSClientOptions(piondtls.WithInsecureSkipVerify(true)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	resp, err := cc.Post(ctxT(t), "/ps/cert/up", message.TextPlain, bytes.NewReader([]byte("x509")), queries("clientid=x1")...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Changed {
		t.Fatalf("code %v", resp.Code())
	}
	eventually(t, 2*time.Second, func() bool { return len(sub.messages()) == 1 })
}
