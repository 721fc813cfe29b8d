package gateway

import (
	"reflect"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/adapters/coapnet"
	"github.com/manifold-iot/manifold/gateway/config"
)

// TestCoAPNetListeners: both CoAP-based gateways hand coapnet their enabled
// listeners only, every DTLS setting carried over.
func TestCoAPNetListeners(t *testing.T) {
	ls := config.CoAPListeners{
		UDP: map[string]*config.CoAPUDPListener{
			"on": {Enable: true, Bind: "127.0.0.1:5683"}, "off": {Bind: "127.0.0.1:5693"}, "nil": nil,
		},
		DTLS: map[string]*config.CoAPDTLSListener{
			"on": {
				Enable: true, Bind: "127.0.0.1:5684", PSK: map[string]string{"id": "0x00ff"}, PSKIdentityHint: "hint",
				Certfile: "c.pem", Keyfile: "k.pem", Cacertfile: "ca.pem", Verify: "verify_peer", FailIfNoPeerCert: true,
				HandshakeTimeout: config.Duration(3 * time.Second),
			},
			"off": {Bind: "127.0.0.1:5694"},
		},
	}
	want := coapnet.Listeners{
		UDP: map[string]coapnet.UDPListener{"on": {Bind: "127.0.0.1:5683"}},
		DTLS: map[string]coapnet.DTLSListener{"on": {
			Bind: "127.0.0.1:5684", PSK: map[string]string{"id": "0x00ff"}, PSKIdentityHint: "hint",
			Certfile: "c.pem", Keyfile: "k.pem", Cacertfile: "ca.pem", Verify: "verify_peer", FailIfNoPeerCert: true,
			HandshakeTimeout: 3 * time.Second,
		}},
	}
	cfg := config.Default()
	cfg.Gateway.CoAP.Listeners = ls
	cfg.Gateway.LwM2M.Listeners = ls
	for name, got := range map[string]coapnet.Listeners{
		"coap": coapConfig(cfg).Listeners, "lwm2m": lwm2mConfig(cfg).Listeners,
	} {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s listeners:\n got %+v\nwant %+v", name, got, want)
		}
	}
}
