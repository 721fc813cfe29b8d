// Command manifold is the Manifold MQTT broker and IoT gateway.
//
//	manifold start -c configs/manifold.yaml   run in the foreground
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
