// @stomp/stompjs end-to-end check, run by the Go e2e tests:
//   node stompjs.js ws://127.0.0.1:PORT/stomp/websocket VERSION
//   node stompjs.js http://127.0.0.1:PORT/stomp VERSION sockjs TRANSPORT
// VERSION is 1.0, 1.1 or 1.2; TRANSPORT a sockjs-client transport
// (websocket, xhr-streaming, xhr-polling). One client subscribes to js/#
// (client-individual acks), another sends three messages with custom
// headers and a receipt; exits 0 only when all arrived intact.
'use strict';
const { Client, Versions } = require('@stomp/stompjs');
const WebSocket = require('ws');
const SockJS = require('sockjs-client');

const [url, version, kind, transport] = process.argv.slice(2);
let done = false;
const fail = (msg) => { if (done) return; console.error('FAIL ' + msg); process.exit(1); };
setTimeout(() => fail('timed out'), 15000).unref();

function client(name) {
  const c = new Client({
    stompVersions: new Versions([version]),
    connectHeaders: { host: '127.0.0.1', login: name },
    heartbeatIncoming: 0,
    heartbeatOutgoing: version === '1.0' ? 0 : 2000,
    reconnectDelay: 0,
    webSocketFactory: () => kind === 'sockjs'
      ? new SockJS(url, null, { transports: [transport] })
      : new WebSocket(url, Versions.default.protocolVersions()),
  });
  c.onStompError = (f) => fail(name + ' ERROR ' + f.headers.message + ' ' + f.body);
  c.onWebSocketError = (e) => fail(name + ' socket error ' + (e.message || e.type));
  return c;
}

const topic = 'js/' + version.replace('.', '') + '/' + (transport || 'ws');
const want = new Set(['one', 'two', 'three']);
const sub = client('sub');
sub.onConnect = (frame) => {
  if (version !== '1.0' && frame.headers.version !== version) fail('negotiated ' + frame.headers.version);
  const receipt = 'sub-' + Date.now();
  sub.watchForReceipt(receipt, () => {
    const pub = client('pub');
    pub.onConnect = () => {
      for (const body of want) {
        pub.publish({ destination: topic, body, headers: { 'x-kind': 'e2e:' + body, 'content-type': 'text/plain' } });
      }
    };
    pub.activate();
  });
  sub.subscribe(topic, (m) => {
    if (m.headers['x-kind'] !== 'e2e:' + m.body) fail('custom header ' + JSON.stringify(m.headers));
    if (m.headers.destination !== topic) fail('destination ' + m.headers.destination);
    m.ack();
    want.delete(m.body);
    if (want.size === 0) {
      done = true;
      console.log('ok ' + version + ' ' + (kind || 'ws') + ' ' + (transport || ''));
      process.exit(0);
    }
  }, { ack: 'client-individual', receipt, id: 'sub-0' });
};
sub.activate();
