// `p2pgrid sim --serve`: the grid's dashboard for a running simulation. The
// bundled demo scenario runs in full mode, paced so slots settle while the
// page watches; the dashboard loads without console errors, its chart moves
// on as slots settle, and once the run has finished (the sim keeps serving
// until SIGINT) every number on the page equals the JSON API's.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launch, newPage, screenshot, elementShot } = require('./lib/browser');
const { getJson, waitFor, startProc, stopProc } = require('./lib/grid');
const { compare, shownOf } = require('./lib/dashboard');

const ROOT = path.join(__dirname, '..', '..');
let sim, browser, dir;

// The grid's JSON API of a served simulation.
async function apiOf(url) {
  return {
    status: await getJson(url + '/api/status'),
    producers: await getJson(url + '/api/producers'),
    consumers: await getJson(url + '/api/consumers'),
  };
}

// Every number the page shows equals the API's (polled: the page catches up).
async function expectShownEqualsApi(page, api) {
  let bad = ['not compared yet'];
  const end = Date.now() + 15000;
  while (bad.length && Date.now() < end) {
    bad = compare(await shownOf(page), api);
    if (bad.length) await new Promise((r) => setTimeout(r, 300));
  }
  assert.deepEqual(bad, [], 'dashboard numbers differ from the API');
}

test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-sim-serve-'));
  sim = await startProc('sim', ['sim', path.join(ROOT, 'examples', 'scenarios', 'demo.ini'),
    '--serve', '0', '--pace', '250ms', '-q', '--out', dir], path.join(dir, 'sim.log'), 60000);
  browser = await launch();
});
test.after(async () => {
  if (browser) await browser.close();
  if (sim) await stopProc(sim);
  if (dir && !process.env.PG_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
});

test('sim --serve shows the live dashboard of the simulation', async () => {
  const page = await newPage(browser);
  await page.goto(sim.url + '/');
  await page.waitForSelector('body[data-updated]');
  await page.waitForSelector('#grid-chart path');
  const before = Number(await page.getAttribute('#grid-chart', 'data-last-slot'));
  await page.waitForFunction((b) => Number(document.querySelector('#grid-chart').dataset.lastSlot) > b,
    before, { timeout: 30000 });

  // the run ends (96 slots) and the sim keeps serving: numbers are final
  await waitFor('the end of the run', () => /run finished/.test(sim.log()), 120000, 500);
  const api = await apiOf(sim.url);
  // 96 slots of the scenario (+ the empty warm-up slot the entities open in)
  assert.ok(api.status.totals.slotsSettled >= 96, `${api.status.totals.slotsSettled} slots settled`);
  assert.equal(api.status.totals.outstanding, 0);
  await expectShownEqualsApi(page, api);
  // the scenario's [money] and zone: euros and Berlin times where people read
  assert.deepEqual(api.status.money, { currency: 'EUR', unitsPerCurrency: 1000000000, decimals: 2 });
  assert.equal(api.status.timeZone, 'Europe/Berlin');
  assert.match(await page.textContent('[data-path="status:totals.paid"]'), /^\d[\d,]*\.\d\d EUR$/);
  assert.match(await page.textContent('[data-path="status:lastSlot.slot"]'), /^2025-06-2[12] \d\d:\d\d$/);
  await screenshot(page, 'sim-serve');
  assert.deepEqual(page.errors, [], 'no console errors');

  // the charts' axes: local times and units; the recent events of the run
  const titles = await page.$$eval('#grid-chart text.axis-title', (t) => t.map((x) => x.textContent));
  assert.deepEqual(titles.sort(), ['energy per slot (kWh)', 'time (Europe/Berlin)']);
  const ticks = await page.$$eval('#grid-chart text.tick', (t) => t.map((x) => x.textContent));
  assert.ok(ticks.filter((t) => /^(\d\d-\d\d )?\d\d:\d\d$/.test(t)).length >= 3, JSON.stringify(ticks));
  const kinds = await page.$$eval('#events li[data-kind]', (l) => l.map((x) => x.dataset.kind));
  // 8 households: a slot's bills and its payments are a line each
  assert.ok(kinds.length >= 8 && ['settlement', 'bill', 'payment'].every((k) => kinds.includes(k)), JSON.stringify(kinds));
  const counts = await page.$$eval('#events li[data-kind="bill"]', (l) => l.map((x) => Number(x.dataset.count)));
  assert.ok(counts.includes(8), JSON.stringify(counts));
  assert.match(await page.textContent('#events li[data-kind] time'), /^2025-06-2[12] \d\d:\d\d(:\d\d)?$/);

  // a phone: no sideways scrolling, the charts scale
  const phone = await newPage(browser, { width: 375, height: 812 });
  await phone.goto(sim.url + '/');
  await phone.waitForSelector('#consumers .entity svg rect');
  await phone.waitForSelector('#events li[data-kind="settlement"]');
  const w = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 375, `page is ${w}px wide on a 375px screen`);
  await screenshot(phone, 'sim-serve-phone');
  await elementShot(phone, '#grid-panel figure', 'sim-serve-phone-chart');
  await elementShot(page, '#grid-panel figure', 'sim-serve-chart');
  await elementShot(page, '#consumers .entity', 'sim-serve-consumer');
  await elementShot(page, '#events-panel', 'sim-serve-events');
  assert.deepEqual(phone.errors, [], 'no console errors (phone)');
  await phone.context().close();
});

// Issue 16: a water cooperative (examples/scenarios/water.ini, half a July
// day, 4 households) served live: the grid's own status names water, and the
// dashboard shows m³ and litres and the same numbers as the API, never kWh.
test('sim --serve of a water cooperative: m³ and litres from the grid itself', async () => {
  const wdir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-sim-serve-water-'));
  const water = await startProc('sim-water', ['sim', path.join(ROOT, 'examples', 'scenarios', 'water.ini'),
    '--full', '--set', 'scenario.start=2025-07-01T06:00:00Z', '--set', 'scenario.duration=12h',
    '--set', 'households.count=4', '--serve', '0', '--pace', '100ms', '-q', '--out', wdir],
  path.join(wdir, 'sim.log'), 60000);
  try {
    await waitFor('the end of the water run', () => /run finished/.test(water.log()), 120000, 500);
    const api = await apiOf(water.url);
    assert.equal(api.status.resource.name, 'water');
    assert.equal(api.status.resource.unit, 'L');
    assert.equal(api.status.totals.outstanding, 0);
    const page = await newPage(browser);
    await page.goto(water.url + '/');
    await page.waitForSelector('body[data-updated]');
    await expectShownEqualsApi(page, api);
    const text = await page.evaluate(() => document.body.innerText + '\n' +
      [...document.querySelectorAll('svg title')].map((t) => t.textContent).join('\n'));
    assert.match(text, /m³/);
    for (const no of [/kWh/, /\bkW\b/, /\bWh\b/]) assert.doesNotMatch(text, no);
    await screenshot(page, 'sim-serve-water');
    assert.deepEqual(page.errors, [], 'no console errors');
    await page.context().close();
  } finally {
    await stopProc(water);
    if (!process.env.PG_KEEP_TMP) fs.rmSync(wdir, { recursive: true, force: true });
  }
});
