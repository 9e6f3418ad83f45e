// Interop: the official @iota/iota.js 1.8.6 SingleNodeClient against
// `p2pgrid node` (Chrysalis REST API v1, TIP-13).
//
//   P2PGRID=build/test/p2pgrid node --test tests/interop/node.test.js
//
// Env: P2PGRID (required), P2PGRID_INTEROP_POW_SCORE (min_pow_score of the
// PoW node, default 100).
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');

let iota;
let Blake2b;
let util;
try {
  iota = require('@iota/iota.js');
  ({ Blake2b } = require('@iota/crypto.js'));
  util = require('@iota/util.js');
} catch (err) {
  throw new Error(`npm packages missing (${err.message}); run scripts/bootstrap ` +
    '(or npm ci in tests/interop)');
}
const { startNode, waitFor } = require('./lib/harness.js');

const { SingleNodeClient, LocalPowProvider, ClientError, PowHelper } = iota;
const { Converter, ReadStream, WriteStream, BigIntHelper } = util;

const HEX64 = /^[0-9a-f]{64}$/;
const INDEX = 'p2pgrid-interop';
const DATA = 'hello';
const POW_SCORE = Number(process.env.P2PGRID_INTEROP_POW_SCORE ?? 100);

// iota.js getPoWInfo: BLAKE2b-256(UTF-8 name), bytes 0..7 little-endian.
function networkIdOf(name) {
  const h = Blake2b.sum256(Converter.utf8ToBytes(name));
  return BigIntHelper.read8(h, 0).toString(10);
}

function serialize(msg) {
  const ws = new WriteStream();
  iota.serializeMessage(ws, msg);
  return ws.finalBytes();
}

function hexOf(bytes) {
  return Converter.bytesToHex(bytes);
}

/** Expects fn() to reject with a ClientError of the given HTTP status. */
async function expectClientError(fn, status, what) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: expected HTTP ${status}, but the call succeeded`);
  assert.ok(err instanceof ClientError,
    `${what}: expected a ClientError, got ${err && err.constructor.name}: ${err && err.message}`);
  assert.equal(err.httpStatus, status, `${what}: status ${err.httpStatus} (${err.message})`);
  assert.equal(typeof err.code, 'string', `${what}: error.code must be a string`);
  assert.ok(err.message && err.message.length > 0, `${what}: error.message must be set`);
  return err;
}

// Attach the node's log to a failing assertion so the cause is visible.
function withLog(node, fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const log = node.log().split('\n').slice(-40).join('\n');
      err.message += `\n--- last node log lines ---\n${log}`;
      throw err;
    }
  };
}

/**
 * Waits until the message is referenced by a milestone. An unreferenced
 * message must be in one of the states iota.js retry() acts on; when the node
 * says shouldReattach (the parents got too old while a slow client did its
 * PoW: TIP-3 "lazy"), reattach it like a wallet would and wait for the copy.
 * Returns { meta, messageId } of the referenced message.
 */
async function waitReferenced(t, client, messageId, timeoutMs = 45000) {
  let id = messageId;
  const end = Date.now() + timeoutMs;
  let reattached = 0;
  for (;;) {
    const md = await client.messageMetadata(id);
    if (md.referencedByMilestoneIndex !== undefined) return { meta: md, messageId: id };
    assert.equal(typeof md.shouldPromote, 'boolean', `unreferenced metadata ${JSON.stringify(md)}`);
    assert.equal(typeof md.shouldReattach, 'boolean', `unreferenced metadata ${JSON.stringify(md)}`);
    if (md.shouldReattach && reattached < 2) {
      t.diagnostic(`${id} is lazy (shouldReattach); reattaching`);
      ({ messageId: id } = await iota.reattach(client, id));
      reattached++;
    }
    if (Date.now() > end) {
      throw new Error(`message ${id} not referenced after ${timeoutMs} ms; metadata ${JSON.stringify(md)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('p2pgrid node (min_pow_score 0, coordinator 1 s) with iota.js SingleNodeClient', () => {
  let node;
  let client;
  let info;
  let sent; // { messageId, message }
  let referencedBy;

  before(async () => {
    node = await startNode({ minPowScore: 0 });
    client = new SingleNodeClient(node.url);
  });

  after(async () => {
    if (node) await node.stop();
  });

  test('health() turns true once the first milestone is confirmed', async (t) => {
    await withLog(node, async () => {
      await waitFor('GET /health == 200', () => client.health(), 30000, 200);
    })(t);
  });

  test('info() has networkId, bech32HRP, minPoWScore and milestone fields', async (t) => {
    await withLog(node, async () => {
      info = await client.info();
      assert.equal(typeof info.networkId, 'string');
      assert.ok(info.networkId.length > 0);
      assert.equal(info.networkId, 'private-tangle');
      assert.equal(info.bech32HRP, 'atoi');
      assert.equal(info.minPoWScore, 0);
      assert.equal(typeof info.name, 'string');
      assert.equal(typeof info.version, 'string');
      assert.equal(typeof info.isHealthy, 'boolean');
      for (const k of ['latestMilestoneIndex', 'confirmedMilestoneIndex', 'pruningIndex',
        'latestMilestoneTimestamp', 'messagesPerSecond', 'referencedMessagesPerSecond',
        'referencedRate']) {
        assert.equal(typeof info[k], 'number', `info.${k} must be a number, is ${typeof info[k]}`);
      }
      assert.ok(info.latestMilestoneIndex >= 1, 'the coordinator issues milestone 1 at start');
      assert.ok(Array.isArray(info.features));
    })(t);
  });

  test('tips() are 1..8 sorted unique lowercase ids', async (t) => {
    await withLog(node, async () => {
      const tips = await client.tips();
      const ids = tips.tipMessageIds;
      assert.ok(Array.isArray(ids));
      assert.ok(ids.length >= 1 && ids.length <= 8, `${ids.length} tips`);
      for (const id of ids) assert.match(id, HEX64);
      assert.deepEqual(ids, [...new Set(ids)].sort());
    })(t);
  });

  test('sendData() is accepted and messagesFind() finds it', async (t) => {
    await withLog(node, async () => {
      sent = await iota.sendData(client, INDEX, DATA);
      assert.match(sent.messageId, HEX64);
      const found = await client.messagesFind(INDEX);
      assert.equal(found.index, Converter.utf8ToHex(INDEX));
      assert.equal(typeof found.maxResults, 'number');
      assert.equal(typeof found.count, 'number');
      assert.ok(found.messageIds.includes(sent.messageId),
        `messageIds ${JSON.stringify(found.messageIds)} lack ${sent.messageId}`);
      assert.equal(found.count, found.messageIds.length);
      const none = await client.messagesFind('p2pgrid-interop-nothing-here');
      assert.equal(none.count, 0);
      assert.deepEqual(none.messageIds, []);
    })(t);
  });

  test('message(id) returns the indexation payload the node completed', async (t) => {
    await withLog(node, async () => {
      const m = await client.message(sent.messageId);
      assert.equal(m.networkId, networkIdOf(info.networkId),
        'networkId must be BLAKE2b-256(info.networkId)[0..8] LE as a decimal string');
      assert.ok(Array.isArray(m.parentMessageIds) && m.parentMessageIds.length >= 1);
      assert.deepEqual(m.parentMessageIds, [...m.parentMessageIds].sort());
      assert.equal(typeof m.nonce, 'string');
      assert.match(m.nonce, /^(0|[1-9][0-9]*)$/);
      assert.equal(m.payload.type, 2);
      assert.equal(m.payload.index, Converter.utf8ToHex(INDEX));
      assert.equal(m.payload.data, Converter.utf8ToHex(DATA));
      assert.equal(Converter.hexToUtf8(m.payload.data), DATA);
    })(t);
  });

  test('messageChildren() of a parent lists the message', async (t) => {
    await withLog(node, async () => {
      const m = await client.message(sent.messageId);
      const parent = m.parentMessageIds.find((p) => !/^0{64}$/.test(p));
      if (!parent) return; // only the solid entry point as parent: it has no stored children
      const ch = await client.messageChildren(parent);
      assert.equal(ch.messageId, parent);
      assert.ok(ch.childrenMessageIds.includes(sent.messageId));
    })(t);
  });

  test('messageMetadata() gets referencedByMilestoneIndex and noTransaction', async (t) => {
    await withLog(node, async () => {
      const meta = await waitFor('referencedByMilestoneIndex', async () => {
        const md = await client.messageMetadata(sent.messageId);
        return md.referencedByMilestoneIndex !== undefined ? md : null;
      }, 30000, 200);
      assert.equal(meta.messageId, sent.messageId);
      assert.equal(meta.isSolid, true);
      assert.equal(typeof meta.referencedByMilestoneIndex, 'number');
      assert.equal(meta.ledgerInclusionState, 'noTransaction');
      assert.equal(meta.conflictReason, undefined);
      assert.equal(meta.milestoneIndex, undefined, 'milestoneIndex only on milestone messages');
      const m = await client.message(sent.messageId);
      assert.deepEqual(meta.parentMessageIds, m.parentMessageIds);
      referencedBy = meta.referencedByMilestoneIndex;
    })(t);
  });

  test('messageRaw() round-trips through deserializeMessage/serializeMessage', async (t) => {
    await withLog(node, async () => {
      const raw = await client.messageRaw(sent.messageId);
      assert.ok(raw instanceof Uint8Array);
      assert.equal(hexOf(Blake2b.sum256(raw)), sent.messageId, 'BLAKE2b-256(raw) is the id');
      const decoded = iota.deserializeMessage(new ReadStream(raw));
      assert.equal(hexOf(serialize(decoded)), hexOf(raw));
      const m = await client.message(sent.messageId);
      assert.deepEqual(decoded, m, 'binary and JSON forms agree');
    })(t);
  });

  test('milestone(index) matches the milestone message', async (t) => {
    await withLog(node, async () => {
      assert.ok(referencedBy, 'needs the metadata test');
      const ms = await client.milestone(referencedBy);
      assert.equal(ms.index, referencedBy);
      assert.match(ms.messageId, HEX64);
      assert.equal(typeof ms.timestamp, 'number');
      assert.ok(Math.abs(ms.timestamp - Date.now() / 1000) < 600, `timestamp ${ms.timestamp} in seconds`);
      const m = await client.message(ms.messageId);
      assert.equal(m.payload.type, 1);
      assert.equal(m.payload.index, referencedBy);
      const raw = await client.messageRaw(ms.messageId);
      const decoded = iota.deserializeMessage(new ReadStream(raw));
      assert.equal(hexOf(serialize(decoded)), hexOf(raw));
      // TIP-13 writes "receipt": null; iota.js decodes a missing receipt as undefined
      assert.equal(m.payload.receipt, null);
      assert.equal(decoded.payload.receipt, undefined);
      delete m.payload.receipt;
      delete decoded.payload.receipt;
      assert.deepEqual(decoded, m, 'binary and JSON forms agree');
      const meta = await client.messageMetadata(ms.messageId);
      assert.equal(meta.milestoneIndex, referencedBy);
      assert.equal(meta.referencedByMilestoneIndex, referencedBy);
      assert.equal(meta.ledgerInclusionState, 'noTransaction');
    })(t);
  });

  test('unknown ids and milestones give 404 with a string error.code', async (t) => {
    await withLog(node, async () => {
      const unknown = 'ab'.repeat(32);
      await expectClientError(() => client.message(unknown), 404, 'message(unknown)');
      await expectClientError(() => client.messageMetadata(unknown), 404, 'messageMetadata(unknown)');
      await expectClientError(() => client.milestone(999999), 404, 'milestone(999999)');
      // the raw error body shape (TIP-13 ErrorResponse)
      const res = await fetch(`${node.url}/api/v1/messages/${unknown}`);
      assert.equal(res.status, 404);
      const body = await res.json();
      assert.equal(typeof body.error, 'object');
      assert.equal(typeof body.error.code, 'string');
      assert.equal(typeof body.error.message, 'string');
      await expectClientError(() => client.message('nothex'), 400, 'message(nothex)');
    })(t);
  });

  test('a message for another network is rejected with 400', async (t) => {
    await withLog(node, async () => {
      const tips = await client.tips();
      await expectClientError(() => client.messageSubmit({
        networkId: '1',
        parentMessageIds: tips.tipMessageIds,
        payload: { type: 2, index: Converter.utf8ToHex(INDEX), data: '00' },
        nonce: '0',
      }), 400, 'messageSubmit(networkId 1)');
    })(t);
  });

  test('given parents are kept', async (t) => {
    await withLog(node, async () => {
      const parents = [sent.messageId];
      const id = await client.messageSubmit({
        parentMessageIds: parents,
        payload: { type: 2, index: Converter.utf8ToHex(INDEX), data: Converter.utf8ToHex('child') },
      });
      const m = await client.message(id);
      assert.deepEqual(m.parentMessageIds, parents);
    })(t);
  });

  test('promote(): a message with parents and no payload is accepted', async (t) => {
    await withLog(node, async () => {
      const { messageId } = await iota.promote(client, sent.messageId);
      const m = await client.message(messageId);
      assert.ok(m.payload === null || m.payload === undefined, `payload ${JSON.stringify(m.payload)}`);
      const tips = m.parentMessageIds;
      assert.ok(tips.includes(sent.messageId), 'promote puts the message among the parents');
      assert.deepEqual(tips, [...tips].sort());
    })(t);
  });

  test('a message on old parents is lazy (shouldReattach) and reattach() gets it referenced', async (t) => {
    await withLog(node, async () => {
      const ms1 = await client.milestone(1);
      // TIP-3: lazy when LSMI - YMRSI > 8 (c1); milestone 1's message has YMRSI 1
      await waitFor('confirmed milestone 11', async () =>
        (await client.info()).confirmedMilestoneIndex >= 11, 60000, 250);
      const id = await client.messageSubmit({
        parentMessageIds: [ms1.messageId],
        payload: { type: 2, index: Converter.utf8ToHex(INDEX), data: Converter.utf8ToHex('late') },
      });
      const md = await waitFor('shouldReattach', async () => {
        const x = await client.messageMetadata(id);
        return x.shouldReattach === true ? x : null;
      }, 15000, 200);
      assert.equal(md.referencedByMilestoneIndex, undefined);
      assert.equal(md.ledgerInclusionState, undefined);
      const { messageId } = await iota.retry(client, id); // shouldReattach -> reattach
      assert.notEqual(messageId, id);
      const { meta } = await waitReferenced(t, client, messageId, 30000);
      assert.equal(meta.ledgerInclusionState, 'noTransaction');
      const copy = await client.message(messageId);
      assert.equal(Converter.hexToUtf8(copy.payload.data), 'late');
    })(t);
  });

  test('the node stops cleanly on SIGTERM (exit status 0)', async () => {
    const { code, signal } = await node.stop();
    const log = node.log().split('\n').slice(-30).join('\n');
    assert.equal(signal, null, `killed by ${signal}; log:\n${log}`);
    assert.equal(code, 0, `exit status ${code}; log:\n${log}`);
    node = null;
  });
});

describe(`p2pgrid node with min_pow_score ${POW_SCORE}: client-side PoW (LocalPowProvider)`, () => {
  let node;
  let plain;
  let pow;
  let powMsg; // { messageId, message } sent with LocalPowProvider

  before(async () => {
    // 5 s milestones: iota.js PoW takes seconds (about 3700 trials/s, 3^9
    // expected trials at score 100), and parents older than 8 milestones
    // would make the message lazy.
    // A long idle timeout on keep-alive connections: iota.js's LocalPowProvider
    // runs PoW on node's event loop, so for those seconds (tens of seconds on
    // a busy CI machine) undici cannot notice that the node closed the idle
    // socket it kept from GET /tips, and then writes the POST into a closed
    // connection ("other side closed"). Seen in CI with PoW > 30 s.
    node = await startNode({ minPowScore: POW_SCORE, interval: '5s',
                             set: ['api.connection_timeout=1h'] });
    plain = new SingleNodeClient(node.url);
    pow = new SingleNodeClient(node.url, { powProvider: new LocalPowProvider() });
    await waitFor('GET /health == 200', () => plain.health(), 30000, 200);
  });

  after(async () => {
    if (node) await node.stop();
  });

  test('info().minPoWScore is the configured score', async (t) => {
    await withLog(node, async () => {
      const info = await plain.info();
      assert.equal(info.minPoWScore, POW_SCORE);
    })(t);
  });

  test('a message whose nonce iota.js found is accepted unchanged', async (t) => {
    await withLog(node, async () => {
      powMsg = await iota.sendData(pow, `${INDEX}-pow`, 'nonce by iota.js');
      const m = powMsg.message; // messageSubmit filled networkId, parents and nonce in place
      assert.match(m.nonce, /^[0-9]+$/);
      const stored = await plain.message(powMsg.messageId);
      assert.equal(stored.nonce, m.nonce, 'the node kept the nonce iota.js computed');
      assert.deepEqual(stored.parentMessageIds, m.parentMessageIds, 'the node kept the parents');
      assert.equal(stored.networkId, m.networkId);
      const raw = await plain.messageRaw(powMsg.messageId);
      assert.equal(hexOf(raw), hexOf(serialize(m)));
      assert.ok(PowHelper.score(raw) >= POW_SCORE, `score ${PowHelper.score(raw)}`);
    })(t);
  });

  test('the same bytes with a wrong nonce are rejected with 400 (messageSubmitRaw)', async (t) => {
    await withLog(node, async () => {
      assert.ok(powMsg, 'needs the previous test');
      const raw = serialize(powMsg.message);
      // find a nonce that does not reach the score (almost any does not)
      let nonce = BigInt(powMsg.message.nonce) + 1n;
      const bad = Uint8Array.from(raw);
      for (;; nonce++) {
        new DataView(bad.buffer).setBigUint64(bad.length - 8, nonce, true);
        if (PowHelper.score(bad) < POW_SCORE) break;
      }
      const err = await expectClientError(() => plain.messageSubmitRaw(bad), 400,
        'messageSubmitRaw(wrong nonce)');
      assert.equal(err.code, '400');
      // and the message is not stored
      await expectClientError(() => plain.message(hexOf(Blake2b.sum256(bad))), 404,
        'message(rejected id)');
    })(t);
  });

  test('the same message as JSON with a wrong nonce is rejected with 400 (messageSubmit)', async (t) => {
    await withLog(node, async () => {
      const m = JSON.parse(JSON.stringify(powMsg.message));
      const raw = serialize(m);
      let nonce = BigInt(m.nonce) + 1n;
      for (;; nonce++) {
        new DataView(raw.buffer).setBigUint64(raw.length - 8, nonce, true);
        if (PowHelper.score(raw) < POW_SCORE) break;
      }
      m.nonce = nonce.toString();
      const err = await expectClientError(() => plain.messageSubmit(m), 400,
        'messageSubmit(wrong nonce)');
      assert.equal(err.code, '400');
    })(t);
  });

  test('messageSubmitRaw with a zero nonce and a powProvider: iota.js does the PoW', async (t) => {
    await withLog(node, async () => {
      const tips = await plain.tips();
      const bytes = serialize({
        networkId: '0',
        parentMessageIds: tips.tipMessageIds,
        payload: { type: 2, index: Converter.utf8ToHex(`${INDEX}-raw`), data: Converter.utf8ToHex('raw') },
        nonce: '0',
      });
      const id = await pow.messageSubmitRaw(bytes); // fills networkId and nonce in place
      assert.equal(id, hexOf(Blake2b.sum256(bytes)));
      assert.ok(PowHelper.score(bytes) >= POW_SCORE);
      assert.equal(hexOf(await plain.messageRaw(id)), hexOf(bytes));
    })(t);
  });

  test('a JSON message without nonce: the node does the PoW (remote PoW)', async (t) => {
    await withLog(node, async () => {
      const { messageId } = await iota.sendData(plain, `${INDEX}-remote`, 'nonce by the node');
      const raw = await plain.messageRaw(messageId);
      assert.ok(PowHelper.score(raw) >= POW_SCORE, `score ${PowHelper.score(raw)}`);
      const found = await plain.messagesFind(`${INDEX}-remote`);
      assert.ok(found.messageIds.includes(messageId));
    })(t);
  });

  test('PoW messages get referenced by a milestone', async (t) => {
    await withLog(node, async () => {
      const { meta } = await waitReferenced(t, pow, powMsg.messageId, 90000);
      assert.equal(meta.ledgerInclusionState, 'noTransaction');
    })(t);
  });

  test('the node stops cleanly on SIGTERM (exit status 0)', async () => {
    const { code, signal } = await node.stop();
    const log = node.log().split('\n').slice(-30).join('\n');
    assert.equal(signal, null, `killed by ${signal}; log:\n${log}`);
    assert.equal(code, 0, `exit status ${code}; log:\n${log}`);
    node = null;
  });
});
