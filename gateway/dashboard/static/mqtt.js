// A minimal MQTT 3.1.1 client over a browser WebSocket (subprotocol "mqtt"):
// CONNECT/CONNACK, SUBSCRIBE/SUBACK, UNSUBSCRIBE/UNSUBACK, PUBLISH at QoS 0
// and 1 (PUBACK both ways; an incoming QoS 2 message is answered
// PUBREC/PUBCOMP), PINGREQ keepalive and DISCONNECT. Section numbers are
// those of the OASIS MQTT Version 3.1.1 standard.

const enc = new TextEncoder();

// Packet types, MQTT 3.1.1 §2.2.1.
const CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, PUBREC = 5, PUBREL = 6, PUBCOMP = 7,
  SUBSCRIBE = 8, SUBACK = 9, UNSUBSCRIBE = 10, UNSUBACK = 11, PINGREQ = 12, PINGRESP = 13, DISCONNECT = 14;

// MAX_PACKET bounds what we buffer for one incoming packet.
const MAX_PACKET = 1 << 20;
const ACK_TIMEOUT_MS = 10000;

const CONNACK_REASONS = {
  1: 'unacceptable protocol version', 2: 'identifier rejected', 3: 'server unavailable',
  4: 'bad user name or password', 5: 'not authorized',
};

// encodeLength is the Remaining Length varint, MQTT 3.1.1 §2.2.3.
export function encodeLength(n) {
  if (n < 0 || n > 268435455) throw new Error('remaining length out of range: ' + n);
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

// decodeLength reads a Remaining Length at buf[at]: {value, size}, null when
// more bytes are needed; it throws on a fifth length byte (§2.2.3).
export function decodeLength(buf, at) {
  let value = 0, mult = 1;
  for (let i = 0; i < 4; i++) {
    if (at + i >= buf.length) return null;
    const b = buf[at + i];
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return { value, size: i + 1 };
    mult *= 128;
  }
  throw new Error('malformed remaining length');
}

// utf8 is a length-prefixed UTF-8 string, MQTT 3.1.1 §1.5.3.
export function utf8(s) {
  const b = enc.encode(s);
  if (b.length > 65535) throw new Error('string longer than 65535 bytes');
  return [b.length >> 8, b.length & 0xff, ...b];
}

function u16(n) { return [n >> 8, n & 0xff]; }

function packet(first, body) {
  return new Uint8Array([first, ...encodeLength(body.length), ...body]);
}

// MQTTClient is one connection. Set onmessage(topic, payload Uint8Array,
// {qos, retain}) and onclose(reason) before connect().
export class MQTTClient {
  constructor(url, { clientId = '', username = '', password = '', keepalive = 30, clean = true } = {}) {
    Object.assign(this, { url, clientId, username, password, keepalive, clean });
    this.ws = null;
    this.buf = new Uint8Array(0);
    this.nextId = 1;
    this.pending = new Map(); // packet id → {resolve, reject, timer}
    this.qos2 = new Set();     // incoming QoS 2 ids awaiting PUBREL
    this.onmessage = () => {};
    this.onclose = () => {};
    this.connected = false;
  }

  // connect opens the WebSocket and resolves on a successful CONNACK.
  connect() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.url, ['mqtt']);
      } catch (e) {
        reject(e);
        return;
      }
      this.ws = ws;
      ws.binaryType = 'arraybuffer';
      this.connack = { resolve, reject };
      const timer = setTimeout(() => this.close('no CONNACK within 10 s'), ACK_TIMEOUT_MS);
      this.connack.timer = timer;
      ws.onopen = () => this.send(this.connectPacket());
      ws.onmessage = (ev) => {
        try {
          this.receive(new Uint8Array(ev.data));
        } catch (e) {
          this.close('protocol error: ' + e.message);
        }
      };
      ws.onerror = () => {}; // onclose follows with the reason
      ws.onclose = (ev) => this.closed(ev.reason || (this.connected ? 'connection closed' : 'connection failed') + ' (code ' + ev.code + ')');
    });
  }

  // connectPacket is CONNECT, MQTT 3.1.1 §3.1.
  connectPacket() {
    let flags = this.clean ? 0x02 : 0;
    const payload = [...utf8(this.clientId)];
    if (this.username) {
      flags |= 0x80;
      payload.push(...utf8(this.username));
      if (this.password) {
        flags |= 0x40;
        payload.push(...utf8(this.password));
      }
    }
    const body = [...utf8('MQTT'), 4, flags, ...u16(this.keepalive), ...payload];
    return packet(CONNECT << 4, body);
  }

  send(bytes) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error('not connected');
    this.ws.send(bytes);
    this.lastSent = Date.now();
  }

  id() {
    for (let i = 0; i < 65535; i++) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
    throw new Error('no free packet identifier');
  }

  awaitAck(id) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('no acknowledgement for packet ' + id));
      }, ACK_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  ack(id, value) {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.resolve(value);
  }

  // subscribe sends SUBSCRIBE (§3.8) and resolves with the granted QoS, or
  // rejects when the server answers 0x80 (§3.9.3).
  async subscribe(filter, qos = 0) {
    if (!filter) throw new Error('topic filter required');
    const id = this.id();
    const done = this.awaitAck(id);
    this.send(packet((SUBSCRIBE << 4) | 0x02, [...u16(id), ...utf8(filter), qos & 3]));
    const [granted] = await done;
    if (granted === 0x80) throw new Error('subscription to ' + filter + ' refused');
    return granted;
  }

  // unsubscribe sends UNSUBSCRIBE (§3.10).
  async unsubscribe(filter) {
    const id = this.id();
    const done = this.awaitAck(id);
    this.send(packet((UNSUBSCRIBE << 4) | 0x02, [...u16(id), ...utf8(filter)]));
    await done;
  }

  // publish sends PUBLISH (§3.3); at QoS 1 it resolves on PUBACK.
  async publish(topic, payload, { qos = 0, retain = false } = {}) {
    if (!topic) throw new Error('topic required');
    if (qos > 1) throw new Error('this client publishes at QoS 0 or 1');
    const data = typeof payload === 'string' ? enc.encode(payload) : payload;
    const first = (PUBLISH << 4) | (qos << 1) | (retain ? 1 : 0);
    const head = [...utf8(topic)];
    let done = null;
    if (qos === 1) {
      const id = this.id();
      head.push(...u16(id));
      done = this.awaitAck(id);
    }
    const body = new Uint8Array(head.length + data.length);
    body.set(head);
    body.set(data, head.length);
    const len = encodeLength(body.length);
    const out = new Uint8Array(1 + len.length + body.length);
    out[0] = first;
    out.set(len, 1);
    out.set(body, 1 + len.length);
    this.send(out);
    if (done) await done;
  }

  // disconnect sends DISCONNECT (§3.14) and closes the WebSocket.
  disconnect() {
    try {
      this.send(new Uint8Array([DISCONNECT << 4, 0]));
    } catch (e) { /* already closed */ }
    this.close('disconnected');
  }

  close(reason) {
    this.closeReason = this.closeReason || reason;
    if (this.ws) this.ws.close();
    this.closed(reason);
  }

  closed(reason) {
    if (this.done) return;
    this.done = true;
    this.connected = false;
    clearInterval(this.pinger);
    const why = this.closeReason || reason;
    if (this.connack) {
      clearTimeout(this.connack.timer);
      this.connack.reject(new Error(why));
      this.connack = null;
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(why));
    }
    this.pending.clear();
    this.onclose(why);
  }

  // startKeepalive sends PINGREQ when nothing was sent for keepalive seconds
  // and gives up when no PINGRESP came within another keepalive (§3.1.2.10).
  startKeepalive() {
    if (!this.keepalive) return;
    const ka = this.keepalive * 1000;
    this.pinger = setInterval(() => {
      const now = Date.now();
      if (this.pingSentAt && now - this.pingSentAt > ka) {
        this.close('no PINGRESP within the keepalive');
        return;
      }
      if (!this.pingSentAt && now - this.lastSent >= ka) {
        this.pingSentAt = now;
        this.send(new Uint8Array([PINGREQ << 4, 0]));
      }
    }, 1000);
  }

  receive(chunk) {
    const buf = new Uint8Array(this.buf.length + chunk.length);
    buf.set(this.buf);
    buf.set(chunk, this.buf.length);
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      const len = decodeLength(buf, at + 1);
      if (!len) break;
      if (len.value > MAX_PACKET) throw new Error('packet larger than ' + MAX_PACKET + ' bytes');
      const start = at + 1 + len.size;
      if (buf.length < start + len.value) break;
      this.handle(buf[at], buf.subarray(start, start + len.value));
      at = start + len.value;
    }
    this.buf = buf.slice(at);
  }

  handle(first, body) {
    const type = first >> 4;
    const id = () => {
      if (body.length < 2) throw new Error('packet too short');
      return (body[0] << 8) | body[1];
    };
    switch (type) {
      case CONNACK: { // §3.2
        if (body.length !== 2) throw new Error('bad CONNACK');
        const rc = body[1];
        const c = this.connack;
        this.connack = null;
        if (!c) throw new Error('unexpected CONNACK');
        clearTimeout(c.timer);
        if (rc !== 0) {
          c.reject(new Error('connection refused: ' + (CONNACK_REASONS[rc] || 'code ' + rc)));
          this.close('connection refused');
          return;
        }
        this.connected = true;
        this.startKeepalive();
        c.resolve({ sessionPresent: (body[0] & 1) === 1 });
        return;
      }
      case PUBLISH: { // §3.3
        const qos = (first >> 1) & 3;
        if (qos === 3) throw new Error('PUBLISH with QoS 3');
        if (body.length < 2) throw new Error('PUBLISH too short');
        const tlen = (body[0] << 8) | body[1];
        let at = 2 + tlen;
        if (at > body.length) throw new Error('PUBLISH topic overruns the packet');
        const topic = new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(2, at));
        let pid = 0;
        if (qos > 0) {
          if (at + 2 > body.length) throw new Error('PUBLISH without packet identifier');
          pid = (body[at] << 8) | body[at + 1];
          at += 2;
        }
        const payload = body.slice(at);
        const retain = (first & 1) === 1;
        if (qos === 2) {
          const dup = this.qos2.has(pid);
          this.send(new Uint8Array([PUBREC << 4, 2, ...u16(pid)]));
          if (dup) return;
          this.qos2.add(pid);
        }
        this.onmessage(topic, payload, { qos, retain });
        if (qos === 1) this.send(new Uint8Array([PUBACK << 4, 2, ...u16(pid)]));
        return;
      }
      case PUBREL: { // §3.6
        const pid = id();
        this.qos2.delete(pid);
        this.send(new Uint8Array([PUBCOMP << 4, 2, ...u16(pid)]));
        return;
      }
      case PUBACK: // §3.4
      case UNSUBACK: // §3.11
        this.ack(id(), null);
        return;
      case SUBACK: // §3.9
        this.ack(id(), [...body.subarray(2)]);
        return;
      case PINGRESP: // §3.13
        this.pingSentAt = 0;
        return;
      case PUBREC:
      case PUBCOMP:
        return; // we never publish at QoS 2
      default:
        throw new Error('unexpected packet type ' + type);
    }
  }
}
