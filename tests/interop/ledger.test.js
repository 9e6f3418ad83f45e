// Interop (issue 3): value transfers between @iota/iota.js 1.8.6 and the
// p2pgrid ledger and wallet, through a real `p2pgrid node`.
//
//   P2PGRID=build/test/p2pgrid node --test tests/interop/ledger.test.js
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const iota = require('@iota/iota.js');
const { Converter, ReadStream } = require('@iota/util.js');
const { startNode, waitFor } = require('./lib/harness.js');

const {
  SingleNodeClient, Ed25519Seed, Ed25519Address, Bech32Helper, generateBip44Address,
  ED25519_ADDRESS_TYPE, getBalance, send, deserializeMessage,
} = iota;
const { Bip32Path } = require('@iota/crypto.js');

const HRP = 'atoi';
const GENESIS = 1000000000; // 1 Gi on seed A's first address

function run(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.env.P2PGRID, args, { env: { ...process.env, ...env }, timeout: 120000 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

function addressOf(seed, account, change, index) {
  const path = new Bip32Path(`m/44'/4218'/${account}'/${change}'/${index}'`);
  const kp = seed.generateSeedFromPath(path).keyPair();
  return new Ed25519Address(kp.publicKey).toAddress();
}

function bech32(addr) {
  return Bech32Helper.toBech32(ED25519_ADDRESS_TYPE, addr, HRP);
}

async function confirmed(client, id) {
  return waitFor(`message ${id} to be referenced`, async () => {
    const m = await client.messageMetadata(id);
    return m.referencedByMilestoneIndex ? m : null;
  }, 60000, 200);
}

describe('ledger and wallet against iota.js', () => {
  const seedA = crypto.randomBytes(32).toString('hex');
  const seedB = crypto.randomBytes(32).toString('hex');
  const edA = new Ed25519Seed(Converter.hexToBytes(seedA));
  const edB = new Ed25519Seed(Converter.hexToBytes(seedB));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pgrid-ledger-'));
  const fileA = path.join(tmp, 'a.seed');
  const fileB = path.join(tmp, 'b.seed');
  let node;
  let client;

  before(async () => {
    fs.writeFileSync(fileA, `${seedA}\n`, { mode: 0o600 });
    fs.writeFileSync(fileB, `${seedB}\n`, { mode: 0o600 });
    const genesis = `${bech32(addressOf(edA, 0, 0, 0))}:${GENESIS}`;
    node = await startNode({ set: [`ledger.genesis=${genesis}`] });
    client = new SingleNodeClient(node.url);
    await waitFor('first milestone', async () => (await client.info()).confirmedMilestoneIndex > 0);
  });

  after(async () => {
    if (node) await node.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('our wallet derives the same first 20 addresses as generateBip44Address', async () => {
    const want = [];
    const state = { accountIndex: 0, addressIndex: 0, isInternal: false };
    for (let i = 0; i < 20; i++) {
      const p = generateBip44Address(state);
      const kp = edA.generateSeedFromPath(new Bip32Path(p)).keyPair();
      want.push({ path: p, bech32: bech32(new Ed25519Address(kp.publicKey).toAddress()) });
    }
    const ext = await run(['wallet', 'address', '--seed-file', fileA, '--hrp', HRP, '--count', '10']);
    const int = await run(['wallet', 'address', '--seed-file', fileA, '--hrp', HRP, '--count', '10',
      '--change', '1']);
    assert.equal(ext.code, 0, ext.stderr);
    assert.equal(int.code, 0, int.stderr);
    const ours = { 0: ext.stdout.trim().split('\n'), 1: int.stdout.trim().split('\n') };
    for (let n = 0; n < 20; n++) {
      const change = n % 2;
      const index = Math.floor(n / 2);
      assert.equal(want[n].path, `m/44'/4218'/0'/${change}'/${index}'`);
      const [, b] = ours[change][index].split(/\s+/);
      assert.equal(b, want[n].bech32, `address ${n} (${want[n].path})`);
    }
  });

  test('a BIP-39 mnemonic gives the addresses of iota.js Ed25519Seed.fromMnemonic', async () => {
    const words = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
    const file = path.join(tmp, 'm.txt');
    fs.writeFileSync(file, `${words}\n`, { mode: 0o600 });
    const seed = Ed25519Seed.fromMnemonic(words);
    const r = await run(['wallet', 'address', '--mnemonic-file', file, '--hrp', HRP, '--count', '3']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    for (let i = 0; i < 3; i++) {
      assert.equal(lines[i].split(/\s+/)[1], bech32(addressOf(seed, 0, 0, i)), `index ${i}`);
    }
  });

  test('genesis balance: iota.js getBalance equals ours', async () => {
    assert.equal(await getBalance(client, edA, 0), GENESIS);
    const r = await run(['wallet', 'balance', '--seed-file', fileA, '--node', node.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Number(r.stdout.trim()), GENESIS);
    const info = await client.address(bech32(addressOf(edA, 0, 0, 0)));
    assert.equal(info.balance, GENESIS);
    const unknown = await client.address(bech32(addressOf(edB, 0, 0, 7)));
    assert.equal(unknown.balance, 0); // unknown address: 200 with balance 0
  });

  test('iota.js send() is confirmed on our node and our wallet sees it', async () => {
    const to = bech32(addressOf(edB, 0, 0, 0));
    const { messageId } = await send(client, edA, 0, to, 5000000);
    const meta = await confirmed(client, messageId);
    assert.equal(meta.ledgerInclusionState, 'included');
    assert.equal(await getBalance(client, edB, 0), 5000000);
    assert.equal(await getBalance(client, edA, 0), GENESIS - 5000000);
    const r = await run(['wallet', 'balance', '--seed-file', fileB, '--node', node.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Number(r.stdout.trim()), 5000000);
  });

  test('iota.js decodes a transaction our wallet built and sent', async () => {
    const to = bech32(addressOf(edA, 0, 1, 0));
    const r = await run(['wallet', 'send', '--seed-file', fileB, '--node', node.url,
      '--to', to, '--amount', '2000000', '--reference', 'p2pgrid-payment', '--data', 'slot 1']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const txId = /transaction ([0-9a-f]{64})/.exec(r.stdout)[1];
    const msgId = /message +([0-9a-f]{64})/.exec(r.stdout)[1];
    const final = /confirmed +([0-9a-f]{64})/.exec(r.stdout)[1];
    const meta = await client.messageMetadata(final);
    assert.equal(meta.ledgerInclusionState, 'included');

    const raw = await client.messageRaw(msgId);
    const msg = deserializeMessage(new ReadStream(raw));
    assert.equal(msg.payload.type, 0);
    const outs = msg.payload.essence.outputs;
    const paid = outs.find((o) => o.address.address === Converter.bytesToHex(addressOf(edA, 0, 1, 0)));
    assert.ok(paid, 'payment output present');
    assert.equal(paid.amount, 2000000);
    assert.equal(outs.reduce((s, o) => s + o.amount, 0), 5000000);
    assert.equal(Converter.hexToUtf8(msg.payload.essence.payload.index), 'p2pgrid-payment');
    assert.equal(Converter.hexToUtf8(msg.payload.essence.payload.data), 'slot 1');

    const included = await client.transactionIncludedMessage(txId);
    assert.equal(included.payload.type, 0);
    assert.equal(await getBalance(client, edB, 0), 3000000);
    const found = await client.messagesFind('p2pgrid-payment');
    assert.ok(found.messageIds.includes(msgId), 'payment reference is findable by index');
  });

  test('address outputs and outputs answer in iota.js shapes', async () => {
    const addr = Converter.bytesToHex(addressOf(edA, 0, 1, 0));
    const outs = await client.addressEd25519Outputs(addr);
    assert.equal(outs.count, 1);
    const o = await client.output(outs.outputIds[0]);
    assert.equal(o.isSpent, false);
    assert.equal(o.output.amount, 2000000);
    assert.equal(o.output.address.address, addr);
    const hist = await run(['wallet', 'history', '--seed-file', fileB, '--node', node.url]);
    assert.equal(hist.code, 0, hist.stderr);
    assert.match(hist.stdout, /spent/);
  });
});
