// iota.js proof of work speed, to print beside bench_crypto_pow.
// LocalPowProvider's search (PowHelper.performPow: nonce 0, 1, 2, ... on one
// thread, Curl-P-81 per nonce) on indexation messages like the ones the
// interop tests and the ingest benchmark send. Trials = returned nonce + 1.
// Prints "name: value unit" lines only.
//
//   node bench/pow_iotajs.js            (needs npm ci in tests/interop)
//   PG_BENCH_SECONDS=5 node bench/pow_iotajs.js
'use strict';

const path = require('node:path');
const { createRequire } = require('node:module');

const req = createRequire(path.join(__dirname, '..', 'tests', 'interop', 'package.json'));
const iota = req('@iota/iota.js');
const { Blake2b } = req('@iota/crypto.js');
const { Converter, WriteStream } = req('@iota/util.js');

const seconds = Number(process.env.PG_BENCH_SECONDS ?? 3);
const score = 100; // the node's default min_pow_score
const parents = ['11'.repeat(32), '22'.repeat(32)];

function message(i) {
  const ws = new WriteStream();
  iota.serializeMessage(ws, {
    networkId: '2321005821356827533', // "private-tangle"
    parentMessageIds: parents,
    payload: {
      type: 2,
      index: Converter.utf8ToHex('bench-pow'),
      data: Converter.utf8ToHex(`message ${i}`),
    },
    nonce: '0',
  });
  return ws.finalBytes();
}

// Trials per second do not depend on the difficulty: search for a fixed 7
// trailing zeros (3^7 = 2187 trials on average) so many searches fit in the
// time, then estimate the cost of one message at the node's default score.
const zeros = 7;
let trials = 0;
let runs = 0;
const t0 = process.hrtime.bigint();
let elapsed = 0;
while (elapsed < seconds || runs < 5) {
  const m = message(runs);
  const digest = Blake2b.sum256(m.slice(0, -8));
  const nonce = iota.PowHelper.performPow(digest, zeros, '0');
  trials += Number(nonce) + 1;
  runs++;
  elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
}
const rate = trials / elapsed;
const m = message(0);
const target = iota.PowHelper.calculateTargetZeros(m, score);
console.log(`iotajs_pow_local_1_thread: ${Math.round(rate)} trials/s`);
console.log(`iotajs_pow_score${score}_${m.length}B_message_expected: ${((3 ** target / rate) * 1000).toFixed(0)} ms`);
