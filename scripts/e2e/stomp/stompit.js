// stompit end-to-end check over TCP, run by the Go e2e tests:
//   node stompit.js HOST PORT VERSION
// Subscribes (ack client), sends a binary body with a NUL in it and a text
// one, acks, and exits 0 when both arrived intact.
'use strict';
const stompit = require('stompit');

const [host, port, version] = [process.argv[2], Number(process.argv[3]), process.argv[4] || '1.2'];
const fail = (msg) => { console.error('FAIL ' + msg); process.exit(1); };
setTimeout(() => fail('timed out'), 10000).unref();

stompit.connect({ host, port, connectHeaders: { host: 'manifold', login: 'stompit', 'heart-beat': '0,0', 'accept-version': version } }, (err, c) => {
  if (err) fail('connect: ' + err.message);
  c.on('error', (e) => fail('client: ' + e.message));
  const got = [];
  c.subscribe({ destination: 'stompit/#', ack: 'client', id: 'sub-' + version }, (err, message) => {
    if (err) fail('subscribe: ' + err.message);
    const chunks = [];
    message.on('data', (d) => chunks.push(d));
    message.on('end', () => {
      got.push(Buffer.concat(chunks));
      c.ack(message);
      if (got.length === 2) {
        if (!got[0].equals(Buffer.from([1, 0, 2, 0xff]))) fail('binary body ' + got[0].toString('hex'));
        if (got[1].toString() !== 'text body') fail('text body ' + got[1]);
        console.log('ok stompit ' + version);
        c.disconnect(() => process.exit(0));
      }
    });
  });
  const bin = c.send({ destination: 'stompit/bin', 'content-length': 4 });
  bin.end(Buffer.from([1, 0, 2, 0xff]));
  const txt = c.send({ destination: 'stompit/txt' });
  txt.end('text body');
});
