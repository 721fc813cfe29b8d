// Command manifold is the Manifold MQTT broker and IoT gateway.
//
//	manifold start -c configs/manifold.yaml   run in the foreground
//	manifold start -d -c …                    run in the background
//	manifold status | stop                    check or stop the background node
//	manifold ctl clients list                 operate it through its HTTP API (ctl -h)
//	manifold version                          print the version
//	manifold bench pubsub -c 8 -q 1           load-test a broker (bench -help)
//	manifold help                             list the commands
package main

import (
	"os"

	// The raw gateway's example handler, so that a raw listener may say
	// handler: sensor (adapters/raw/README.md). Handlers of your own are
	// imported the same way.
	_ "github.com/manifold-iot/manifold/adapters/raw/examples/sensor"
)

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
