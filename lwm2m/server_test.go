package lwm2m

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	piondtls "github.com/pion/dtls/v3"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	codec "github.com/manifold-iot/manifold/codec/lwm2m"
)

func data(u uplinkMsg) map[string]any {
	d, _ := u.Body["data"].(map[string]any)
	return d
}

// content is the response's content array as path → value.
func content(u uplinkMsg) map[string]any {
	out := map[string]any{}
	items, _ := data(u)["content"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		out[fmt.Sprint(m["path"])] = m["value"]
	}
	return out
}

func reqID(id float64) func(map[string]any) bool {
	return func(b map[string]any) bool { return b["reqID"] == id }
}

// TestReadFormats: whatever format a device answers in, the response
// carries the same typed content.
func TestReadFormats(t *testing.T) {
	for _, f := range []codec.ContentFormat{
		codec.FormatTLV, codec.FormatTLVLegacy, codec.FormatLwM2MJSON, codec.FormatSenMLJSON, codec.FormatSenMLCBOR,
	} {
		t.Run(fmt.Sprint(uint16(f)), func(t *testing.T) {
			e := newEnv(t, nil)
			d := newDevice(t, "fmt", "1.1")
			d.format = f
			d.dialUDP(e.srv.Addr("udp:default").String())
			d.register()
			e.waitUplink("lwm2m/fmt/up/resp", msgType("register"))
			e.command("fmt", `{"reqID":1,"msgType":"read","data":{"path":"/3/0"}}`)
			r := e.waitUplink("lwm2m/fmt/up/resp", reqID(1))
			c := content(r)
			if c["/3/0/0"] != "Manifold" || c["/3/0/9"] != float64(80) || c["/3/0/13"] != float64(1700000000) || len(c) != 4 {
				t.Fatalf("read /3/0: %s", r.Raw)
			}
		})
	}
}

// TestAcceptance is the acceptance: a client registers, its register
// message appears on up/resp, and a read of /3/0/0 on dn comes back on
// up/resp with the value — for a 1.0 device answering in TLV and a 1.1
// device answering in SenML JSON.
func TestAcceptance(t *testing.T) {
	for _, tc := range []struct{ name, version string }{
		{"lwm2m_1.0_tlv", "1.0"},
		{"lwm2m_1.1_senml_json", "1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			d := newDevice(t, "ep-"+tc.version, tc.version)
			d.dialUDP(e.srv.Addr("udp:default").String())
			if code := d.register(); code != codes.Created {
				t.Fatalf("register: %v", code)
			}
			reg := e.waitUplink("lwm2m/ep-"+tc.version+"/up/resp", msgType("register"))
			rd := data(reg)
			if rd["ep"] != d.name || rd["lt"] != float64(60) || rd["lwm2m"] != tc.version || rd["b"] != "U" ||
				rd["alternatePath"] != "/" || fmt.Sprint(rd["objectList"]) != "[/1/0 /3/0]" {
				t.Fatalf("register message: %s", reg.Raw)
			}
			e.command(d.name, `{"reqID":7,"msgType":"read","data":{"path":"/3/0/0"}}`)
			resp := e.waitUplink("lwm2m/"+d.name+"/up/resp", reqID(7))
			want := `{"reqID":7,"msgType":"read","data":{"reqPath":"/3/0/0","code":"2.05","codeMsg":"content","content":[{"path":"/3/0/0","value":"Manifold"}]}}`
			if resp.Raw != want {
				t.Fatalf("read response\n got %s\nwant %s", resp.Raw, want)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	for _, version := range []string{"1.0", "1.1"} {
		t.Run("lwm2m_"+version, func(t *testing.T) {
			e := newEnv(t, nil)
			d := newDevice(t, "cmd", version)
			d.dialUDP(e.srv.Addr("udp:default").String())
			if code := d.register(); code != codes.Created {
				t.Fatalf("register: %v", code)
			}
			topic := "lwm2m/cmd/up/resp"
			e.waitUplink(topic, msgType("register"))

			t.Run("read_instance", func(t *testing.T) {
				e.command("cmd", `{"reqID":1,"msgType":"read","data":{"path":"/3/0"}}`)
				r := e.waitUplink(topic, reqID(1))
				c := content(r)
				if data(r)["code"] != "2.05" || c["/3/0/0"] != "Manifold" || c["/3/0/9"] != float64(80) || c["/3/0/1"] != "Test Device" {
					t.Fatalf("read /3/0: %s", r.Raw)
				}
			})
			t.Run("read_missing", func(t *testing.T) {
				e.command("cmd", `{"reqID":2,"msgType":"read","data":{"path":"/3/0/99"}}`)
				r := e.waitUplink(topic, reqID(2))
				if data(r)["code"] != "4.04" || data(r)["codeMsg"] != "not_found" || data(r)["content"] != nil {
					t.Fatalf("read missing: %s", r.Raw)
				}
			})
			t.Run("write_single", func(t *testing.T) {
				e.command("cmd", `{"reqID":3,"requestID":"abc","msgType":"write","data":{"path":"/1/0/1","type":"Integer","value":120}}`)
				r := e.waitUplink(topic, reqID(3))
				if data(r)["code"] != "2.04" || data(r)["reqPath"] != "/1/0/1" || r.Body["requestID"] != "abc" {
					t.Fatalf("write: %s", r.Raw)
				}
				if v := d.records(codec.ResourcePath(1, 0, 1)); len(v) != 1 || v[0].Value.Int() != 120 {
					t.Fatalf("device has %v", v)
				}
			})
			t.Run("write_batch", func(t *testing.T) {
				e.command("cmd", `{"reqID":4,"msgType":"write","data":{"basePath":"/1/0","content":[{"path":"1","value":200},{"path":"/1/0/0","value":"7"}]}}`)
				r := e.waitUplink(topic, reqID(4))
				if data(r)["code"] != "2.04" {
					t.Fatalf("batch write: %s", r.Raw)
				}
				d.mu.Lock()
				last := d.writes[len(d.writes)-1]
				d.mu.Unlock()
				want := codec.FormatTLV
				if version == "1.1" {
					want = codec.FormatSenMLJSON
				}
				if last != want {
					t.Fatalf("batch write sent as %v, want %v", last, want)
				}
				if v := d.records(codec.ResourcePath(1, 0, 1)); v[0].Value.Int() != 200 {
					t.Fatalf("device has %v", v)
				}
			})
			t.Run("execute", func(t *testing.T) {
				e.command("cmd", `{"reqID":5,"msgType":"execute","data":{"path":"/3/0/4","args":"0='x'"}}`)
				r := e.waitUplink(topic, reqID(5))
				if data(r)["code"] != "2.04" {
					t.Fatalf("execute: %s", r.Raw)
				}
				d.mu.Lock()
				defer d.mu.Unlock()
				if len(d.executed) != 1 || d.executed[0] != "/3/0/4 0='x'" {
					t.Fatalf("device executed %q", d.executed)
				}
			})
			t.Run("discover", func(t *testing.T) {
				e.command("cmd", `{"reqID":6,"msgType":"discover","data":{"path":"/3/0"}}`)
				r := e.waitUplink(topic, reqID(6))
				if data(r)["code"] != "2.05" || fmt.Sprint(data(r)["content"]) != "[</3/0/0> </3/0/1> </3/0/9> </3/0/13>]" {
					t.Fatalf("discover: %s", r.Raw)
				}
			})
			t.Run("write_attr", func(t *testing.T) {
				e.command("cmd", `{"reqID":7,"msgType":"write-attr","data":{"path":"/3/0/9","pmin":"1","pmax":10,"gt":"50"}}`)
				r := e.waitUplink(topic, reqID(7))
				if data(r)["code"] != "2.04" {
					t.Fatalf("write-attr: %s", r.Raw)
				}
				d.mu.Lock()
				defer d.mu.Unlock()
				if len(d.attrs) != 1 || d.attrs[0] != "/3/0/9?pmin=1&pmax=10&gt=50" {
					t.Fatalf("device got attributes %q", d.attrs)
				}
			})
			t.Run("create_delete", func(t *testing.T) {
				e.command("cmd", `{"reqID":8,"msgType":"create","data":{"basePath":"/1","content":[{"path":"1/0","value":5},{"path":"1/1","value":60}]}}`)
				r := e.waitUplink(topic, reqID(8))
				if data(r)["code"] != "2.01" || data(r)["reqPath"] != "/1" {
					t.Fatalf("create: %s", r.Raw)
				}
				if v := d.records(codec.InstancePath(1, 1)); len(v) != 2 {
					t.Fatalf("device has %v", v)
				}
				e.command("cmd", `{"reqID":9,"msgType":"delete","data":{"path":"/1/1"}}`)
				r = e.waitUplink(topic, reqID(9))
				if data(r)["code"] != "2.02" || data(r)["codeMsg"] != "deleted" {
					t.Fatalf("delete: %s", r.Raw)
				}
			})
			t.Run("observe_notify_cancel", func(t *testing.T) {
				e.command("cmd", `{"reqID":10,"msgType":"observe","data":{"path":"/3/0/9"}}`)
				r := e.waitUplink(topic, reqID(10))
				if r.Body["msgType"] != "observe" || data(r)["code"] != "2.05" || content(r)["/3/0/9"] != float64(80) {
					t.Fatalf("observe: %s", r.Raw)
				}
				d.set(codec.ResourcePath(3, 0, 9), codec.IntegerValue(79))
				n := e.waitUplink("lwm2m/cmd/up/notify", msgType("notify"))
				if n.Body["reqID"] != float64(10) || n.Body["seqNum"] == nil || data(n)["reqPath"] != "/3/0/9" || content(n)["/3/0/9"] != float64(79) {
					t.Fatalf("notify: %s", n.Raw)
				}
				e.command("cmd", `{"reqID":11,"msgType":"cancel-observe","data":{"path":"/3/0/9"}}`)
				r = e.waitUplink(topic, reqID(11))
				if r.Body["msgType"] != "cancel-observe" || data(r)["code"] != "2.05" {
					t.Fatalf("cancel-observe: %s", r.Raw)
				}
				if d.observing(codec.ResourcePath(3, 0, 9)) {
					t.Fatal("device still observed")
				}
			})
		})
	}
}

func TestBadCommands(t *testing.T) {
	e := newEnv(t, nil)
	d := newDevice(t, "bad", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	d.register()
	topic := "lwm2m/bad/up/resp"
	e.waitUplink(topic, msgType("register"))
	for _, tc := range []struct {
		name, cmd, reqPath string
	}{
		{"not_json", `read /3/0/0`, ""},
		{"bad_path", `{"reqID":"x","msgType":"read","data":{"path":"/3/a"}}`, "/3/a"},
		{"unknown_msgType", `{"reqID":"x","msgType":"reboot","data":{"path":"/3/0/4"}}`, "/3/0/4"},
		{"write_without_type", `{"reqID":"x","msgType":"write","data":{"path":"/9/0/1","value":1}}`, "/9/0/1"},
		{"execute_object", `{"reqID":"x","msgType":"execute","data":{"path":"/3"}}`, "/3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.command("bad", tc.cmd)
			r := e.waitUplink(topic, func(b map[string]any) bool { return data(uplinkMsg{Body: b})["code"] == "4.00" })
			if data(r)["reqPath"] != tc.reqPath || data(r)["codeMsg"] != "bad_request" {
				t.Fatalf("response: %s", r.Raw)
			}
			if strings.HasPrefix(tc.cmd, "{") && r.Body["reqID"] != "x" {
				t.Fatalf("reqID not echoed: %s", r.Raw)
			}
		})
	}
	if !strings.Contains(e.logs.String(), `"message":"lwm2m_bad_command"`) {
		t.Fatalf("no lwm2m_bad_command log line:\n%s", e.logs.String())
	}
	t.Run("malformed_device_payload", func(t *testing.T) {
		d.mu.Lock()
		d.garbage = true
		d.mu.Unlock()
		e.command("bad", `{"reqID":"g","msgType":"read","data":{"path":"/3/0"}}`)
		r := e.waitUplink(topic, func(b map[string]any) bool { return b["reqID"] == "g" })
		if data(r)["code"] != "5.02" {
			t.Fatalf("response: %s", r.Raw)
		}
		eventually(t, 2*time.Second, func() bool { return strings.Contains(e.logs.String(), "lwm2m_payload_malformed") })
	})
}

func TestTimeout(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RequestTimeout = 300 * time.Millisecond })
	d := newDevice(t, "gone", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	d.register()
	e.waitUplink("lwm2m/gone/up/resp", msgType("register"))
	_ = d.cc.Close() // the device disappears without de-registering
	e.command("gone", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	r := e.waitUplink("lwm2m/gone/up/resp", reqID(1))
	if data(r)["code"] != "5.04" || data(r)["codeMsg"] != "gateway_timeout" {
		t.Fatalf("response: %s", r.Raw)
	}
}

func TestRegistrationRefused(t *testing.T) {
	e := newEnv(t, nil)
	d := newDevice(t, "x", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	for _, tc := range []struct {
		name    string
		query   []string
		payload string
		want    codes.Code
	}{
		{"no_ep", []string{"lt=60"}, "</3/0>", codes.BadRequest},
		{"lifetime_too_short", []string{"ep=a", "lt=5"}, "</3/0>", codes.BadRequest},
		{"lifetime_too_long", []string{"ep=a", "lt=86401"}, "</3/0>", codes.BadRequest},
		{"lifetime_not_a_number", []string{"ep=a", "lt=abc"}, "</3/0>", codes.BadRequest},
		{"bad_version", []string{"ep=a", "lwm2m=2.0"}, "</3/0>", codes.BadRequest},
		{"bad_binding", []string{"ep=a", "b=S"}, "</3/0>", codes.BadRequest},
		{"bad_payload", []string{"ep=a"}, "<3/0", codes.BadRequest},
		{"not_an_object", []string{"ep=a"}, "</3/0/1>", codes.BadRequest},
		{"version_1", []string{"ep=a", "lwm2m=1", "lt=15"}, "</3/0>", codes.Created},
		{"default_lifetime", []string{"ep=b", "b=UQ"}, "</3/0>", codes.Created},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := d.post("/rd", tc.payload, tc.query...).Code(); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if !strings.Contains(e.logs.String(), `"message":"lwm2m_request_refused"`) {
		t.Fatal("no log line for a refused registration")
	}
	t.Run("update_unknown", func(t *testing.T) {
		if got := d.post("/rd/nope", "").Code(); got != codes.NotFound {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("auth", func(t *testing.T) {
		e.ctx.mu.Lock()
		e.ctx.users = map[string]string{"secure": "pw"}
		e.ctx.mu.Unlock()
		if got := d.post("/rd", "</3/0>", "ep=secure", "p=wrong").Code(); got != codes.Forbidden {
			t.Fatalf("bad password: %v", got)
		}
		if got := d.post("/rd", "</3/0>", "ep=secure", "p=pw").Code(); got != codes.Created {
			t.Fatalf("good password: %v", got)
		}
	})
}

func TestUpdateAndDeregister(t *testing.T) {
	for _, cond := range []string{UpdateContainsObjectList, UpdateAlways} {
		t.Run(cond, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.UpdateMsgPublishCondition = cond })
			d := newDevice(t, "upd", "1.0")
			d.dialUDP(e.srv.Addr("udp:default").String())
			d.register()
			e.waitUplink("lwm2m/upd/up/resp", msgType("register"))
			if got := d.update("", "lt=120"); got != codes.Changed {
				t.Fatalf("update: %v", got)
			}
			if got := d.update("</1/0>,</3/0>,</5/0>"); got != codes.Changed {
				t.Fatalf("update with objects: %v", got)
			}
			u := e.waitUplink("lwm2m/upd/up/update", msgType("update"))
			if cond == UpdateAlways {
				// The first (object-less) update is published too.
				if data(u)["lt"] != float64(120) || fmt.Sprint(data(u)["objectList"]) != "[/1/0 /3/0]" {
					t.Fatalf("first update: %s", u.Raw)
				}
				u = e.waitUplink("lwm2m/upd/up/update", msgType("update"))
			}
			if data(u)["lt"] != float64(120) || fmt.Sprint(data(u)["objectList"]) != "[/1/0 /3/0 /5/0]" {
				t.Fatalf("update: %s", u.Raw)
			}
			if got := d.update("", "lt=1"); got != codes.BadRequest {
				t.Fatalf("update out of range: %v", got)
			}
			if got := d.deregister(); got != codes.Deleted {
				t.Fatalf("deregister: %v", got)
			}
			if n := e.srv.Endpoints(); n != 0 {
				t.Fatalf("%d endpoints left", n)
			}
			if got := d.update(""); got != codes.NotFound {
				t.Fatalf("update after deregister: %v", got)
			}
		})
	}
}

func TestLifetimeExpiry(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LifetimeMin = time.Second })
	d := newDevice(t, "short", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	if got := d.post("/rd", "</3/0>", "ep=short", "lt=1").Code(); got != codes.Created {
		t.Fatalf("register: %v", got)
	}
	eventually(t, 5*time.Second, func() bool { return e.srv.Endpoints() == 0 })
	if !strings.Contains(e.logs.String(), "registration_expired") {
		t.Fatal("no registration_expired log line")
	}
}

// TestQueueMode: commands for a sleeping UQ device wait until it sends an
// Update, then go out in order.
func TestQueueMode(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.QModeTimeWindow = 200 * time.Millisecond })
	d := newDevice(t, "sleepy", "1.1")
	d.queue = true
	d.dialUDP(e.srv.Addr("udp:default").String())
	d.register()
	e.waitUplink("lwm2m/sleepy/up/resp", msgType("register"))
	ep := e.srv.byNameLocked("sleepy")
	eventually(t, 3*time.Second, func() bool { return !ep.awake(time.Now()) })
	e.command("sleepy", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	e.command("sleepy", `{"reqID":2,"msgType":"read","data":{"path":"/3/0/1"}}`)
	eventually(t, 3*time.Second, func() bool {
		ep.mu.Lock()
		defer ep.mu.Unlock()
		return len(ep.cmds) == 2
	})
	if got := d.update(""); got != codes.Changed {
		t.Fatalf("update: %v", got)
	}
	r1 := e.waitUplink("lwm2m/sleepy/up/resp", reqID(1))
	r2 := e.waitUplink("lwm2m/sleepy/up/resp", reqID(2))
	if content(r1)["/3/0/0"] != "Manifold" || content(r2)["/3/0/1"] != "Test Device" {
		t.Fatalf("responses: %s %s", r1.Raw, r2.Raw)
	}
}

func TestQueueBound(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.QModeTimeWindow = 50 * time.Millisecond
		c.MaxQueuedCommands = 1
	})
	d := newDevice(t, "full", "1.0")
	d.queue = true
	d.dialUDP(e.srv.Addr("udp:default").String())
	d.register()
	e.waitUplink("lwm2m/full/up/resp", msgType("register"))
	ep := e.srv.byNameLocked("full")
	eventually(t, 3*time.Second, func() bool { return !ep.awake(time.Now()) })
	e.command("full", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	e.command("full", `{"reqID":2,"msgType":"read","data":{"path":"/3/0/1"}}`)
	r := e.waitUplink("lwm2m/full/up/resp", reqID(2))
	if data(r)["code"] != "5.03" || data(r)["reqPath"] != "/3/0/1" {
		t.Fatalf("overflow response: %s", r.Raw)
	}
}

func TestDTLSPSK(t *testing.T) {
	e := newEnv(t, nil)
	d := newDevice(t, "secure", "1.1")
	if err := d.dialDTLS(e.srv.Addr("dtls:default").String(), testPSKIdentity, testPSK); err != nil {
		t.Fatal(err)
	}
	if got := d.register(); got != codes.Created {
		t.Fatalf("register: %v", got)
	}
	e.waitUplink("lwm2m/secure/up/resp", msgType("register"))
	e.command("secure", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	r := e.waitUplink("lwm2m/secure/up/resp", reqID(1))
	if content(r)["/3/0/0"] != "Manifold" {
		t.Fatalf("read over DTLS: %s", r.Raw)
	}
	t.Run("wrong_key", func(t *testing.T) {
		a, _ := net.ResolveUDPAddr("udp", e.srv.Addr("dtls:default").String())
		c, err := piondtls.DialWithOptions("udp", a,
			piondtls.WithPSK(func([]byte) ([]byte, error) { return []byte("wrong"), nil }),
			piondtls.WithPSKIdentityHint([]byte(testPSKIdentity)),
			piondtls.WithCipherSuites(piondtls.TLS_PSK_WITH_AES_128_CCM_8),
		)
		if err != nil {
			return // refused at once
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := c.HandshakeContext(ctx); err == nil {
			t.Fatal("handshake with a wrong key succeeded")
		}
		if e.srv.Endpoints() != 1 {
			t.Fatal("an endpoint appeared")
		}
	})
}

func TestAutoObserve(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AutoObserve = true })
	d := newDevice(t, "auto", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	d.register()
	e.waitUplink("lwm2m/auto/up/resp", msgType("register"))
	r := e.waitUplink("lwm2m/auto/up/resp", func(b map[string]any) bool {
		return b["msgType"] == "observe" && data(uplinkMsg{Body: b})["reqPath"] == "/3/0"
	})
	if data(r)["code"] != "2.05" {
		t.Fatalf("auto observe: %s", r.Raw)
	}
	eventually(t, 2*time.Second, func() bool { return d.observing(codec.InstancePath(1, 0)) && d.observing(codec.InstancePath(3, 0)) })
	d.set(codec.ResourcePath(3, 0, 9), codec.IntegerValue(50))
	n := e.waitUplink("lwm2m/auto/up/notify", msgType("notify"))
	if content(n)["/3/0/9"] != float64(50) {
		t.Fatalf("notify: %s", n.Raw)
	}
}

// TestNATRebinding: after an Update from a new address, commands go there.
func TestNATRebinding(t *testing.T) {
	e := newEnv(t, nil)
	d := newDevice(t, "nat", "1.0")
	addr := e.srv.Addr("udp:default").String()
	d.dialUDP(addr)
	d.register()
	e.waitUplink("lwm2m/nat/up/resp", msgType("register"))
	old := d.cc
	d.dialUDP(addr) // a new source port, as after a NAT rebinding
	_ = old.Close()
	if got := d.update(""); got != codes.Changed {
		t.Fatalf("update: %v", got)
	}
	e.command("nat", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	r := e.waitUplink("lwm2m/nat/up/resp", reqID(1))
	if data(r)["code"] != "2.05" {
		t.Fatalf("read after rebinding: %s", r.Raw)
	}
}

// TestMalformedDatagrams: garbage on the socket is logged and answered (RST
// for a confirmable header) or dropped, never a panic; the gateway keeps
// serving.
func TestMalformedDatagrams(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := net.ResolveUDPAddr("udp", e.srv.Addr("udp:default").String())
	c, err := net.DialUDP("udp", nil, a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, b := range [][]byte{
		{0x00},
		{0x40, 0x02, 0x00},             // truncated header
		{0x48, 0x02, 0x00, 0x01, 1, 2}, // token longer than the datagram
		{0x40, 0x02, 0x00, 0x01, 0xbd, 0xff, 0xff}, // option length past the end
		[]byte("POST /rd?ep=x HTTP/1.1\r\n\r\n"),
		{0x40, 0x02, 0x00, 0x02, 0xb2, 'r', 'd', 0x4f}, // Uri-Path rd with a bad option header
	} {
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	d := newDevice(t, "after", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	if got := d.register(); got != codes.Created {
		t.Fatalf("register after garbage: %v", got)
	}
	eventually(t, 2*time.Second, func() bool { return strings.Contains(e.logs.String(), "coap_malformed_message") })
}

func TestCoreClient(t *testing.T) {
	e := newEnv(t, nil)
	d := newDevice(t, "core", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	d.register()
	e.waitUplink("lwm2m/core/up/resp", msgType("register"))
	// A takeover of the client id (here by an MQTT client) ends the registration.
	e.mqttClient("core")
	eventually(t, 2*time.Second, func() bool { return e.srv.Endpoints() == 0 })
	if got := d.update(""); got != codes.NotFound {
		t.Fatalf("update after takeover: %v", got)
	}
}

func TestReRegister(t *testing.T) {
	e := newEnv(t, nil)
	d := newDevice(t, "again", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	d.register()
	e.waitUplink("lwm2m/again/up/resp", msgType("register"))
	first := d.loc
	d.register()
	e.waitUplink("lwm2m/again/up/resp", msgType("register"))
	if strings.Join(first, "/") == strings.Join(d.loc, "/") {
		t.Fatal("the new registration got the old location")
	}
	if n := e.srv.Endpoints(); n != 1 {
		t.Fatalf("%d endpoints", n)
	}
	if got := d.post("/"+strings.Join(first, "/"), "").Code(); got != codes.NotFound {
		t.Fatalf("update of the replaced registration: %v", got)
	}
	e.command("again", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	if r := e.waitUplink("lwm2m/again/up/resp", reqID(1)); data(r)["code"] != "2.05" {
		t.Fatalf("read: %s", r.Raw)
	}
}

// rawDevice registers from a bare UDP socket and then serves requests by
// hand, for what no well-behaved client does.
type rawDevice struct {
	t    *testing.T
	conn *net.UDPConn
}

func newRawDevice(t *testing.T, addr string) *rawDevice {
	a, _ := net.ResolveUDPAddr("udp", addr)
	c, err := net.DialUDP("udp", nil, a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawDevice{t: t, conn: c}
}

func (r *rawDevice) send(m message.Message) {
	r.t.Helper()
	buf := make([]byte, 1024)
	n, err := coder.DefaultCoder.Encode(m, buf)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.conn.Write(buf[:n]); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawDevice) recv() message.Message {
	r.t.Helper()
	buf := make([]byte, 2048)
	_ = r.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := r.conn.Read(buf)
	if err != nil {
		r.t.Fatalf("no datagram from the gateway: %v", err)
	}
	m := message.Message{Options: make(message.Options, 0, 16)}
	if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil {
		r.t.Fatal(err)
	}
	return m
}

// TestRetransmission: a device that misses the gateway's first request gets
// it again after ACK_TIMEOUT (RFC 7252 §4.2), and its answer to the
// retransmission completes the command well within request_timeout.
func TestRetransmission(t *testing.T) {
	e := newEnv(t, nil) // ack_timeout 200ms, request_timeout 2s
	r := newRawDevice(t, e.srv.Addr("udp:default").String())
	reg := message.Message{Type: message.Confirmable, Code: codes.POST, MessageID: 1, Token: []byte{1},
		Options: message.Options{
			{ID: message.URIPath, Value: []byte("rd")},
			{ID: message.URIQuery, Value: []byte("ep=lossy")},
		}, Payload: []byte("</3/0>")}
	r.send(reg)
	if ack := r.recv(); ack.Code != codes.Created {
		t.Fatalf("register: %v", ack.Code)
	}
	e.waitUplink("lwm2m/lossy/up/resp", msgType("register"))
	e.command("lossy", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	first := r.recv() // lost
	again := r.recv()
	if again.MessageID != first.MessageID || again.Type != message.Confirmable {
		t.Fatalf("second datagram is not a retransmission: %v then %v", first, again)
	}
	buf := make([]byte, 4)
	opts, _, _ := message.Options{}.SetContentFormat(buf, message.TextPlain)
	r.send(message.Message{Type: message.Acknowledgement, Code: codes.Content, MessageID: again.MessageID,
		Token: again.Token, Options: opts, Payload: []byte("Lossy Inc")})
	resp := e.waitUplink("lwm2m/lossy/up/resp", reqID(1))
	if content(resp)["/3/0/0"] != "Lossy Inc" {
		t.Fatalf("read: %s", resp.Raw)
	}
}

// TestIdleDTLSDevice: a registered device silent for longer than
// idle_timeout is still reachable: its DTLS session is kept.
func TestIdleDTLSDevice(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IdleTimeout = 100 * time.Millisecond; c.AckTimeout = 100 * time.Millisecond })
	d := newDevice(t, "quiet", "1.1")
	if err := d.dialDTLS(e.srv.Addr("dtls:default").String(), testPSKIdentity, testPSK); err != nil {
		t.Fatal(err)
	}
	d.register()
	e.waitUplink("lwm2m/quiet/up/resp", msgType("register"))
	ep := e.srv.byNameLocked("quiet")
	start := time.Now()
	eventually(t, 3*time.Second, func() bool { return time.Since(start) > 500*time.Millisecond }) // several idle checks pass
	ep.mu.Lock()
	cc := ep.cc
	ep.mu.Unlock()
	select {
	case <-cc.Done():
		t.Fatal("the idle registered device's connection was closed")
	default:
	}
	e.command("quiet", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	if r := e.waitUplink("lwm2m/quiet/up/resp", reqID(1)); content(r)["/3/0/0"] != "Manifold" {
		t.Fatalf("read: %s", r.Raw)
	}
}

// TestClosedUDPConn: when go-coap has dropped a UDP device's connection,
// the next command opens a new one to the registered address.
func TestClosedUDPConn(t *testing.T) {
	e := newEnv(t, nil)
	d := newDevice(t, "reopen", "1.0")
	d.dialUDP(e.srv.Addr("udp:default").String())
	d.register()
	e.waitUplink("lwm2m/reopen/up/resp", msgType("register"))
	ep := e.srv.byNameLocked("reopen")
	ep.mu.Lock()
	cc := ep.cc
	ep.mu.Unlock()
	_ = cc.Close()
	e.command("reopen", `{"reqID":1,"msgType":"read","data":{"path":"/3/0/0"}}`)
	if r := e.waitUplink("lwm2m/reopen/up/resp", reqID(1)); content(r)["/3/0/0"] != "Manifold" {
		t.Fatalf("read: %s\n%s", r.Raw, e.logs.String())
	}
}

// TestDTLSRegistrationNotFromUDP: a DTLS device's registration cannot be
// updated or ended over plain UDP, even knowing its location.
func TestDTLSRegistrationNotFromUDP(t *testing.T) {
	e := newEnv(t, nil)
	d := newDevice(t, "guarded", "1.1")
	if err := d.dialDTLS(e.srv.Addr("dtls:default").String(), testPSKIdentity, testPSK); err != nil {
		t.Fatal(err)
	}
	d.register()
	e.waitUplink("lwm2m/guarded/up/resp", msgType("register"))
	spoof := newDevice(t, "spoof", "1.0")
	spoof.dialUDP(e.srv.Addr("udp:default").String())
	spoof.loc = d.loc
	if got := spoof.deregister(); got != codes.Forbidden {
		t.Fatalf("de-register over UDP: %v", got)
	}
	if got := spoof.update(""); got != codes.Forbidden {
		t.Fatalf("update over UDP: %v", got)
	}
	if got := d.update(""); got != codes.Changed {
		t.Fatalf("update over DTLS: %v", got)
	}
	if got := d.deregister(); got != codes.Deleted {
		t.Fatalf("de-register over DTLS: %v", got)
	}
}

// TestQueueModeNotifyWakes: a notification from a sleeping queue-mode
// device also wakes it (it listens for qmode_time_window after sending).
func TestQueueModeNotifyWakes(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.QModeTimeWindow = 300 * time.Millisecond })
	d := newDevice(t, "nap", "1.0")
	d.queue = true
	d.dialUDP(e.srv.Addr("udp:default").String())
	d.register()
	e.waitUplink("lwm2m/nap/up/resp", msgType("register"))
	e.command("nap", `{"reqID":1,"msgType":"observe","data":{"path":"/3/0/9"}}`) // sent while awake
	e.waitUplink("lwm2m/nap/up/resp", reqID(1))
	ep := e.srv.byNameLocked("nap")
	eventually(t, 3*time.Second, func() bool { return !ep.awake(time.Now()) })
	e.command("nap", `{"reqID":2,"msgType":"read","data":{"path":"/3/0/0"}}`)
	eventually(t, 3*time.Second, func() bool {
		ep.mu.Lock()
		defer ep.mu.Unlock()
		return len(ep.cmds) == 1
	})
	d.set(codec.ResourcePath(3, 0, 9), codec.IntegerValue(10))
	e.waitUplink("lwm2m/nap/up/notify", msgType("notify"))
	if r := e.waitUplink("lwm2m/nap/up/resp", reqID(2)); data(r)["code"] != "2.05" {
		t.Fatalf("read: %s", r.Raw)
	}
}
