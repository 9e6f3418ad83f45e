// Interop (issue 14): @iota/mqtt.js 1.8.6's MqttClient subscribes through a
// mosquitto broker to the events of a real `p2pgrid node` ([mqtt]) and
// receives milestones, an indexation message and an output event, each equal
// to what the node's REST API (read with iota.js) says.
//
//   P2PGRID=build/test/p2pgrid node --test tests/interop/mqtt.test.js
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const iota = require('@iota/iota.js');
const { MqttClient } = require('@iota/mqtt.js');
const { Converter } = require('@iota/util.js');
const { Bip32Path, Blake2b } = require('@iota/crypto.js');
const { startNode, waitFor } = require('./lib/harness.js');

const {
  SingleNodeClient, Ed25519Seed, Ed25519Address, Bech32Helper, ED25519_ADDRESS_TYPE, send,
  sendData,
} = iota;

const MOSQUITTO = '/usr/sbin/mosquitto';
const HRP = 'atoi';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

async function startBroker(dir) {
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(conf, 0o644);
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (s) => { log += s; });
  child.stderr.on('data', (s) => { log += s; });
  process.on('exit', () => child.kill('SIGKILL'));
  await waitFor(`mosquitto on port ${port} (log: ${log})`, () => canConnect(port), 30000, 50);
  return { port, child, log: () => log };
}

function bech32(addr) {
  return Bech32Helper.toBech32(ED25519_ADDRESS_TYPE, addr, HRP);
}

function addressOf(seed, index) {
  const kp = seed.generateSeedFromPath(new Bip32Path(`m/44'/4218'/0'/0'/${index}'`)).keyPair();
  return new Ed25519Address(kp.publicKey).toAddress();
}

describe('@iota/mqtt.js against the node through mosquitto', { skip: !fs.existsSync(MOSQUITTO) }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'p2pgrid-mqtt-'));
  const seed = new Ed25519Seed(crypto.randomBytes(32));
  const got = { latest: [], confirmed: [], index: [], outputs: [], errors: [] };
  let broker;
  let node;
  let client;
  let mqtt;

  before(async () => {
    broker = await startBroker(tmp);
    const genesis = `${bech32(addressOf(seed, 0))}:1000000000`;
    node = await startNode({
      set: [`ledger.genesis=${genesis}`, 'mqtt.host=127.0.0.1', `mqtt.port=${broker.port}`],
    });
    client = new SingleNodeClient(node.url);
    mqtt = new MqttClient(`mqtt://127.0.0.1:${broker.port}`);
    mqtt.statusChanged((s) => { if (s.type === 'error') got.errors.push(s); });
    mqtt.milestonesLatest((topic, data) => got.latest.push(data));
    mqtt.milestonesConfirmed((topic, data) => got.confirmed.push(data));
    mqtt.index('p2pgrid-interop', (topic, data, raw) => got.index.push({ data, raw }));
    mqtt.addressOutputs(bech32(addressOf(seed, 1)), (topic, data) => got.outputs.push(data));
  });

  after(async () => {
    // MqttClient has no public close; its private disconnect ends the
    // connection and the keep-alive timer so the process can exit.
    if (mqtt) mqtt.mqttDisconnect();
    if (node) await node.stop();
    if (broker) broker.child.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('milestonesConfirmed and milestonesLatest receive what /milestones says', async () => {
    const ms = await waitFor('two confirmed milestones', () => got.confirmed.length >= 2 && got.confirmed, 30000);
    for (const m of ms.slice(0, 2)) {
      assert.deepEqual(Object.keys(m).sort(), ['index', 'timestamp']);
      const rest = await client.milestone(m.index);
      assert.equal(rest.index, m.index);
      assert.equal(rest.timestamp, m.timestamp);
    }
    assert.ok(ms[1].index > ms[0].index);
    const latest = await waitFor('a latest milestone', () => got.latest.length > 0 && got.latest, 30000);
    assert.equal((await client.milestone(latest[0].index)).timestamp, latest[0].timestamp);
    assert.deepEqual(got.errors, []);
  });

  test('index() receives an indexation message, deserialized, with its id', async () => {
    const sent = await sendData(client, 'p2pgrid-interop', Converter.utf8ToBytes('hello over mqtt'));
    const ev = await waitFor('the indexation event', () => got.index.length > 0 && got.index[0], 30000);
    const id = Converter.bytesToHex(Blake2b.sum256(ev.raw));
    assert.equal(id, sent.messageId);
    assert.equal(ev.data.payload.type, 2);
    assert.equal(Converter.hexToUtf8(ev.data.payload.index), 'p2pgrid-interop');
    assert.equal(Converter.hexToUtf8(ev.data.payload.data), 'hello over mqtt');
    const raw = await client.messageRaw(sent.messageId);
    assert.deepEqual(Buffer.from(ev.raw), Buffer.from(raw));
    assert.deepEqual(got.errors, []);
  });

  test('addressOutputs receives the output of a transfer, as /outputs has it', async () => {
    const to = addressOf(seed, 1);
    const r = await send(client, seed, 0, bech32(to), 2000000);
    const out = await waitFor('an output event', () => got.outputs.length > 0 && got.outputs[0], 60000);
    assert.equal(out.isSpent, false);
    assert.equal(out.output.address.address, Converter.bytesToHex(to));
    assert.equal(out.output.amount, 2000000);
    const outputId = out.transactionId + Converter.bytesToHex(new Uint8Array([out.outputIndex & 0xff, out.outputIndex >> 8]));
    const rest = await client.output(outputId);
    assert.equal(rest.messageId, out.messageId);
    assert.equal(out.messageId, r.messageId);
    assert.equal(rest.transactionId, out.transactionId);
    assert.equal(rest.outputIndex, out.outputIndex);
    assert.deepEqual(rest.output, out.output);
    assert.ok(out.ledgerIndex >= 1 && out.ledgerIndex <= rest.ledgerIndex);
    assert.deepEqual(got.errors, []);
  });
});
