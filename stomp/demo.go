package stomp

import "embed"

// DemoFiles is the demo web chat (demo/index.html): plain HTML and our own
// small STOMP-over-WebSocket client, no third-party script. The gateway
// serves it at / of its HTTP listeners when gateway.stomp.demo_page is set.
//
//go:embed demo
var DemoFiles embed.FS
