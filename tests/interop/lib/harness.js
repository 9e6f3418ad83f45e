// Starts and stops `p2pgrid node` processes for interop tests and benchmarks.
//
//   const node = await startNode({ minPowScore: 0 });
//   node.url        "http://127.0.0.1:PORT"
//   node.log()      everything the node wrote so far (for failure messages)
//   await node.stop()   SIGTERM, wait (SIGKILL after a deadline), remove the
//                       temp data dir; resolves to { code, signal }
//
// Every started node is killed when this process exits, even after a failed
// test or an uncaught exception.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { waitFor } = require('../../jslib/wait');

const live = new Set();

function killAll() {
  for (const n of live) {
    try {
      n.child.kill('SIGKILL');
    } catch {
      // already gone
    }
    try {
      fs.rmSync(n.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.kill(process.pid, sig);
  });
}

function binary() {
  const bin = process.env.P2PGRID;
  if (!bin) {
    throw new Error('P2PGRID is not set: point it at the p2pgrid binary (ctest sets it)');
  }
  if (!fs.existsSync(bin)) throw new Error(`P2PGRID=${bin} does not exist`);
  return bin;
}

/**
 * @param {object} o
 * @param {number} [o.minPowScore=0]
 * @param {boolean} [o.coordinator=true]   coordinator with a generated key
 * @param {string} [o.interval='1s']       milestone interval
 * @param {string[]} [o.set=[]]            extra "section.key=value" overrides
 * @param {number} [o.startTimeoutMs=30000]
 */
async function startNode(o = {}) {
  const bin = binary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pgrid-interop-'));
  const args = [
    'node',
    '--data-dir', dir,
    '--port', '0',
    '--bind', '127.0.0.1',
    '--log-level', o.logLevel ?? 'info',
    '--set', `node.min_pow_score=${o.minPowScore ?? 0}`,
  ];
  if (o.coordinator ?? true) {
    args.push('--set', 'coordinator.enabled=true',
      '--set', 'coordinator.generate=true',
      '--set', `coordinator.interval=${o.interval ?? '1s'}`);
  }
  for (const s of o.set ?? []) args.push('--set', s);

  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let log = '';
  const node = {
    child,
    dir,
    url: null,
    args,
    log: () => log,
    exited: null,
  };
  live.add(node);
  node.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (s) => { log += s; });

  const timeoutMs = o.startTimeoutMs ?? 30000;
  node.url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`p2pgrid node did not report its port within ${timeoutMs} ms; log:\n${log}`));
    }, timeoutMs);
    child.stderr.on('data', (s) => {
      log += s;
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(log);
      if (m && !node.url) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${bin}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`p2pgrid node exited early (code ${code}, signal ${signal}); ` +
        `args: ${args.join(' ')}; log:\n${log}`));
    });
  }).catch(async (err) => {
    await stop(node);
    throw err;
  });

  node.stop = () => stop(node);
  return node;
}

async function stop(node, graceMs = 10000) {
  if (!live.has(node)) return node.exited;
  if (node.child.exitCode === null && node.child.signalCode === null) {
    node.child.kill('SIGTERM');
    const timer = setTimeout(() => node.child.kill('SIGKILL'), graceMs);
    await node.exited;
    clearTimeout(timer);
  }
  live.delete(node);
  fs.rmSync(node.dir, { recursive: true, force: true });
  return node.exited;
}

module.exports = { startNode, waitFor, killAll };
