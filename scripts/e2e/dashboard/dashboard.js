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
//   apikey KEY:SECRET     the page received the test's message, then created an API key and
//                         shows its secret; the test calls the API with it and answers "key works"
//   ok                    retained, banned, API keys, users and every other page worked, and a
//                         revoked token sent the page back to the login form
// Any failure prints "FAIL reason" on stderr and exits 1.
'use strict';
const { chromium } = require('playwright-core');
const readline = require('readline');

const [base, wsURL, executablePath, screenshot, newPassword] = process.argv.slice(2);
let step = 'start';
const fail = (msg) => { console.error(`FAIL at ${step}: ${msg}`); process.exit(1); };
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

    step = 'login and forced password change';
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

    step = 'overview';
    // Overview: the test's two clients are connected, one publishing.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="stat-connections"]')?.textContent ?? 0) >= 2, null, T); // e2e-pub and e2e-watch
    await page.waitForFunction(() => {
      const c = document.querySelector('[data-testid="chart-messages"]');
      const latest = (s) => Number(document.querySelector(`[data-testid="chart-messages-${s}"]`)?.dataset.value);
      return Number(c?.dataset.max) > 0 && Number(c?.dataset.samples) >= 3 && latest('in') > 0 && latest('out') > 0;
    }, null, T);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="chart-connections"]')?.dataset.max) >= 2, null, T);
    await page.waitForSelector('[data-testid="listeners-table"]', T);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log('screenshot ' + screenshot);

    step = 'clients search and kick';
    // Clients: search by client id, open the detail, kick.
    await page.click('[data-testid="nav-clients"]');
    await page.fill('#search-clientid', 'e2e-pub');
    await page.click('[data-testid="search-submit"]');
    // The unfiltered list (both test clients) may still be on the page for a
    // moment: wait for the search's answer, one row.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="clients"] tbody tr').length === 1 &&
      document.querySelector('[data-testid="client-e2e-pub"]') !== null, null, T)
      .catch(async () => fail(`search for e2e-pub shows ${(await page.$$('[data-testid="clients"] tbody tr')).length} rows`));
    await page.click('[data-testid="client-e2e-pub"] [data-testid="client-link"]');
    await page.waitForSelector('[data-testid="client-detail"]', T);
    await page.waitForFunction(() => document.querySelector('[data-testid="client-subscriptions"]')?.textContent.includes('e2e/load'), null, T);
    if ((await page.textContent('[data-testid="kv-conn_state"]')).trim() !== 'connected') fail('detail does not show the client connected');
    await page.click('#kick-client');
    await page.waitForFunction(() => document.querySelector('[data-testid="client-gone"]') ||
      document.querySelector('[data-testid="kv-conn_state"]')?.textContent === 'disconnected', null, T);
    console.log('kicked');

    step = 'WebSocket client';
    // WebSocket client page: connect, subscribe, publish at QoS 1, receive.
    await page.click('[data-testid="nav-websocket"]');
    // The URL defaults to the node's WebSocket listener.
    await page.waitForFunction((u) => document.querySelector('#ws-url')?.value === u, wsURL, T);
    await page.fill('#ws-clientid', 'dashboard-e2e');
    await page.fill('#ws-keepalive', '5');
    await page.click('#ws-connect');
    await page.waitForSelector('[data-testid="ws-status"][data-state="connected"]', T);
    await page.fill('#ws-sub-topic', 'e2e/ws');
    await page.selectOption('#ws-sub-qos', '1');
    await page.click('[data-testid="ws-subscribe"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="ws-subscriptions"]')?.textContent.includes('e2e/ws'), null, T);
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

    step = 'retained messages';
    // A retained message from the page, viewed and deleted on the Retained page.
    await page.fill('#ws-pub-topic', 'e2e/retained');
    await page.fill('#ws-pub-payload', 'kept for later');
    await page.selectOption('#ws-pub-qos', '0');
    await page.check('#ws-pub-retain');
    await page.click('[data-testid="ws-publish"]');
    await page.waitForSelector('[data-testid="ws-publish-form"][data-published="2"]', T);
    await page.click('[data-testid="nav-retained"]');
    const retainedRow = 'xpath=//table[@data-testid="retained"]//tr[td/span[text()="e2e/retained"]]';
    await page.waitForSelector(retainedRow, T);
    await page.click(retainedRow + '//button[@data-testid="retained-view"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="retained-payload"]')?.textContent === 'kept for later', null, T);
    await page.click(retainedRow + '//button[@data-testid="retained-delete"]');
    await page.waitForSelector(retainedRow, { state: 'detached', timeout: T.timeout });

    step = 'banned';
    // Banned: add and lift a ban.
    await page.click('[data-testid="nav-banned"]');
    await page.selectOption('#ban-as', 'clientid');
    await page.fill('#ban-who', 'bad-device');
    await page.fill('#ban-reason', 'spam');
    await page.click('[data-testid="ban-submit"]');
    await page.waitForSelector('[data-testid="ban-clientid-bad-device"]', T);
    await page.click('[data-testid="ban-clientid-bad-device"] [data-testid="ban-delete"]');
    await page.waitForSelector('[data-testid="ban-clientid-bad-device"]', { state: 'detached', timeout: T.timeout });

    step = 'API keys';
    // API keys: the secret is shown once; the test checks it works.
    await page.click('[data-testid="nav-api-keys"]');
    await page.fill('#key-name', 'e2e-key');
    await page.fill('#key-desc', 'made by the browser test');
    await page.click('[data-testid="key-submit"]');
    await page.waitForSelector('[data-testid="key-secret"]', T);
    console.log('apikey ' + (await page.textContent('[data-testid="key-secret"]')).trim());
    if ((await answer()) !== 'key works') fail('unexpected answer');
    await page.click('[data-testid="key-e2e-key"] [data-testid="key-toggle"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="key-e2e-key"]')?.textContent.includes('disabled'), null, T);
    await page.click('[data-testid="key-e2e-key"] [data-testid="key-delete"]');
    await page.waitForSelector('[data-testid="key-e2e-key"]', { state: 'detached', timeout: T.timeout });

    step = 'users';
    // Users: add and delete one.
    await page.click('[data-testid="nav-users"]');
    await page.fill('#user-username', 'ops');
    await page.fill('#user-password', 'ops-password-1');
    await page.click('[data-testid="user-submit"]');
    await page.waitForSelector('[data-testid="user-ops"]', T);
    await page.click('[data-testid="user-ops"] [data-testid="user-delete"]');
    await page.waitForSelector('[data-testid="user-ops"]', { state: 'detached', timeout: T.timeout });

    step = 'other pages';
    // The other pages render their data, or say the feature is not available.
    const tableHas = (testid, text) => page.waitForFunction(([id, t]) =>
      document.querySelector(`[data-testid="${id}"]`)?.textContent.includes(t), [testid, text], T);
    await page.click('[data-testid="nav-subscriptions"]');
    await tableHas('subscriptions', 'e2e/ws');
    await page.click('[data-testid="nav-topics"]');
    await tableHas('topics', 'e2e/ws');
    await page.click('[data-testid="nav-gateways"]');
    await tableHas('gateways', 'stomp');
    await page.click('xpath=//table[@data-testid="gateways"]//a[text()="stomp"]');
    await page.waitForSelector('[data-testid="gateway-clients"]', T);
    for (const nav of ['alarms', 'slow-subscriptions']) {
      await page.click(`[data-testid="nav-${nav}"]`);
      await page.waitForSelector(`#view [data-testid="${nav}"]`, T);
    }
    step = 'topic metrics';
    await page.click('[data-testid="nav-topic-metrics"]');
    await page.fill('#tm-topic', 'e2e/ws');
    await page.click('[data-testid="topic-metrics-form"] button[type="submit"]');
    await tableHas('topic-metrics', 'e2e/ws');
    step = 'traces';
    await page.click('[data-testid="nav-traces"]');
    await page.fill('#trace-name', 'e2e-trace');
    await page.selectOption('#trace-type', 'topic');
    await page.fill('#trace-value', 'e2e/#');
    await page.click('[data-testid="trace-form"] button[type="submit"]');
    await tableHas('traces', 'e2e-trace');
    await tableHas('traces', 'running');
    if (errors.length) fail('console errors: ' + errors.join('; '));

    step = 'revoked token';
    // An expired or revoked token: back to the login page with the reason.
    await page.evaluate(() => sessionStorage.setItem('token', 'revoked'));
    await page.click('[data-testid="nav-clients"]');
    await page.waitForSelector('[data-testid="login-form"]', T);
    await page.waitForFunction(() => document.querySelector('[data-testid="toast"]')?.textContent.includes('log in again'), null, T);
    console.log('ok');
  } catch (e) {
    fail(e.message);
  } finally {
    await browser.close();
  }
  process.exit(0);
})();
