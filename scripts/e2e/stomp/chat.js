// The demo chat in headless Chromium, run by the Go e2e tests:
//   node chat.js http://127.0.0.1:PORT/ CHROMIUM_PATH
// Two pages join room lobby; one sends, the other must show it. Then it
// prints "ready" and waits: the test publishes "from-mqtt" to chat/lobby
// with mosquitto_pub, and both pages must show it. Exits 0 on success.
'use strict';
const { chromium } = require('playwright-core');

const [url, executablePath] = process.argv.slice(2);
const fail = (msg) => { console.error('FAIL ' + msg); process.exit(1); };
setTimeout(() => fail('timed out'), 30000).unref();

async function joined(browser, name) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => fail(name + ' page error: ' + e.message));
  await page.goto(url);
  await page.fill('#name', name);
  await page.fill('#room', 'lobby');
  await page.click('#join');
  await page.waitForSelector('#text:not([disabled])', { timeout: 10000 });
  return page;
}

const shows = (page, text) => page.waitForFunction(
  (t) => [...document.querySelectorAll('#messages li')].some((li) => li.textContent.includes(t)), text, { timeout: 10000 });

(async () => {
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const alice = await joined(browser, 'alice');
    const bob = await joined(browser, 'bob');
    await alice.fill('#text', 'hello from alice');
    await alice.click('#send');
    await shows(bob, 'alice: hello from alice');
    await shows(alice, 'alice: hello from alice');
    console.log('ready');
    await Promise.all([shows(alice, 'from-mqtt'), shows(bob, 'from-mqtt')]);
    console.log('ok chat');
  } catch (e) {
    fail(e.message);
  } finally {
    await browser.close();
  }
  process.exit(0);
})();
