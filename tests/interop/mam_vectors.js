#!/usr/bin/env node
// Prints MAM v0 test vectors made by @iota/mam.js 1.6.3 as one JSON object on
// stdout, for tests/unit/test_mam_vectors.c (which runs this script at test
// time, or reads its output from a file named by argv[1] / PG_MAM_VECTORS).
//
// Everything is deterministic: seeds, keys and messages come from a fixed
// xorshift generator, so two runs print the same bytes.
//
// Output:
//   channels[]: {name, messages[]: {message, stateBefore, stateAfter, payload,
//                root, nextRoot, address, attach?: {tag, index, data}}}
//               (states are mam.js channel-state objects; attach is the
//               indexation payload mamAttach submits, captured by a stub client)
//   fetch[]:    {root, mode, sideKey, candidates[] (data hex, in order),
//                result: null | {message, nextRoot, tag}} (mamFetch on a stub)
//   text[]:     {utf8, trytes}  stringToTrytes (utf8 = hex of the UTF-8 bytes)
//   fromTrytes[]: {trytes, utf8} stringFromTrytes
//   pack[]:     {trytes, hex};  unpack[]: {hex, trytes}
"use strict";

const mam = require("@iota/mam.js");
const { version } = require("@iota/mam.js/package.json");

if (version !== "1.6.3") {
  process.stderr.write(`mam_vectors.js: need @iota/mam.js 1.6.3, found ${version}\n`);
  process.exit(2);
}

const T = mam.TrytesHelper;
const ALPHABET = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ";

let rng = 0x2545f491;
function rand(n) {
  rng ^= rng << 13;
  rng >>>= 0;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  rng >>>= 0;
  return rng % n;
}
function trytes(n) {
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHABET[rand(27)];
  return s;
}
const hex = (u8) => Buffer.from(u8).toString("hex");
const utf8hex = (s) => Buffer.from(s, "utf8").toString("hex");

// A stub node client: records what mamAttach submits, serves fetch candidates.
function captureClient() {
  const c = {
    submitted: null,
    async messageSubmit(message) {
      c.submitted = message;
      return "00".repeat(32);
    },
  };
  return c;
}
function fetchClient(datas) {
  return {
    async messagesFind() {
      return { messageIds: datas.map((_, i) => i.toString(16).padStart(64, "0")) };
    },
    async message(id) {
      const d = datas[parseInt(id, 16)];
      if (d === null) throw new Error("not found");
      return { payload: { type: 2, index: "00", data: d } };
    },
  };
}

const MESSAGES = [
  () => "HELLOWORLD",
  () => T.objectToTrytes({ startTime: 1700000000000, endTime: 1700000900000, output: 1234 }),
  () => "A",
  () => trytes(81), // exactly one 243-trit chunk
  () => trytes(200), // several chunks and a partial one
  () => T.stringToTrytes("usage: 42 Wh \u00e9t\u00e9 \u{1F50B}"),
  () => "9".repeat(10),
];

const CASES = [
  { name: "public-1", mode: "public", security: 1, messages: 2 },
  { name: "public-2-seedA", mode: "public", security: 2, messages: 2, seed: "A".repeat(81) },
  { name: "public-3", mode: "public", security: 3, messages: 1 },
  { name: "private-1", mode: "private", security: 1, messages: 2 },
  { name: "private-2-count2", mode: "private", security: 2, messages: 3, count: 2 },
  { name: "private-3", mode: "private", security: 3, messages: 1 },
  { name: "restricted-1-MYKEY", mode: "restricted", security: 1, messages: 2, sideKey: "MYKEY" },
  { name: "restricted-1-count4", mode: "restricted", security: 1, messages: 5, count: 4, sideKey: trytes(81) },
  { name: "restricted-3-count2", mode: "restricted", security: 3, messages: 2, count: 2, sideKey: "A" },
  { name: "restricted-2-seed9-count2", mode: "restricted", security: 2, messages: 3, count: 2, seed: "9".repeat(81), sideKey: "Z".repeat(40) },
  // mam.js quirk kept for byte identity: count != nextCount
  { name: "public-1-count2-next1", mode: "public", security: 1, messages: 3, count: 2, nextCount: 1 },
];

async function main() {
  const out = { generator: `@iota/mam.js ${version}`, channels: [], fetch: [], text: [], fromTrytes: [], pack: [], unpack: [] };
  let msgNo = 0;
  for (const c of CASES) {
    const seed = c.seed || trytes(81);
    const ch = mam.createChannel(seed, c.security, c.mode, c.sideKey);
    if (c.count) ch.count = c.count;
    ch.nextCount = c.nextCount || ch.count;
    const entry = { name: c.name, messages: [] };
    for (let k = 0; k < c.messages; k++) {
      const message = MESSAGES[msgNo++ % MESSAGES.length]();
      const stateBefore = JSON.parse(JSON.stringify(ch));
      const m = mam.createMessage(ch, message);
      const parsed = mam.parseMessage(m.payload, m.root, c.sideKey);
      if (parsed.message !== message) throw new Error(`${c.name}: mam.js cannot parse its message ${k}`);
      const v = {
        message, stateBefore, stateAfter: JSON.parse(JSON.stringify(ch)),
        payload: m.payload, root: m.root, nextRoot: parsed.nextRoot, address: m.address,
      };
      if (k === 0) {
        const client = captureClient();
        const tag = c.security === 2 ? undefined : "MAMTAG" + ALPHABET[c.security];
        await mam.mamAttach(client, m, tag);
        v.attach = { tag: tag || "", index: client.submitted.payload.index, data: client.submitted.payload.data };
        // fetch: unusable candidates first, then a tampered copy, then the real one
        const data = client.submitted.payload.data;
        const tampered = data.slice(0, 200) + (data[200] === "0" ? "1" : "0") + data.slice(201);
        const candidates = [null, "00".repeat(100), data.slice(0, 300), tampered, "ff".repeat(120), data];
        const fetched = await mam.mamFetch(fetchClient(candidates), m.root, c.mode, c.sideKey);
        out.fetch.push({
          root: m.root, mode: c.mode, sideKey: c.sideKey || null,
          candidates: candidates.filter((x) => x !== null),
          result: fetched ? { message: fetched.message, nextRoot: fetched.nextRoot, tag: fetched.tag } : null,
        });
        // wrong key: nothing verifies
        if (c.mode === "restricted") {
          const none = await mam.mamFetch(fetchClient([data]), m.root, c.mode, "WRONGKEY");
          out.fetch.push({ root: m.root, mode: c.mode, sideKey: "WRONGKEY", candidates: [data], result: none ? none : null });
        }
      }
      entry.messages.push(v);
    }
    out.channels.push(entry);
  }

  const texts = ["", "Hi{}", "{\"a\":1}", "hello world", "caf\u00e9 \u20ac 100", "\u{1F600}\u{1F50B}", "\x7f\x00\x01~",
    "tab\tnew\nline \\ back\\slash \"q\"", "\\u0041 literal escape", "\u00ff\u0100\u07ff\u0800\uffff"];
  for (const s of texts) out.text.push({ utf8: utf8hex(s), trytes: T.stringToTrytes(s) });
  const fromT = ["", "9", "99", "RBXCODQD", "RBXCODQD999", "RBX", "A", "ZZZZZZ", "NDNDNDND", trytes(30), trytes(31),
    T.fromAscii("\\u00e9\\u00zz\\u0x41\\uD83D\\uDE00\\uD83D \\U00E9 \\u12"), T.fromAscii("\\\\u0041"), "9A9A9A99"];
  for (const s of fromT) out.fromTrytes.push({ trytes: s, utf8: utf8hex(T.stringFromTrytes(s)) });
  for (let n = 0; n <= 20; n++) {
    const s = trytes(n);
    out.pack.push({ trytes: s, hex: hex(T.packTrytes(s)) });
  }
  for (let n = 0; n <= 24; n++) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = rand(256);
    if (n === 3) b.set([0xff, 0x08, 0x35]);
    out.unpack.push({ hex: hex(b), trytes: T.unpackTrytes(b) });
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stderr.write(`mam_vectors.js: ${e.stack || e}\n`);
  process.exit(1);
});
