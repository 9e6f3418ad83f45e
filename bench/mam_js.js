// @iota/mam.js 1.6.3 MAM throughput, to print beside bench_mam: messages
// created and parsed per second, restricted mode, security 1 and 2, count 1,
// the same seed, side key and message as bench/bench_mam.c. Line names match
// bench_mam's with "mamjs_" for "mam_", e.g.
//   mam_restricted_sec1_create: ... msg/s     (ours, bench_mam)
//   mamjs_restricted_sec1_create: ... msg/s   (mam.js, this script)
// Prints "name: value unit" lines only.
//
//   node bench/mam_js.js            (needs npm ci in tests/interop)
//   PG_BENCH_SECONDS=5 node bench/mam_js.js
'use strict';

const path = require('node:path');
const { createRequire } = require('node:module');

const req = createRequire(path.join(__dirname, '..', 'tests', 'interop', 'package.json'));
const mam = req('@iota/mam.js');

const seconds = Number(process.env.PG_BENCH_SECONDS ?? 3);
const SEED = 'SEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEEDSEED9';
const SIDE_KEY = 'SIDEKEY';
const TEXT = '{"command":"output","startTime":1700000000000,"endTime":1700000900000,"output":1234}';
const MIN_RUNS = 3;

function now() {
  return Number(process.hrtime.bigint()) / 1e9;
}

function bench(security) {
  const msg = mam.TrytesHelper.stringToTrytes(TEXT);
  const channel = mam.createChannel(SEED, security, 'restricted', SIDE_KEY);
  const made = [];
  let t0 = now();
  let t = t0;
  while (t - t0 < seconds || made.length < MIN_RUNS) {
    made.push(mam.createMessage(channel, msg));
    t = now();
  }
  const createRate = made.length / (t - t0);

  let parsed = 0;
  t0 = now();
  t = t0;
  while (t - t0 < seconds || parsed < MIN_RUNS) {
    const m = made[parsed % made.length];
    const p = mam.parseMessage(m.payload, m.root, SIDE_KEY);
    if (p.message !== msg) throw new Error('mam.js cannot parse its own message');
    parsed++;
    t = now();
  }
  const parseRate = parsed / (t - t0);
  console.log(`mamjs_restricted_sec${security}_create: ${createRate.toFixed(2)} msg/s`);
  console.log(`mamjs_restricted_sec${security}_parse: ${parseRate.toFixed(2)} msg/s`);
  console.log(`mamjs_restricted_sec${security}_payload: ${made[0].payload.length} trytes`);
}

bench(1);
bench(2);
