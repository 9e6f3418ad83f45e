// Chromium through playwright-core for the browser tests: collects console
// errors and page errors, saves screenshots under PG_ARTIFACTS.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

async function launch() {
  const exe = process.env.CHROMIUM;
  if (!exe) throw new Error('CHROMIUM is not set: point it at a chromium binary (ctest sets it)');
  return chromium.launch({ executablePath: exe, args: ['--no-sandbox'] });
}

// A page that records console errors and uncaught exceptions in page.errors.
async function newPage(browser, viewport) {
  const ctx = await browser.newContext({ viewport: viewport || { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push('console: ' + m.text()); });
  page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
  return page;
}

async function screenshot(page, name) {
  const dir = process.env.PG_ARTIFACTS || path.join(__dirname, '..', 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

module.exports = { launch, newPage, screenshot };
