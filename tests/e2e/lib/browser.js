// Chromium through playwright-core for the browser tests: collects console
// errors and page errors, saves screenshots under PG_ARTIFACTS.
//
// HTTPS with our community CA (the grid and producer serve mutual TLS):
// - launch({ pin: [certFile...] }) makes Chromium accept a server that
//   presents one of these certificates (--ignore-certificate-errors-spki-list
//   with the SHA-256 of its public key; Chromium has no switch to trust a CA
//   file, and a temp NSS database would need certutil). Every other
//   certificate error still fails the page: contexts keep
//   ignoreHTTPSErrors: false.
// - newPage(browser, viewport, { clientCert: { origin, cert, key, ca } })
//   presents a member's certificate to origin through playwright's
//   clientCertificates. Playwright then speaks TLS to the server itself, and
//   its TLS client trusts the CA certificates inside a PKCS #12 bundle: the
//   key, certificate and CA are put into one (certtool from gnutls-bin, or
//   openssl), so the server is verified against our CA.
'use strict';

const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

// base64 SHA-256 of a certificate's SubjectPublicKeyInfo (Chromium's SPKI pin).
function spkiHash(certFile) {
  const der = new crypto.X509Certificate(fs.readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

async function launch(o = {}) {
  const exe = process.env.CHROMIUM;
  if (!exe) throw new Error('CHROMIUM is not set: point it at a chromium binary (ctest sets it)');
  const args = ['--no-sandbox'];
  if (o.pin && o.pin.length) args.push('--ignore-certificate-errors-spki-list=' + o.pin.map(spkiHash).join(','));
  return chromium.launch({ executablePath: exe, args });
}

const P12_PASS = 'p2pgrid-e2e';
// FILE.p12 beside the certificate: key + certificate + CA; null when neither
// certtool nor openssl is there.
function pkcs12(c) {
  const out = c.cert.replace(/\.crt$/, '') + '.p12';
  if (fs.existsSync(out)) return out;
  const tools = [
    ['certtool', ['--to-p12', '--load-privkey', c.key, '--load-certificate', c.cert, '--load-ca-certificate', c.ca,
      '--p12-name', path.basename(c.cert), '--password', P12_PASS, '--outder', '--outfile', out]],
    ['openssl', ['pkcs12', '-export', '-in', c.cert, '-inkey', c.key, '-certfile', c.ca, '-passout', 'pass:' + P12_PASS,
      '-out', out]],
  ];
  for (const [tool, args] of tools) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
      if (fs.existsSync(out)) return out;
    } catch { /* not installed or failed: the next one */ }
  }
  return null;
}

// A page that records console errors and uncaught exceptions in page.errors.
// o.clientCert: { origin, cert, key, ca } presents that certificate to origin.
async function newPage(browser, viewport, o = {}) {
  const opts = { viewport: viewport || { width: 1280, height: 900 }, ignoreHTTPSErrors: false };
  const c = o.clientCert;
  if (c) {
    const p12 = pkcs12(c);
    if (p12) {
      opts.clientCertificates = [{ origin: c.origin, pfxPath: p12, passphrase: P12_PASS }];
    } else {
      // no tool to bundle the CA: playwright cannot verify the server then
      console.warn('browser.js: neither certtool nor openssl found; not verifying the server certificate');
      opts.clientCertificates = [{ origin: c.origin, certPath: c.cert, keyPath: c.key }];
      opts.ignoreHTTPSErrors = true;
    }
  }
  const ctx = await browser.newContext(opts);
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

// A screenshot of one element (selector) of the page, beside the others.
async function elementShot(page, selector, name) {
  const dir = process.env.PG_ARTIFACTS || path.join(__dirname, '..', 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name + '.png');
  await (await page.$(selector)).screenshot({ path: file });
  return file;
}

// A page (newPage) that opens a local file and records, in requests, every
// request it makes to anything but file:// (each one aborted).
async function openFile(browser, file, viewport) {
  const page = await newPage(browser, viewport);
  const requests = [];
  await page.route('**', (r) => {
    const url = r.request().url();
    if (url.startsWith('file:')) return r.continue();
    requests.push(url);
    return r.abort();
  });
  page.on('request', (q) => { if (!q.url().startsWith('file:') && !requests.includes(q.url())) requests.push(q.url()); });
  await page.goto('file://' + file, { waitUntil: 'load' });
  return { page, requests };
}

module.exports = { launch, newPage, openFile, screenshot, elementShot, spkiHash };
