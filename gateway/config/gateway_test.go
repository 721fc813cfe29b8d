package config

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestStompGateway(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		subs  []string
		check func(t *testing.T, c *Config)
	}{
		{name: "defaults", check: func(t *testing.T, c *Config) {
			st := c.Gateway.STOMP
			if !st.Enable || st.Frame.MaxHeaders != 10 || st.Frame.MaxHeadersLength != 1024 || st.Frame.MaxBodyLength != 65536 ||
				st.MaxFrameSize != 1<<20 || !st.DemoPage || st.Listeners.TCP["default"].Bind != "0.0.0.0:61613" ||
				st.Listeners.HTTP["default"].Bind != "0.0.0.0:61614" || st.Listeners.SSL["default"].Enable {
				t.Errorf("defaults %+v", st)
			}
		}},
		{name: "file", file: "gateway:\n  stomp:\n    mountpoint: web/\n    frame: {max_headers: 20}\n    listeners:\n      tcp:\n        other: {bind: 61615}\n",
			check: func(t *testing.T, c *Config) {
				st := c.Gateway.STOMP
				if st.Mountpoint != "web/" || st.Frame.MaxHeaders != 20 || st.Listeners.TCP["other"].Bind != "0.0.0.0:61615" ||
					st.Listeners.TCP["default"].Bind != "0.0.0.0:61613" {
					t.Errorf("%+v", st)
				}
			}},
		{name: "environment", env: []string{"MANIFOLD_GATEWAY__STOMP__LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:0", "MANIFOLD_GATEWAY__STOMP__DEMO_PAGE=false"},
			check: func(t *testing.T, c *Config) {
				if c.Gateway.STOMP.Listeners.TCP["default"].Bind != "127.0.0.1:0" || c.Gateway.STOMP.DemoPage {
					t.Errorf("%+v", c.Gateway.STOMP)
				}
			}},
		{name: "unknown key", file: "gateway:\n  stomp:\n    frame:\n      max_headrs: 5\n",
			subs: []string{":4: gateway.stomp.frame.max_headrs: unknown key (did you mean gateway.stomp.frame.max_headers?)"}},
		{name: "out of range", file: "gateway:\n  stomp:\n    frame: {max_headers: 0}\n",
			subs: []string{"gateway.stomp.frame.max_headers"}},
		{name: "bad value from the environment", env: []string{"MANIFOLD_GATEWAY__STOMP__MAX_FRAME_SIZE=huge"},
			subs: []string{"MANIFOLD_GATEWAY__STOMP__MAX_FRAME_SIZE: gateway.stomp.max_frame_size"}},
		{name: "other gateways stay raw", file: "gateway:\n  ocpp:\n    x: 1\n",
			check: func(t *testing.T, c *Config) {
				if s, ok := c.Gateway.Other["ocpp"]; !ok || s.Key() != "gateway.ocpp" || !reflect.DeepEqual(s.Keys(), []string{"x"}) {
					t.Errorf("Other = %+v", c.Gateway.Other)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			cfg, _, err := Load(path, tc.env)
			if len(tc.subs) > 0 {
				wantErr(t, err, nil, tc.subs...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

func TestEnabledGatewayListeners(t *testing.T) {
	cfg, _ := mustLoad(t, writeConfig(t, "gateway:\n  stomp:\n    listeners:\n      tcp:\n        b: {bind: 1}\n      http:\n        default: {enable: false}\n"+
		"  mqttsn:\n    listeners:\n      dtls:\n        d: {bind: 2, psk_authentication: {identities: {a: '00'}}}\n"+
		"  raw:\n    listeners:\n      udp:\n        default: {enable: false}\n"), nil)
	var got []string
	for _, r := range cfg.EnabledGatewayListeners() {
		got = append(got, r.ID()+"@"+string(r.Bind)+" "+r.Key())
	}
	want := []string{"stomp:tcp:b@0.0.0.0:1 gateway.stomp.listeners.tcp.b", "stomp:tcp:default@0.0.0.0:61613 gateway.stomp.listeners.tcp.default",
		"coap:udp:default@0.0.0.0:5683 gateway.coap.listeners.udp.default",
		"lwm2m:udp:default@0.0.0.0:5783 gateway.lwm2m.listeners.udp.default",
		"mqttsn:udp:default@0.0.0.0:1884 gateway.mqttsn.listeners.udp.default", "mqttsn:dtls:d@0.0.0.0:2 gateway.mqttsn.listeners.dtls.d",
		"raw:tcp:default@0.0.0.0:7993 gateway.raw.listeners.tcp.default"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EnabledGatewayListeners = %v, want %v", got, want)
	}
	cfg.Gateway.STOMP.Enable = false
	cfg.Gateway.MQTTSN.Enable = false
	cfg.Gateway.CoAP.Enable = false
	cfg.Gateway.LwM2M.Enable = false
	cfg.Gateway.Raw.Enable = false
	if refs := cfg.EnabledGatewayListeners(); len(refs) != 0 {
		t.Errorf("disabled gateway has listeners %v", refs)
	}
}

func TestMountpointFor(t *testing.T) {
	g := GatewayCommon{Mountpoint: "gw/"}
	if got := g.MountpointFor(&Listener{}); got != "gw/" {
		t.Errorf("listener without mountpoint: %q", got)
	}
	if got := g.MountpointFor(&Listener{Mountpoint: "l/"}); got != "l/" {
		t.Errorf("listener mountpoint: %q", got)
	}
}

func TestDatagramAndRawGateways(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		subs  []string
		check func(t *testing.T, c *Config)
	}{
		{name: "defaults", check: func(t *testing.T, c *Config) {
			sn, co, raw := c.Gateway.MQTTSN, c.Gateway.CoAP, c.Gateway.Raw
			if !sn.Enable || sn.Listeners.UDP["default"].Bind != "0.0.0.0:1884" || sn.Listeners.DTLS["default"].Enable ||
				sn.Listeners.DTLS["default"].Bind != "0.0.0.0:1885" || sn.GatewayID != 1 || !sn.EnableQoS3 {
				t.Errorf("mqttsn %+v", sn)
			}
			if !co.Enable || co.Listeners.UDP["default"].Bind != "0.0.0.0:5683" || co.Listeners.DTLS["default"].Enable ||
				co.Listeners.DTLS["default"].Bind != "0.0.0.0:5684" || co.NotifyType != "qos" {
				t.Errorf("coap %+v", co)
			}
			tcp, udp := raw.Listeners.TCP["default"], raw.Listeners.UDP["default"]
			if !raw.Enable || tcp.Bind != "0.0.0.0:7993" || tcp.Framing.Type != "line" || tcp.Handler != "" ||
				udp.Bind != "0.0.0.0:7993" || udp.Framing.Type != "datagram" || tcp.UpTopic != "raw/${clientid}/up" {
				t.Errorf("raw %+v", raw)
			}
		}},
		{name: "a listener added by name takes the defaults",
			file: "gateway:\n  raw:\n    listeners:\n      tcp:\n        sensors: {bind: 7995, handler: sensor, framing: {type: length}}\n" +
				"  mqttsn:\n    predefined:\n      - {id: 1, topic: sensors/temp}\n",
			check: func(t *testing.T, c *Config) {
				l := c.Gateway.Raw.Listeners.TCP["sensors"]
				if !l.Enable || l.Bind != "0.0.0.0:7995" || l.Handler != "sensor" || l.Framing.Type != "length" ||
					l.Framing.LengthBytes != 2 || l.Framing.MaxLength != 65536 || l.DnTopic != "raw/${clientid}/dn" {
					t.Errorf("%+v", l)
				}
				if p := c.Gateway.MQTTSN.Predefined; len(p) != 1 || p[0].ID != 1 || p[0].Topic != "sensors/temp" {
					t.Errorf("predefined %+v", p)
				}
			}},
		{name: "environment", env: []string{"MANIFOLD_GATEWAY__MQTTSN__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
			"MANIFOLD_GATEWAY__COAP__ENABLE=false", "MANIFOLD_GATEWAY__RAW__LISTENERS__TCP__DEFAULT__FRAMING__TYPE=length"},
			check: func(t *testing.T, c *Config) {
				if c.Gateway.MQTTSN.Listeners.UDP["default"].Bind != "127.0.0.1:0" || c.Gateway.CoAP.Enable ||
					c.Gateway.Raw.Listeners.TCP["default"].Framing.Type != "length" {
					t.Errorf("%+v", c.Gateway)
				}
			}},
		{name: "out of range", file: "gateway:\n  mqttsn:\n    predefined:\n      - {id: 2000, topic: a}\n",
			subs: []string{"gateway.mqttsn.predefined.1.id"}},
		{name: "bad framing type", file: "gateway:\n  raw:\n    listeners:\n      tcp:\n        default: {framing: {type: xml}}\n",
			subs: []string{"gateway.raw.listeners.tcp.default.framing.type"}},
		{name: "unknown key", file: "gateway:\n  coap:\n    notify_typ: con\n",
			subs: []string{"gateway.coap.notify_typ: unknown key (did you mean gateway.coap.notify_type?)"}},
		{name: "lwm2m defaults", check: func(t *testing.T, c *Config) {
			lw := c.Gateway.LwM2M
			if !lw.Enable || lw.Listeners.UDP["default"].Bind != "0.0.0.0:5783" || lw.Listeners.DTLS["default"].Enable ||
				lw.Listeners.DTLS["default"].Bind != "0.0.0.0:5784" || lw.XMLDir != "lwm2m" || lw.Mountpoint != "lwm2m/${endpoint_name}/" ||
				lw.Translators.Command.Topic != "dn/#" || lw.Translators.Register.Topic != "up/resp" ||
				lw.UpdateMsgPublishCondition != "contains_object_list" || time.Duration(lw.LifetimeMax) != 86400*time.Second {
				t.Errorf("lwm2m %+v", lw)
			}
		}},
		{name: "lwm2m xml_dir is relative to the file", file: "gateway:\n  lwm2m:\n    xml_dir: objs\n    lifetime_min: 30s\n",
			check: func(t *testing.T, c *Config) {
				if lw := c.Gateway.LwM2M; lw.XMLDir != filepath.Join(c.Dir, "objs") || time.Duration(lw.LifetimeMin) != 30*time.Second {
					t.Errorf("xml_dir %q lifetime_min %v, want %q 30s", lw.XMLDir, lw.LifetimeMin, filepath.Join(c.Dir, "objs"))
				}
			}},
		{name: "lwm2m absolute xml_dir", file: "gateway:\n  lwm2m:\n    xml_dir: /opt/lwm2m\n",
			check: func(t *testing.T, c *Config) {
				if c.Gateway.LwM2M.XMLDir != "/opt/lwm2m" {
					t.Errorf("xml_dir %q", c.Gateway.LwM2M.XMLDir)
				}
			}},
		{name: "lwm2m from the environment", env: []string{"MANIFOLD_GATEWAY__LWM2M__LISTENERS__UDP__DEFAULT__BIND=127.0.0.1:0",
			"MANIFOLD_GATEWAY__LWM2M__AUTO_OBSERVE=true", "MANIFOLD_GATEWAY__LWM2M__TRANSLATORS__NOTIFY__QOS=1"},
			check: func(t *testing.T, c *Config) {
				if lw := c.Gateway.LwM2M; lw.Listeners.UDP["default"].Bind != "127.0.0.1:0" || !lw.AutoObserve || lw.Translators.Notify.QoS != 1 {
					t.Errorf("lwm2m %+v", lw)
				}
			}},
		{name: "lwm2m bad update condition", file: "gateway:\n  lwm2m:\n    update_msg_publish_condition: sometimes\n",
			subs: []string{"gateway.lwm2m.update_msg_publish_condition"}},
		{name: "lwm2m bad translator qos", file: "gateway:\n  lwm2m:\n    translators:\n      response: {topic: up/resp, qos: 3}\n",
			subs: []string{"gateway.lwm2m.translators.response.qos"}},
		{name: "lwm2m unknown key", file: "gateway:\n  lwm2m:\n    qmode_time_windw: 10s\n",
			subs: []string{"gateway.lwm2m.qmode_time_windw: unknown key (did you mean gateway.lwm2m.qmode_time_window?)"}},
		{name: "exproto is not raw", file: "gateway:\n  exproto:\n    enable: true\n",
			check: func(t *testing.T, c *Config) {
				if _, ok := c.Gateway.Other["exproto"]; !ok {
					t.Errorf("Other = %+v", c.Gateway.Other)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			cfg, _, err := Load(path, tc.env)
			if len(tc.subs) > 0 {
				wantErr(t, err, nil, tc.subs...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}
