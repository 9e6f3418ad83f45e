// A water community's simulation report in headless Chromium (issue 16): the
// page a person reads shows litres and m³ — in the tables, the KPI cards,
// the chart axes and the SVG tooltips — and prices per m³, never kWh or kW.
//
// The run: examples/scenarios/water.ini (a well, two rain-water tanks, 20
// households) for two July days in market-only mode, with the dynamic-key
// mechanism so the allocation chart and table are on the page too. Saves
// PG_ARTIFACTS/report-water.png.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launch, openFile, screenshot } = require('./lib/browser');

const ROOT = path.join(__dirname, '..', '..');

function runWater() {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-report-water-'));
  const sets = ['scenario.start=2025-07-01', 'scenario.duration=2d', 'market.mechanism=dynamic-key'];
  const args = ['sim', path.join('examples', 'scenarios', 'water.ini'), '--market-only', '--out', out];
  for (const s of sets) args.push('--set', s);
  const r = spawnSync(process.env.P2PGRID, args, { encoding: 'utf8', timeout: 300000, cwd: ROOT });
  if (r.status !== 0) throw new Error(`p2pgrid ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  // the printed summary names the resource too
  assert.match(r.stdout, /^water {2,}m³$/m, 'the CLI summary heading');
  assert.doesNotMatch(r.stdout, /kWh/);
  return out;
}

const reportDir = runWater();
let browser;
test.before(async () => { browser = await launch(); });
test.after(async () => {
  if (browser) await browser.close();
  if (!process.env.PG_KEEP_TMP) fs.rmSync(reportDir, { recursive: true, force: true });
});

test('summary.json names water', () => {
  const summary = JSON.parse(fs.readFileSync(path.join(reportDir, 'summary.json'), 'utf8'));
  assert.deepEqual(summary.resource, { name: 'water', unit: 'L', displayUnit: 'm³', displayFactor: 1000,
    flowUnit: 'L/min', flowFactor: 60, priceUnit: 'm³' });
});

test('report.html of a water run: litres and m³, never kWh or kW', async () => {
  const { page, requests } = await openFile(browser, path.join(reportDir, 'report.html'), { width: 1280, height: 900 });
  // everything a person can read: the visible text, the SVG tooltips
  // (<title>) and the charts' accessible names
  const text = await page.evaluate(() => [document.body.innerText,
    ...[...document.querySelectorAll('title')].map((t) => t.textContent),
    ...[...document.querySelectorAll('[aria-label]')].map((e) => e.getAttribute('aria-label'))].join('\n'));
  assert.match(text, /m³/);
  assert.match(text, /\bL\b/);
  for (const bad of [/kWh/, /\bkW\b/, /\bWh\b/, /\benergy\b/i]) assert.doesNotMatch(text, bad);

  const axis = (chart) => page.$$eval(`svg.chart[data-chart="${chart}"] text.at`, (t) => t.map((e) => e.textContent));
  // per-slot flows of a few dozen litres read in litres
  assert.ok((await axis('generation-consumption')).includes('L per slot'));
  assert.ok((await axis('community-utility')).includes('L per slot'));
  assert.ok((await axis('clearing-price')).includes('EUR per m³'));
  assert.ok((await axis('allocation')).includes('L over the run'));
  // the summary table's totals of more than a m³ in m³; the members' in litres
  const rows = await page.$$eval('tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
  const produced = rows.find((r) => r[0] === 'Produced');
  assert.ok(produced && produced[2] === 'm³', `Produced row ${produced}`);
  const heads = await page.$$eval('th', (t) => t.map((e) => e.textContent));
  assert.ok(heads.includes('Water'), 'the summary section is named after the resource');
  assert.ok(heads.includes('Consumption, L'), `allocation table headers ${heads}`);
  const tips = await page.$$eval('svg.chart[data-chart="allocation"] title', (t) => t.map((e) => e.textContent));
  assert.ok(tips.some((t) => / \d[\d,]* L allocated$/.test(t)), `allocation tooltips ${tips.slice(0, 3)}`);
  await screenshot(page, 'report-water');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(requests, []);
});
