// node-coap end-to-end check, run by the coap package's tests:
//   node observe.js PORT PATH QUERY
// Observes coap://127.0.0.1:PORT/PATH?QUERY and prints one line per event:
// "REGISTERED" once the observation is established, "NOTIFY <payload>" for
// each non-empty notification. After the first notification it closes the stream
// without deregistering, so node-coap answers the next confirmable
// notification with RST (RFC 7641 §3.6), and prints "CLOSED".
'use strict';
const coap = require('coap');
const dgram = require('dgram');

const [port, path, query] = [Number(process.argv[2]), process.argv[3], process.argv[4] || ''];
const fail = (msg) => { console.log('FAIL ' + msg); process.exit(1); };
setTimeout(() => fail('timed out'), 20000).unref();

// An agent on our own socket stays open when its last request ends (the
// global agent would close its socket, and nothing would answer RST), as in
// a long-running application.
const agent = new coap.Agent({ socket: dgram.createSocket('udp4') });
const req = coap.request({ hostname: '127.0.0.1', port, pathname: path, query, observe: true, confirmable: true, agent });
req.on('error', (e) => fail('request: ' + e.message));
req.on('response', (res) => {
  if (res.code !== '2.05') fail('registration answered ' + res.code);
  console.log('REGISTERED');
  let n = 0;
  res.on('data', (chunk) => {
    if (chunk.length === 0) return; // the registration's own (empty) 2.05
    n++;
    console.log('NOTIFY ' + chunk.toString());
    if (n === 1) {
      res.close();
      console.log('CLOSED');
    }
  });
});
req.end();
// Keep the socket open (to answer RST) until the test ends the process.
setInterval(() => {}, 1000);
