// The grid dashboard (web/dashboard, served by `p2pgrid grid` at /) against
// a real grid: it loads without console errors, every number it shows equals
// the JSON API's (data-value raw, text formatted exactly), its charts are
// drawn and move on when a slot settles, explorer links point at the node,
// and it stays readable on a phone-sized screen.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startGrid, getJson, waitFor } = require('./lib/grid');
const { compare } = require('./lib/dashboard');
const { launch, newPage, screenshot } = require('./lib/browser');

let g, browser;
test.before(async () => {
  g = await startGrid();
  browser = await launch();
});
test.after(async () => {
  if (browser) await browser.close();
  if (g) await g.stop();
});

async function apiNow() {
  const [status, producers, consumers] = await Promise.all([getJson(g.grid.url + '/api/status'),
    getJson(g.grid.url + '/api/producers'), getJson(g.grid.url + '/api/consumers')]);
  return { status, producers, consumers };
}

test('dashboard shows the grid live and exactly', async () => {
  await waitFor('a confirmed payment and payout', async () => {
    const s = await getJson(g.grid.url + '/api/status');
    return s.totals.paymentsConfirmed > 0 && s.totals.paidOut > 0 && s.incoming.length > 0 && s.payouts.length > 0;
  }, 60000);
  const page = await newPage(browser);
  await page.goto(g.grid.url + '/');
  await page.waitForSelector('body[data-updated]');
  await page.waitForSelector('#producers .entity[data-id="producer-0"] svg rect');
  await page.waitForSelector('#consumers .entity[data-id="consumer-1"]');

  // numbers: equal to the API once both have the same data (polls are 1 s apart)
  let bad = ['not compared yet'], shown = [];
  const end = Date.now() + 20000;
  while (bad.length && Date.now() < end) {
    shown = await page.$$eval('[data-path]', (els) => els.map((e) => ({ path: e.dataset.path, value: e.dataset.value,
      text: e.textContent, kwh: e.classList.contains('kwh'), price: e.classList.contains('price') })));
    const api = await apiNow();
    const again = await page.$$eval('[data-path]', (els) => els.map((e) => e.dataset.value));
    bad = compare(shown, api);
    if (again.join('|') !== shown.map((e) => e.value).join('|')) bad.push('page changed while comparing');
    if (bad.length) await new Promise((r) => setTimeout(r, 300));
  }
  assert.deepEqual(bad, [], 'dashboard numbers differ from the API');
  const paths = shown.map((e) => e.path);
  for (const p of ['status:totals.fees', 'status:totals.gridIncome', 'status:totals.importCost', 'status:totals.exportIncome',
    'status:totals.distributions', 'status:totals.paidOut', 'status:totals.payoutsDue', 'status:totals.producedWh',
    'status:totals.consumedWh', 'status:totals.paymentRequests', 'status:totals.paymentsConfirmed', 'status:currentSlot',
    'status:nextSlot', 'status:lastSlot.buyPrice', 'producers:producer-0:outputWh', 'producers:producer-0:paid',
    'consumers:consumer-0:usageWh', 'consumers:consumer-0:paid', 'consumers:consumer-1:outstanding']) {
    assert.ok(paths.includes(p), `the dashboard shows ${p}`);
  }
  assert.notEqual(shown.find((e) => e.path === 'status:totals.paidOut').value, '0');

  // transfers link into the node's explorer
  const links = await page.$$eval('#incoming a, #payouts a', (as) => as.map((a) => a.href));
  assert.ok(links.length >= 2, 'incoming and payout rows link to the explorer');
  for (const l of links) assert.ok(l.startsWith(g.node.url + '/explorer/#/message/'), l);
  const st = await getJson(g.grid.url + '/api/status');
  assert.ok(links.some((l) => l.endsWith(st.incoming[0].messageId) || l.endsWith(st.payouts[0].messageId)));

  // charts drawn, and they move on when a slot settles
  assert.ok(await page.$$eval('#grid-chart path', (p) => p.length) >= 2, 'grid chart has its lines');
  assert.ok(await page.$$eval('#consumers svg rect', (r) => r.length) >= 1, 'consumer chart has bars');
  const before = Number(await page.getAttribute('#grid-chart', 'data-last-slot'));
  const pBefore = Number(await page.getAttribute('#producers .entity[data-id="producer-0"] svg', 'data-last-slot'));
  await page.waitForFunction(([b, pb]) => Number(document.querySelector('#grid-chart').dataset.lastSlot) > b &&
    Number(document.querySelector('#producers .entity[data-id="producer-0"] svg').dataset.lastSlot) > pb,
  [before, pBefore], { timeout: 15000 });

  // the log tail
  assert.match(await page.textContent('#log'), /grid/);
  await screenshot(page, 'dashboard');
  assert.deepEqual(page.errors, [], 'no console errors');

  // a phone: nothing wider than the screen (tables scroll inside their box)
  const phone = await newPage(browser, { width: 390, height: 844 });
  await phone.goto(g.grid.url + '/');
  await phone.waitForSelector('#producers .entity svg rect');
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `page is ${width}px wide on a 390px screen`);
  await screenshot(phone, 'dashboard-phone');
  assert.deepEqual(phone.errors, [], 'no console errors (phone)');
});

test('dashboard serves only its files; the API stays JSON', async () => {
  let r = await fetch(g.grid.url + '/no-such-file.js');
  assert.equal(r.status, 404);
  r = await fetch(g.grid.url + '/api/nothing');
  assert.equal(r.status, 404);
  assert.match(r.headers.get('content-type'), /json/);
  r = await fetch(g.grid.url + '/api/producers/producer-0/slots?from=5&to=1');
  assert.equal(r.status, 400);
  const log = await getJson(g.grid.url + '/api/log?lines=5');
  assert.ok(log.lines.length >= 1 && log.lines.length <= 5);
  const cfg = await getJson(g.grid.url + '/api/config');
  assert.equal(cfg.nodeUrl, g.node.url);
});
