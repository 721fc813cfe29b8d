// Package codec holds Manifold's pure wire codecs: one sub-package per protocol
// (mqtt, and later sn, stomp, lwm2m). A codec turns bytes into frames and frames
// into bytes and does nothing else: no I/O, no logging, no goroutines, and no
// imports from the rest of Manifold. Adapters (package adapters and the protocol
// folders) drive codecs; the edge feeds them bytes.
//
// Every Decode follows one contract: given a buffer it returns the first complete
// frame and the number of bytes it used, ErrIncomplete when the buffer holds only
// part of a frame, or a typed error for malformed input. It never panics on any
// input; each codec has a FuzzDecode target that checks this.
package codec
