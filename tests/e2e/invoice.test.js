// A monthly invoice (`p2pgrid invoice`, include/p2pgrid/invoice/invoice.h) in
// headless Chromium: a market-only run of three days across the end of June
// (Europe/Berlin) is simulated and invoiced; June's invoice of h0001 opens
// from file:// without a console error, a script or a network request, shows
// its title, a total in euros equal to the index's, VAT, and the per-day chart
// with one bar per day of June (bars drawn on the days of the run); it fits
// a phone's width and prints (print media) on one page width. Saves
// PG_ARTIFACTS/invoice.png (and invoice-phone.png, invoice-print.png).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launch, openFile, screenshot } = require('./lib/browser');

const SCENARIO = `[scenario]
name = e2e-invoice
start = 2025-06-28
duration = 3d
slot = 15m
seed = 11
mode = market-only
[site]
lat = 48.2
lon = 16.37
tz = Europe/Berlin
[market]
mechanism = pay-as-clear
import_price = 300Mi
export_price = 80Mi
fee_per_kwh = 5Mi
[tariff]
membership_fee = 5Gi
capacity_price = 2Gi
vat = 20%
grid_fee_reduction = 30Mi
[producers]
count = 2
sources_per_producer = 1
[households]
count = 3
`;

function run(args) {
  const r = spawnSync(process.env.P2PGRID, args, { encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) throw new Error(`p2pgrid ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-invoice-e2e-'));
const ini = path.join(dir, 'scenario.ini');
fs.writeFileSync(ini, SCENARIO);
run(['sim', ini, '-q', '-o', path.join(dir, 'sim')]);
const out = path.join(dir, 'invoices');
run(['invoice', '-q', '--month', '2025-06', '--sim-out', path.join(dir, 'sim'), '--config', ini, '--out', out,
  '--set', 'money.currency=EUR', '--set', 'money.units_per_currency=1Gi', '--set', 'money.decimals=2']);

let browser;
test.before(async () => { browser = await launch(); });
test.after(async () => {
  if (browser) await browser.close();
  if (!process.env.PG_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
});

function open(file, viewport) {
  return openFile(browser, path.join(out, file), viewport);
}

test('invoice HTML: title, total, VAT, chart; offline, no errors', async () => {
  const { page, requests } = await open('h0001-2025-06.html', { width: 1280, height: 900 });
  assert.match(await page.title(), /^Invoice June 2025 Household 1/);
  assert.match(await page.textContent('h1'), /Invoice · June 2025/);
  const total = (await page.textContent('#total')).trim();
  assert.match(total, /^\d[\d,]*\.\d\d EUR$/);
  assert.ok(parseFloat(total.replace(/,/g, '')) > 5, `total ${total} holds at least the membership fee`);
  assert.match((await page.textContent('#vat')).trim(), /^\d[\d,]*\.\d\d EUR$/);
  assert.equal(await page.$$eval('script', (s) => s.length), 0, 'no JavaScript in the invoice');
  const bars = await page.$$eval('svg.chart[data-chart="daily"] rect.day',
    (rs) => rs.map((r) => r.getBoundingClientRect().height));
  assert.equal(bars.length, 30, 'one bar per day of June');
  assert.ok(bars[27] > 0 && bars[28] > 0 && bars[29] > 0, `bars of 28-30 June drawn: ${bars.slice(27)}`);
  assert.equal(bars.slice(0, 27).filter((h) => h > 0).length, 0, 'no energy before the run');
  const box = await page.$eval('svg.chart', (s) => s.getBoundingClientRect());
  assert.ok(box.width > 300 && box.height > 80, `chart ${box.width}x${box.height}`);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(requests, []);
  await screenshot(page, 'invoice');

  const ix = await open('index.html', { width: 1280, height: 900 });
  const row = await ix.page.$$eval('tr', (trs) => trs.map((t) => t.textContent));
  assert.ok(row.some((t) => t.includes('h0001') && t.includes(total)), 'index lists h0001 with its total');
  assert.deepEqual(ix.page.errors, []);
});

test('invoice HTML on a phone and in print', async () => {
  const { page } = await open('h0001-2025-06.html', { width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 390, `page scrolls sideways: ${overflow}`);
  await screenshot(page, 'invoice-phone');
  await page.emulateMedia({ media: 'print' });
  await page.setViewportSize({ width: 794, height: 1123 }); // A4 at 96 dpi
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 794, `print layout wider than A4: ${w}`);
  await screenshot(page, 'invoice-print');
  assert.deepEqual(page.errors, []);
});
