// Package certs loads a listener's certificate, private key and client CA
// bundle from PEM files, and keeps them reloadable while the listener runs.
// The TLS listeners (gateway/listener) and the DTLS ones (gateway/listener
// for MQTT-SN, adapters/coapnet for CoAP and LwM2M) share it, so a file is
// read, checked and reported the same way everywhere: errors name the
// configuration key of the file (`<key>.certfile: …`, `<key>.keyfile: …`,
// `<key>.cacertfile: …`).
//
// Data flow: Files.Load reads the files into an immutable Bundle. A
// Reloader holds the current Bundle; Reload loads the files again and swaps
// the Bundle in only if everything loaded, so a bad file keeps the old
// certificate in service. DTLSServerOptions turns a Reloader into
// pion/dtls server options whose callbacks read the current Bundle at each
// handshake: new handshakes see a reload, established sessions keep theirs.
package certs
