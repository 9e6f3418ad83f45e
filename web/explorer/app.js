// p2pgrid Tangle explorer: a single page on this node's REST API v1 with
// hash routes:
//   #/                    latest milestones
//   #/milestone/{index}   a milestone -> its message
//   #/message/{id}        a message, its payload decoded, its metadata
//   #/address/{addr}      bech32 or 64-hex Ed25519: balance and outputs
//   #/mam?root=&mode=&sideKey=   a MAM channel, verified by the node
//   #/search/{text}       decides which of the above
// Bad input never leaves a blank page: every view ends in content or in an
// error panel (.error) that says what is wrong. A MAM message that is a grid
// message (JSON with a command) gets a summary line (.mam-summary) with its
// times in the node's zone, quantities and prices, above the raw text.
// Amounts are shown in the node's currency next to the raw base units
// ("2.34 EUR · 2,343,151,525 i"; data-value keeps the raw value) and times in
// its zone, both from GET /api/plugins/display (web/common/display.js).
'use strict';

(function () {
  const view = document.getElementById('view');
  let info = null;
  let display = null; // {money, timeZone} from /api/plugins/display (null: base units, UTC)
  let seq = 0; // the latest navigation; older ones drop their results

  // ---- helpers ----
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) el.append(k);
    return el;
  }
  function dl(rows) {
    const d = h('dl');
    for (const [k, v] of rows) {
      if (v === undefined) continue;
      d.append(h('dt', { text: k }), h('dd', {}, v instanceof Node ? v : String(v)));
    }
    return d;
  }
  function mono(s) { return h('span', { class: 'mono', text: s }); }
  function link(href, text, cls) { return h('a', { href, class: cls || 'mono', text }); }
  function msgLink(id) { return id ? link('#/message/' + id, id) : mono('–'); }
  function show(...nodes) { view.replaceChildren(...nodes); }
  function showError(title, message) {
    show(h('section', { class: 'panel error', role: 'alert' }, h('h2', { text: title }), h('p', { class: 'error-message', text: message }),
      h('p', {}, link('#/', 'back to the latest milestones', ''))));
  }
  function fmtInt(v) { return typeof v === 'number' ? String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : String(v); }
  const D = window.pgDisplay;
  // "2.34 EUR · 2,343,151,525 i" (just the raw units when the node says base units)
  function fmtAmount(v) {
    const m = (display && display.money) || D.BASE;
    const raw = fmtInt(v) + ' i';
    return m.currency === 'i' && m.unitsPerCurrency === 1 ? raw : D.money(v, m) + ' · ' + raw;
  }
  const fmtStamp = (s) => D.time(s * 1000, display && display.timeZone);
  async function loadDisplay() {
    if (!display) display = await api('/api/plugins/display').catch(() => ({ money: D.BASE, timeZone: 'UTC' }));
  }
  const isHex = (s, n) => typeof s === 'string' && (n ? s.length === n : s.length % 2 === 0) && /^[0-9a-fA-F]*$/.test(s);

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  async function api(path) {
    let r;
    try {
      r = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' } });
    } catch (err) {
      throw new ApiError(0, 'the node cannot be reached (' + err.message + ')');
    }
    const j = await r.json().catch(() => null);
    if (!r.ok) throw new ApiError(r.status, j && j.error && j.error.message ? j.error.message : 'HTTP ' + r.status);
    if (!j || typeof j !== 'object' || !('data' in j)) throw new ApiError(r.status, 'unexpected answer from the node');
    return j.data;
  }

  // ---- bech32 (BIP-173) for addresses ----
  const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
  function polymod(values) {
    const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let chk = 1;
    for (const v of values) {
      const b = chk >>> 25;
      chk = ((chk & 0x1ffffff) << 5) ^ v;
      for (let i = 0; i < 5; i++) if ((b >>> i) & 1) chk ^= GEN[i];
    }
    return chk >>> 0;
  }
  const hrpExpand = (hrp) => [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  function convertBits(data, from, to, pad) {
    let acc = 0, bits = 0;
    const out = [], maxv = (1 << to) - 1;
    for (const v of data) {
      acc = (acc << from) | v;
      bits += from;
      while (bits >= to) { bits -= to; out.push((acc >> bits) & maxv); }
    }
    if (pad && bits) out.push((acc << (to - bits)) & maxv);
    else if (!pad && (bits >= from || ((acc << (to - bits)) & maxv))) return null;
    return out;
  }
  function bech32Encode(hrp, bytes) {
    const data = convertBits(bytes, 8, 5, true);
    const values = [...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0];
    const mod = polymod(values) ^ 1;
    const chk = [];
    for (let i = 0; i < 6; i++) chk.push((mod >>> (5 * (5 - i))) & 31);
    return hrp + '1' + [...data, ...chk].map((d) => CHARSET[d]).join('');
  }
  // Returns {hrp, hex} of an Ed25519 bech32 address, or null.
  function bech32Decode(s) {
    if (s.length > 90 || s !== s.toLowerCase()) return null;
    const pos = s.lastIndexOf('1');
    if (pos < 1 || pos + 7 > s.length) return null;
    const hrp = s.slice(0, pos), data = [];
    for (const c of s.slice(pos + 1)) {
      const i = CHARSET.indexOf(c);
      if (i < 0) return null;
      data.push(i);
    }
    if (polymod([...hrpExpand(hrp), ...data]) !== 1) return null;
    const bytes = convertBits(data.slice(0, -6), 5, 8, false);
    if (!bytes || bytes.length !== 33 || bytes[0] !== 0) return null;
    return { hrp, hex: bytes.slice(1).map((b) => b.toString(16).padStart(2, '0')).join('') };
  }
  function hexBytes(hex) { const out = []; for (let i = 0; i < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16)); return out; }
  function addrBech32(hex) { return info && info.bech32HRP ? bech32Encode(info.bech32HRP, [0, ...hexBytes(hex)]) : null; }
  function addrLink(addr) {
    if (!addr || addr.type !== 0 || !isHex(addr.address, 64)) return mono(JSON.stringify(addr));
    const b = addrBech32(addr.address);
    return link('#/address/' + (b || addr.address), b || addr.address);
  }
  function hexText(hex) {
    if (!hex) return '';
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(hexBytes(hex)));
    } catch (err) {
      return null;
    }
  }
  function textAndHex(hex, cls) {
    const t = hexText(hex);
    return h('div', {}, t === null ? h('p', { class: 'muted', text: '(not UTF-8 text)' }) : h('pre', { class: cls + '-text', text: t || '(empty)' }),
      h('pre', { class: 'mono ' + cls + '-hex', text: hex || '(empty)' }));
  }

  // ---- views ----
  async function home(my) {
    show(h('section', { class: 'panel' }, h('p', { class: 'muted', text: 'loading milestones…' })));
    info = await api('/api/v1/info');
    await loadDisplay();
    if (my !== seq) return;
    document.getElementById('net').textContent = info.networkId ? '· ' + info.networkId : '';
    const panel = h('section', { class: 'panel', id: 'milestones' }, h('h2', { text: 'Latest milestones' }),
      dl([['node', (info.name || '') + ' ' + (info.version || '')], ['healthy', String(info.isHealthy)],
        ['latest milestone', String(info.latestMilestoneIndex)], ['confirmed milestone', String(info.confirmedMilestoneIndex)],
        ['bech32 HRP', info.bech32HRP]]));
    const table = h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'index' }), h('th', { text: 'time' }), h('th', { text: 'message' }))));
    const body = h('tbody');
    table.append(body);
    panel.append(h('div', { class: 'scroll' }, table));
    show(panel);
    const top = info.latestMilestoneIndex || 0;
    const idx = [];
    for (let i = top; i > 0 && idx.length < 10; i--) idx.push(i);
    const ms = await Promise.all(idx.map((i) => api('/api/v1/milestones/' + i).catch(() => null)));
    if (my !== seq) return;
    for (const m of ms) {
      if (!m) continue;
      body.append(h('tr', { class: 'milestone' }, h('td', {}, link('#/milestone/' + m.index, String(m.index), '')),
        h('td', { text: fmtStamp(m.timestamp) }), h('td', {}, msgLink(m.messageId))));
    }
    if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: '3', class: 'muted', text: 'no milestone yet' })));
  }

  async function milestone(my, arg) {
    if (!/^[0-9]{1,10}$/.test(arg) || Number(arg) < 1 || Number(arg) > 4294967295) {
      showError('Invalid milestone index', '"' + arg + '" is not a milestone index (a whole number from 1)');
      return;
    }
    const m = await api('/api/v1/milestones/' + arg);
    if (my !== seq) return;
    location.replace('#/message/' + m.messageId);
  }

  function payloadView(p) {
    if (!p) return h('p', { class: 'muted', text: 'no payload' });
    if (p.type === 2) {
      return h('div', { class: 'payload', 'data-type': 'indexation' }, h('h3', { text: 'Indexation payload' }),
        h('h3', { text: 'index' }), textAndHex(p.index, 'index'), h('h3', { text: 'data' }), textAndHex(p.data, 'data'));
    }
    if (p.type === 0) {
      const e = p.essence || {};
      const ins = h('table', {}, h('tr', {}, h('th', { text: '#' }), h('th', { text: 'transaction id' }), h('th', { text: 'output index' })));
      (e.inputs || []).forEach((i, n) => ins.append(h('tr', {}, h('td', { text: String(n) }), h('td', {}, mono(i.transactionId)), h('td', { text: String(i.transactionOutputIndex) }))));
      const outs = h('table', {}, h('tr', {}, h('th', { text: '#' }), h('th', { text: 'address' }), h('th', { text: 'amount' }), h('th', { text: 'kind' })));
      (e.outputs || []).forEach((o, n) => outs.append(h('tr', { class: 'output' }, h('td', { text: String(n) }), h('td', {}, addrLink(o.address)),
        h('td', { class: 'amount', 'data-value': String(o.amount), text: fmtAmount(o.amount) }), h('td', { text: o.type === 1 ? 'dust allowance' : 'single' }))));
      const unl = h('table', {}, h('tr', {}, h('th', { text: '#' }), h('th', { text: 'unlock' })));
      (p.unlockBlocks || []).forEach((u, n) => unl.append(h('tr', {}, h('td', { text: String(n) }),
        h('td', {}, u.type === 1 ? 'reference to unlock ' + u.reference : h('span', {}, 'Ed25519 signature, public key ', mono((u.signature || {}).publicKey || '?'))))));
      return h('div', { class: 'payload', 'data-type': 'transaction' }, h('h3', { text: 'Transaction payload' }),
        h('h3', { text: 'inputs' }), h('div', { class: 'scroll' }, ins), h('h3', { text: 'outputs' }), h('div', { class: 'scroll' }, outs),
        e.payload ? h('div', {}, h('h3', { text: 'embedded payload' }), payloadView(e.payload)) : null,
        h('h3', { text: 'unlock blocks' }), h('div', { class: 'scroll' }, unl));
    }
    if (p.type === 1) {
      return h('div', { class: 'payload', 'data-type': 'milestone' }, h('h3', { text: 'Milestone payload' }),
        dl([['index', p.index], ['timestamp', p.timestamp + ' (' + fmtStamp(p.timestamp) + ')'],
          ['inclusion merkle proof', mono(p.inclusionMerkleProof || '')], ['next PoW score', p.nextPoWScore],
          ['next PoW score milestone', p.nextPoWScoreMilestoneIndex], ['public keys', (p.publicKeys || []).length],
          ['signatures', (p.signatures || []).length]]));
    }
    return h('div', { class: 'payload' }, h('h3', { text: 'payload type ' + p.type }), h('pre', { text: JSON.stringify(p, null, 2) }));
  }

  async function message(my, id) {
    if (!isHex(id, 64)) {
      showError('Malformed message id', '"' + id.slice(0, 100) + '" is not a message id: expected 64 hex characters (0-9, a-f)');
      return;
    }
    id = id.toLowerCase();
    let m, meta;
    try {
      [m, meta] = await Promise.all([api('/api/v1/messages/' + id), api('/api/v1/messages/' + id + '/metadata')]);
    } catch (err) {
      if (err.status === 404) { showError('Message not found', 'this node has no message ' + id + ' (' + err.message + ')'); return; }
      throw err;
    }
    if (!info) info = await api('/api/v1/info').catch(() => null);
    await loadDisplay();
    if (my !== seq) return;
    const ptype = !m.payload ? 'none' : ({ 0: 'transaction', 1: 'milestone', 2: 'indexation' })[m.payload.type] || String(m.payload.type);
    show(h('section', { class: 'panel', id: 'message', 'data-message-id': id, 'data-payload': ptype }, h('h2', { text: 'Message' }),
      dl([['id', mono(id)], ['network id', m.networkId], ['parents', h('div', {}, ...(m.parentMessageIds || []).map((p) => h('div', {}, msgLink(p))))],
        ['nonce', m.nonce], ['payload', ptype]]),
      payloadView(m.payload)),
    h('section', { class: 'panel', id: 'metadata' }, h('h2', { text: 'Metadata' }),
      dl([['solid', String(meta.isSolid)], ['referenced by milestone', meta.referencedByMilestoneIndex === undefined ? 'not yet' : link('#/milestone/' + meta.referencedByMilestoneIndex, String(meta.referencedByMilestoneIndex), '')],
        ['is milestone', meta.milestoneIndex === undefined ? 'no' : String(meta.milestoneIndex)], ['ledger inclusion', meta.ledgerInclusionState || '–'],
        ['conflict reason', meta.conflictReason], ['should promote', meta.shouldPromote === undefined ? undefined : String(meta.shouldPromote)],
        ['should reattach', meta.shouldReattach === undefined ? undefined : String(meta.shouldReattach)]]),
      h('p', {}, link('/api/v1/messages/' + id, 'JSON', ''), ' · ', link('/api/v1/messages/' + id + '/children', 'children (JSON)', ''))));
  }

  async function address(my, s) {
    let path, hex;
    if (isHex(s, 64)) {
      hex = s.toLowerCase();
      path = '/api/v1/addresses/ed25519/' + hex;
    } else {
      const dec = bech32Decode(s);
      if (!dec) {
        showError('Malformed address', '"' + s.slice(0, 100) + '" is neither a bech32 Ed25519 address (e.g. atoi1q…) nor 64 hex characters');
        return;
      }
      hex = dec.hex;
      path = '/api/v1/addresses/' + s;
    }
    const [a, outs] = await Promise.all([api(path), api(path + '/outputs')]);
    if (!info) info = await api('/api/v1/info').catch(() => null);
    await loadDisplay();
    if (my !== seq) return;
    const ids = outs.outputIds || [];
    const table = h('table', { id: 'outputs' }, h('tr', {}, h('th', { text: 'output id' }), h('th', { text: 'amount' }), h('th', { text: 'message' })));
    const panel = h('section', { class: 'panel', id: 'address', 'data-hex': hex, 'data-balance': String(a.balance) }, h('h2', { text: 'Address' }),
      dl([['bech32', mono(addrBech32(hex) || '(HRP unknown)')], ['Ed25519 (hex)', mono(hex)],
        ['balance', h('span', { class: 'balance', 'data-value': String(a.balance), text: fmtAmount(a.balance) })],
        ['dust allowed', String(a.dustAllowed)], ['ledger index', a.ledgerIndex], ['unspent outputs', String(outs.count)]]),
      h('h3', { text: 'Unspent outputs' + (ids.length > 50 ? ' (first 50)' : '') }), h('div', { class: 'scroll' }, table));
    show(panel);
    const rows = await Promise.all(ids.slice(0, 50).map((o) => api('/api/v1/outputs/' + o).catch(() => null)));
    if (my !== seq) return;
    ids.slice(0, 50).forEach((o, i) => {
      const r = rows[i];
      table.append(h('tr', { class: 'output' }, h('td', {}, mono(o)), h('td', { class: 'amount', 'data-value': r ? String(r.output.amount) : '', text: r ? fmtAmount(r.output.amount) : '?' }), h('td', {}, r ? msgLink(r.messageId) : mono('?'))));
    });
    if (!ids.length) table.append(h('tr', {}, h('td', { colspan: '3', class: 'muted', text: 'no unspent output' })));
  }

  function mamForm(p) {
    const f = h('form', { class: 'mam-form', id: 'mam-form' },
      h('label', { for: 'mam-root', text: 'root' }), h('input', { id: 'mam-root', name: 'root', value: p.root || '', placeholder: '81 trytes (A-Z, 9)' }),
      h('label', { for: 'mam-mode', text: 'mode' }),
      h('select', { id: 'mam-mode', name: 'mode' }, ...['public', 'private', 'restricted'].map((m) => {
        const o = h('option', { value: m, text: m });
        if ((p.mode || 'public') === m) o.selected = true;
        return o;
      })),
      h('label', { for: 'mam-key', text: 'side key' }), h('input', { id: 'mam-key', name: 'sideKey', value: p.sideKey || '', placeholder: 'restricted only' }),
      h('span'), h('button', { type: 'submit', text: 'Read channel' }));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      q.set('root', f.root.value.trim());
      q.set('mode', f.mode.value);
      if (f.sideKey.value.trim()) q.set('sideKey', f.sideKey.value.trim());
      location.hash = '#/mam?' + q.toString();
    });
    return f;
  }

  // A grid message (docs/PROTOCOL.md) as people read it: its command, its
  // times in the node's zone (a reading's slot as start – end), quantities
  // and prices; null for any other text.
  function gridSummary(text) {
    let j;
    try { j = JSON.parse(text); } catch (err) { return null; }
    if (!j || typeof j !== 'object' || typeof j.command !== 'string') return null;
    const z = display && display.timeZone, m = (display && display.money) || D.BASE;
    const parts = [j.command];
    if (typeof j.startTime === 'number' && typeof j.endTime === 'number') {
      const a = D.time(j.startTime, z), b = D.time(j.endTime, z);
      parts.push(a + ' – ' + (a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b));
    } else if (typeof j.time === 'number') {
      parts.push(D.time(j.time, z));
    }
    for (const [k, word] of [['output', 'output'], ['usage', 'usage']]) {
      if (typeof j[k] === 'number') parts.push(word + ' ' + j[k] + ' kWh');
    }
    for (const [k, word] of [['askPerKwh', 'ask'], ['bidPerKwh', 'bid']]) {
      if (Number.isInteger(j[k])) parts.push(word + ' ' + D.price(j[k], m));
    }
    if (Number.isInteger(j.owed)) parts.push('owed ' + D.money(j.owed, m));
    return parts.join(' · ');
  }

  async function mam(my, params) {
    const p = Object.fromEntries(params.entries());
    const panel = h('section', { class: 'panel', id: 'mam' }, h('h2', { text: 'MAM channel' }), mamForm(p));
    show(panel);
    if (!p.root) {
      panel.append(h('p', { class: 'muted', text: 'Give a channel root (and, for a restricted channel, its side key). The node reads the chain from the root and checks every message\'s Curl-P signature; only verified messages are shown.' }));
      return;
    }
    const status = h('p', { class: 'muted', text: 'reading the channel…' });
    panel.append(status);
    await loadDisplay();
    const q = new URLSearchParams({ root: p.root, mode: p.mode || 'public', limit: '50' });
    if (p.sideKey) q.set('sideKey', p.sideKey);
    let r;
    try {
      r = await api('/api/plugins/mam/fetch?' + q.toString());
    } catch (err) {
      if (my !== seq) return;
      status.remove();
      panel.append(h('div', { class: 'panel error', role: 'alert' }, h('h2', { text: 'Cannot read this channel' }), h('p', { class: 'error-message', text: err.message })));
      return;
    }
    if (my !== seq) return;
    status.remove();
    const list = h('div', { id: 'mam-messages', 'data-count': String(r.messages.length) });
    panel.append(dl([['mode', r.mode], ['address', mono(r.address)], ['messages', String(r.messages.length) + (r.complete ? ' (end of chain)' : ' (more may follow)')],
      ['next root', mono(r.nextRoot)]]), list);
    if (!r.messages.length) {
      panel.append(h('div', { class: 'panel error', role: 'alert' }, h('h2', { text: 'No verified message' }), h('p', { class: 'error-message', text: r.note || 'nothing found' })));
      return;
    }
    for (const m of r.messages) {
      list.append(h('div', { class: 'msg', 'data-verified': String(m.verified), 'data-message-id': m.messageId },
        h('p', {}, h('b', { text: '#' + m.index + ' ' }), m.verified ? h('span', { class: 'ok', text: '✓ verified' }) : h('span', { text: 'not verified' }),
          ' · message ', msgLink(m.messageId), m.tag ? ' · tag ' + m.tag : ''),
        m.text !== null && gridSummary(m.text) ? h('p', { class: 'mam-summary', text: gridSummary(m.text) }) : null,
        h('pre', { class: 'mam-text', text: m.text === null ? '(not text)' : m.text }),
        h('details', {}, h('summary', { text: 'root, next root, trytes' }), dl([['root', mono(m.root)], ['next root', mono(m.nextRoot)], ['trytes', mono(m.trytes)]]))));
    }
    if (r.note) panel.append(h('p', { class: 'muted', text: r.note }));
  }

  async function search(my, q) {
    q = q.trim();
    if (/^[0-9]{1,10}$/.test(q)) { location.replace('#/milestone/' + q); return; }
    if (isHex(q, 64)) {
      try {
        await api('/api/v1/messages/' + q.toLowerCase() + '/metadata');
        location.replace('#/message/' + q.toLowerCase());
      } catch (err) {
        if (err.status !== 404) throw err;
        location.replace('#/address/' + q.toLowerCase());
      }
      return;
    }
    if (/^[9A-Z]{81}$/.test(q)) { location.replace('#/mam?root=' + q); return; }
    if (bech32Decode(q)) { location.replace('#/address/' + q); return; }
    showError('Nothing to look up', '"' + q.slice(0, 100) + '" is not a message id (64 hex), an address (bech32 or 64 hex), a milestone index or a MAM root (81 trytes)');
  }

  async function route() {
    const my = ++seq;
    const hash = location.hash.replace(/^#\/?/, '');
    const qpos = hash.indexOf('?');
    const pathPart = qpos >= 0 ? hash.slice(0, qpos) : hash;
    const params = new URLSearchParams(qpos >= 0 ? hash.slice(qpos + 1) : '');
    const [kind, ...rest] = pathPart.split('/');
    let arg = rest.join('/');
    try { arg = decodeURIComponent(arg); } catch (err) { /* keep as is */ }
    // the page before stays out of sight while this one loads: an old error or
    // message under the new address would read as this page's
    show(h('section', { class: 'panel' }, h('p', { class: 'muted', text: 'loading…' })));
    try {
      if (!kind) await home(my);
      else if (kind === 'milestone') await milestone(my, arg);
      else if (kind === 'message') await message(my, arg);
      else if (kind === 'address') await address(my, arg);
      else if (kind === 'mam') await mam(my, params);
      else if (kind === 'search') await search(my, arg);
      else showError('Unknown page', '"' + kind.slice(0, 60) + '" is not a page of the explorer');
    } catch (err) {
      if (my !== seq) return;
      const nf = err.status === 404;
      showError(nf ? 'Not found' : err.status === 400 ? 'Invalid input' : 'Error', err.message || String(err));
    }
  }

  document.getElementById('search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = document.getElementById('q').value.trim();
    if (q) location.hash = '#/search/' + encodeURIComponent(q);
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (ev) => { showError('Error', String(ev.reason && ev.reason.message || ev.reason)); });
  route();
})();
