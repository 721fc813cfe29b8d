package config

import (
	"time"

	"gopkg.in/yaml.v3"
)

// GatewaysConfig holds the protocol gateways (gateway.<name>). Each gateway
// this build serves has a typed field whose struct embeds GatewayCommon and
// adds a Listeners struct and the protocol's own keys; gateways the build
// has no type for yet stay raw in Other, and the server refuses them.
type GatewaysConfig struct {
	// STOMP is the STOMP gateway: TCP, TLS, and WebSocket plus SockJS on
	// an HTTP listener.
	STOMP StompGateway `yaml:"stomp"`
	// MQTTSN is the MQTT-SN gateway: UDP and DTLS.
	MQTTSN MQTTSNGateway `yaml:"mqttsn"`
	// CoAP is the CoAP gateway: UDP and DTLS.
	CoAP CoAPGateway `yaml:"coap"`
	// LwM2M is the LwM2M gateway: UDP and DTLS.
	LwM2M LwM2MGateway `yaml:"lwm2m"`
	// Raw is the raw TCP/UDP gateway (EMQX's exproto, without gRPC).
	Raw RawGateway `yaml:"raw"`
	// Other holds the sections of gateway names without a typed config,
	// each under its name.
	Other map[string]Section `yaml:"-" config:"rest"`
}

// GatewayCommon holds the keys every gateway shares (EMQX 5's gateway
// schema).
type GatewayCommon struct {
	// Enable turns the gateway and all its listeners on.
	Enable bool `yaml:"enable"`
	// Mountpoint is prefixed to every topic the gateway's clients name;
	// ${clientid} and ${username} are expanded at connect. A listener's own
	// mountpoint, when set, replaces it.
	Mountpoint string `yaml:"mountpoint"`
	// IdleTimeout closes a connection that has not connected (the
	// protocol's CONNECT or equivalent) this long after it opened.
	IdleTimeout Duration `yaml:"idle_timeout" range:"1ms.."`
}

// MountpointFor is the mountpoint template of a gateway's listener: the
// listener's own when set, else the gateway's.
func (g GatewayCommon) MountpointFor(l *Listener) string {
	if l != nil && l.Mountpoint != "" {
		return l.Mountpoint
	}
	return g.Mountpoint
}

// GatewayHTTPListener is a gateway's HTTP listener (STOMP's WebSocket and
// SockJS endpoints and its demo page).
type GatewayHTTPListener struct {
	Listener `yaml:",inline"`
}

// SetDefaults sets every field but Bind.
func (l *GatewayHTTPListener) SetDefaults() { l.Listener.SetDefaults() }

// StompGateway is gateway.stomp.
type StompGateway struct {
	GatewayCommon `yaml:",inline"`
	// Frame bounds inbound frames; a frame over a bound gets an ERROR frame
	// and the connection closes.
	Frame StompFrame `yaml:"frame"`
	// MaxFrameSize bounds a whole inbound frame, headers and body.
	MaxFrameSize ByteSize `yaml:"max_frame_size" range:"1.."`
	// DemoPage serves the demo web chat at / on the HTTP listeners.
	DemoPage bool `yaml:"demo_page"`
	// Listeners are the gateway's listeners by type and name.
	Listeners StompListeners `yaml:"listeners"`
}

// StompFrame bounds inbound STOMP frames (EMQX's gateway.stomp.frame).
type StompFrame struct {
	// MaxHeaders is the most header lines a frame may have.
	MaxHeaders int `yaml:"max_headers" range:"1.."`
	// MaxHeadersLength is the longest header line, name and value.
	MaxHeadersLength int `yaml:"max_headers_length" range:"1.."`
	// MaxBodyLength is the largest body.
	MaxBodyLength ByteSize `yaml:"max_body_length" range:"1.."`
}

// StompListeners are the STOMP gateway's listeners by type, each a map from
// name to listener.
type StompListeners struct {
	// TCP are STOMP over TCP listeners.
	TCP map[string]*TCPListener `yaml:"tcp"`
	// SSL are STOMP over TLS listeners.
	SSL map[string]*SSLListener `yaml:"ssl"`
	// HTTP serve STOMP over WebSocket at /stomp/websocket, SockJS at /stomp
	// and the demo page at /.
	HTTP map[string]*GatewayHTTPListener `yaml:"http"`
}

// defaultGateways returns the gateways' defaults: STOMP enabled on TCP
// 61613 and HTTP 61614, its TLS listener present but disabled (no
// certificates ship).
func defaultGateways() GatewaysConfig {
	tcp, ssl, http := &TCPListener{}, &SSLListener{}, &GatewayHTTPListener{}
	tcp.SetDefaults()
	tcp.Bind = "0.0.0.0:61613"
	ssl.SetDefaults()
	ssl.Enable = false
	ssl.Bind = "0.0.0.0:61612"
	http.SetDefaults()
	http.Bind = "0.0.0.0:61614"
	return GatewaysConfig{
		STOMP: StompGateway{
			GatewayCommon: GatewayCommon{Enable: true, IdleTimeout: Duration(30 * time.Second)},
			Frame:         StompFrame{MaxHeaders: 10, MaxHeadersLength: 1024, MaxBodyLength: 65536},
			MaxFrameSize:  1 << 20,
			DemoPage:      true,
			Listeners: StompListeners{
				TCP:  map[string]*TCPListener{"default": tcp},
				SSL:  map[string]*SSLListener{"default": ssl},
				HTTP: map[string]*GatewayHTTPListener{"default": http},
			},
		},
		MQTTSN: defaultMQTTSN(),
		CoAP:   defaultCoAP(),
		LwM2M:  defaultLwM2M(),
		Raw:    defaultRaw(),
		Other:  map[string]Section{},
	}
}

// GatewayListenerRef names one enabled listener of an enabled gateway.
type GatewayListenerRef struct {
	Gateway string  // "stomp"
	Kind    string  // "tcp", "ssl", "http"
	Name    string  // the listener's name
	Bind    Address // normalized host:port
	// MaxConnections is the listener's max_connections; 0 when unlimited or
	// when the kind has no such key (CoAP, LwM2M).
	MaxConnections int
}

// Key returns the listener's key path: "gateway.stomp.listeners.tcp.default".
func (r GatewayListenerRef) Key() string {
	return "gateway." + r.Gateway + ".listeners." + r.Kind + "." + r.Name
}

// ID is how the server names the running listener: "stomp:tcp:default".
func (r GatewayListenerRef) ID() string { return r.Gateway + ":" + r.Kind + ":" + r.Name }

// EnabledGatewayListeners returns the enabled listeners of the enabled
// gateways: stomp (tcp, ssl, http), then coap (udp, dtls), lwm2m (udp,
// dtls), mqttsn (udp, dtls) and raw (tcp, ssl, udp), each kind sorted by name.
func (c *Config) EnabledGatewayListeners() []GatewayListenerRef {
	var refs []GatewayListenerRef
	if st := &c.Gateway.STOMP; st.Enable {
		refs = appendEnabled(refs, "stomp", KindTCP, st.Listeners.TCP, func(l *TCPListener) *Listener { return &l.Listener })
		refs = appendEnabled(refs, "stomp", KindSSL, st.Listeners.SSL, func(l *SSLListener) *Listener { return &l.Listener })
		refs = appendEnabled(refs, "stomp", KindHTTP, st.Listeners.HTTP, func(l *GatewayHTTPListener) *Listener { return &l.Listener })
	}
	if co := &c.Gateway.CoAP; co.Enable {
		refs = appendEnabled(refs, "coap", KindUDP, co.Listeners.UDP, func(l *CoAPUDPListener) *Listener { return &Listener{Enable: l.Enable, Bind: l.Bind} })
		refs = appendEnabled(refs, "coap", KindDTLS, co.Listeners.DTLS, func(l *CoAPDTLSListener) *Listener { return &Listener{Enable: l.Enable, Bind: l.Bind} })
	}
	if lw := &c.Gateway.LwM2M; lw.Enable {
		refs = appendEnabled(refs, "lwm2m", KindUDP, lw.Listeners.UDP, func(l *CoAPUDPListener) *Listener { return &Listener{Enable: l.Enable, Bind: l.Bind} })
		refs = appendEnabled(refs, "lwm2m", KindDTLS, lw.Listeners.DTLS, func(l *CoAPDTLSListener) *Listener { return &Listener{Enable: l.Enable, Bind: l.Bind} })
	}
	if sn := &c.Gateway.MQTTSN; sn.Enable {
		refs = appendEnabled(refs, "mqttsn", KindUDP, sn.Listeners.UDP, (*GatewayUDPListener).listener)
		refs = appendEnabled(refs, "mqttsn", KindDTLS, sn.Listeners.DTLS, (*MQTTSNDTLSListener).listener)
	}
	if raw := &c.Gateway.Raw; raw.Enable {
		refs = appendEnabled(refs, "raw", KindTCP, raw.Listeners.TCP, func(l *RawTCPListener) *Listener { return &l.Listener })
		refs = appendEnabled(refs, "raw", KindSSL, raw.Listeners.SSL, func(l *RawSSLListener) *Listener { return &l.Listener })
		refs = appendEnabled(refs, "raw", KindUDP, raw.Listeners.UDP, func(l *RawUDPListener) *Listener { return l.listener() })
	}
	return refs
}

// appendEnabled appends the enabled listeners of one kind of gateway gw,
// sorted by name; common reads a listener's enable and bind.
func appendEnabled[L any](refs []GatewayListenerRef, gw, kind string, ls map[string]*L, common func(*L) *Listener) []GatewayListenerRef {
	for _, n := range sortedKeys(ls) {
		if l := ls[n]; l != nil {
			if cl := common(l); cl.Enable {
				refs = append(refs, GatewayListenerRef{Gateway: gw, Kind: kind, Name: n, Bind: cl.Bind, MaxConnections: cl.MaxConnections})
			}
		}
	}
	return refs
}

// KindHTTP is a gateway's HTTP listener kind (GatewayListenerRef.Kind).
const KindHTTP = "http"

// MarshalYAML writes the typed gateways and, beside them, the raw sections
// of Other under their names, as in the file.
func (g GatewaysConfig) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, gw := range []struct {
		name string
		v    any
	}{{"stomp", g.STOMP}, {"mqttsn", g.MQTTSN}, {"coap", g.CoAP}, {"lwm2m", g.LwM2M}, {"raw", g.Raw}} {
		var kn, vn yaml.Node
		kn.SetString(gw.name)
		if err := vn.Encode(gw.v); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &kn, &vn)
	}
	for _, name := range sortedKeys(g.Other) {
		var k, v yaml.Node
		k.SetString(name)
		if err := v.Encode(g.Other[name]); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &k, &v)
	}
	return n, nil
}
