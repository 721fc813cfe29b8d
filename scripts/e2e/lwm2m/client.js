// A real LwM2M 1.0 client (npm lwm2m-node-lib) for Manifold's LwM2M gateway
// tests: it registers <endpoint> with the server at <host> <port>, serves
// /3/0 (Manufacturer, Model, Battery Level) and /1/0, and prints one JSON
// line per event on stdout ({"event":"registered","location":"rd/…"}).
// Usage: node client.js <host> <port> <endpoint>
'use strict';

const lib = require('lwm2m-node-lib');

const [host, port, endpoint] = process.argv.slice(2);
if (!host || !port || !endpoint) {
  console.error('usage: node client.js <host> <port> <endpoint>');
  process.exit(2);
}

const client = lib.client;
const config = {
  client: {
    lifetime: '300',
    version: '1.0',
    logLevel: 'FATAL',
    observe: { period: 3000 },
    ipProtocol: 'udp4',
    serverProtocol: 'udp4',
    formats: [{ name: 'lightweightm2m/text', value: 1541 }],
    writeFormat: 'lightweightm2m/text',
  },
};

function emit(event, extra) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, extra)) + '\n');
}

function fail(step, err) {
  emit('error', { step, error: String(err && err.message ? err.message : err) });
  process.exit(1);
}

client.init(config);
client.registry.create('/3/0', (err) => {
  if (err) return fail('create /3/0', err);
  client.registry.setResource('/3/0', '0', 'Manifold-node', (err) => {
    if (err) return fail('set /3/0/0', err);
    client.registry.setResource('/3/0', '1', 'lwm2m-node-lib', (err) => {
      if (err) return fail('set /3/0/1', err);
      client.registry.setResource('/3/0', '9', '90', (err) => {
        if (err) return fail('set /3/0/9', err);
        client.registry.create('/1/0', (err) => {
          if (err) return fail('create /1/0', err);
          client.register(host, port, null, endpoint, (err, info) => {
            if (err) return fail('register', err);
            client.setHandler(info.serverInfo, 'write', (objectType, objectId, resourceId, value, callback) => {
              emit('write', { path: `/${objectType}/${objectId}/${resourceId}`, value: String(value) });
              callback(null);
            });
            emit('registered', { location: info.location });
          });
        });
      });
    });
  });
});

process.on('SIGTERM', () => process.exit(0));
