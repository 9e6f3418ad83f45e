// The Tangle explorer (web/explorer, served by `p2pgrid node` at /explorer)
// against a real grid: latest milestones, a payment message decoded, a
// milestone, the grid's address with its balance, a consumer's restricted
// MAM channel read and verified by the node, and clear messages for bad
// input (unknown id, malformed hex or address, wrong side key, bad root).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { startGrid, getJson, waitFor } = require('./lib/grid');
const { launch, newPage, screenshot } = require('./lib/browser');

let g, browser, page, status;
test.before(async () => {
  g = await startGrid({ salt: 7 });
  browser = await launch();
  status = await waitFor('a confirmed payment and payout', async () => {
    const s = await getJson(g.grid.url + '/api/status');
    return s.incoming.length > 0 && s.payouts.some((b) => b.state === 2) ? s : null;
  }, 60000);
  page = await newPage(browser);
});
test.after(async () => {
  if (browser) await browser.close();
  if (g) await g.stop();
});

async function go(hash) {
  await page.goto(g.node.url + '/explorer/' + hash);
}

test('latest milestones, and a milestone message', async () => {
  await go('');
  await page.waitForSelector('#milestones tr.milestone');
  const n = await page.$$eval('#milestones tr.milestone', (r) => r.length);
  assert.ok(n >= 3, `${n} milestones listed`);
  // milestone times in the node's zone, as the node says (/api/plugins/display)
  const disp = (await getJson(g.node.url + '/api/plugins/display')).data;
  assert.deepEqual(disp, { money: { currency: 'EUR', unitsPerCurrency: 1000000000, decimals: 6 }, timeZone: 'Europe/Berlin' });
  const times = await page.$$eval('#milestones tr.milestone', (rows) => rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent]));
  for (const [, t] of times) assert.match(t, /^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$/);
  const ms = (await getJson(g.node.url + '/api/v1/milestones/' + times[0][0])).data;
  const want = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(ms.timestamp * 1000));
  assert.equal(times[0][1], ms.timestamp % 60 ? want : want.slice(0, 16), 'milestone time in Europe/Berlin');
  await screenshot(page, 'explorer-milestones');
  await page.click('#milestones tr.milestone a[href^="#/milestone/"]');
  await page.waitForSelector('#message[data-payload="milestone"]');
  assert.match(await page.textContent('#message'), /Milestone payload/);
  assert.deepEqual(page.errors, []);
});

test('a payment message: transaction decoded, reference as text and hex, metadata', async () => {
  const inc = status.incoming[0];
  await go('#/message/' + inc.messageId);
  await page.waitForSelector('#message[data-payload="transaction"]');
  const outs = await page.$$eval('#message tr.output', (rows) => rows.map((r) => ({ addr: r.querySelector('a').textContent,
    amount: r.querySelector('.amount').dataset.value })));
  assert.ok(outs.some((o) => o.addr === status.address && o.amount === String(inc.amount)),
    `an output pays ${inc.amount} to the grid: ${JSON.stringify(outs)}`);
  // the amount in the node's currency next to the raw base units
  const texts = await page.$$eval('#message tr.output .amount', (c) => c.map((e) => e.textContent));
  const grouped = String(inc.amount).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const eur = (BigInt(inc.amount) * 1000000n + 500000000n) / 1000000000n; // 6 decimals, half up
  const eurText = (eur / 1000000n).toString() + '.' + (eur % 1000000n).toString().padStart(6, '0') + ' EUR';
  assert.ok(texts.includes(eurText + ' · ' + grouped + ' i'), `"${eurText} · ${grouped} i" in ${JSON.stringify(texts)}`);
  const ref = await page.textContent('#message .index-text');
  assert.equal(ref, inc.reference);
  assert.equal(await page.textContent('#message .index-hex'), Buffer.from(inc.reference).toString('hex'));
  await page.waitForSelector('#metadata');
  assert.match(await page.textContent('#metadata'), /included/);
  await screenshot(page, 'explorer-message');
  // the payout batch too
  await go('#/message/' + status.payouts.find((b) => b.state === 2).messageId);
  await page.waitForSelector('#message[data-payload="transaction"]');
  assert.deepEqual(page.errors, []);
});

test('the grid address with its balance and outputs', async () => {
  await go('#/address/' + status.address);
  let shown, api;
  await waitFor('the page balance to equal the API', async () => {
    await page.reload();
    await page.waitForSelector('#address[data-balance]');
    shown = await page.getAttribute('#address', 'data-balance');
    api = (await getJson(g.node.url + '/api/v1/addresses/' + status.address)).data.balance;
    return shown === String(api);
  }, 20000, 100);
  assert.equal(await page.getAttribute('#address .balance', 'data-value'), String(api));
  assert.match(await page.textContent('#address .balance'), /^\d[\d,]*\.\d{6} EUR · \d[\d,]* i$/);
  assert.ok(api > 0);
  await page.waitForSelector('#outputs tr.output');
  assert.equal(await page.getAttribute('#address', 'data-hex'), g.addr.grid[1]);
  await screenshot(page, 'explorer-address');
  // the same address given as hex
  await go('#/address/' + g.addr.grid[1]);
  await page.waitForSelector('#address[data-balance]');
  assert.match(await page.textContent('#address'), new RegExp(status.address));
  assert.deepEqual(page.errors, []);
});

test('a consumer\'s restricted MAM channel, verified by the node', async () => {
  const db = path.join(g.dir, 'grid', 'grid.db');
  const row = execFileSync('sqlite3', ['-readonly', db, "SELECT root || ' ' || side_key FROM registrations WHERE id = 'consumer-0'"],
    { encoding: 'utf8' }).trim().split(' ');
  const [root, sideKey] = row;
  assert.match(root, /^[9A-Z]{81}$/);
  const api = (await getJson(`${g.node.url}/api/plugins/mam/fetch?root=${root}&mode=restricted&sideKey=${sideKey}`)).data;
  assert.ok(api.messages.length >= 2, `${api.messages.length} messages on the channel`);
  await go('#/mam');
  await page.waitForSelector('#mam-form');
  await page.fill('#mam-root', root);
  await page.selectOption('#mam-mode', 'restricted');
  await page.fill('#mam-key', sideKey);
  await page.click('#mam-form button');
  await page.waitForSelector('#mam-messages .msg');
  const msgs = await page.$$eval('#mam-messages .msg', (ms) => ms.map((m) => ({ id: m.dataset.messageId, verified: m.dataset.verified,
    text: m.querySelector('.mam-text').textContent })));
  assert.ok(msgs.length >= api.messages.length);
  for (const [i, m] of api.messages.entries()) {
    assert.equal(msgs[i].id, m.messageId);
    assert.equal(msgs[i].verified, 'true');
    assert.equal(msgs[i].text, m.text);
  }
  assert.match(msgs[0].text, /usage|consumer-0/);
  // each grid message summed up with its times in the node's zone
  const sums = await page.$$eval('#mam-messages .mam-summary', (ps) => ps.map((p) => p.textContent));
  assert.ok(sums.length >= 2, `${sums.length} summaries`);
  assert.ok(sums.some((t) => /^usage · \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? – \d\d:\d\d(:\d\d)? · usage [\d.]+ kWh · bid [\d.]+ EUR\/kWh$/.test(t)),
    JSON.stringify(sums));
  await screenshot(page, 'explorer-mam');
  assert.deepEqual(page.errors, []);

  // wrong side key: an empty chain and a message that says why
  const wrong = sideKey.slice(0, 80) + (sideKey[80] === 'A' ? 'B' : 'A');
  await go(`#/mam?root=${root}&mode=restricted&sideKey=${wrong}`);
  await page.waitForSelector('#mam .error');
  assert.match(await page.textContent('#mam .error'), /none verifies.*side key/);
  await screenshot(page, 'explorer-mam-wrong-key');
  assert.deepEqual(page.errors, []);
});

// A phone (375 px): the explorer's pages do not scroll sideways (ids and
// addresses wrap, tables scroll inside their box).
test('explorer at phone width', async () => {
  const phone = await newPage(browser, { width: 375, height: 812 });
  const inc = status.incoming[0];
  for (const [hash, sel, name] of [['', '#milestones tr.milestone', 'explorer-phone-milestones'],
    ['#/message/' + inc.messageId, '#metadata', 'explorer-phone-message'],
    ['#/address/' + status.address, '#outputs tr.output', 'explorer-phone-address']]) {
    await phone.goto(g.node.url + '/explorer/' + hash);
    await phone.waitForSelector(sel);
    const w = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(w <= 375, `${hash || 'home'} is ${w}px wide on a 375px screen`);
    await screenshot(phone, name);
  }
  assert.deepEqual(phone.errors, []);
  await phone.context().close();
});

test('bad input shows a clear message, never a blank page', async () => {
  const cases = [
    ['#/message/xyz', /Malformed message id/],
    ['#/message/' + 'ab'.repeat(31), /Malformed message id/],
    ['#/message/' + '0'.repeat(64), /Message not found/],
    ['#/address/atoi1notanaddress', /Malformed address/],
    ['#/milestone/abc', /Invalid milestone index/],
    ['#/milestone/999999', /Not found/],
    ['#/mam?root=NOTAROOT&mode=public', /root must be 81 trytes/],
    ['#/mam?root=' + 'A'.repeat(81) + '&mode=restricted', /needs sideKey/],
    ['#/nowhere', /Unknown page/],
    ['#/search/%25%25%25', /Nothing to look up/],
  ];
  for (const [hash, want] of cases) {
    await go(hash);
    await page.waitForSelector('.error', { timeout: 10000 });
    const text = await page.textContent('.error');
    assert.match(text, want, hash);
  }
  await screenshot(page, 'explorer-bad-input');
  // only the expected failed API calls (404/400) may show in the console
  const other = page.errors.filter((e) => !/Failed to load resource: the server responded with a status of 40[04]/.test(e));
  assert.deepEqual(other, []);
  page.errors.length = 0;
  // the search box: a milestone index leads to its message
  await go('');
  await page.fill('#q', '2');
  await page.press('#q', 'Enter');
  await page.waitForSelector('#message[data-payload="milestone"]');
  assert.deepEqual(page.errors, []);
  let r = await fetch(g.node.url + '/explorer/no-such.js');
  assert.equal(r.status, 404);
  r = await fetch(g.node.url + '/explorerx');
  assert.equal(r.status, 404);
});
