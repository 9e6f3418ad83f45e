// A simulation with flexible assets (issue 17) in headless Chromium: the
// report's Flexibility section puts the KPIs with and without the assets
// side by side and draws the batteries' state of charge and the energy they
// shifted; summary.json carries the same KPIs; the CLI prints them.
//
// The run: examples/scenarios/flex-100.ini (100 households, 30 batteries,
// 10 EVs, 40 PV roofs, a community battery) for two June days, market-only.
// Saves PG_ARTIFACTS/report-flex.png.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launch, openFile, screenshot } = require('./lib/browser');

const ROOT = path.join(__dirname, '..', '..');

function runFlex() {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-report-flex-'));
  const args = ['sim', path.join('examples', 'scenarios', 'flex-100.ini'), '--out', out,
    '--set', 'scenario.start=2025-06-19', '--set', 'scenario.duration=2d'];
  const r = spawnSync(process.env.P2PGRID, args, { encoding: 'utf8', timeout: 300000, cwd: ROOT });
  if (r.status !== 0) throw new Error(`p2pgrid ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^flexibility +with assets +without$/m, 'the CLI prints the comparison');
  assert.match(r.stdout, /^ {2}self-sufficiency +[\d.]+ % +[\d.]+ %$/m);
  return out;
}

const reportDir = runFlex();
let browser;
test.before(async () => { browser = await launch(); });
test.after(async () => {
  if (browser) await browser.close();
  if (!process.env.PG_KEEP_TMP) fs.rmSync(reportDir, { recursive: true, force: true });
});

test('summary.json: flexibility with and without; assets.csv and flex_slots.csv', () => {
  const summary = JSON.parse(fs.readFileSync(path.join(reportDir, 'summary.json'), 'utf8'));
  for (const side of ['with', 'without']) {
    for (const k of ['selfSufficiencyPpm', 'selfConsumptionPpm', 'communitySharePpm', 'savings', 'peakImportWh']) {
      assert.equal(typeof summary.flexibility[side][k], 'number', `${side}.${k}`);
    }
  }
  assert.ok(summary.flexibility.with.chargedWh > 0);
  assert.equal(summary.flexibility.without.chargedWh, 0);
  const assets = fs.readFileSync(path.join(reportDir, 'assets.csv'), 'utf8').trim().split('\n');
  assert.equal(assets[0], 'id,kind,pv_wh,charged_wh,discharged_wh,loss_wh,ev_wh,heat_pump_wh,exported_wh,unmet_heat_wh,unmet_ev_wh');
  assert.ok(assets.some((l) => l.startsWith('store,community-battery,')), 'the community battery has its row');
  const slots = fs.readFileSync(path.join(reportDir, 'flex_slots.csv'), 'utf8').trim().split('\n');
  assert.equal(slots.length, 1 + 2 * 96);
});

test('report.html: the Flexibility section, its table and two drawn charts', async () => {
  const { page, requests } = await openFile(browser, path.join(reportDir, 'report.html'), { width: 1280, height: 900 });
  const heads = await page.$$eval('h2', (h) => h.map((e) => e.textContent));
  assert.ok(heads.includes('Flexibility: with and without the assets'), `sections ${heads}`);
  const rows = await page.$$eval('table.flex tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(rows[0], ['', 'with assets', 'without']);
  const ss = rows.find((r) => r[0] === 'Self-sufficiency');
  assert.ok(ss && /^[\d.]+ %$/.test(ss[1]) && /^[\d.]+ %$/.test(ss[2]), `self-sufficiency row ${ss}`);
  for (const chart of ['state-of-charge', 'shifted-energy']) {
    const box = await page.$eval(`svg.chart[data-chart="${chart}"]`, (e) => {
      const r = e.getBoundingClientRect();
      return { w: r.width, h: r.height, paths: e.querySelectorAll('path').length };
    });
    assert.ok(box.w > 100 && box.h > 100 && box.paths > 0, `${chart}: ${JSON.stringify(box)}`);
  }
  const axis = await page.$$eval('svg.chart[data-chart="shifted-energy"] text.at', (t) => t.map((e) => e.textContent));
  assert.ok(axis.some((a) => a.includes('kWh')), `shifted-energy axis ${axis}`);
  await screenshot(page, 'report-flex');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(requests, []);
});
