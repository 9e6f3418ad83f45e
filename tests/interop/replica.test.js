// Interop (issue 14): @iota/iota.js 1.8.6 SingleNodeClient against a replica
// `p2pgrid node` ([peers] urls = the coordinator node): info, data messages
// and a value transfer posted to the replica (it forwards them), read back
// from the replica, and the ledger digests of both nodes equal.
//
//   P2PGRID=build/test/p2pgrid node --test tests/interop/replica.test.js
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const iota = require('@iota/iota.js');
const { Converter } = require('@iota/util.js');
const { Bip32Path } = require('@iota/crypto.js');
const { startNode, waitFor } = require('./lib/harness.js');

const {
  SingleNodeClient, Ed25519Seed, Ed25519Address, Bech32Helper, ED25519_ADDRESS_TYPE,
  getBalance, send, sendData,
} = iota;

const HRP = 'atoi';
const GENESIS = 1000000000;

function bech32Of(seed, index) {
  const kp = seed.generateSeedFromPath(new Bip32Path(`m/44'/4218'/0'/0'/${index}'`)).keyPair();
  return Bech32Helper.toBech32(ED25519_ADDRESS_TYPE, new Ed25519Address(kp.publicKey).toAddress(),
    HRP);
}

async function referenced(client, id) {
  return waitFor(`message ${id} to be referenced`, async () => {
    const m = await client.messageMetadata(id);
    return m.referencedByMilestoneIndex ? m : null;
  }, 60000, 200);
}

async function digest(url, index) {
  const r = await fetch(`${url}/api/plugins/ledger/digest/${index}`);
  assert.equal(r.status, 200, `digest ${index} from ${url}`);
  return (await r.json()).data;
}

describe('iota.js against a replica', () => {
  const seedA = new Ed25519Seed(crypto.randomBytes(32));
  const seedB = new Ed25519Seed(crypto.randomBytes(32));
  let coo;
  let replica;
  let client;

  before(async () => {
    const genesis = `ledger.genesis=${bech32Of(seedA, 0)}:${GENESIS}`;
    coo = await startNode({ set: [genesis] });
    const pk = /public key ([0-9a-f]{64})/.exec(coo.log())[1];
    replica = await startNode({
      coordinator: false,
      set: [genesis, `milestones.public_keys=${pk}`, `peers.urls=${coo.url}`,
        'peers.poll_interval=200ms'],
    });
    client = new SingleNodeClient(replica.url);
    await waitFor('the replica to confirm a milestone',
      async () => (await client.info()).confirmedMilestoneIndex > 0, 60000, 200);
  });

  after(async () => {
    if (replica) await replica.stop();
    if (coo) await coo.stop();
  });

  test('info and health of the replica', async () => {
    const info = await client.info();
    assert.equal(info.networkId, 'private-tangle');
    assert.equal(info.bech32HRP, HRP);
    assert.equal(await client.health(), true);
    const peers = await (await fetch(`${replica.url}/api/plugins/peers`)).json();
    assert.equal(peers.data.peers.length, 1);
    assert.equal(peers.data.peers[0].url, coo.url);
    assert.equal(peers.data.refusals, 0);
  });

  test('sendData through the replica: known there at once, confirmed', async () => {
    const { messageId } = await sendData(client, 'p2pgrid-replica', Converter.utf8ToBytes('hi'));
    assert.match(messageId, /^[0-9a-f]{64}$/);
    const msg = await client.message(messageId); // fetched back from the peer already
    assert.equal(Converter.hexToUtf8(msg.payload.data), 'hi');
    await referenced(client, messageId);
    const found = await client.messagesFind('p2pgrid-replica');
    assert.ok(found.messageIds.includes(messageId));
    const onCoo = await new SingleNodeClient(coo.url).messageMetadata(messageId);
    assert.ok(onCoo.referencedByMilestoneIndex > 0);
  });

  test('send() through the replica: balances on both nodes, digests equal', async () => {
    const to = bech32Of(seedB, 0);
    const { messageId } = await send(client, seedA, 0, to, 7000000);
    const meta = await referenced(client, messageId);
    assert.equal(meta.ledgerInclusionState, 'included');
    assert.equal(await getBalance(client, seedB, 0), 7000000);
    assert.equal(await getBalance(new SingleNodeClient(coo.url), seedB, 0), 7000000);
    const upTo = (await client.info()).confirmedMilestoneIndex;
    for (let i = 0; i <= upTo; i++) {
      assert.deepEqual(await digest(replica.url, i), await digest(coo.url, i), `milestone ${i}`);
    }
  });

  test('bad bytes posted to the replica get the peer\'s 400 in the TIP-13 envelope', async () => {
    const r = await fetch(`${replica.url}/api/v1/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    });
    assert.equal(r.status, 400);
    const body = await r.json();
    assert.equal(body.error.code, '400');
    assert.ok(body.error.message.length > 0);
  });
});
