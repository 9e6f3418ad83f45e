// The grid dashboard (web/dashboard, served by `p2pgrid grid` at /) against
// a real grid over mutual TLS, for its three viewers:
// - the operator (the operator certificate): it loads without console
//   errors, every number it shows equals the JSON API's read with the same
//   certificate (data-value raw, text formatted exactly), its charts are
//   drawn and move on when a slot settles, explorer links point at the node,
//   the log tail is there, and it stays readable on a phone-sized screen;
// - a stranger (no client certificate): the community totals and slots,
//   the note saying so, no member rows, no payments, no log, and not one
//   request the grid refuses;
// - a member (consumer-1's certificate): the totals and its own row and
//   chart only.
// Chromium trusts the grid's certificate by its public key (lib/browser.js);
// playwright verifies it against the community CA when it presents a client
// certificate; contexts never ignore HTTPS errors.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { startGrid, getJson, request, waitFor } = require('./lib/grid');
const { compare, shownOf } = require('./lib/dashboard');
const { launch, newPage, screenshot, elementShot } = require('./lib/browser');

let g, browser;
test.before(async () => {
  g = await startGrid();
  browser = await launch({ pin: [g.certs.grid.cert] });
});
test.after(async () => {
  if (browser) await browser.close();
  if (g) await g.stop();
});

// Waits until a bar of the charts under sel is drawn with a height (the
// oldest slots of the window may have none: the first bar can be empty).
function barDrawn(page, sel) {
  return page.waitForFunction((q) => [...document.querySelectorAll(q + ' svg rect')]
    .some((r) => r.getBoundingClientRect().height > 0), sel, { timeout: 30000 });
}

// Waits until every chart under root has drawn a slot: a member started
// last (consumer-1) may have no settled slot yet when the others have
// several, and an empty chart has no axes to check.
function chartsDrawn(page, root) {
  return page.waitForFunction((q) => [...document.querySelectorAll(q + ' svg.chart')]
    .every((svg) => svg.dataset.lastSlot), root, { timeout: 30000 });
}

const TIME_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$/;

// Every chart under root: axis titles, tick labels and legend keys.
function chartsOf(page, root) {
  return page.$$eval(root + ' svg.chart', (svgs) => svgs.map((svg) => ({
    id: svg.id || svg.dataset.entity,
    width: svg.getBoundingClientRect().width,
    titles: [...svg.querySelectorAll('text.axis-title')].map((t) => t.textContent),
    ticks: [...svg.querySelectorAll('text.tick')].map((t) => t.textContent),
    legend: [...svg.parentNode.querySelectorAll('.legend .key')].map((k) => k.textContent),
  })));
}

// Each chart has a time axis (zone in its title, hh:mm ticks, no slot
// numbers), a value axis titled with its unit, and a legend of its series.
function checkCharts(charts, zone, units) {
  assert.ok(charts.length >= 1, 'charts drawn');
  for (const c of charts) {
    assert.ok(c.titles.includes('time (' + zone + ')'), `${c.id}: time axis title in ${JSON.stringify(c.titles)}`);
    for (const u of units(c)) assert.ok(c.titles.some((t) => t.includes('(' + u + ')')), `${c.id}: an axis in ${u}: ${JSON.stringify(c.titles)}`);
    const times = c.ticks.filter((t) => /^(\d\d-\d\d )?\d\d:\d\d(:\d\d)?$/.test(t));
    assert.ok(times.length >= 2, `${c.id}: time ticks in ${JSON.stringify(c.ticks)}`);
    assert.ok(!c.ticks.some((t) => /^\d{5,}$/.test(t.replace(/,/g, ''))), `${c.id}: no slot numbers on an axis: ${JSON.stringify(c.ticks)}`);
    assert.ok(c.legend.length >= 2, `${c.id}: a legend of its series: ${JSON.stringify(c.legend)}`);
  }
}

// The recent events shown: [{kind, time, text}].
function eventsOf(page) {
  return page.$$eval('#events li[data-kind]', (lis) => lis.map((li) => ({ kind: li.dataset.kind,
    count: Number(li.dataset.count), time: li.querySelector('time').textContent, text: li.querySelector('.what').textContent })));
}

// No element wider than the window: the page does not scroll sideways.
async function checkNoOverflow(page, width) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= width, `page is ${w}px wide on a ${width}px screen`);
}

// The API as a viewer sees it: as = undefined (operator), null (stranger) or g.as(id).
async function apiNow(as) {
  const get = (p) => getJson(g.grid.url + p, { as });
  if (as === null) return { status: await get('/api/status'), producers: [], consumers: [] };
  const [status, producers, consumers] = await Promise.all([get('/api/status'), get('/api/producers'), get('/api/consumers')]);
  return { status, producers, consumers };
}

// Compares the page with the API (as that viewer) until they agree or 20 s pass.
async function compareWithApi(page, as) {
  let bad = ['not compared yet'], shown = [];
  const end = Date.now() + 20000;
  let before = null; // the previous round's API read, taken before this round's page read
  while (bad.length && Date.now() < end) {
    // the page shows its last poll: it must equal the API read just after
    // reading the page or the one before it (on a busy machine a poll takes a while)
    shown = await shownOf(page);
    const api = await apiNow(as);
    const again = await page.$$eval('[data-path]', (els) => els.map((e) => e.dataset.value));
    bad = compare(shown, api);
    if (bad.length && before && compare(shown, before).length === 0) bad = [];
    before = api;
    if (again.join('|') !== shown.map((e) => e.value).join('|')) bad.push('page changed while comparing');
    if (bad.length) await new Promise((r) => setTimeout(r, 300));
  }
  return { bad, shown };
}

// How many reads the grid has refused so far (operator's /api/status errors).
async function refusedReads() {
  const s = await getJson(g.grid.url + '/api/status');
  return (s.errors && s.errors.refused_reads) || 0;
}

test('dashboard shows the grid live and exactly', async () => {
  await waitFor('a confirmed payment and payout', async () => {
    const s = await getJson(g.grid.url + '/api/status');
    return s.totals.paymentsConfirmed > 0 && s.totals.paidOut > 0 && s.incoming.length > 0 && s.payouts.length > 0;
  }, 60000);
  const page = await newPage(browser, null, { clientCert: g.clientCert('operator') });
  await page.goto(g.grid.url + '/');
  await page.waitForSelector('body[data-updated]');
  await barDrawn(page, '#producers .entity[data-id="producer-0"]');
  await page.waitForSelector('#consumers .entity[data-id="consumer-1"]');
  assert.equal(await page.getAttribute('body', 'data-viewer'), 'operator');
  assert.match(await page.textContent('#viewer'), /operator view/);
  assert.ok(await page.isHidden('#viewer-note'), 'no viewer note for the operator');

  // numbers: equal to the API once both have the same data (polls are 1 s apart)
  const { bad, shown } = await compareWithApi(page, undefined);
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

  // money in the grid's currency and local times, never raw units or slot numbers
  const st0 = await getJson(g.grid.url + '/api/status');
  assert.deepEqual(st0.money, { currency: 'EUR', unitsPerCurrency: 1000000000, decimals: 6 });
  assert.equal(st0.timeZone, 'Europe/Berlin');
  assert.match(await page.textContent('[data-path="status:totals.paidOut"]'), /^\d[\d,]*\.\d{6} EUR$/);
  assert.match(await page.textContent('[data-path="consumers:consumer-0:paid"]'), / EUR$/);
  assert.match(await page.textContent('[data-path="status:lastSlot.buyPrice"]'), / EUR\/kWh$/);
  const slotShown = await page.textContent('[data-path="status:lastSlot.slot"]');
  assert.match(slotShown, /^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$/, 'a slot is shown as its local time');
  assert.equal(await page.textContent('#time-zone'), 'Europe/Berlin');
  assert.match(await page.textContent('#grid-chart + .chart-range'), /^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? – /);
  assert.match(await page.textContent('#incoming tbody'), /\d\d:\d\d.*EUR/);
  for (const sel of ['#grid-panel', '#producers-panel', '#consumers-panel']) { // the log stays raw
    assert.doesNotMatch(await page.textContent(sel), /\bslots? \d/, `no slot numbers where people read (${sel})`);
  }
  assert.doesNotMatch(await page.textContent('#grid-panel'), /\d i\b/, 'no raw base units where people read');

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

  // charts: time axes in the grid's zone, units on the value axes, legends
  const unitsOf = (c) => (c.id === 'grid-chart' ? ['kWh'] : ['kWh', 'EUR']);
  await chartsDrawn(page, 'main');
  checkCharts(await chartsOf(page, 'main'), 'Europe/Berlin', unitsOf);

  // the recent events: settlements, bills, payments and payouts, at local times
  await page.waitForFunction(() => ['settlement', 'bill', 'payment', 'payout'].every((k) =>
    document.querySelector('#events li[data-kind="' + k + '"]')), null, { timeout: 20000 });
  const events = await eventsOf(page);
  assert.ok(events.length >= 8, `${events.length} events`);
  for (const e of events) {
    assert.match(e.time, TIME_RE, 'event time');
    assert.doesNotMatch(e.text, /\bslots? \d|(?<![.\d])\d{7,}(?![.\d])/, 'no slot numbers in the events');
  }
  const apiEvents = await getJson(g.grid.url + '/api/events?limit=50');
  assert.ok(apiEvents.some((e) => e.kind === 'registration') && apiEvents.some((e) => e.kind === 'enrolment'));
  // one line a payment, or one for the payments of a slot's bills
  assert.match(events.find((e) => e.kind === 'payment').text,
    /^consumer-\d paid \d[\d,]*\.\d{6} EUR \(bill of \d\d:\d\d(:\d\d)?\)$|^2 payments for the bills of \d\d:\d\d(:\d\d)?: \d[\d,]*\.\d{6} EUR \(consumer-\d \d[\d,]*\.\d{6} EUR, consumer-\d /);
  const bills = events.filter((e) => e.kind === 'bill');
  assert.ok(bills.some((e) => e.count === 2 && /^2 bills for the slot of /.test(e.text)), 'a slot\'s bills on one line');
  assert.match(events.find((e) => e.kind === 'settlement').text, /supply [\d.,]+ kWh, demand [\d.,]+ kWh/);

  // the process log, folded
  assert.ok(await page.isVisible('#log-panel'), 'the operator sees the log');
  await page.waitForFunction(() => /grid/.test(document.querySelector('#log').textContent), null, { timeout: 10000 });
  await screenshot(page, 'dashboard');
  assert.deepEqual(page.errors, [], 'no console errors');

  // a phone (375 px): nothing wider than the screen (tables scroll inside
  // their box), the charts fit and keep their axes, the events are there
  const phone = await newPage(browser, { width: 375, height: 812 }, { clientCert: g.clientCert('operator') });
  await phone.goto(g.grid.url + '/');
  await barDrawn(phone, '#producers .entity');
  await phone.waitForSelector('#events li[data-kind="settlement"]');
  await checkNoOverflow(phone, 375);
  await chartsDrawn(phone, 'main');
  const small = await chartsOf(phone, 'main');
  checkCharts(small, 'Europe/Berlin', unitsOf);
  for (const c of small) assert.ok(c.width <= 375 - 20, `${c.id} is ${c.width}px wide`);
  await screenshot(phone, 'dashboard-phone');
  await elementShot(phone, '#grid-panel figure', 'dashboard-phone-chart');
  await elementShot(phone, '#events-panel', 'dashboard-phone-events');
  assert.deepEqual(phone.errors, [], 'no console errors (phone)');
  // polling pages hold connections: close them (the grid limits connections per client)
  await page.context().close();
  await phone.context().close();
});

test('dashboard without a certificate: community totals only', async () => {
  const refused = await refusedReads();
  const page = await newPage(browser); // no client certificate
  await page.goto(g.grid.url + '/');
  await page.waitForSelector('body[data-updated]');
  assert.equal(await page.getAttribute('body', 'data-viewer'), 'public');
  assert.match(await page.textContent('#viewer'), /public view/);
  assert.ok(await page.isVisible('#viewer-note'));
  assert.equal((await page.textContent('#viewer-note')).trim(),
    'You see community totals. Members see their own data with their certificate; the operator sees everything.');
  await page.waitForSelector('#grid-chart path');

  // the totals equal what a stranger reads from the API
  const { bad, shown } = await compareWithApi(page, null);
  assert.deepEqual(bad, [], 'dashboard numbers differ from the public API');
  const paths = shown.map((e) => e.path);
  for (const p of ['status:totals.producedWh', 'status:totals.consumedWh', 'status:totals.fees', 'status:totals.paidOut',
    'status:currentSlot', 'status:lastSlot.buyPrice', 'status:producers', 'status:consumers']) {
    assert.ok(paths.includes(p), `the public dashboard shows ${p}`);
  }
  assert.ok(!paths.some((p) => /^(producers|consumers):/.test(p)), 'no member numbers: ' + paths.join(' '));

  // the settlements among the events, nobody's bills or payments
  await page.waitForSelector('#events li[data-kind="settlement"]');
  const kinds = new Set((await eventsOf(page)).map((e) => e.kind));
  assert.deepEqual([...kinds], ['settlement'], 'a stranger sees the settlements only');
  await chartsDrawn(page, 'main');
  checkCharts(await chartsOf(page, 'main'), 'Europe/Berlin', () => ['kWh']);

  // no member rows, no payments or payouts, no log
  assert.equal(await page.$$eval('.entity', (e) => e.length), 0, 'no member rows');
  assert.ok(await page.isHidden('#transfers'), 'payments and payouts hidden');
  assert.ok(await page.isHidden('#log-panel'), 'log hidden');
  assert.equal(await page.$$eval('#incoming tbody tr, #payouts tbody tr', (r) => r.length), 0);
  assert.equal(await page.textContent('#log'), '');

  // a few polls later: nothing asked that the grid refused, no console errors
  const n = Number(await page.getAttribute('body', 'data-updated'));
  await page.waitForFunction((b) => Number(document.body.dataset.updated) > b + 2000, n, { timeout: 15000 });
  await screenshot(page, 'dashboard-public');
  assert.equal(await refusedReads(), refused, 'the public dashboard asked for no members-only route');
  assert.deepEqual(page.errors, [], 'no console errors');
  await page.context().close();
});

test('dashboard as a member: its own row only', async () => {
  const me = 'consumer-1';
  const refused = await refusedReads();
  const page = await newPage(browser, null, { clientCert: g.clientCert(me) });
  await page.goto(g.grid.url + '/');
  await page.waitForSelector('body[data-updated]');
  await page.waitForSelector(`#consumers .entity[data-id="${me}"] svg rect`);
  assert.equal(await page.getAttribute('body', 'data-viewer'), 'member');
  assert.match(await page.textContent('#viewer'), new RegExp('member view: ' + me));
  assert.match(await page.textContent('#viewer-note'), new RegExp(me));

  const ids = await page.$$eval('.entity', (els) => els.map((e) => e.dataset.id));
  assert.deepEqual(ids, [me], 'only the member\'s own row');
  const { bad, shown } = await compareWithApi(page, g.as(me));
  assert.deepEqual(bad, [], 'dashboard numbers differ from the API read with the member\'s certificate');
  const paths = shown.map((e) => e.path);
  for (const p of [`consumers:${me}:usageWh`, `consumers:${me}:billed`, `consumers:${me}:paid`, 'status:totals.consumedWh']) {
    assert.ok(paths.includes(p), `the member's dashboard shows ${p}`);
  }
  assert.ok(!paths.some((p) => /^producers:|^consumers:consumer-0:/.test(p)), 'nobody else\'s numbers: ' + paths.join(' '));
  assert.ok(await page.isHidden('#transfers'), 'payments and payouts hidden');
  assert.ok(await page.isHidden('#log-panel'), 'log hidden');
  // its own bills and payments among the settlements, nobody else's
  await page.waitForSelector('#events li[data-kind="payment"]');
  const evs = await eventsOf(page);
  assert.ok(evs.some((e) => e.kind === 'bill' && e.text.includes(me)));
  for (const e of evs) assert.doesNotMatch(e.text, /consumer-0|producer-0/, 'only its own events');
  assert.ok(!evs.some((e) => e.kind === 'payout'), 'no payout batches');

  const n = Number(await page.getAttribute('body', 'data-updated'));
  await page.waitForFunction((b) => Number(document.body.dataset.updated) > b + 2000, n, { timeout: 15000 });
  await screenshot(page, 'dashboard-member');
  assert.equal(await refusedReads(), refused, 'the member\'s dashboard asked for nothing it may not read');
  assert.deepEqual(page.errors, [], 'no console errors');
  await page.context().close();
});

test('dashboard serves only its files; the API stays JSON', async () => {
  let r = await request(g.grid.url + '/no-such-file.js');
  assert.equal(r.status, 404);
  r = await request(g.grid.url + '/api/nothing');
  assert.equal(r.status, 404);
  assert.match(r.headers['content-type'], /json/);
  r = await request(g.grid.url + '/api/producers/producer-0/slots?from=5&to=1');
  assert.equal(r.status, 400);
  const ev = await getJson(g.grid.url + '/api/events?limit=3');
  assert.equal(ev.length, 3);
  assert.ok(ev[0].time >= ev[1].time && ev[1].time >= ev[2].time, 'newest first');
  for (const bad of ['0', '201', 'x', '-1']) {
    r = await request(g.grid.url + '/api/events?limit=' + bad);
    assert.equal(r.status, 400, `limit=${bad}`);
    assert.match(r.json.error.message, /limit must be 1\.\.200/);
  }
  const log = await getJson(g.grid.url + '/api/log?lines=5');
  assert.ok(log.lines.length >= 1 && log.lines.length <= 5);
  const cfg = await getJson(g.grid.url + '/api/config');
  assert.equal(cfg.nodeUrl, g.node.url);
  assert.deepEqual(cfg.viewer, { role: 'operator', id: 'operator' });

  // the dashboard's files are everyone's; members-only routes are not, and
  // there are no CORS headers
  r = await request(g.grid.url + '/', { as: null });
  assert.equal(r.status, 200);
  assert.equal(r.headers['access-control-allow-origin'], undefined);
  r = await request(g.grid.url + '/api/config', { as: null });
  assert.deepEqual(r.json.viewer, { role: 'public', id: null });
  for (const p of ['/api/producers', '/api/consumers', '/api/log', '/api/me', '/api/enrolments',
    '/api/consumers/consumer-0/slots']) {
    r = await request(g.grid.url + p, { as: null });
    assert.equal(r.status, 403, `${p} without a certificate`);
  }
  r = await request(g.grid.url + '/api/consumers/consumer-0/slots', { as: g.as('consumer-1') });
  assert.equal(r.status, 403, 'a member reads only its own slots');
  r = await request(g.grid.url + '/api/status', { as: null });
  for (const k of ['incoming', 'payouts', 'errors', 'lastError']) assert.equal(r.json[k], undefined, `public status has no ${k}`);
});

// A grid whose /api/status names water (issue 16; the status of this test's
// electricity grid is rewritten on its way to the page): every quantity,
// unit, caption and tooltip follows the resource — m³ and litres, prices per
// m³, never kWh, kW or Wh.
test('dashboard of a water grid: m³ and litres, never kWh', async () => {
  const water = { name: 'water', unit: 'L', displayUnit: 'm³', displayFactor: 1000, flowUnit: 'L/min', flowFactor: 60, priceUnit: 'm³' };
  const page = await newPage(browser, null, { clientCert: g.clientCert('operator') });
  await page.route('**/api/status', async (route) => {
    try {
      const resp = await route.fetch();
      const json = await resp.json();
      await route.fulfill({ response: resp, json: Object.assign(json, { resource: water }) });
    } catch (err) { // a poll still on its way when the page closes
    }
  });
  await page.goto(g.grid.url + '/');
  await page.waitForSelector('body[data-updated]');
  await barDrawn(page, '#consumers .entity[data-id="consumer-0"]');
  await page.waitForFunction(() => document.querySelector('[data-path="status:lastSlot.buyPrice"]').textContent.endsWith('EUR/m³') ||
    document.getElementById('price-some').hidden, null, { timeout: 15000 });
  const text = await page.evaluate(() => [...document.querySelectorAll('#grid-panel, #producers-panel, #consumers-panel, footer')]
    .map((e) => e.innerText).join('\n') + '\n' + [...document.querySelectorAll('svg title')].map((t) => t.textContent).join('\n'));
  assert.match(text, /m³/);
  assert.match(text, /exact, from L\b/, 'the footer names the base unit, litres');
  assert.match(text, /water per slot \(m³\)/, 'the chart\'s axis in m³');
  assert.match(text, /supply \(m³\)/, 'the chart\'s legend in m³');
  assert.match(text, /: usage \d[\d,]*\.\d{3} m³/, 'a usage tooltip in m³');
  assert.match(await page.textContent('#grid-chart + .chart-range'), / · top \d[\d,]* L$/);
  assert.equal(await page.textContent('#grid-panel .noun-cap'), 'Water');
  assert.match(await page.textContent('#consumers .entity[data-id="consumer-0"]'), /usage \d[\d,]*\.\d{3} m³ in \d/);
  assert.match(await page.textContent('#producers .entity[data-id="producer-0"]'), /output \d[\d,]*\.\d{3} m³ in \d/);
  assert.match(await page.textContent('[data-path="status:totals.consumedWh"]'), /^\d[\d,]*\.\d{3}$/);
  for (const bad of [/kWh/, /\bkW\b/, /\bWh\b/, /\benergy\b/i]) assert.doesNotMatch(text, bad);
  await screenshot(page, 'dashboard-water');
  assert.deepEqual(page.errors, [], 'no console errors');
  await page.context().close();
});
