package lwm2m_test

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/adapters"
	"github.com/manifold-iot/manifold/adapters/coapnet"
	"github.com/manifold-iot/manifold/lwm2m"
	"github.com/manifold-iot/manifold/lwm2m/objects"
)

// How the gateway starts the LwM2M listeners: a gateway.lwm2m section, the
// object registry loaded from xml_dir (or nil: New loads it), the core as an
// adapters.Context, and a logger.
func ExampleNew() {
	var core adapters.Context // the gateway's coreContext over the broker
	cfg := lwm2m.DefaultConfig()
	cfg.XMLDir = "../configs/lwm2m"
	cfg.Listeners.UDP = map[string]coapnet.UDPListener{"default": {Bind: "127.0.0.1:0"}}
	reg, err := objects.LoadDir(cfg.XMLDir)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := lwm2m.New(cfg, core, reg, zerolog.Nop())
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
