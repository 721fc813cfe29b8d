// The web dashboard in headless Chromium, driven by gateway/cmd/manifold's
// TestE2EDashboardInChromium:
//   node dashboard.js DASHBOARD_URL WS_MQTT_URL CHROMIUM_PATH SCREENSHOT_PATH NEW_PASSWORD
// It talks to the test on stdout, one line per step, and waits for the
// test's answer on stdin where a step needs one:
//   logged-in             admin/public logged in and forced to change the password, changed it
//   screenshot PATH       the overview showed connections and moving message rates
//   kicked                client e2e-pub found by search and kicked from its detail page
//   published             the WebSocket client page published "hello from the browser bbb…" (QoS 1)
//                         and received it back; the test now publishes "hello from mosquitto mmm…"
//                         and answers "sent" on stdin
//   ok                    the page received the test's message
// Any failure prints "FAIL reason" on stderr and exits 1.
'use strict';
const { chromium } = require('playwright-core');
const readline = require('readline');

const [base, wsURL, executablePath, screenshot, newPassword] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL ' + msg); process.exit(1); };
setTimeout(() => fail('timed out'), 100000).unref();
const T = { timeout: 20000 };

const stdin = readline.createInterface({ input: process.stdin });
const answers = [];
let waiting = null;
stdin.on('line', (l) => { if (waiting) { const w = waiting; waiting = null; w(l); } else answers.push(l); });
const answer = () => (answers.length ? Promise.resolve(answers.shift()) : new Promise((r) => { waiting = r; }));

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors = [];
    page.on('pageerror', (e) => fail('page error: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
    page.on('dialog', (d) => d.accept());

    // Log in with the default password: the dashboard insists on a new one.
    await page.goto(base);
    await page.waitForSelector('[data-testid="login-form"]', T);
    await page.fill('#login-username', 'admin');
    await page.fill('#login-password', 'public');
    await page.click('#login-submit');
    await page.waitForSelector('[data-testid="password-forced"]', T);
    if (await page.isVisible('#nav')) fail('navigation shown before the password was changed');
    await page.fill('#pw-old', 'public');
    await page.fill('#pw-new', newPassword);
    await page.fill('#pw-confirm', newPassword);
    await page.click('#pw-submit');
    await page.waitForSelector('[data-testid="stat-connections"]', T);
    console.log('logged-in');

    // Overview: the test's client is connected and publishing.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="stat-connections"]').textContent) >= 1, null, T);
    await page.waitForFunction(() => {
      const c = document.querySelector('[data-testid="chart-messages"]');
      return Number(c.dataset.max) > 0 && Number(c.dataset.samples) >= 3;
    }, null, T);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="chart-connections"]').dataset.max) >= 1, null, T);
    await page.waitForSelector('[data-testid="listeners-table"]', T);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log('screenshot ' + screenshot);

    // Clients: search by client id, open the detail, kick.
    await page.click('[data-testid="nav-clients"]');
    await page.fill('#search-clientid', 'e2e-pub');
    await page.click('[data-testid="search-submit"]');
    await page.waitForSelector('[data-testid="client-e2e-pub"]', T);
    const rows = await page.$$('[data-testid="clients"] tbody tr');
    if (rows.length !== 1) fail(`search for e2e-pub shows ${rows.length} rows`);
    await page.click('[data-testid="client-e2e-pub"] [data-testid="client-link"]');
    await page.waitForSelector('[data-testid="client-detail"]', T);
    await page.waitForFunction(() => document.querySelector('[data-testid="client-subscriptions"]').textContent.includes('e2e/load'), null, T);
    if ((await page.textContent('[data-testid="kv-conn_state"]')).trim() !== 'connected') fail('detail does not show the client connected');
    await page.click('#kick-client');
    await page.waitForFunction(() => document.querySelector('[data-testid="client-gone"]') ||
      document.querySelector('[data-testid="kv-conn_state"]')?.textContent === 'disconnected', null, T);
    console.log('kicked');

    // WebSocket client page: connect, subscribe, publish at QoS 1, receive.
    await page.click('[data-testid="nav-websocket"]');
    await page.fill('#ws-url', wsURL);
    await page.fill('#ws-clientid', 'dashboard-e2e');
    await page.fill('#ws-keepalive', '5');
    await page.click('#ws-connect');
    await page.waitForSelector('[data-testid="ws-status"][data-state="connected"]', T);
    await page.fill('#ws-sub-topic', 'e2e/ws');
    await page.selectOption('#ws-sub-qos', '1');
    await page.click('[data-testid="ws-subscribe"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="ws-subscriptions"]').textContent.includes('e2e/ws'), null, T);
    await page.fill('#ws-pub-topic', 'e2e/ws');
    // Longer than 127 bytes: a two-byte remaining length both ways.
    await page.fill('#ws-pub-payload', 'hello from the browser ' + 'b'.repeat(200));
    await page.selectOption('#ws-pub-qos', '1');
    await page.click('[data-testid="ws-publish"]');
    await page.waitForSelector('[data-testid="ws-publish-form"][data-published="1"]', T);
    const shows = (t) => page.waitForFunction(
      (t) => [...document.querySelectorAll('[data-testid="ws-payload"]')].some((e) => e.textContent === t), t, T);
    await shows('hello from the browser ' + 'b'.repeat(200));
    console.log('published');
    if ((await answer()) !== 'sent') fail('unexpected answer');
    await shows('hello from mosquitto ' + 'm'.repeat(200));
    await page.waitForSelector('[data-testid="ws-status"][data-state="connected"]', T);
    if (errors.length) fail('console errors: ' + errors.join('; '));
    console.log('ok');
  } catch (e) {
    fail(e.message);
  } finally {
    await browser.close();
  }
  process.exit(0);
})();
