// Starts a small grid as real `p2pgrid` processes for the browser tests:
// a node (coordinator, 1 s milestones, no PoW, a genesis funding the grid
// and the consumers; plain HTTP), the grid operator (3 s slots), one
// producer with one csv-metered source, and two csv-metered consumers. The
// entities are members of one community: a CA made with `p2pgrid ca init`,
// a certificate for each of them and one for the operator (`ca issue`), the
// producer and consumers enrolled at the grid (`grid enrol`) before they
// start, and mutual TLS between them (the grid and the producer serve
// HTTPS only). Config files, seeds, keys and data dirs live in a temp dir
// (removed by stop(); kept with PG_KEEP_TMP=1).
//
//   const g = await startGrid();
//   g.node.url (http), g.grid.url, g.producer.url (https), g.dir, g.ids
//   g.ca                      the CA certificate file
//   g.certs[id]               {id, cert, key} files of a member ('operator' too)
//   await getJson(g.grid.url + '/api/status')                  as the operator
//   await getJson(g.grid.url + '/api/status', { as: null })    as a stranger
//   await getJson(url, { as: g.as('consumer-0') })             as that member
//   newPage(browser, null, { clientCert: g.clientCert('operator') })  (lib/browser.js)
//   await g.stop();
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { waitFor: pollUntil } = require('../../jslib/wait');

const SLOT_MS = 3000;
const FUND = 1000000000000n; // 1 Ti each
const live = new Set();

function killAll() {
  for (const p of live) {
    try { p.child.kill('SIGKILL'); } catch { /* gone */ }
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => { killAll(); process.kill(process.pid, sig); });
}

function binary() {
  const bin = process.env.P2PGRID;
  if (!bin) throw new Error('P2PGRID is not set: point it at the p2pgrid binary (ctest sets it)');
  if (!fs.existsSync(bin)) throw new Error(`P2PGRID=${bin} does not exist`);
  return bin;
}

// Spawns `p2pgrid args...` and resolves once its log names its HTTP port.
function startProc(name, args, logFile, timeoutMs = 30000) {
  const bin = binary();
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  const out = fs.createWriteStream(logFile);
  let log = '';
  const p = { name, child, url: null, log: () => log, exited: null };
  live.add(p);
  p.exited = new Promise((resolve) => child.on('exit', (code, signal) => { live.delete(p); resolve({ code, signal }); }));
  const onData = (s) => { log += s; out.write(s); };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', onData);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report its port in ${timeoutMs} ms; log:\n${log}`)), timeoutMs);
    child.stderr.on('data', (s) => {
      onData(s);
      const m = /listening on (https?:\/\/127\.0\.0\.1:(\d+))/.exec(log);
      if (m && !p.url) {
        clearTimeout(timer);
        p.url = m[1];
        resolve(p);
      }
    });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!p.url) reject(new Error(`${name} exited early (code ${code}, signal ${signal}); log:\n${log}`));
    });
  });
}

async function stopProc(p, graceMs = 10000) {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

function seedHex(i) {
  const b = Buffer.alloc(32);
  for (let j = 0; j < 32; j++) b[j] = (0x35 * (i + 1) + 11 * j + 3) & 0xff;
  return b.toString('hex');
}

// [bech32, hex] of walk address 0 of a seed file.
function walletAddress(seedFile) {
  const out = execFileSync(binary(), ['wallet', 'address', '--seed-file', seedFile, '--hrp', 'atoi'], { encoding: 'utf8' });
  const m = /(atoi1[0-9a-z]+)\s+([0-9a-f]{64})/.exec(out);
  if (!m) throw new Error('unexpected `wallet address` output: ' + out);
  return [m[1], m[2]];
}

function csv(file, baseW, stepW, salt) {
  const k0 = Math.floor(Date.now() / SLOT_MS) - 20;
  const lines = ['time_ms,power_W'];
  for (let k = k0; k < k0 + 1200; k++) lines.push(`${k * SLOT_MS},${baseW + ((k * 7 + salt) % 5) * stepW}`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

// `p2pgrid args...` (a CLI step such as `ca issue`): its stdout, or an error with its output.
function cli(args) {
  try {
    return execFileSync(binary(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`p2pgrid ${args.join(' ')} failed (${err.status}): ${err.stdout || ''}${err.stderr || ''}`);
  }
}

// The community: a CA in dir/ca and a key and certificate for each member.
// members: [[id, role, parent?, maxKw?]]; returns { ca, crl, certs: {id: {id, cert, key}} }.
function makeCommunity(dir, members) {
  const caDir = path.join(dir, 'ca');
  cli(['ca', 'init', '--dir', caDir, '--name', 'p2pgrid e2e community CA']);
  const certs = {};
  for (const [id, role, parent, maxKw] of members) {
    const out = path.join(dir, id);
    cli(['ca', 'issue', '--dir', caDir, '--id', id, '--role', role, ...(parent ? ['--parent', parent] : []),
      ...(maxKw ? ['--max-kw', String(maxKw)] : []), '--out', out]);
    certs[id] = { id, cert: out + '.crt', key: out + '.key' };
  }
  return { ca: path.join(caDir, 'ca.crt'), crl: path.join(caDir, 'crl.pem'), certs };
}

// Whom getJson/request speak as by default, per https origin: the operator
// of the grid that serves it.
const defaultAs = new Map();

async function startGrid(o = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pgrid-e2e-'));
  const f = (n) => path.join(dir, n);
  const ids = { grid: 'grid', producer: 'producer-0', source: 'source-0', consumers: ['consumer-0', 'consumer-1'] };
  const wallets = ['grid', 'producer-0', 'consumer-0', 'consumer-1'];
  const addr = {};
  const genesis = ['# the grid\'s float and the consumers\' money'];
  wallets.forEach((w, i) => {
    fs.writeFileSync(f(w + '.seed'), seedHex(i + (o.salt || 0)) + '\n', { mode: 0o600 });
    addr[w] = walletAddress(f(w + '.seed'));
    if (w !== 'producer-0') genesis.push(`${addr[w][1]} ${FUND}`);
  });
  fs.writeFileSync(f('genesis.txt'), genesis.join('\n') + '\n');
  // capacities above the csv meters' power (MW, so 3 s slots carry whole kWh):
  // the grid quarantines readings above a member's enrolled capacity
  const community = makeCommunity(dir, [['grid', 'grid'], ['producer-0', 'producer', null, 2000],
    ['source-0', 'source', 'producer-0', 2000], ['consumer-0', 'consumer', null, 2000],
    ['consumer-1', 'consumer', null, 2000], ['operator', 'operator']]);
  const procs = [];
  const g = { dir, ids, addr, procs, slotMs: SLOT_MS, ca: community.ca, crl: community.crl, certs: community.certs };
  g.as = (id) => ({ ca: g.ca, cert: g.certs[id].cert, key: g.certs[id].key });
  // for lib/browser.js newPage(..., { clientCert: g.clientCert('operator') })
  g.clientCert = (id, origin) => ({ origin: origin || g.grid.url, ...g.as(id) });
  g.stop = async () => {
    for (const p of procs.slice().reverse()) await stopProc(p);
    for (const p of procs) if (p.url) defaultAs.delete(p.url);
    if (!process.env.PG_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    g.node = await startProc('node', ['node', '--data-dir', f('node'), '--port', '0', '--bind', '127.0.0.1',
      '--set', 'node.min_pow_score=0', '--set', 'coordinator.enabled=true', '--set', 'coordinator.generate=true',
      '--set', 'coordinator.interval=1s', '--set', `ledger.genesis_file=${f('genesis.txt')}`,
      // the explorer shows amounts in EUR (1 EUR = 1 Gi) and times in Berlin
      '--set', 'money.currency=EUR', '--set', 'money.units_per_currency=1Gi', '--set', 'money.decimals=6',
      '--set', 'site.tz=Europe/Berlin'], f('node.log'));
    procs.push(g.node);
    const common = (role, id) => `[${role}]\nid = ${id}\nname = E2E ${id}\ndata_dir = ${f(id)}\nslot = ${SLOT_MS}ms\n` +
      'tick = 100ms\nretry = 500ms\nsecurity = 1\nlog_level = info\n';
    const tail = (id, up, wallet) => `\n[node]\nurl = ${g.node.url}\ntimeout = 30s\n\n[api]\nbind = 127.0.0.1\nport = 0\n` +
      `\n[tls]\ncert = ${g.certs[id].cert}\nkey = ${g.certs[id].key}\nca = ${g.ca}\ncrl = ${g.crl}\n` +
      (up ? `\n[upstream]\nurl = ${up}\n` : '') + (wallet ? `\n[wallet]\nseed_file = ${f(wallet + '.seed')}\n` : '');
    const write = (id, text) => { fs.writeFileSync(f(id + '.ini'), text); return f(id + '.ini'); };
    const run = async (role, id, text) => {
      const p = await startProc(id, [role, '--config', write(id, text)], f(id + '.log'));
      procs.push(p);
      return p;
    };
    const gridIni = write('grid', common('grid', 'grid') +
      'mechanism = pay-as-clear\nimport_price = 300000000\nexport_price = 80000000\nfee_per_kwh = 5000000\n' +
      'fee_bp = 100\ngrace = 1500ms\npayout_min = 0\ndust_allowance = 10000000\n' +
      // how people read it: 1 EUR = 1 Gi, 6 decimals (the amounts of 3 s slots are small)
      '\n[money]\ncurrency = EUR\nunits_per_currency = 1Gi\ndecimals = 6\n\n[site]\ntz = Europe/Berlin\n' +
      tail('grid', null, 'grid'));
    // the operator enrols the producer and the households before they start
    for (const id of ['producer-0', ...ids.consumers]) cli(['grid', 'enrol', '--config', gridIni, '--member', g.certs[id].cert]);
    g.grid = await startProc('grid', ['grid', '--config', gridIni], f('grid.log'));
    procs.push(g.grid);
    defaultAs.set(g.grid.url, g.as('operator'));
    g.producer = await run('producer', 'producer-0', common('producer', 'producer-0') +
      'ask_per_kwh = 90000000\ngrace = 1500ms\n' + tail('producer-0', g.grid.url, 'producer-0'));
    defaultAs.set(g.producer.url, g.as('operator'));
    csv(f('source-0.csv'), 1500000, 60000, 0);
    g.source = await run('source', 'source-0', common('source', 'source-0') +
      `\n[meter]\nkind = csv\npath = ${f('source-0.csv')}\nwrap = false\n` + tail('source-0', g.producer.url, null));
    g.consumers = [];
    for (const [k, id] of ids.consumers.entries()) {
      csv(f(id + '.csv'), k ? 900000 : 1200000, 50000, 10 + k);
      g.consumers.push(await run('consumer', id, common('consumer', id) + (k ? '' : 'bid_per_kwh = 250000000\n') +
        `\n[meter]\nkind = csv\npath = ${f(id + '.csv')}\nwrap = false\n` + tail(id, g.grid.url, id)));
    }
  } catch (err) {
    await g.stop();
    throw err;
  }
  return g;
}

// GET (or o.method) url: {status, headers, text, json}. An https URL is
// fetched with node's https, trusting o.as.ca and presenting o.as.cert/key
// when o.as has them; o.as defaults to the operator of the grid serving the
// URL (as: null = no client certificate, but still the CA of that grid).
function request(url, o = {}) {
  const u = new URL(url);
  const method = o.method || 'GET';
  const finish = async (status, headers, text) => {
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status, headers, text, json };
  };
  if (u.protocol !== 'https:') {
    return fetch(url, { method, headers: { Accept: 'application/json' } })
      .then(async (r) => finish(r.status, Object.fromEntries(r.headers), await r.text()));
  }
  const dflt = defaultAs.get(u.origin);
  const as = o.as === undefined ? dflt : o.as;
  const ca = (as && as.ca) || (dflt && dflt.ca);
  const opts = { method, headers: { Accept: 'application/json' }, agent: false, timeout: 10000 };
  if (ca) opts.ca = fs.readFileSync(ca);
  if (as && as.cert) {
    opts.cert = fs.readFileSync(as.cert);
    opts.key = fs.readFileSync(as.key);
  }
  return new Promise((resolve, reject) => {
    const req = https.request(u, opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve(finish(res.statusCode, res.headers, text)));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

// The JSON of a GET; throws on a status other than 2xx. o as for request().
async function getJson(url, o = {}) {
  const r = await request(url, o);
  if (r.status < 200 || r.status > 299) throw new Error(`${url}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  return r.json;
}

/** Polls fn() until it returns a truthy value or the deadline passes (every 200 ms). */
function waitFor(what, fn, timeoutMs = 30000, stepMs = 200) {
  return pollUntil(what, fn, timeoutMs, stepMs);
}

module.exports = { startGrid, getJson, request, waitFor, startProc, stopProc, binary, cli, SLOT_MS };
