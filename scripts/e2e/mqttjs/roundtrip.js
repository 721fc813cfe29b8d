// MQTT.js end-to-end check over WebSocket, run by the Go e2e tests:
//   node roundtrip.js ws://127.0.0.1:PORT/mqtt VERSION
// Subscribes with one client, publishes QoS 0/1/2 (and a retained message)
// with another, and exits 0 only when everything arrived intact.
'use strict';
const mqtt = require('mqtt');

const [url, version] = [process.argv[2], Number(process.argv[3] || 5)];
let done = false; // errors while tearing down after success do not count
const fail = (msg) => { if (done) return; console.error('FAIL ' + msg); process.exit(1); };
setTimeout(() => fail('timed out'), 10000).unref();

const opts = { protocolVersion: version, reconnectPeriod: 0, connectTimeout: 5000 };
if (version === 3) opts.protocolId = 'MQIsdp'; // MQTT 3.1 names itself MQIsdp
const sub = mqtt.connect(url, { ...opts, clientId: 'mqttjs-sub-' + version });
sub.on('error', (e) => fail('subscriber: ' + e.message));
sub.on('connect', () => {
  sub.subscribe('js/#', { qos: 2 }, (err, granted) => {
    if (err) fail('subscribe: ' + err.message);
    if (granted[0].qos !== 2) fail('granted ' + JSON.stringify(granted));
    const pub = mqtt.connect(url, { ...opts, clientId: 'mqttjs-pub-' + version });
    pub.on('error', (e) => fail('publisher: ' + e.message));
    pub.on('connect', () => {
      for (const qos of [0, 1, 2]) pub.publish('js/q' + qos, 'payload-' + qos, { qos });
      pub.publish('js/retained', 'kept', { qos: 1, retain: true }, () => pub.end());
    });
  });
});
const want = new Set(['js/q0', 'js/q1', 'js/q2', 'js/retained']);
sub.on('message', (topic, payload, packet) => {
  const expect = topic === 'js/retained' ? 'kept' : 'payload-' + topic.slice(-1);
  if (payload.toString() !== expect) fail(topic + ' payload ' + payload.toString());
  want.delete(topic);
  if (want.size === 0) {
    done = true;
    console.log('ok ' + version);
    sub.end(false, () => process.exit(0));
  }
});
