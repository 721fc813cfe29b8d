// Manifold's dashboard: a hash-routed single-page application over the
// EMQX-compatible REST API under /api/v5. No third-party code.
import { MQTTClient } from './mqtt.js';
import { LineChart } from './chart.js';

const API = '/api/v5';
const POLL_MS = 2000;
const PAGE_SIZE = 20;

// ---------- DOM helpers ----------

// h builds an element: h('button', {class: 'x', onclick: f, testid: 't'}, 'text', child).
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'testid') e.dataset.testid = v;
    else if (k === 'class') e.className = v;
    else if (k === 'value') e.value = v;
    else if (k === 'checked') e.checked = !!v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const $ = (sel, root = document) => root.querySelector(sel);

function field(label, input) { return h('label', {}, label, input); }

function input(name, attrs = {}) { return h('input', { name, id: attrs.id || 'f-' + name, ...attrs }); }

function select(name, options, attrs = {}) {
  return h('select', { name, id: attrs.id || 'f-' + name, ...attrs },
    options.map((o) => (Array.isArray(o) ? h('option', { value: o[0] }, o[1]) : h('option', { value: o }, o))));
}

function formValues(form) { return Object.fromEntries(new FormData(form).entries()); }

let toastTimer;
function toast(msg, isError = false) {
  const t = $('#toast');
  t.textContent = msg;
  t.className = isError ? 'error' : '';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 4000);
}

function fail(e) {
  if (e && e.status === 401) return; // handled: back to the login page
  toast(e && e.message ? e.message : String(e), true);
}

function badge(ok, yes, no) { return h('span', { class: 'badge ' + (ok ? 'ok' : 'bad') }, ok ? yes : no); }

function time(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString();
}

function duration(ms) {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return (d ? d + 'd ' : '') + (d || hh ? hh + 'h ' : '') + m + 'm ' + s + 's';
}

function bytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}

// table renders rows with columns [{title, get(row) → Node|string}].
function table(columns, rows, { testid, rowTestid, empty = 'Nothing here yet' } = {}) {
  return h('table', { testid },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c.title)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { class: 'empty', colspan: columns.length }, empty))
      : rows.map((r) => h('tr', { testid: rowTestid ? rowTestid(r) : undefined }, columns.map((c) => h('td', {}, c.get(r)))))));
}

function kv(obj, keys) {
  return h('dl', { class: 'kv' }, keys.flatMap(([k, label, f]) => [h('dt', {}, label), h('dd', { testid: 'kv-' + k }, f ? f(obj[k]) : String(obj[k] ?? ''))]));
}

// ---------- session and API ----------

const session = {
  get token() { return sessionStorage.getItem('token'); },
  get username() { return sessionStorage.getItem('username') || ''; },
  get mustChange() { return sessionStorage.getItem('must_change') === '1'; },
  set(token, username, mustChange) {
    sessionStorage.setItem('token', token);
    sessionStorage.setItem('username', username);
    sessionStorage.setItem('must_change', mustChange ? '1' : '0');
  },
  passwordChanged() { sessionStorage.setItem('must_change', '0'); },
  clear() { sessionStorage.clear(); },
};

class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// api calls the REST API; it throws APIError with the server's message. A
// 401 ends the session and goes back to the login page.
async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (session.token) opts.headers.Authorization = 'Bearer ' + session.token;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(API + path, opts);
  } catch (e) {
    throw new APIError(0, 'NETWORK', 'cannot reach the server: ' + e.message);
  }
  const ct = r.headers.get('Content-Type') || '';
  const data = r.status === 204 ? null : ct.includes('json') ? await r.json().catch(() => null) : await r.text();
  if (r.ok) return data;
  const msg = (data && data.message) || (typeof data === 'string' && data) || r.statusText;
  if (r.status === 401 && path !== '/login') {
    session.clear();
    toast('Session ended: ' + msg + '. Please log in again.', true);
    go('/login');
  } else if (r.status === 403 && data && data.code === 'PASSWORD_CHANGE_REQUIRED') {
    go('/change-password');
  }
  throw new APIError(r.status, data && data.code, msg);
}

// optional calls an endpoint that may not exist on this build: null on 404.
async function optional(method, path, body) {
  try {
    return await api(method, path, body);
  } catch (e) {
    if (e.status === 404 && (e.code === 'NOT_FOUND' || e.code === undefined)) return null;
    throw e;
  }
}

const listOf = (d) => (Array.isArray(d) ? d : (d && d.data) || []);
const enc = encodeURIComponent;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}

// pagedList is a table of one paged API list with a pager under it;
// reload(params) fetches page 1 with new filters.
function pagedList(path, columns, { testid, rowTestid, empty } = {}) {
  const box = h('div', { testid: testid && testid + '-box' });
  let page = 1, params = {};
  const load = async () => {
    try {
      const d = await api('GET', path + query({ ...params, page, limit: PAGE_SIZE }));
      const rows = listOf(d);
      const m = (d && d.meta) || { count: rows.length, hasnext: false };
      box.replaceChildren(
        table(columns, rows, { testid, rowTestid, empty }),
        h('div', { class: 'pager' },
          h('button', { class: 'secondary', testid: testid && testid + '-prev', disabled: page <= 1, onclick: () => { page--; load(); } }, '‹ Prev'),
          h('span', { testid: testid && testid + '-count' }, `page ${page} · ${m.count} total`),
          h('button', { class: 'secondary', testid: testid && testid + '-next', disabled: !m.hasnext, onclick: () => { page++; load(); } }, 'Next ›')));
    } catch (e) {
      fail(e);
    }
  };
  return { el: box, reload: (p) => { if (p) params = p; page = 1; return load(); }, refresh: load };
}

// ---------- router ----------

const routes = [];
let cleanup = null;

function route(pattern, title, render, { public: pub = false } = {}) {
  const keys = [];
  const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, k) => { keys.push(k); return '([^/]+)'; }) + '$');
  routes.push({ re, keys, title, render, pub });
}

function go(path) {
  if (location.hash !== '#' + path) location.hash = '#' + path;
  else render();
}

async function render() {
  const path = location.hash.replace(/^#/, '') || '/overview';
  if (cleanup) { cleanup(); cleanup = null; }
  let match = null, params = {};
  for (const r of routes) {
    const m = path.match(r.re);
    if (m) { match = r; r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]); }); break; }
  }
  if (!match) { go('/overview'); return; }
  if (!match.pub && !session.token) { go('/login'); return; }
  if (!match.pub && session.mustChange && path !== '/change-password') { go('/change-password'); return; }
  const signedIn = !!session.token && !session.mustChange;
  $('#topbar').hidden = !session.token;
  $('#nav').hidden = !signedIn;
  $('#whoami').textContent = session.username;
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', path === a.getAttribute('href').slice(1) || path.startsWith(a.getAttribute('href').slice(1) + '/'));
  }
  document.title = match.title + ' · Manifold';
  const view = $('#view');
  view.replaceChildren();
  view.dataset.page = match.title;
  const stop = await match.render(view, params);
  if (typeof stop === 'function') cleanup = stop;
}

// every runs f now and then every ms until the page changes.
function every(ms, f) {
  let alive = true;
  let timer;
  const tick = async () => {
    if (!alive) return;
    try { await f(); } catch (e) { fail(e); }
    if (alive) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { alive = false; clearTimeout(timer); };
}

// ---------- pages: login and password ----------

route('/login', 'Log in', (view) => {
  const form = h('form', { testid: 'login-form' },
    h('h1', {}, 'Manifold'),
    field('Username', input('username', { id: 'login-username', testid: 'login-username', autocomplete: 'username', required: true, value: 'admin' })),
    field('Password', input('password', { id: 'login-password', testid: 'login-password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit', id: 'login-submit', testid: 'login-submit' }, 'Log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const { username, password } = formValues(form);
    try {
      const r = await api('POST', '/login', { username, password });
      session.set(r.token, username, r.must_change_password);
      go(r.must_change_password ? '/change-password' : '/overview');
    } catch (e) {
      fail(e);
    }
  });
  view.append(h('div', { class: 'login panel' }, form));
}, { public: true });

route('/change-password', 'Change password', (view) => {
  const forced = session.mustChange;
  const form = h('form', { testid: 'password-form' },
    h('h1', {}, forced ? 'Choose a new password' : 'Change password'),
    forced ? h('p', { class: 'muted', testid: 'password-forced' }, 'The default password must be changed before you continue.') : null,
    field('Current password', input('old_pwd', { id: 'pw-old', testid: 'pw-old', type: 'password', autocomplete: 'current-password', required: true })),
    field('New password (8 to 64 characters)', input('new_pwd', { id: 'pw-new', testid: 'pw-new', type: 'password', autocomplete: 'new-password', minlength: 8, maxlength: 64, required: true })),
    field('Repeat the new password', input('confirm', { id: 'pw-confirm', testid: 'pw-confirm', type: 'password', autocomplete: 'new-password', required: true })),
    h('button', { type: 'submit', id: 'pw-submit', testid: 'pw-submit' }, 'Change password'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    if (v.new_pwd !== v.confirm) { toast('The two new passwords differ', true); return; }
    try {
      await api('POST', `/users/${enc(session.username)}/change_pwd`, { old_pwd: v.old_pwd, new_pwd: v.new_pwd });
      session.passwordChanged();
      toast('Password changed');
      go('/overview');
    } catch (e) {
      fail(e);
    }
  });
  view.append(h('div', { class: 'login panel' }, form));
});

// ---------- overview ----------

route('/overview', 'Overview', (view) => {
  const cards = {};
  const card = (key, label) => {
    cards[key] = h('div', { class: 'value', testid: 'stat-' + key }, '–');
    return h('div', { class: 'card' }, h('div', { class: 'label' }, label), cards[key]);
  };
  const msgs = new LineChart('Messages per second', [{ name: 'in', cls: 's1' }, { name: 'out', cls: 's2' }], { testid: 'chart-messages' });
  const conns = new LineChart('Connections', [{ name: 'live', cls: 's1' }], { testid: 'chart-connections' });
  const drops = new LineChart('Dropped per second', [{ name: 'dropped', cls: 's3' }], { testid: 'chart-dropped' });
  const node = h('div', { class: 'panel', testid: 'node-info' }, 'Loading…');
  const listeners = h('div', { testid: 'listeners' });
  view.append(h('h1', {}, 'Overview'),
    h('div', { class: 'cards' }, card('connections', 'Connections'), card('sessions', 'Sessions'), card('subscriptions', 'Subscriptions'),
      card('topics', 'Topics'), card('retained', 'Retained'), card('uptime', 'Uptime')),
    h('div', { class: 'charts' }, msgs.root, conns.root, drops.root),
    h('h2', {}, 'Node'), node, h('h2', {}, 'Listeners'), listeners);
  let last = null;
  const stopStats = every(POLL_MS, async () => {
    const [m, s] = await Promise.all([api('GET', '/metrics?aggregate=true'), api('GET', '/stats?aggregate=true')]);
    const now = performance.now();
    cards.connections.textContent = s['live_connections.count'];
    cards.sessions.textContent = s['sessions.count'];
    cards.subscriptions.textContent = s['subscriptions.count'];
    cards.topics.textContent = s['topics.count'];
    cards.retained.textContent = s['retained.count'];
    cards.uptime.textContent = duration((m.uptime_seconds || 0) * 1000);
    conns.push(s['live_connections.count']);
    if (last) {
      const dt = (now - last.at) / 1000;
      const rate = (k) => Math.max(0, (m[k] - last.m[k]) / dt);
      msgs.push(rate('messages.received'), rate('messages.sent'));
      drops.push(rate('messages.dropped'));
    }
    last = { at: now, m };
  });
  const stopNode = every(10000, async () => {
    const [nodes, ls] = await Promise.all([api('GET', '/nodes'), api('GET', '/listeners')]);
    const n = nodes[0] || {};
    node.replaceChildren(kv(n, [['node', 'Node'], ['node_status', 'Status'], ['version', 'Version'],
      ['connections', 'Sessions'], ['live_connections', 'Live connections'], ['memory_used', 'Heap in use', bytes],
      ['memory_total', 'Memory from the OS', bytes], ['process_used', 'Goroutines'], ['go_version', 'Go'], ['sys_path', 'Working directory']]));
    listeners.replaceChildren(table([
      { title: 'ID', get: (l) => l.id },
      { title: 'Type', get: (l) => l.type },
      { title: 'Gateway', get: (l) => l.gateway || '' },
      { title: 'Bind', get: (l) => h('span', { class: 'mono' }, l.addr || l.bind) },
      { title: 'Connections', get: (l) => String(l.current_connections) + ' / ' + l.max_connections },
      { title: 'Received', get: (l) => (l.bytes_received === undefined ? '' : bytes(l.bytes_received)) },
      { title: 'Sent', get: (l) => (l.bytes_sent === undefined ? '' : bytes(l.bytes_sent)) },
      { title: 'State', get: (l) => badge(l.running, 'running', 'stopped') },
    ], ls, { testid: 'listeners-table' }));
  });
  return () => { stopStats(); stopNode(); };
});

// ---------- clients ----------

function kick(clientid, then) {
  return async () => {
    if (!confirm(`Kick client ${clientid}?`)) return;
    try {
      await api('DELETE', `/clients/${enc(clientid)}`);
      toast(`Kicked ${clientid}`);
      then();
    } catch (e) {
      fail(e);
    }
  };
}

function clientColumns(after) {
  return [
    { title: 'Client ID', get: (c) => h('a', { href: '#/clients/' + enc(c.clientid), testid: 'client-link' }, c.clientid) },
    { title: 'Username', get: (c) => c.username || '' },
    { title: 'Address', get: (c) => h('span', { class: 'mono' }, c.ip_address ? `${c.ip_address}:${c.port}` : '') },
    { title: 'Protocol', get: (c) => `${c.proto_name} ${c.proto_ver}` },
    { title: 'State', get: (c) => badge(c.connected, 'connected', 'disconnected') },
    { title: 'Subs', get: (c) => String(c.subscriptions_cnt) },
    { title: 'Connected at', get: (c) => time(c.connected_at) },
    { title: '', get: (c) => h('button', { class: 'danger', testid: 'kick', onclick: kick(c.clientid, after) }, 'Kick') },
  ];
}

route('/clients', 'Clients', (view) => {
  const list = pagedList('/clients', clientColumns(() => list.refresh()), { testid: 'clients', rowTestid: (c) => 'client-' + c.clientid });
  const form = h('form', { class: 'row', testid: 'clients-search' },
    field('Client ID contains', input('like_clientid', { id: 'search-clientid', testid: 'search-clientid' })),
    field('Username contains', input('like_username', { id: 'search-username', testid: 'search-username' })),
    field('State', select('conn_state', [['', 'any'], ['connected', 'connected'], ['disconnected', 'disconnected']], { id: 'search-state' })),
    h('button', { type: 'submit', testid: 'search-submit' }, 'Search'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); list.reload(formValues(form)); });
  view.append(h('h1', {}, 'Clients'), form, list.el);
  list.reload({});
});

route('/clients/:id', 'Client', (view, { id }) => {
  const box = h('div');
  view.append(h('p', {}, h('a', { href: '#/clients' }, '‹ Clients')), h('h1', { testid: 'client-title' }, id), box);
  const load = async () => {
    try {
      const [c, subs] = await Promise.all([api('GET', `/clients/${enc(id)}`), api('GET', `/clients/${enc(id)}/subscriptions`)]);
      box.replaceChildren(
        h('div', { class: 'row' }, badge(c.connected, 'connected', 'disconnected'),
          h('button', { class: 'danger', id: 'kick-client', testid: 'kick-client', onclick: kick(id, load) }, c.connected ? 'Kick' : 'Discard session')),
        h('div', { class: 'panel', testid: 'client-detail' }, kv(c, [
          ['username', 'Username'], ['proto_name', 'Protocol'], ['proto_ver', 'Version'], ['ip_address', 'IP'], ['port', 'Port'],
          ['listener', 'Listener'], ['conn_state', 'Connection state', (v) => v || ''], ['connected_at', 'Connected at', time],
          ['disconnected_at', 'Disconnected at', time], ['created_at', 'Session created', time], ['keepalive', 'Keepalive (s)'],
          ['clean_start', 'Clean start'], ['expiry_interval', 'Session expiry (s)'], ['subscriptions_cnt', 'Subscriptions'],
          ['inflight_cnt', 'In flight'], ['mqueue_len', 'Queued'], ['mqueue_dropped', 'Queue dropped'], ['awaiting_rel_cnt', 'Awaiting PUBREL'],
          ['mountpoint', 'Mountpoint']])),
        h('h2', {}, 'Subscriptions'),
        table([
          { title: 'Topic', get: (s) => h('span', { class: 'mono' }, s.topic) },
          { title: 'QoS', get: (s) => String(s.qos) },
          { title: 'No local', get: (s) => String(s.nl) }, { title: 'Retain as published', get: (s) => String(s.rap) },
          { title: 'Retain handling', get: (s) => String(s.rh) },
        ], listOf(subs), { testid: 'client-subscriptions' }));
    } catch (e) {
      if (e.status === 404) box.replaceChildren(h('div', { class: 'notice', testid: 'client-gone' }, `No client ${id} (it is gone).`));
      else fail(e);
    }
  };
  return every(5000, load);
});

// ---------- subscriptions, topics, retained ----------

route('/subscriptions', 'Subscriptions', (view) => {
  const list = pagedList('/subscriptions', [
    { title: 'Client ID', get: (s) => h('a', { href: '#/clients/' + enc(s.clientid) }, s.clientid) },
    { title: 'Topic', get: (s) => h('span', { class: 'mono' }, s.topic) },
    { title: 'QoS', get: (s) => String(s.qos) },
    { title: 'Share group', get: (s) => s.share_group || '' },
  ], { testid: 'subscriptions' });
  const form = h('form', { class: 'row' },
    field('Client ID', input('clientid', { id: 'subs-clientid' })), field('Topic', input('topic', { id: 'subs-topic' })),
    field('Matching topic', input('match_topic', { id: 'subs-match' })),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); list.reload(formValues(form)); });
  view.append(h('h1', {}, 'Subscriptions'), form, list.el);
  list.reload({});
});

route('/topics', 'Topics', (view) => {
  const list = pagedList('/topics', [
    { title: 'Topic', get: (t) => h('span', { class: 'mono' }, t.topic) },
    { title: 'Node', get: (t) => t.node },
  ], { testid: 'topics' });
  const form = h('form', { class: 'row' }, field('Topic', input('topic', { id: 'topics-topic' })), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); list.reload(formValues(form)); });
  view.append(h('h1', {}, 'Topics'), form, list.el);
  list.reload({});
});

// payloadText shows a base64 payload as UTF-8 text, or as hex when it is not text.
function payloadText(b64) {
  const raw = Uint8Array.from(atob(b64 || ''), (c) => c.charCodeAt(0));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return [...raw].map((b) => b.toString(16).padStart(2, '0')).join(' ') + '  (hex)';
  }
}

route('/retained', 'Retained messages', (view) => {
  const detail = h('div', { testid: 'retained-detail' });
  const show = (topic) => async () => {
    try {
      const m = await api('GET', `/retainer/message/${enc(topic)}`);
      detail.replaceChildren(h('div', { class: 'panel' }, h('h2', {}, m.topic),
        kv(m, [['qos', 'QoS'], ['from_clientid', 'From'], ['publish_at', 'Published', time]]),
        h('h2', {}, 'Payload'), h('pre', { class: 'payload', testid: 'retained-payload' }, payloadText(m.payload))));
    } catch (e) { fail(e); }
  };
  const del = (topic) => async () => {
    if (!confirm(`Delete the retained message of ${topic}?`)) return;
    try {
      await api('DELETE', `/retainer/message/${enc(topic)}`);
      toast('Deleted');
      detail.replaceChildren();
      list.refresh();
    } catch (e) { fail(e); }
  };
  const list = pagedList('/retainer/messages', [
    { title: 'Topic', get: (m) => h('span', { class: 'mono' }, m.topic) },
    { title: 'QoS', get: (m) => String(m.qos) },
    { title: 'From', get: (m) => m.from_clientid || '' },
    { title: 'Published', get: (m) => time(m.publish_at) },
    { title: '', get: (m) => h('span', { class: 'actions' }, h('button', { class: 'secondary', testid: 'retained-view', onclick: show(m.topic) }, 'View'),
      h('button', { class: 'danger', testid: 'retained-delete', onclick: del(m.topic) }, 'Delete')) },
  ], { testid: 'retained', empty: 'No retained messages' });
  const form = h('form', { class: 'row' }, field('Topic or filter', input('topic', { id: 'retained-topic' })), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); list.reload(formValues(form)); });
  view.append(h('h1', {}, 'Retained messages'), form, list.el, detail);
  list.reload({});
});

// ---------- gateways ----------

route('/gateways', 'Gateways', async (view) => {
  view.append(h('h1', {}, 'Gateways'));
  try {
    const gws = await api('GET', '/gateways');
    view.append(table([
      { title: 'Gateway', get: (g) => h('a', { href: '#/gateways/' + enc(g.name), testid: 'gateway-link' }, g.name) },
      { title: 'Status', get: (g) => badge(g.status === 'running', 'running', g.status) },
      { title: 'Connections', get: (g) => String(g.current_connections) },
      { title: 'Listeners', get: (g) => (g.listeners || []).map((l) => h('div', { class: 'mono' }, `${l.type} ${l.addr || l.bind}`)) },
    ], listOf(gws), { testid: 'gateways' }));
  } catch (e) { fail(e); }
});

route('/gateways/:name', 'Gateway clients', (view, { name }) => {
  const list = pagedList(`/gateways/${enc(name)}/clients`, clientColumns(() => list.refresh()), { testid: 'gateway-clients' });
  view.append(h('p', {}, h('a', { href: '#/gateways' }, '‹ Gateways')), h('h1', {}, `${name} clients`), list.el);
  list.reload({});
  return every(5000, () => list.refresh());
});

// ---------- banned ----------

route('/banned', 'Banned', (view) => {
  const list = pagedList('/banned', [
    { title: 'As', get: (b) => b.as },
    { title: 'Who', get: (b) => h('span', { class: 'mono' }, b.who) },
    { title: 'Reason', get: (b) => b.reason || '' },
    { title: 'By', get: (b) => b.by || '' },
    { title: 'Since', get: (b) => time(b.at) },
    { title: 'Until', get: (b) => (b.until === 'infinity' ? 'forever' : time(b.until)) },
    { title: '', get: (b) => h('button', { class: 'danger', testid: 'ban-delete', onclick: async () => {
      try { await api('DELETE', `/banned/${enc(b.as)}/${enc(b.who)}`); toast('Ban lifted'); list.refresh(); } catch (e) { fail(e); }
    } }, 'Delete') },
  ], { testid: 'banned', rowTestid: (b) => `ban-${b.as}-${b.who}`, empty: 'Nobody is banned' });
  const form = h('form', { class: 'row panel', testid: 'ban-form' },
    field('As', select('as', ['clientid', 'username', 'peerhost'], { id: 'ban-as' })),
    field('Who', input('who', { id: 'ban-who', required: true })),
    field('Reason', input('reason', { id: 'ban-reason' })),
    field('Until (empty: forever)', input('until', { id: 'ban-until', type: 'datetime-local' })),
    h('button', { type: 'submit', testid: 'ban-submit' }, 'Ban'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const body = { as: v.as, who: v.who, reason: v.reason };
    if (v.until) body.until = new Date(v.until).toISOString();
    try { await api('POST', '/banned', body); toast(`Banned ${v.as} ${v.who}`); form.reset(); list.refresh(); } catch (e) { fail(e); }
  });
  view.append(h('h1', {}, 'Banned'), form, list.el);
  list.reload({});
});

// ---------- alarms ----------

route('/alarms', 'Alarms', (view) => {
  let activated = true;
  const box = h('div');
  const tabs = h('div', { class: 'tabs' });
  const load = async () => {
    tabs.replaceChildren(...[
      h('button', { class: activated ? 'active' : '', testid: 'alarms-current', onclick: () => { activated = true; load(); } }, 'Current'),
      h('button', { class: activated ? '' : 'active', testid: 'alarms-history', onclick: () => { activated = false; load(); } }, 'History'),
      activated ? null : h('button', { class: 'danger', testid: 'alarms-clear', onclick: async () => {
        try { await api('DELETE', '/alarms'); toast('History cleared'); load(); } catch (e) { fail(e); }
      } }, 'Clear history')].filter(Boolean));
    try {
      const d = await optional('GET', `/alarms${query({ activated, limit: 100 })}`);
      if (d === null) { box.replaceChildren(h('div', { class: 'notice', testid: 'not-available' }, 'Alarms are not available on this node.')); return; }
      box.replaceChildren(table([
        { title: 'Name', get: (a) => h('b', {}, a.name) },
        { title: 'Message', get: (a) => a.message },
        { title: 'Details', get: (a) => h('span', { class: 'mono' }, a.details ? JSON.stringify(a.details) : '') },
        { title: 'Node', get: (a) => a.node },
        { title: 'Raised', get: (a) => time(a.activate_at) },
        { title: activated ? 'For' : 'Cleared', get: (a) => (activated ? duration(a.duration || 0) : time(a.deactivate_at)) },
      ], listOf(d), { testid: 'alarms', empty: activated ? 'No alarm is raised' : 'No alarm history' }));
    } catch (e) { fail(e); }
  };
  view.append(h('h1', {}, 'Alarms'), tabs, box);
  return every(5000, load);
});

// ---------- users and API keys ----------

route('/users', 'Users', (view) => {
  const box = h('div');
  const load = async () => {
    try {
      const users = await api('GET', '/users');
      box.replaceChildren(table([
        { title: 'Username', get: (u) => u.username },
        { title: 'Description', get: (u) => u.description || '' },
        { title: 'Role', get: (u) => u.role },
        { title: '', get: (u) => (u.username === session.username
          ? h('a', { href: '#/change-password', testid: 'user-change-password' }, 'Change my password')
          : h('button', { class: 'danger', testid: 'user-delete', onclick: async () => {
            if (!confirm(`Delete user ${u.username}?`)) return;
            try { await api('DELETE', `/users/${enc(u.username)}`); toast('User deleted'); load(); } catch (e) { fail(e); }
          } }, 'Delete')) },
      ], listOf(users), { testid: 'users', rowTestid: (u) => 'user-' + u.username }));
    } catch (e) { fail(e); }
  };
  const form = h('form', { class: 'row panel', testid: 'user-form' },
    field('Username', input('username', { id: 'user-username', required: true })),
    field('Password', input('password', { id: 'user-password', type: 'password', minlength: 8, required: true, autocomplete: 'new-password' })),
    field('Description', input('description', { id: 'user-description' })),
    h('button', { type: 'submit', testid: 'user-submit' }, 'Add user'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await api('POST', '/users', formValues(form)); toast('User added'); form.reset(); load(); } catch (e) { fail(e); }
  });
  view.append(h('h1', {}, 'Users'), form, box);
  load();
});

route('/api-keys', 'API keys', (view) => {
  const box = h('div');
  const secret = h('div');
  const load = async () => {
    try {
      const keys = await api('GET', '/api_key');
      box.replaceChildren(table([
        { title: 'Name', get: (k) => k.name },
        { title: 'Key', get: (k) => h('span', { class: 'mono' }, k.api_key) },
        { title: 'Description', get: (k) => k.desc || '' },
        { title: 'Expires', get: (k) => (k.expired_at === 'infinity' ? 'never' : time(k.expired_at)) },
        { title: 'State', get: (k) => badge(k.enable, 'enabled', 'disabled') },
        { title: '', get: (k) => h('span', { class: 'actions' },
          h('button', { class: 'secondary', testid: 'key-toggle', onclick: async () => {
            try { await api('PUT', `/api_key/${enc(k.name)}`, { enable: !k.enable }); load(); } catch (e) { fail(e); }
          } }, k.enable ? 'Disable' : 'Enable'),
          h('button', { class: 'danger', testid: 'key-delete', onclick: async () => {
            if (!confirm(`Delete API key ${k.name}?`)) return;
            try { await api('DELETE', `/api_key/${enc(k.name)}`); toast('Key deleted'); load(); } catch (e) { fail(e); }
          } }, 'Delete')) },
      ], listOf(keys), { testid: 'api-keys', rowTestid: (k) => 'key-' + k.name, empty: 'No API keys' }));
    } catch (e) { fail(e); }
  };
  const form = h('form', { class: 'row panel', testid: 'key-form' },
    field('Name', input('name', { id: 'key-name', required: true })),
    field('Description', input('desc', { id: 'key-desc' })),
    field('Expires (empty: never)', input('expired_at', { id: 'key-expires', type: 'datetime-local' })),
    h('button', { type: 'submit', testid: 'key-submit' }, 'Create key'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const body = { name: v.name, desc: v.desc };
    if (v.expired_at) body.expired_at = new Date(v.expired_at).toISOString();
    try {
      const k = await api('POST', '/api_key', body);
      secret.replaceChildren(h('div', { class: 'panel' },
        h('p', {}, h('b', {}, 'Copy the secret now: it is shown only once.')),
        kv(k, [['api_key', 'API key'], ['api_secret', 'Secret']]),
        h('p', { class: 'secret', testid: 'key-secret' }, `${k.api_key}:${k.api_secret}`),
        h('button', { class: 'secondary', onclick: () => secret.replaceChildren() }, 'Done')));
      form.reset();
      load();
    } catch (e) { fail(e); }
  });
  view.append(h('h1', {}, 'API keys'), form, secret, box);
  load();
});

// ---------- endpoints that may not exist yet ----------

function notAvailable(what) {
  return h('div', { class: 'notice', testid: 'not-available' }, `${what} are not available on this node.`);
}

route('/slow-subscriptions', 'Slow subscriptions', (view) => {
  const box = h('div');
  view.append(h('h1', {}, 'Slow subscriptions'),
    h('p', { class: 'muted' }, 'The subscriptions whose deliveries took longest, slowest first.'), box);
  return every(5000, async () => {
    const d = await optional('GET', '/slow_subscriptions/topk');
    if (d === null) { box.replaceChildren(notAvailable('Slow subscription statistics')); return; }
    box.replaceChildren(table([
      { title: 'Client ID', get: (s) => h('a', { href: '#/clients/' + enc(s.clientid) }, s.clientid) },
      { title: 'Topic', get: (s) => h('span', { class: 'mono' }, s.topic) },
      { title: 'Time span (ms)', get: (s) => String(s.timespan) },
      { title: 'Node', get: (s) => s.node || '' },
      { title: 'Last update', get: (s) => time(s.last_update_time) },
    ], listOf(d), { testid: 'slow-subscriptions', empty: 'No slow subscriptions' }));
  });
});

route('/topic-metrics', 'Topic metrics', (view) => {
  const box = h('div');
  const form = h('form', { class: 'row panel', testid: 'topic-metrics-form' },
    field('Topic', input('topic', { id: 'tm-topic', required: true })), h('button', { type: 'submit' }, 'Add'));
  const load = async () => {
    const d = await optional('GET', '/mqtt/topic_metrics');
    if (d === null) { form.hidden = true; box.replaceChildren(notAvailable('Topic metrics')); return; }
    const m = (t, k) => String((t.metrics || {})[k] ?? 0);
    box.replaceChildren(table([
      { title: 'Topic', get: (t) => h('span', { class: 'mono' }, t.topic) },
      { title: 'In', get: (t) => m(t, 'messages.in.count') },
      { title: 'In /s', get: (t) => m(t, 'messages.in.rate') },
      { title: 'Out', get: (t) => m(t, 'messages.out.count') },
      { title: 'Out /s', get: (t) => m(t, 'messages.out.rate') },
      { title: 'Dropped', get: (t) => m(t, 'messages.dropped.count') },
      { title: 'Since', get: (t) => time(t.create_time || t.reset_time) },
      { title: '', get: (t) => h('button', { class: 'danger', onclick: async () => {
        try { await api('DELETE', `/mqtt/topic_metrics/${enc(t.topic)}`); load(); } catch (e) { fail(e); }
      } }, 'Remove') },
    ], listOf(d), { testid: 'topic-metrics', empty: 'No topics are counted' }));
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await api('POST', '/mqtt/topic_metrics', { topic: formValues(form).topic }); form.reset(); load(); } catch (e) { fail(e); }
  });
  view.append(h('h1', {}, 'Topic metrics'), form, box);
  return every(5000, load);
});

async function download(path, name) {
  try {
    const r = await fetch(API + path, { headers: { Authorization: 'Bearer ' + session.token } });
    if (!r.ok) {
      const d = await r.json().catch(() => ({}));
      throw new APIError(r.status, d.code, d.message || r.statusText);
    }
    const m = /filename="?([^";]+)"?/.exec(r.headers.get('Content-Disposition') || '');
    if (m) name = m[1];
    const url = URL.createObjectURL(await r.blob());
    const a = h('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) { fail(e); }
}

route('/traces', 'Traces', (view) => {
  const box = h('div');
  const valueInput = input('value', { id: 'trace-value', required: true });
  const form = h('form', { class: 'row panel', testid: 'trace-form' },
    field('Name', input('name', { id: 'trace-name', required: true, pattern: '[A-Za-z0-9_\\-]+' })),
    field('Type', select('type', ['clientid', 'topic'], { id: 'trace-type' })),
    field('Client ID or topic', valueInput),
    field('Duration (minutes)', input('minutes', { id: 'trace-minutes', type: 'number', min: 1, value: '10' })),
    h('button', { type: 'submit' }, 'Start trace'));
  const load = async () => {
    const d = await optional('GET', '/trace');
    if (d === null) { form.hidden = true; box.replaceChildren(notAvailable('Traces')); return; }
    box.replaceChildren(table([
      { title: 'Name', get: (t) => t.name },
      { title: 'Type', get: (t) => t.type },
      { title: 'Of', get: (t) => h('span', { class: 'mono' }, t[t.type] || '') },
      { title: 'Status', get: (t) => badge(t.status === 'running', t.status, t.status) },
      { title: 'Start', get: (t) => time(t.start_at) },
      { title: 'End', get: (t) => time(t.end_at) },
      { title: '', get: (t) => h('span', { class: 'actions' },
        h('button', { class: 'secondary', onclick: () => download(`/trace/${enc(t.name)}/download`, t.name + '.zip') }, 'Download'),
        h('button', { class: 'danger', onclick: async () => {
          try { await api('DELETE', `/trace/${enc(t.name)}`); load(); } catch (e) { fail(e); }
        } }, 'Delete')) },
    ], listOf(d), { testid: 'traces', empty: 'No traces' }));
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const start = new Date();
    const body = { name: v.name, type: v.type, [v.type]: v.value, start_at: start.toISOString(),
      end_at: new Date(start.getTime() + (Number(v.minutes) || 10) * 60000).toISOString() };
    try { await api('POST', '/trace', body); form.reset(); load(); } catch (e) { fail(e); }
  });
  view.append(h('h1', {}, 'Traces'), form, box);
  return every(5000, load);
});

// ---------- WebSocket MQTT client ----------

// The connection outlives the page so one can look at other pages meanwhile.
const ws = { client: null, status: 'disconnected', messages: [], subs: [], maxMessages: 200, refresh: () => {} };

route('/websocket', 'WebSocket client', (view) => {
  const defaultURL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:8083/mqtt`;
  const status = h('span', { testid: 'ws-status', id: 'ws-status' });
  const conn = h('form', { class: 'row panel', testid: 'ws-connect-form' },
    field('URL', input('url', { id: 'ws-url', testid: 'ws-url', value: ws.url || defaultURL, size: 28, required: true })),
    field('Client ID', input('clientid', { id: 'ws-clientid', testid: 'ws-clientid', value: ws.clientId || 'dashboard-' + Math.random().toString(16).slice(2, 10) })),
    field('Username', input('username', { id: 'ws-username' })),
    field('Password', input('password', { id: 'ws-password', type: 'password' })),
    field('Keepalive (s)', input('keepalive', { id: 'ws-keepalive', type: 'number', min: 0, max: 65535, value: '30' })),
    h('button', { type: 'submit', id: 'ws-connect', testid: 'ws-connect' }, 'Connect'),
    h('button', { type: 'button', class: 'secondary', id: 'ws-disconnect', testid: 'ws-disconnect', onclick: () => ws.client && ws.client.disconnect() }, 'Disconnect'),
    status);
  const subForm = h('form', { class: 'row' },
    field('Topic filter', input('topic', { id: 'ws-sub-topic', testid: 'ws-sub-topic', required: true })),
    field('QoS', select('qos', ['0', '1', '2'], { id: 'ws-sub-qos', testid: 'ws-sub-qos' })),
    h('button', { type: 'submit', testid: 'ws-subscribe' }, 'Subscribe'));
  const subList = h('div');
  const pubForm = h('form', { class: 'row' },
    field('Topic', input('topic', { id: 'ws-pub-topic', testid: 'ws-pub-topic', required: true })),
    field('Payload', h('textarea', { name: 'payload', id: 'ws-pub-payload', 'data-testid': 'ws-pub-payload', rows: 2, cols: 30 })),
    field('QoS', select('qos', ['0', '1'], { id: 'ws-pub-qos', testid: 'ws-pub-qos' })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'retain', id: 'ws-pub-retain' }), 'Retain'),
    h('button', { type: 'submit', testid: 'ws-publish' }, 'Publish'));
  const msgList = h('div');

  const paint = () => {
    status.textContent = ws.status;
    status.className = 'badge ' + (ws.status === 'connected' ? 'ok' : ws.status === 'connecting' ? '' : 'bad');
    status.dataset.state = ws.status;
    const on = ws.status === 'connected';
    for (const b of subForm.querySelectorAll('button')) b.disabled = !on;
    for (const b of pubForm.querySelectorAll('button')) b.disabled = !on;
    $('#ws-connect', conn).disabled = ws.status !== 'disconnected';
    $('#ws-disconnect', conn).disabled = !on;
    subList.replaceChildren(table([
      { title: 'Subscribed to', get: (s) => h('span', { class: 'mono' }, s.topic) },
      { title: 'Granted QoS', get: (s) => String(s.qos) },
      { title: '', get: (s) => h('button', { class: 'secondary', disabled: !on, onclick: async () => {
        try { await ws.client.unsubscribe(s.topic); ws.subs = ws.subs.filter((x) => x !== s); paint(); } catch (e) { fail(e); }
      } }, 'Unsubscribe') },
    ], ws.subs, { testid: 'ws-subscriptions', empty: 'No subscriptions' }));
    msgList.replaceChildren(table([
      { title: 'Received', get: (m) => m.at.toLocaleTimeString() },
      { title: 'Topic', get: (m) => h('span', { class: 'mono' }, m.topic) },
      { title: 'QoS', get: (m) => String(m.qos) },
      { title: 'Retained', get: (m) => (m.retain ? 'yes' : '') },
      { title: 'Payload', get: (m) => h('span', { class: 'mono', testid: 'ws-payload' }, m.payload) },
    ], ws.messages, { testid: 'ws-messages', rowTestid: () => 'ws-message', empty: 'No messages received' }));
  };
  ws.refresh = paint;

  conn.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = formValues(conn);
    ws.url = v.url;
    ws.clientId = v.clientid;
    const c = new MQTTClient(v.url, { clientId: v.clientid, username: v.username, password: v.password, keepalive: Number(v.keepalive) || 0 });
    c.onmessage = (topic, payload, { qos, retain }) => {
      let text;
      try { text = new TextDecoder('utf-8', { fatal: true }).decode(payload); } catch { text = `(${payload.length} bytes of binary)`; }
      ws.messages.unshift({ at: new Date(), topic, qos, retain, payload: text });
      ws.messages.length = Math.min(ws.messages.length, ws.maxMessages);
      ws.refresh();
    };
    c.onclose = (why) => {
      if (ws.client !== c) return;
      ws.status = 'disconnected';
      ws.subs = [];
      ws.client = null;
      toast('WebSocket client: ' + why, why !== 'disconnected');
      ws.refresh();
    };
    ws.client = c;
    ws.status = 'connecting';
    paint();
    try {
      await c.connect();
      ws.status = 'connected';
      toast('Connected to ' + v.url);
    } catch (e) {
      if (ws.client === c) { ws.client = null; ws.status = 'disconnected'; }
      fail(e);
    }
    ws.refresh();
  });
  subForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = formValues(subForm);
    try {
      const qos = await ws.client.subscribe(v.topic, Number(v.qos));
      ws.subs = ws.subs.filter((s) => s.topic !== v.topic).concat([{ topic: v.topic, qos }]);
      paint();
    } catch (e) { fail(e); }
  });
  pubForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = formValues(pubForm);
    try {
      await ws.client.publish(v.topic, v.payload || '', { qos: Number(v.qos), retain: v.retain === 'on' });
      toast(Number(v.qos) === 1 ? 'Published (acknowledged)' : 'Published');
      pubForm.dataset.published = String(Number(pubForm.dataset.published || 0) + 1);
    } catch (e) { fail(e); }
  });
  pubForm.dataset.testid = 'ws-publish-form';
  if (!ws.url) {
    // The default names port 8083; a node whose WebSocket listener is
    // elsewhere says so in its listener list.
    api('GET', '/listeners').then((ls) => {
      const want = location.protocol === 'https:' ? 'wss' : 'ws';
      const l = ls.find((x) => x.type === want && !x.gateway && x.running && x.addr);
      const u = $('#ws-url', conn);
      if (!l || !u || u.value !== defaultURL) return;
      const port = l.addr.slice(l.addr.lastIndexOf(':') + 1);
      u.value = `${l.type}://${location.hostname}:${port}/mqtt`;
    }).catch(() => {});
  }
  view.append(h('h1', {}, 'WebSocket client'),
    h('p', { class: 'muted' }, 'An MQTT 3.1.1 client in this page, over the broker\'s MQTT WebSocket listener.'),
    conn, h('h2', {}, 'Subscribe'), subForm, subList, h('h2', {}, 'Publish'), pubForm, h('h2', {}, 'Messages'), msgList);
  paint();
  return () => { ws.refresh = () => {}; };
});

// ---------- start ----------

$('#logout').addEventListener('click', async () => {
  try { await api('POST', '/logout'); } catch { /* the session ends anyway */ }
  session.clear();
  go('/login');
});
window.addEventListener('hashchange', render);
render();
