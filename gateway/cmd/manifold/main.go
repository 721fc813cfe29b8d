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
)

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
