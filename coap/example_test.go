package coap_test

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/coapnet"
	"github.com/manifold-iot/manifold/coap"
)

// How the gateway starts the CoAP listeners: a gateway.coap section, the
// core as an adapters.Context, and a logger carrying the listener's fields.
func ExampleNew() {
	var core adapters.Context // the gateway's coreContext over the broker
	cfg := coap.DefaultConfig()
	cfg.Listeners.UDP = map[string]coapnet.UDPListener{"default": {Bind: "127.0.0.1:0"}}
	srv, err := coap.New(cfg, core, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.ListenAndServe(); err != nil { // binds, then serves in the background
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	fmt.Println(srv.Addr("udp:default") != nil)
	// Output: true
}
