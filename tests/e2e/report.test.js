// The simulation report (report.html written by `p2pgrid sim`, see
// include/p2pgrid/sim/report.h) in headless Chromium: it opens from file://
// without a console error and without one network request, and each of its
// five charts (svg.chart with data-chart) is there with drawn elements of
// non-zero size. Saves PG_ARTIFACTS/report.png (and report-phone.png).
//
// The report comes from `p2pgrid demo` (what `make demo` runs: the bundled
// scenario in full mode), unless PG_REPORT_DIR names a directory that
// already holds a report.html (e.g. one kept by PG_SIM_REPORT_KEEP=1
// test_sim_report).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launch, openFile, screenshot } = require('./lib/browser');

const CHARTS = ['generation-consumption', 'community-utility', 'clearing-price', 'bills', 'balances'];
const ROOT = path.join(__dirname, '..', '..');

// `make demo` is `p2pgrid demo`: the bundled scenario in full mode (node,
// coordinator, entities, transfers). Its report is what a new user opens.
function runDemo() {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-report-e2e-'));
  const args = ['demo', '--out', out];
  const r = spawnSync(process.env.P2PGRID, args, { encoding: 'utf8', timeout: 300000, cwd: ROOT });
  if (r.status !== 0) {
    throw new Error(`p2pgrid ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  assert.match(r.stdout, /report: /, 'demo prints where the report is');
  if (!fs.existsSync(path.join(out, 'report.html'))) {
    throw new Error(`p2pgrid ${args.join(' ')} wrote no report.html in ${out}: ${fs.readdirSync(out).join(', ')}`);
  }
  return out;
}

const reportDir = process.env.PG_REPORT_DIR || runDemo();
const skip = false;

let browser;
test.before(async () => { if (!skip) browser = await launch(); });
test.after(async () => {
  if (browser) await browser.close();
  if (!process.env.PG_REPORT_DIR && reportDir && !process.env.PG_KEEP_TMP) {
    fs.rmSync(reportDir, { recursive: true, force: true });
  }
});

function open(viewport) {
  return openFile(browser, path.join(reportDir, 'report.html'), viewport);
}

test('report.html: offline, no errors, five drawn charts', { skip }, async () => {
  const { page, requests } = await open({ width: 1280, height: 900 });
  assert.deepEqual(requests, [], 'the report asks for nothing from the network');
  assert.equal(await page.$$eval('script', (s) => s.length), 0, 'no JavaScript in the report');
  const found = await page.$$eval('svg.chart', (s) => s.map((e) => e.dataset.chart));
  assert.deepEqual(found.slice().sort(), CHARTS.slice().sort());
  for (const name of CHARTS) {
    const info = await page.$eval(`svg.chart[data-chart="${name}"]`, (svg) => {
      const box = svg.getBoundingClientRect();
      const drawn = [...svg.querySelectorAll('path, rect:not(.frame), polyline, line.ref')]
        .map((e) => e.getBoundingClientRect())
        .filter((b) => b.width > 0 || b.height > 0);
      return { w: box.width, h: box.height, drawn: drawn.length,
               legend: svg.nextElementSibling && svg.nextElementSibling.matches('ul.legend')
                 ? svg.nextElementSibling.children.length : 0 };
    });
    assert.ok(info.w > 100 && info.h > 100, `${name}: ${info.w}x${info.h}`);
    assert.ok(info.drawn > 0, `${name}: nothing drawn`);
    assert.ok(info.legend > 0, `${name}: no legend`);
  }
  assert.match(await page.textContent('h1'), /Simulation report/);
  assert.ok(await page.$('table'), 'summary and participant tables');
  assert.deepEqual(page.errors, []);
  const file = await screenshot(page, 'report');
  assert.ok(fs.statSync(file).size > 0);
  assert.deepEqual(requests, []);
});

// The demo scenario says [money] EUR (1 EUR = 1 Gi, 2 decimals) and tz =
// Europe/Berlin: a person reads euros and Berlin times, never base units or
// slot numbers; summary.json keeps the raw values.
test('report.html: amounts in EUR, times in Berlin, raw values only in the files', { skip }, async () => {
  const summary = JSON.parse(fs.readFileSync(path.join(reportDir, 'summary.json'), 'utf8'));
  if (!summary.moneyFormat || summary.moneyFormat.currency !== 'EUR') return; // PG_REPORT_DIR of another scenario
  assert.deepEqual(summary.moneyFormat, { currency: 'EUR', unitsPerCurrency: 1000000000, decimals: 2 });
  assert.equal(summary.timeZone, 'Europe/Berlin');
  assert.ok(Number.isInteger(summary.money.billed), 'summary.json keeps base units');
  const { page } = await open({ width: 1280, height: 900 });
  // the summary's billed total, exactly as euros (half away from zero)
  const billed = BigInt(summary.money.billed);
  const cents = (billed * 100n + 500000000n) / 1000000000n;
  const euros = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + (cents % 100n).toString().padStart(2, '0');
  const row = await page.$$eval('tr', (rows) => rows.map((r) => r.textContent));
  assert.ok(row.some((t) => t.startsWith('Billed to consumers') && t.includes(euros + ' EUR')),
    `"Billed to consumers ${euros} EUR" in the summary table`);
  // participants and transfers: amounts in EUR, no bare base units
  const amounts = await page.$$eval('td.n', (c) => c.map((e) => e.textContent).filter((t) => /EUR|\bi$/.test(t)));
  assert.ok(amounts.length > 10, 'amount cells');
  for (const a of amounts) assert.match(a, /^-?\d[\d,]*\.\d\d EUR$/, `amount cell ${a}`);
  // times: the header and every transfer in local time ("2025-06-21 14:15"), the zone named
  const facts = await page.textContent('.facts');
  assert.match(facts, /from 2025-06-21 02:00 to 2025-06-22 02:00 \(Europe\/Berlin\)/);
  const transfers = await page.$$eval('section', (ss) => {
    const s = ss.find((x) => x.querySelector('h2') && x.querySelector('h2').textContent === 'Transfers');
    return s ? [...s.querySelectorAll('tr')].slice(1).map((r) => [...r.cells].map((c) => c.textContent)) : [];
  });
  assert.ok(transfers.length > 0, 'the demo pays on the Tangle');
  for (const [slot, time, , , amount] of transfers) {
    assert.match(slot, /^2025-06-2[12] \d\d:\d\d$/, `slot shown as a time: ${slot}`);
    assert.match(time, /^2025-06-2[12] \d\d:\d\d(:\d\d)?$/, `time: ${time}`);
    assert.match(amount, / EUR$/);
  }
  // the time axis: the local clock (the day starts at 02:00 UTC in Berlin summer time)
  const ticks = await page.$$eval('svg.chart[data-chart="generation-consumption"] text.xt', (t) => t.map((e) => e.textContent));
  assert.ok(ticks.length >= 2 && ticks.every((t) => /^\d\d:\d\d$/.test(t)), `time ticks ${ticks}`);
  assert.equal(ticks[0], '02:00', 'the first slot (00:00 UTC) reads 02:00 in Berlin');
  assert.match(await page.textContent('svg.chart[data-chart="generation-consumption"]'), /time \(Europe\/Berlin\)/);
  assert.match(await page.textContent('svg.chart[data-chart="clearing-price"]'), /EUR per kWh/);
  assert.doesNotMatch(await page.textContent('main'), /tokens/);
});

test('report.html on a phone: charts fit the width', { skip }, async () => {
  const { page, requests } = await open({ width: 390, height: 844 });
  const widths = await page.$$eval('svg.chart', (s) => s.map((e) => e.getBoundingClientRect().width));
  for (const w of widths) assert.ok(w > 200 && w <= 390, `chart width ${w}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 390, `page scrolls sideways: ${overflow}`);
  await screenshot(page, 'report-phone');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(requests, []);
});
