// Interop: MAM v0 channels between `p2pgrid mam publish/read` and the
// official @iota/mam.js 1.6.3 (with an @iota/iota.js 1.8.6 SingleNodeClient),
// through a real `p2pgrid node` (min_pow_score 0, coordinator 1 s).
//
//   P2PGRID=build/test/p2pgrid node --test tests/interop/mam.test.js
//
// (a) p2pgrid writes 10 messages per mode, mam.js mamFetchAll reads them;
// (b) mam.js writes 5 per mode, `p2pgrid mam read` prints them;
// (c) wrong side key, wrong root, tampered payloads, junk data under a
//     channel's index: our reader refuses them with a clear message, picks the
//     genuine message beside a tampered one, and never crashes;
// (d) trees of count 4 (mam.js createChannel, then count = nextCount = 4):
//     `p2pgrid mam read` prints every message in order, stops at a leaf that
//     is not attached yet and resumes there, prints a twice-attached message
//     once; mam.js 1.6.3's own mamFetchAll returns one message per tree (the
//     known mam.js limit: it jumps to nextRoot after the first message it
//     finds at a root); `mam publish` continues a mam.js count-4 state;
// plus the state-file rules of publish and `read --follow` stopping on SIGTERM.
// mam.js signs in JavaScript (about 0.5-2 s a message), hence the counts.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

let mam;
let iota;
let Blake2b;
let Converter;
try {
  mam = require('@iota/mam.js');
  iota = require('@iota/iota.js');
  ({ Blake2b } = require('@iota/crypto.js'));
  ({ Converter } = require('@iota/util.js'));
} catch (err) {
  throw new Error(`npm packages missing (${err.message}); run scripts/bootstrap ` +
    '(or npm ci in tests/interop)');
}
const { startNode, waitFor } = require('./lib/harness.js');

const { TrytesHelper } = mam;
const ALPHABET = '9ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const TRYTES81 = /^[9A-Z]{81}$/;
const RUN_TIMEOUT_MS = 120000;
const SIDE_KEY = 'PGRIDINTEROPSIDEKEY';

function randomTrytes(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[crypto.randomInt(27)];
  return s;
}

/** Runs the p2pgrid binary; resolves to { code, signal, stdout, stderr }. */
function p2pgrid(args, { timeoutMs = RUN_TIMEOUT_MS } = {}) {
  const bin = process.env.P2PGRID;
  if (!bin) throw new Error('P2PGRID is not set: point it at the p2pgrid binary');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s) => { stdout += s; });
    child.stderr.on('data', (s) => { stderr += s; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function describeRun(r) {
  return `exit ${r.code} signal ${r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** A run that must not have crashed (no signal, no sanitizer report). */
function assertNoCrash(r, what) {
  assert.equal(r.signal, null, `${what}: killed by ${r.signal}\n${describeRun(r)}`);
  assert.ok(r.code === 0 || r.code === 1 || r.code === 2, `${what}: ${describeRun(r)}`);
  assert.doesNotMatch(r.stderr, /Sanitizer|runtime error/, `${what}: ${describeRun(r)}`);
}

function field(out, name) {
  const m = new RegExp(`^${name}: (.*)$`, 'm').exec(out);
  return m ? m[1] : undefined;
}

/** Parses `mam read` plain output into [{root, messageId, tag, nextRoot, message}]. */
function parseRead(out) {
  const blocks = out.split('\n\n').filter((b) => b.trim().length > 0);
  return blocks.map((b) => ({
    root: field(b, 'root'),
    messageId: field(b, 'message_id'),
    tag: field(b, 'tag'),
    nextRoot: field(b, 'next_root'),
    message: field(b, 'message'),
  }));
}

function modeArgs(mode, sideKey) {
  const a = ['--mode', mode];
  if (sideKey) a.push('--side-key', sideKey);
  return a;
}

const MODES = [
  { mode: 'public', sideKey: undefined },
  { mode: 'private', sideKey: undefined },
  { mode: 'restricted', sideKey: SIDE_KEY },
];

describe('MAM channels: p2pgrid mam <-> @iota/mam.js 1.6.3 through p2pgrid node', () => {
  let node;
  let client;
  let tmp;

  const withLog = (fn) => async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const log = node ? node.log().split('\n').slice(-30).join('\n') : '';
      err.message += `\n--- last node log lines ---\n${log}`;
      throw err;
    }
  };

  async function publish(state, text, extra = []) {
    const r = await p2pgrid(['mam', 'publish', '--node', node.url, '--state', state,
      ...extra, text]);
    assertNoCrash(r, `publish ${text}`);
    assert.equal(r.code, 0, `publish ${text}: ${describeRun(r)}`);
    const out = {
      root: field(r.stdout, 'root'),
      address: field(r.stdout, 'address'),
      messageId: field(r.stdout, 'message_id'),
      nextRoot: field(r.stdout, 'next_root'),
    };
    assert.match(out.root ?? '', TRYTES81, describeRun(r));
    assert.match(out.address ?? '', TRYTES81, describeRun(r));
    assert.match(out.messageId ?? '', /^[0-9a-f]{64}$/, describeRun(r));
    assert.match(out.nextRoot ?? '', TRYTES81, describeRun(r));
    return out;
  }

  function read(root, mode, sideKey, extra = []) {
    return p2pgrid(['mam', 'read', '--node', node.url, '--root', root,
      ...modeArgs(mode, sideKey), ...extra]);
  }

  /** mam.js writes `texts` to a new channel; returns { root, channel, messages }. */
  async function mamJsWrite(mode, sideKey, security, texts, tag) {
    const channel = mam.createChannel(randomTrytes(81), security, mode, sideKey);
    const root = mam.channelRoot(channel);
    const messages = [];
    for (const text of texts) {
      const m = mam.createMessage(channel, TrytesHelper.stringToTrytes(text));
      await mam.mamAttach(client, m, tag);
      messages.push(m);
    }
    return { root, channel, messages };
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pgrid-mam-interop-'));
    // mam.js builds channels and messages synchronously on node's event loop
    // (Curl-P in JavaScript: tens of seconds for a count-4 tree on a busy CI
    // machine), so undici cannot notice that the node closed an idle socket
    // and writes the next request into it ("other side closed"); the node
    // keeps idle connections for the whole test (as in node.test.js).
    node = await startNode({ minPowScore: 0, set: ['api.connection_timeout=1h'] });
    client = new iota.SingleNodeClient(node.url);
    await waitFor('GET /health == 200', () => client.health(), 30000, 200);
  });

  after(async () => {
    if (node) await node.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // ---- (a) p2pgrid writes, mam.js reads ----
  for (const [mi, { mode, sideKey }] of MODES.entries()) {
    test(`(a) ${mode}: p2pgrid publishes 10 messages, mam.js mamFetchAll reads all 10 in order`,
      { timeout: 300000 }, withLog(async () => {
        const state = path.join(tmp, `a-${mode}.json`);
        const texts = [];
        for (let i = 0; i < 10; i++) texts.push(`p2pgrid ${mode} message ${i}: ${i * 111} Wh`);
        // a non-ASCII one: mam.js escapes it as \uXXXX, so must we
        texts[3] = `p2pgrid ${mode} \u00e9t\u00e9 \u{1F50B} 3`;
        const published = [];
        for (let i = 0; i < texts.length; i++) {
          const extra = i === 0 ? [...modeArgs(mode, sideKey), '--security', String(mi + 1)] : [];
          published.push(await publish(state, texts[i], extra));
        }
        const st = fs.statSync(state);
        assert.equal(st.mode & 0o777, 0o600, 'the state file must be mode 0600');
        const saved = JSON.parse(fs.readFileSync(state, 'utf8'));
        assert.equal(saved.mode, mode);
        assert.equal(saved.start, 10, 'the saved state moved past 10 leaves');
        for (let i = 1; i < published.length; i++) {
          assert.equal(published[i].root, published[i - 1].nextRoot, `root of message ${i}`);
        }
        assert.equal(saved.nextRoot, published[9].nextRoot);

        const fetched = await mam.mamFetchAll(client, published[0].root, mode, sideKey);
        assert.equal(fetched.length, 10, `mam.js read ${fetched.length} of 10 messages`);
        for (let i = 0; i < 10; i++) {
          assert.equal(fetched[i].root, published[i].root, `root of message ${i}`);
          assert.equal(fetched[i].nextRoot, published[i].nextRoot, `nextRoot of message ${i}`);
          assert.equal(TrytesHelper.stringFromTrytes(fetched[i].message), texts[i], `text of message ${i}`);
        }
        // the address we print is the one mam.js derives from the root
        if (mode === 'public') assert.equal(published[0].address, published[0].root);

        // and our own reader agrees
        const r = await read(published[0].root, mode, sideKey);
        assert.equal(r.code, 0, describeRun(r));
        assert.deepEqual(parseRead(r.stdout).map((m) => m.message), texts);
      }));
  }

  test('(a) --trytes publishes trytes as they are; --tag is kept', { timeout: 120000 },
    withLog(async () => {
      const state = path.join(tmp, 'a-trytes.json');
      const p = await publish(state, 'HELLOWORLD', ['--trytes', '--tag', 'PGRIDTAG']);
      const f = await mam.mamFetch(client, p.root, 'public');
      assert.ok(f, 'mam.js finds the message');
      assert.equal(f.message, 'HELLOWORLD');
      assert.equal(f.tag, 'PGRIDTAG');
      const r = await read(p.root, 'public', undefined, ['--trytes']);
      assert.equal(r.code, 0, describeRun(r));
      const [m] = parseRead(r.stdout);
      assert.equal(m.message, 'HELLOWORLD');
      assert.equal(m.tag, 'PGRIDTAG');
      assert.equal(m.messageId, p.messageId);
    }));

  // ---- (b) mam.js writes, p2pgrid reads ----
  const written = {};
  for (const { mode, sideKey } of MODES) {
    test(`(b) ${mode}: mam.js mamAttach writes 5 messages, p2pgrid mam read prints them in order`,
      { timeout: 300000 }, withLog(async () => {
        const texts = [];
        for (let i = 0; i < 5; i++) texts.push(`mam.js ${mode} message ${i} {"output":${i * 7}}`);
        const security = mode === 'public' ? 2 : 1;
        const tag = mode === 'private' ? 'MAMJSTAG' : undefined;
        const w = await mamJsWrite(mode, sideKey, security, texts, tag);
        written[mode] = w;

        const r = await read(w.root, mode, sideKey);
        assertNoCrash(r, 'read');
        assert.equal(r.code, 0, describeRun(r));
        const got = parseRead(r.stdout);
        assert.deepEqual(got.map((m) => m.message), texts, describeRun(r));
        assert.equal(got[0].root, w.root);
        for (let i = 0; i < got.length; i++) {
          assert.equal(got[i].root, w.messages[i].root, `root ${i}`);
          assert.match(got[i].messageId, /^[0-9a-f]{64}$/);
          assert.equal(got[i].tag, tag, `tag ${i}`);
          if (i > 0) assert.equal(got[i].root, got[i - 1].nextRoot);
        }

        // --json and --limit
        const j = await read(w.root, mode, sideKey, ['--json', '--limit', '3']);
        assert.equal(j.code, 0, describeRun(j));
        const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
        assert.deepEqual(lines.map((l) => l.message), texts.slice(0, 3));
        assert.equal(lines[2].nextRoot, w.messages[3].root);
      }));
  }

  // ---- (c) what the reader must refuse ----
  test('(c) wrong side key, wrong mode, wrong root, bad arguments: clear errors, no crash',
    { timeout: 120000 }, withLog(async () => {
      const w = written.restricted;
      assert.ok(w, 'needs the restricted channel of (b)');

      let r = await read(w.root, 'restricted', 'WRONGSIDEKEY');
      assertNoCrash(r, 'wrong side key');
      assert.equal(r.code, 1, describeRun(r));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`no message at root ${w.root}: 1 message under its ` +
        'address .* none verifies in restricted mode with this side key'), describeRun(r));

      r = await read(written.private.root, 'restricted', SIDE_KEY);
      assertNoCrash(r, 'wrong mode');
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, /no message at root/);

      const wrongRoot = randomTrytes(81);
      r = await read(wrongRoot, 'public');
      assertNoCrash(r, 'wrong root');
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, new RegExp(`no message at root ${wrongRoot} \\(public mode; nothing ` +
        'under its address'), describeRun(r));

      r = await read(wrongRoot.slice(0, 80), 'public');
      assertNoCrash(r, 'short root');
      assert.equal(r.code, 2, describeRun(r));
      assert.match(r.stderr, /bad root: it must be 81 trytes, it has 80 characters/);

      r = await read(`${wrongRoot.slice(0, 80)}a`, 'public');
      assert.equal(r.code, 2, describeRun(r));
      assert.match(r.stderr, /bad root: it must be trytes/);

      r = await read(w.root, 'restricted', 'bad-key');
      assert.equal(r.code, 2, describeRun(r));
      assert.match(r.stderr, /bad side key 'bad-key'/);

      r = await read(w.root, 'restricted', undefined);
      assert.equal(r.code, 2, describeRun(r));
      assert.match(r.stderr, /restricted mode needs --side-key/);

      r = await read(w.root, 'sideways', undefined);
      assert.equal(r.code, 2, describeRun(r));
      assert.match(r.stderr, /bad mode 'sideways'/);

      r = await p2pgrid(['mam', 'read', '--node', 'http://127.0.0.1:1', '--root', w.root]);
      assertNoCrash(r, 'unreachable node');
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, /cannot reach the node at http:\/\/127\.0\.0\.1:1/);
    }));

  test('(c) tampered payloads at a root are skipped; the genuine one beside them is read',
    { timeout: 120000 }, withLog(async () => {
      const channel = mam.createChannel(randomTrytes(81), 1, 'restricted', SIDE_KEY);
      const genuine = mam.createMessage(channel, TrytesHelper.stringToTrytes('genuine reading 42 Wh'));
      const next = mam.createMessage(channel, TrytesHelper.stringToTrytes('second reading 43 Wh'));
      const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      // in the masked message / signature, and in the pascal header
      const inBody = { ...genuine, payload: flip(genuine.payload, 200) };
      const inSig = { ...genuine, payload: flip(genuine.payload, genuine.payload.length - 500) };
      const inHeader = { ...genuine, payload: flip(genuine.payload, 1) };
      for (const bad of [inBody, inSig, inHeader]) await mam.mamAttach(client, bad);
      // junk under the same index: short data, random bytes, an empty-ish payload
      const index = Blake2b.sum256(Converter.utf8ToBytes(genuine.address));
      for (const data of [new Uint8Array(10), crypto.randomBytes(300), crypto.randomBytes(2000)]) {
        await client.messageSubmit({
          payload: { type: 2, index: Converter.bytesToHex(index), data: Converter.bytesToHex(data) },
        });
      }

      let r = await read(genuine.root, 'restricted', SIDE_KEY);
      assertNoCrash(r, 'tampered only');
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, /no message at root .*: 6 messages under its address .* none verifies/,
        describeRun(r));

      await mam.mamAttach(client, genuine);
      await mam.mamAttach(client, next);
      r = await read(genuine.root, 'restricted', SIDE_KEY);
      assertNoCrash(r, 'tampered + genuine');
      assert.equal(r.code, 0, describeRun(r));
      const got = parseRead(r.stdout);
      assert.deepEqual(got.map((m) => m.message), ['genuine reading 42 Wh', 'second reading 43 Wh']);
      // mam.js agrees
      const f = await mam.mamFetchAll(client, genuine.root, 'restricted', SIDE_KEY);
      assert.deepEqual(f.map((m) => TrytesHelper.stringFromTrytes(m.message)),
        ['genuine reading 42 Wh', 'second reading 43 Wh']);
    }));

  // ---- (d) trees of count > 1 ----
  test('(d) mam.js count 4: p2pgrid mam read prints all 10 messages in order, mamFetchAll 3',
    { timeout: 300000 }, withLog(async () => {
      const channel = mam.createChannel(randomTrytes(81), 1, 'restricted', SIDE_KEY);
      channel.count = 4;
      channel.nextCount = 4;
      const root = mam.channelRoot(channel);
      const texts = [];
      for (let i = 0; i < 10; i++) texts.push(`count-4 reading ${i}: ${100 + i} Wh`);
      const messages = texts.map((t) => {
        const m = mam.createMessage(channel, TrytesHelper.stringToTrytes(t));
        return { ...m, nextRoot: channel.nextRoot }; // what the message announces
      });
      // three trees: leaves 0-3, 0-3, 0-1; every message of a tree has its root
      assert.equal(new Set(messages.map((m) => m.root)).size, 3);
      assert.equal(messages[3].root, root);
      assert.equal(messages[4].root, messages[0].nextRoot);
      // attach all but message 5 (leaf 1 of the second tree), message 2 twice
      for (let i = 0; i < 10; i++) if (i !== 5) await mam.mamAttach(client, messages[i]);
      await mam.mamAttach(client, messages[2], 'AGAIN'); // the same payload, another message id

      let r = await read(root, 'restricted', SIDE_KEY);
      assertNoCrash(r, 'read with a missing leaf');
      assert.equal(r.code, 0, describeRun(r));
      let got = parseRead(r.stdout);
      assert.deepEqual(got.map((m) => m.message), texts.slice(0, 5), describeRun(r));
      assert.match(r.stderr, new RegExp(`leaf 1 of the tree at root ${messages[5].root} is not ` +
        `attached \\(yet\\); 2 messages of later leaves wait for it \\(resume with --root ` +
        `${messages[5].root} --leaf 1\\)`), describeRun(r));

      await mam.mamAttach(client, messages[5]);
      r = await read(messages[5].root, 'restricted', SIDE_KEY, ['--leaf', '1', '--json']);
      assert.equal(r.code, 0, describeRun(r));
      const resumed = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(resumed.map((m) => m.message), texts.slice(5), describeRun(r));
      assert.deepEqual(resumed.map((m) => m.leaf), [1, 2, 3, 0, 1]);

      r = await read(root, 'restricted', SIDE_KEY, ['--json']);
      assert.equal(r.code, 0, describeRun(r));
      got = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(got.map((m) => m.message), texts, describeRun(r));
      assert.deepEqual(got.map((m) => m.leaf), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
      assert.ok(got.every((m) => m.count === 4));
      for (let i = 0; i < 10; i++) {
        assert.equal(got[i].root, messages[i].root, `root ${i}`);
        assert.equal(got[i].nextRoot, messages[i].nextRoot, `nextRoot ${i}`);
      }

      // mam.js's own reader: one message per tree (which one depends on the
      // node's order), so 3 of the 10 — the limit p2pgrid does not have
      const fetched = await mam.mamFetchAll(client, root, 'restricted', SIDE_KEY);
      assert.equal(fetched.length, 3, 'mam.js 1.6.3 mamFetchAll reads one message per tree');
      assert.deepEqual(fetched.map((m) => m.root), [messages[0].root, messages[4].root,
        messages[8].root]);
      for (const f of fetched) assert.ok(texts.includes(TrytesHelper.stringFromTrytes(f.message)));
    }));

  test('(d) mam publish continues a mam.js count-4 state file at the next leaf of the tree',
    { timeout: 120000 }, withLog(async () => {
      const channel = mam.createChannel(randomTrytes(81), 1, 'private');
      channel.count = 4;
      channel.nextCount = 4;
      const root = mam.channelRoot(channel);
      for (const t of ['js 0', 'js 1']) {
        await mam.mamAttach(client, mam.createMessage(channel, TrytesHelper.stringToTrytes(t)));
      }
      const state = path.join(tmp, 'd-count4.json');
      fs.writeFileSync(state, JSON.stringify(channel), { mode: 0o600 });
      const p = await publish(state, 'p2pgrid 2');
      assert.equal(p.root, root, 'leaf 2 of the same tree');
      const saved = JSON.parse(fs.readFileSync(state, 'utf8'));
      assert.equal(saved.index, 3);
      assert.equal(saved.count, 4);
      const q = await publish(state, 'p2pgrid 3');
      assert.equal(q.root, root, 'leaf 3 of the same tree');
      const r = await read(root, 'private');
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(parseRead(r.stdout).map((m) => m.message),
        ['js 0', 'js 1', 'p2pgrid 2', 'p2pgrid 3']);
    }));

  // ---- publish: state file rules ----
  test('publish: options must match an existing state file; bad input is refused',
    { timeout: 120000 }, withLog(async () => {
      const state = path.join(tmp, 'rules.json');
      const p = await publish(state, 'first', ['--mode', 'restricted', '--side-key', 'KEYA',
        '--security', '1']);
      const before = fs.readFileSync(state, 'utf8');
      const bad = async (args, re, code = 2) => {
        const r = await p2pgrid(['mam', 'publish', '--node', node.url, '--state', state, ...args]);
        assertNoCrash(r, args.join(' '));
        assert.equal(r.code, code, `${args.join(' ')}: ${describeRun(r)}`);
        assert.match(r.stderr, re, describeRun(r));
        assert.equal(fs.readFileSync(state, 'utf8'), before, 'the state file is unchanged');
      };
      await bad(['--mode', 'public', 'x'], /--mode public does not match the channel .*\(restricted\)/);
      await bad(['--side-key', 'KEYB', 'x'], /--side-key does not match/);
      await bad(['--security', '2', 'x'], /--security 2 does not match .*\(security 1\)/);
      await bad(['--security', '4', 'x'], /bad security '4'/);
      await bad(['--trytes', 'not trytes'], /MESSAGE must be trytes/);
      await bad([], /MESSAGE is missing/);
      await bad(['a', 'b'], /exactly one MESSAGE/);
      await bad(['--tag', 'x'.repeat(30), 'x'], /bad tag/);
      // the node is down: nothing changes
      const r = await p2pgrid(['mam', 'publish', '--node', 'http://127.0.0.1:1', '--state', state, 'x']);
      assertNoCrash(r, 'unreachable');
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, /cannot reach the node at http:\/\/127\.0\.0\.1:1/);
      assert.equal(fs.readFileSync(state, 'utf8'), before);
      // matching options may be repeated
      const q = await publish(state, 'second', ['--mode', 'restricted', '--side-key', 'KEYA']);
      assert.equal(q.root, p.nextRoot);
      // a new file: restricted without a key, a key without restricted
      const other = path.join(tmp, 'rules-new.json');
      for (const [args, re] of [[['--mode', 'restricted', 'x'], /restricted mode needs --side-key/],
        [['--side-key', 'KEY', 'x'], /only used in restricted mode/],
        [['--mode', 'restricted', '--side-key', 'k9', 'x'], /bad side key 'k9'/]]) {
        const rr = await p2pgrid(['mam', 'publish', '--node', node.url, '--state', other, ...args]);
        assert.equal(rr.code, 2, describeRun(rr));
        assert.match(rr.stderr, re, describeRun(rr));
        assert.ok(!fs.existsSync(other), 'no state file for a refused channel');
      }
    }));

  test('publish: a state file that missed its save skips the used root instead of signing again',
    { timeout: 120000 }, withLog(async () => {
      const state = path.join(tmp, 'recover.json');
      await publish(state, 'one');
      const saved = fs.readFileSync(state);
      const two = await publish(state, 'two');
      fs.writeFileSync(state, saved, { mode: 0o600 }); // as if killed before the save of "two"
      const three = await publish(state, 'three');
      assert.equal(three.root, two.nextRoot, 'publish moved past the used root');
      const r = await read(two.root, 'public');
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(parseRead(r.stdout).map((m) => m.message), ['two', 'three']);
    }));

  test('publish: parallel publishers of one state file take turns (no leaf used twice)',
    { timeout: 120000 }, withLog(async () => {
      const state = path.join(tmp, 'parallel.json');
      const first = await publish(state, 'p0', ['--mode', 'private', '--security', '1']);
      const texts = ['p1', 'p2', 'p3', 'p4'];
      const outs = await Promise.all(texts.map((t) => publish(state, t)));
      const roots = new Set([first.root, ...outs.map((o) => o.root)]);
      assert.equal(roots.size, 5, 'every publish got its own root');
      const r = await read(first.root, 'private');
      assert.equal(r.code, 0, describeRun(r));
      const got = parseRead(r.stdout).map((m) => m.message);
      assert.equal(got.length, 5, describeRun(r));
      assert.equal(got[0], 'p0');
      assert.deepEqual([...got.slice(1)].sort(), texts);
    }));

  test('read --follow prints new messages as they come and stops cleanly on SIGTERM',
    { timeout: 120000 }, withLog(async () => {
      const state = path.join(tmp, 'follow.json');
      const first = await publish(state, 'follow 0', ['--mode', 'private']);
      const child = spawn(process.env.P2PGRID, ['mam', 'read', '--node', node.url, '--root',
        first.root, '--mode', 'private', '--follow', '--interval', '100ms', '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (s) => { stdout += s; });
      child.stderr.on('data', (s) => { stderr += s; });
      const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      try {
        const lines = () => stdout.split('\n').filter((l) => l).map((l) => JSON.parse(l).message);
        await waitFor('the first message', () => lines().length === 1, 30000);
        for (let i = 1; i <= 3; i++) {
          await publish(state, `follow ${i}`);
          await waitFor(`message ${i} printed by --follow`, () => lines().length === i + 1, 30000);
        }
        assert.deepEqual(lines(), ['follow 0', 'follow 1', 'follow 2', 'follow 3']);
      } finally {
        child.kill('SIGTERM');
      }
      const { code, signal } = await exited;
      assert.equal(signal, null, `killed by ${signal}; stderr: ${stderr}`);
      assert.equal(code, 0, `exit ${code}; stderr: ${stderr}`);
      assert.match(stderr, /stopped after 4 messages; next root [9A-Z]{81}/);
    }));

  test('help: p2pgrid mam, mam publish --help, mam read --help', { timeout: 30000 }, async () => {
    for (const args of [['mam', '--help'], ['mam', 'publish', '--help'], ['mam', 'read', '--help'],
      ['help', 'mam']]) {
      const r = await p2pgrid(args);
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stdout, /usage: p2pgrid mam/);
    }
    const r = await p2pgrid(['mam', 'frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown subcommand 'frobnicate'/);
  });
});
