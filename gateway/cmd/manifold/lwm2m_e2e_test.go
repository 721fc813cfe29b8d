package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
)

// LwM2M content formats a device answers in (LwM2M 1.1 TS Core §7.1).
const (
	formatTLV       = message.MediaType(11542)
	formatSenMLJSON = message.MediaType(110)
)

// lwm2mDevice is a minimal LwM2M client over go-coap's UDP client: it
// registers objects 1 and 3 and answers a read of /3/0/0 with its
// manufacturer, encoded by hand (not with Manifold's codec) in TLV for a
// 1.0 device and SenML JSON for a 1.1 device.
type lwm2mDevice struct {
	ep, version, manufacturer string
	cc                        *udpclient.Conn
}

// dial connects the device to the gateway's UDP listener at addr.
func (d *lwm2mDevice) dial(t *testing.T, addr string) {
	t.Helper()
	cc, err := udp.Dial(addr, options.WithHandlerFunc(d.handle))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	d.cc = cc
}

// register sends Register (LwM2M 1.1 TS Core §6.2.1): POST /rd with ep, lt,
// lwm2m and b, and the object list in link format.
func (d *lwm2mDevice) register(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var opts message.Options
	for _, q := range []string{"ep=" + d.ep, "lt=300", "lwm2m=" + d.version, "b=U"} {
		opts = append(opts, message.Option{ID: message.URIQuery, Value: []byte(q)})
	}
	resp, err := d.cc.Post(ctx, "/rd", message.AppLinkFormat, bytes.NewReader([]byte("</1/0>,</3/0>")), opts...)
	if err != nil {
		t.Fatalf("register %s: %v", d.ep, err)
	}
	if resp.Code() != codes.Created {
		body, _ := resp.ReadBody()
		t.Fatalf("register %s: %v %s", d.ep, resp.Code(), body)
	}
}

// handle answers the gateway's requests: GET /3/0/0, else 4.04.
func (d *lwm2mDevice) handle(w *responsewriter.ResponseWriter[*udpclient.Conn], r *pool.Message) {
	path, _ := r.Options().Path()
	if r.Code() != codes.GET || strings.Trim(path, "/") != "3/0/0" {
		_ = w.SetResponse(codes.NotFound, message.TextPlain, nil)
		return
	}
	if d.version == "1.0" {
		// LwM2M 1.0 TS §6.4.3 TLV: type 0b11_0_01_000 (resource with value,
		// 8-bit identifier, 8-bit length field), id 0, length, value.
		body := append([]byte{0xC8, 0x00, byte(len(d.manufacturer))}, d.manufacturer...)
		_ = w.SetResponse(codes.Content, formatTLV, bytes.NewReader(body))
		return
	}
	// RFC 8428 SenML JSON, LwM2M 1.1 TS Core §7.4.4: base name plus name.
	body, _ := json.Marshal([]map[string]string{{"bn": "/3/0/", "n": "0", "vs": d.manufacturer}})
	_ = w.SetResponse(codes.Content, formatSenMLJSON, bytes.NewReader(body))
}

// lwm2mUplink is one message seen on an up/ topic.
type lwm2mUplink struct {
	MsgType string         `json:"msgType"`
	ReqID   string         `json:"reqID"`
	Data    map[string]any `json:"data"`
}

// parseUplinks reads mosquitto_sub -v output: "topic payload" per line.
func parseUplinks(t *testing.T, out, topic string) []lwm2mUplink {
	t.Helper()
	var ups []lwm2mUplink
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		tp, payload, ok := strings.Cut(line, " ")
		if !ok || tp != topic {
			t.Fatalf("mosquitto_sub line %q is not on %s", line, topic)
		}
		var u lwm2mUplink
		if err := json.Unmarshal([]byte(payload), &u); err != nil {
			t.Fatalf("uplink %q: %v", payload, err)
		}
		ups = append(ups, u)
	}
	return ups
}

// TestE2ELwM2MRegisterAndRead is issue 8's LwM2M acceptance against the
// built binary on the shipped config: an LwM2M client registers, its
// register message appears on lwm2m/<ep>/up/resp, and a read of /3/0/0
// published to lwm2m/<ep>/dn/dm comes back on up/resp with the value — for
// a 1.0 device answering in TLV and a 1.1 device answering in SenML JSON.
func TestE2ELwM2MRegisterAndRead(t *testing.T) {
	needTool(t, "mosquitto_sub")
	needTool(t, "mosquitto_pub")
	b := startBroker(t)
	addr := b.gwAddr(t, "lwm2m", "udp")
	for _, d := range []*lwm2mDevice{
		{ep: "e2e-dev10", version: "1.0", manufacturer: "Manifold TLV"},
		{ep: "e2e-dev11", version: "1.1", manufacturer: "Manifold SenML"},
	} {
		t.Run("lwm2m "+d.version, func(t *testing.T) {
			topic := "lwm2m/" + d.ep + "/up/resp"
			watcher := b.startSub(t, "-i", "watch-"+d.ep, "-t", topic, "-v", "-C", "2")
			b.waitSubscribed(t, "watch-"+d.ep)
			d.dial(t, addr)
			d.register(t)
			if o, err := b.mosquitto(t, 5*time.Second, "mosquitto_pub", "-t", "lwm2m/"+d.ep+"/dn/dm",
				"-m", `{"reqID":"1","msgType":"read","data":{"path":"/3/0/0"}}`); err != nil {
				t.Fatalf("mosquitto_pub: %v %s", err, o)
			}
			ups := parseUplinks(t, watcher.wait(t, 15*time.Second), topic)
			if len(ups) != 2 {
				t.Fatalf("want the register message and the read response, got %+v", ups)
			}
			reg := ups[0]
			if reg.MsgType != "register" || reg.Data["ep"] != d.ep || reg.Data["lwm2m"] != d.version {
				t.Errorf("register message %+v", reg)
			}
			if ol, _ := json.Marshal(reg.Data["objectList"]); string(ol) != `["/1/0","/3/0"]` {
				t.Errorf("register objectList %s, want [\"/1/0\",\"/3/0\"]", ol)
			}
			read := ups[1]
			content, _ := json.Marshal(read.Data["content"])
			if read.MsgType != "read" || read.ReqID != "1" || read.Data["code"] != "2.05" || read.Data["reqPath"] != "/3/0/0" ||
				string(content) != `[{"path":"/3/0/0","value":"`+d.manufacturer+`"}]` {
				t.Errorf("read response %+v (content %s), want 2.05 with /3/0/0 = %q", read, content, d.manufacturer)
			}
		})
	}
}

// TestE2ELwM2MNodeClient: npm lwm2m-node-lib (scripts/e2e/lwm2m/client.js,
// a real LwM2M 1.0 client answering in text/plain) registers with the
// binary, and a read published with mosquitto_pub comes back on up/resp.
func TestE2ELwM2MNodeClient(t *testing.T) {
	needTool(t, "mosquitto_sub")
	needTool(t, "node")
	dir, err := filepath.Abs("../../../scripts/e2e/lwm2m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "lwm2m-node-lib")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("npm lwm2m-node-lib missing (.ci/run installs it)")
		}
		t.Skip("npm lwm2m-node-lib missing: (cd scripts/e2e/lwm2m && npm ci)")
	}
	b := startBroker(t)
	host, port, _ := strings.Cut(b.gwAddr(t, "lwm2m", "udp"), ":")
	topic := "lwm2m/node-e2e/up/resp"
	watcher := b.startSub(t, "-i", "watch-node", "-t", topic, "-v", "-C", "2")
	b.waitSubscribed(t, "watch-node")

	out := &lockedBuffer{}
	cmd := exec.Command("node", filepath.Join(dir, "client.js"), host, port, "node-e2e")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if !eventually(t, 15*time.Second, func() bool { return strings.Contains(out.String(), `"event":"registered"`) }) {
		t.Fatalf("the node client did not register; it said:\n%s", out.String())
	}
	if o, err := b.mosquitto(t, 5*time.Second, "mosquitto_pub", "-t", "lwm2m/node-e2e/dn/dm",
		"-m", `{"reqID":"7","msgType":"read","data":{"path":"/3/0/0"}}`); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, o)
	}
	ups := parseUplinks(t, watcher.wait(t, 15*time.Second), topic)
	if len(ups) != 2 || ups[0].MsgType != "register" || ups[0].Data["lwm2m"] != "1.0" {
		t.Fatalf("uplinks %+v, want the register message then the read response", ups)
	}
	content, _ := json.Marshal(ups[1].Data["content"])
	if ups[1].MsgType != "read" || ups[1].ReqID != "7" || ups[1].Data["code"] != "2.05" ||
		string(content) != `[{"path":"/3/0/0","value":"Manifold-node"}]` {
		t.Fatalf("read response %+v (content %s)", ups[1], content)
	}
}
