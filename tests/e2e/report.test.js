// The simulation report (report.html written by `p2pgrid sim`, see
// include/p2pgrid/sim_report.h) in headless Chromium: it opens from file://
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
