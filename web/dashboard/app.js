// p2pgrid grid dashboard: polls the grid's JSON API every second and draws
// the numbers and charts. Every number element carries data-path (which API
// field it shows) and data-value (the raw value), so tests can compare them
// with the API exactly. No libraries, no network beyond this grid's API.
//
// What it shows depends on who is looking (GET /api/config says: viewer.role
// is the grid's reading of the browser's client certificate):
//   operator  everything: totals, slots, every producer and consumer with
//             its series, recent payments and payouts, the log
//   member    the totals and slots, and its own row and series (/api/me,
//             its own /api/{producers|consumers}/{id}/slots)
//   public    the community totals and slots only
// It asks only for the routes the viewer may read, so nobody sees 403s.
//
// Money and times as people read them: /api/status says the community's
// money {currency, unitsPerCurrency, decimals} and timeZone; amounts
// (class money) are shown in the currency, exactly (BigInt, rounded half away
// from zero, grouped by Intl.NumberFormat), prices (class price) per the
// resource's price unit, and slots (class slot) as the local time of their
// start (Intl.DateTimeFormat in the grid's zone), by web/common/display.js.
// Quantities (class qty) are in the resource /api/status names (absent:
// electricity): every decimal of the base unit in the display unit
// ("12.345" kWh, "1.500" m³), the unit beside them in elements of class unit
// (base-unit: the base unit, noun/noun-cap: "energy" or "water"), filled from
// the same resource. data-value always keeps the raw API value.
'use strict';

(function () {
  const POLL_MS = 1000;
  const SLOTS_SHOWN = 30;
  const state = { status: null, producers: [], consumers: [], slots: [], pslots: {}, cslots: {},
    nodeUrl: null, busy: false, viewer: { role: 'public', id: null }, me: null };
  const isOperator = () => state.viewer.role === 'operator';
  const isMember = () => state.viewer.role === 'member';

  // ---- formatting (exact: integers as integers, quantities with every decimal) ----
  function groupDigits(s) { return s.replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function fmtInt(v) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
    if (!Number.isInteger(v)) return String(v);
    return (v < 0 ? '-' : '') + groupDigits(String(Math.abs(v)));
  }
  // money, quantities and times: web/common/display.js (pgDisplay), with the grid's settings
  const D = window.pgDisplay;
  const money = () => (state.status && state.status.money) || D.BASE;
  const resource = () => D.resource(state.status && state.status.resource);
  const fmtQty = (v) => (typeof v === 'number' ? D.fixed(v, resource()) : '–');
  const fmtMoney = (v) => D.money(v, money());
  const fmtPrice = (v) => D.price(v, money(), resource());
  const fmtTime = (ms) => D.time(ms, state.status && state.status.timeZone);
  // The start of a slot (slot x slotMs since 1970, as the grid counts).
  function fmtSlot(slot) {
    const ms = state.status && state.status.slotMs;
    return typeof slot === 'number' && ms ? fmtTime(slot * ms) : '–';
  }
  function short(id) { return typeof id === 'string' && id.length > 16 ? id.slice(0, 8) + '…' + id.slice(-6) : (id || '–'); }

  function get(obj, path) {
    let o = obj;
    for (const k of path.split('.')) {
      if (o == null) return undefined;
      o = o[k];
    }
    return o;
  }
  // Sets a number element: text formatted by its class, data-value raw.
  function setNum(el, v) {
    const raw = v === undefined || v === null ? '' : String(v);
    if (el.dataset.value === raw && el.textContent !== '') return;
    el.dataset.value = raw;
    if (el.classList.contains('qty')) el.textContent = fmtQty(v);
    else if (el.classList.contains('money')) el.textContent = fmtMoney(v);
    else if (el.classList.contains('slot')) el.textContent = fmtSlot(v);
    else if (el.classList.contains('price')) el.textContent = fmtPrice(v);
    else if (el.classList.contains('plain')) el.textContent = v === undefined || v === null ? '–' : String(v);
    else el.textContent = fmtInt(v);
  }
  function sourceOf(name, key) {
    if (name === 'status') return state.status;
    const list = name === 'producers' ? state.producers : state.consumers;
    return list.find((e) => e.id === key);
  }
  function refreshNums(root) {
    for (const el of root.querySelectorAll('[data-path]')) {
      const parts = el.dataset.path.split(':');
      const src = parts.length === 3 ? sourceOf(parts[0], parts[1]) : sourceOf(parts[0]);
      setNum(el, src ? get(src, parts[parts.length - 1]) : undefined);
    }
  }

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v);
    }
    for (const k of kids) el.append(k);
    return el;
  }
  function num(path, cls) { return h('span', { class: 'num' + (cls ? ' ' + cls : ''), 'data-path': path }); }

  function explorerLink(kind, id) {
    const text = short(id);
    if (!id) return document.createTextNode('–');
    if (!state.nodeUrl) return h('span', { class: 'mono', title: id, text });
    return h('a', { class: 'mono', href: state.nodeUrl.replace(/\/$/, '') + '/explorer/#/' + kind + '/' + encodeURIComponent(id),
      target: '_blank', rel: 'noopener', title: id, 'data-id': id, text });
  }

  // ---- charts (inline SVG) ----
  const SVGNS = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs) {
    const el = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  // The caption under a chart (text in a stretched SVG would be distorted).
  function setRange(svg, text) {
    let el = svg.nextElementSibling;
    if (!el || !el.classList.contains('chart-range')) {
      el = document.createElement('div');
      el.className = 'chart-range muted';
      svg.after(el);
    }
    el.textContent = text;
  }
  // Line chart of several series over slots: rows [{slot, a, b}], series [{key, cls}].
  function lineChart(svg, rows, series) {
    clear(svg);
    const W = 600, H = 160, P = 14;
    if (!rows.length) {
      svg.append(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }));
      svg.lastChild.textContent = 'no settled slot yet';
      svg.dataset.lastSlot = '';
      return;
    }
    let max = 1;
    for (const r of rows) for (const s of series) max = Math.max(max, Number(r[s.key]) || 0);
    const n = rows.length;
    const x = (i) => (n === 1 ? W / 2 : P + (i * (W - 2 * P)) / (n - 1));
    const y = (v) => H - P - ((Number(v) || 0) * (H - 2 * P)) / max;
    svg.append(svgEl('line', { x1: 0, x2: W, y1: H - P, y2: H - P, stroke: 'currentColor', 'stroke-opacity': 0.2 }));
    for (const s of series) {
      const d = rows.map((r, i) => (i ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(r[s.key]).toFixed(1)).join(' ');
      svg.append(svgEl('path', { d: n === 1 ? d + ' L' + (x(0) + 1) + ' ' + y(rows[0][s.key]).toFixed(1) : d, class: s.cls }));
    }
    setRange(svg, fmtSlot(rows[0].slot) + ' – ' + fmtSlot(rows[n - 1].slot) + ' · top ' + D.quantityBase(max, resource()));
    svg.dataset.lastSlot = String(rows[n - 1].slot);
  }
  // Bar chart: one bar per slot for key (cls), and an optional second key.
  function barChart(svg, rows, bars) {
    clear(svg);
    const W = 300, H = 110, P = 12;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    if (!rows.length) {
      const t = svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' });
      t.textContent = 'no reading yet';
      svg.append(t);
      svg.dataset.lastSlot = '';
      return;
    }
    const n = rows.length, slotW = (W - 2 * P) / Math.max(n, 1), bw = Math.max(1, (slotW - 2) / bars.length);
    for (const b of bars) b.max = Math.max(1, ...rows.map((r) => Number(r[b.key]) || 0));
    rows.forEach((r, i) => {
      bars.forEach((b, j) => {
        const v = Number(r[b.key]) || 0;
        const hgt = (v * (H - 2 * P)) / b.max;
        const rect = svgEl('rect', { x: (P + i * slotW + j * bw).toFixed(1), y: (H - P - hgt).toFixed(1),
          width: bw.toFixed(1), height: Math.max(0, hgt).toFixed(1), class: b.cls });
        const tip = svgEl('title', {});
        tip.textContent = fmtSlot(r.slot) + ': ' + b.label + ' ' + (b.qty ? fmtQty(v) + ' ' + resource().displayUnit : fmtMoney(v));
        rect.append(tip);
        svg.append(rect);
      });
    });
    setRange(svg, fmtSlot(rows[0].slot) + ' – ' + fmtSlot(rows[n - 1].slot));
    svg.dataset.lastSlot = String(rows[n - 1].slot);
  }

  // ---- entity panels ----
  function ensurePanel(container, kind, e) {
    const sel = 'div.entity[data-id="' + CSS.escape(e.id) + '"]';
    let el = container.querySelector(sel);
    if (el) return el;
    const p = kind + ':' + e.id + ':';
    const svg = svgEl('svg', { class: 'chart small', viewBox: '0 0 300 110', preserveAspectRatio: 'none', role: 'img',
      'aria-label': e.id + ' per slot' });
    if (kind === 'producers') {
      el = h('div', { class: 'entity', 'data-id': e.id },
        h('h3', {}, h('span', { class: 'name' }), ' ', h('span', { class: 'id muted', text: e.id }), ' ', h('span', { class: 'state' })),
        h('p', {}, 'output ', num(p + 'outputWh', 'qty'), ' ', h('span', { class: 'unit' }), ' in ', num(p + 'readings'), ' readings'),
        h('p', {}, 'earned ', num(p + 'earned', 'money'), ' · received ', num(p + 'paid', 'money'), ' · due ', num(p + 'due', 'money')),
        h('p', { class: 'muted addr' }),
        h('p', { class: 'muted note', text: 'Sources: registered at this producer (see its /api/status); the grid books only the producer\'s total.' }),
        svg, h('p', { class: 'muted note' }, h('span', { class: 'key supply', text: 'output' }), h('span', { class: 'key', style: 'color:var(--accent)', text: 'payout' }), ' per slot'));
    } else {
      el = h('div', { class: 'entity', 'data-id': e.id },
        h('h3', {}, h('span', { class: 'name' }), ' ', h('span', { class: 'id muted', text: e.id }), ' ', h('span', { class: 'state' })),
        h('p', {}, 'usage ', num(p + 'usageWh', 'qty'), ' ', h('span', { class: 'unit' }), ' in ', num(p + 'readings'), ' readings'),
        h('p', {}, 'billed ', num(p + 'billed', 'money'), ' · paid ', num(p + 'paid', 'money'), ' · outstanding ', num(p + 'outstanding', 'money')),
        h('p', { class: 'muted' }, 'payment requests ', num(p + 'requests')),
        svg, h('p', { class: 'muted note' }, h('span', { class: 'key demand', text: 'usage' }), h('span', { class: 'key', style: 'color:var(--accent)', text: 'billed' }), ' per slot'));
    }
    svg.dataset.entity = e.id;
    container.append(el);
    return el;
  }
  function renderEntities(kind) {
    const container = document.getElementById(kind);
    const list = kind === 'producers' ? state.producers : state.consumers;
    if (!list.length && !container.querySelector('.empty')) container.append(h('p', { class: 'muted empty', text: emptyText(kind) }));
    if (list.length) for (const e of container.querySelectorAll('.empty')) e.remove();
    for (const e of list) {
      const el = ensurePanel(container, kind, e);
      el.querySelector('.name').textContent = e.name || e.id;
      const st = el.querySelector('.state');
      st.textContent = e.state;
      st.className = 'state state-' + e.state;
      if (kind === 'producers') {
        const a = el.querySelector('.addr');
        if (a.dataset.addr !== (e.address || '')) {
          a.dataset.addr = e.address || '';
          clear(a);
          a.append('payment address ', e.address ? explorerLink('address', e.address) : '–');
        }
        const rows = state.pslots[e.id] || [];
        barChart(el.querySelector('svg'), rows, [{ key: 'outputWh', cls: 'out', label: 'output', qty: true },
          { key: 'amount', cls: 'paid', label: 'payout' }]);
      } else {
        const rows = state.cslots[e.id] || [];
        barChart(el.querySelector('svg'), rows, [{ key: 'usageWh', cls: 'use', label: 'usage', qty: true },
          { key: 'billed', cls: 'paid', label: 'billed' }]);
      }
    }
  }

  // What an empty producer or consumer list means for this viewer.
  function emptyText(kind) {
    if (isOperator()) return 'none registered yet';
    const role = state.me ? state.me.role : null;
    if (isMember() && role === kind.slice(0, -1)) return 'you (' + state.viewer.id + ') are not registered here yet';
    if (isMember()) return 'their own data: only they and the operator see it';
    return 'members see their own data with their certificate';
  }

  const BATCH_STATES = ['sending', 'sent', 'confirmed'];
  function renderTables() {
    const s = state.status;
    if (!isOperator()) return; /* payments and payouts name members: the operator's */
    const inc = document.querySelector('#incoming tbody');
    clear(inc);
    for (const t of s.incoming || []) {
      inc.append(h('tr', {}, h('td', { text: fmtTime(t.time) }), h('td', { class: 'r' }, h('span', { class: 'num money', 'data-value': String(t.amount), text: fmtMoney(t.amount) })),
        h('td', { class: 'mono', title: t.reference || '', text: t.requestId || '–' }), h('td', {}, explorerLink('message', t.messageId))));
    }
    if (!(s.incoming || []).length) inc.append(h('tr', {}, h('td', { colspan: '4', class: 'muted', text: 'none yet' })));
    const out = document.querySelector('#payouts tbody');
    clear(out);
    for (const b of s.payouts || []) {
      out.append(h('tr', {}, h('td', { text: String(b.id) }), h('td', { text: fmtTime(b.time) }),
        h('td', { class: 'r' }, h('span', { class: 'num money', 'data-value': String(b.total), text: fmtMoney(b.total) })),
        h('td', { class: 'r', text: String(b.outputs) }), h('td', { text: BATCH_STATES[b.state] || String(b.state) }),
        h('td', {}, explorerLink('message', b.messageId))));
    }
    if (!(s.payouts || []).length) out.append(h('tr', {}, h('td', { colspan: '6', class: 'muted', text: 'none yet' })));
  }

  function render() {
    const s = state.status;
    if (!s) return;
    document.getElementById('grid-name').textContent = (s.name || s.id || '') + (s.address ? '' : '');
    document.getElementById('mechanism').textContent = s.mechanism || '–';
    document.getElementById('slot-ms').textContent = s.slotMs ? (s.slotMs / 1000) + ' s' : '–';
    document.getElementById('time-zone').textContent = s.timeZone || 'UTC';
    const m = money();
    for (const el of document.querySelectorAll('.currency')) el.textContent = m.currency;
    const hasPrice = !!(s.lastSlot && s.lastSlot.hasPrice);
    document.getElementById('price-none').hidden = hasPrice;
    document.getElementById('price-some').hidden = !hasPrice;
    renderEntities('producers');
    renderEntities('consumers');
    // the resource's words, also in the panels just made
    const r = resource(), noun = D.noun(r);
    const words = { unit: r.displayUnit, 'base-unit': r.unit, noun, 'noun-cap': noun[0].toUpperCase() + noun.slice(1) };
    for (const [cls, text] of Object.entries(words)) {
      for (const el of document.querySelectorAll('.' + cls)) if (el.textContent !== text) el.textContent = text;
    }
    refreshNums(document);
    renderTables();
    lineChart(document.getElementById('grid-chart'), state.slots,
      [{ key: 'supplyWh', cls: 'supply' }, { key: 'demandWh', cls: 'demand' }]);
    document.body.dataset.updated = String(Date.now());
  }

  async function getJson(path) {
    const r = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' } });
    const j = await r.json().catch(() => null);
    if (!r.ok) throw new Error(path + ': ' + (j && j.error ? j.error.message : 'HTTP ' + r.status));
    return j;
  }

  // The producer and consumer rows this viewer may read: all of them for the
  // operator, its own (from /api/me) for a member, none for the public.
  async function entityRows() {
    if (isOperator()) return Promise.all([getJson('/api/producers'), getJson('/api/consumers')]);
    if (!isMember()) return [[], []];
    const me = await getJson('/api/me');
    state.me = me;
    const own = me.registration ? [me.registration] : [];
    return [me.role === 'producer' ? own : [], me.role === 'consumer' ? own : []];
  }

  async function poll() {
    if (state.busy) return;
    state.busy = true;
    const conn = document.getElementById('conn');
    try {
      const [status, [producers, consumers]] = await Promise.all([getJson('/api/status'), entityRows()]);
      const to = Math.max(0, (status.nextSlot || 0));
      const from = Math.max(0, to - SLOTS_SHOWN);
      const q = '?from=' + from + '&to=' + to;
      const [slots, ...series] = await Promise.all([getJson('/api/slots' + q),
        ...producers.map((p) => getJson('/api/producers/' + encodeURIComponent(p.id) + '/slots' + q)),
        ...consumers.map((c) => getJson('/api/consumers/' + encodeURIComponent(c.id) + '/slots' + q))]);
      state.status = status;
      state.producers = producers;
      state.consumers = consumers;
      state.slots = slots;
      producers.forEach((p, i) => { state.pslots[p.id] = series[i]; });
      consumers.forEach((c, i) => { state.cslots[c.id] = series[producers.length + i]; });
      render();
      conn.textContent = 'live';
      conn.className = 'badge ok';
    } catch (err) {
      conn.textContent = 'cannot reach the grid: ' + err.message;
      conn.className = 'badge bad';
    } finally {
      state.busy = false;
    }
    if (!isOperator()) return;
    try {
      const log = await getJson('/api/log?lines=60');
      const pre = document.getElementById('log');
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      const text = log.lines.join('\n');
      if (pre.textContent !== text) {
        pre.textContent = text;
        if (atEnd) pre.scrollTop = pre.scrollHeight;
      }
    } catch (err) {
      // the log is optional
    }
  }

  // The viewer badge and note, and the operator-only parts shown or hidden.
  function showViewer() {
    const v = state.viewer;
    const badge = document.getElementById('viewer');
    badge.textContent = v.role === 'operator' ? 'operator view' + (v.id ? ' (' + v.id + ')' : '')
      : v.role === 'member' ? 'member view: ' + v.id : 'public view';
    badge.className = 'badge viewer-' + v.role;
    document.body.dataset.viewer = v.role;
    const note = document.getElementById('viewer-note');
    if (v.role === 'operator') {
      note.hidden = true;
    } else if (v.role === 'member') {
      note.textContent = 'You see the community totals and your own data (' + v.id + '). ' +
        'Other members\' data is theirs and the operator\'s.';
      note.hidden = false;
    } else {
      note.textContent = 'You see community totals. Members see their own data with their certificate; ' +
        'the operator sees everything.';
      note.hidden = false;
    }
    document.getElementById('transfers').hidden = v.role !== 'operator';
    document.getElementById('log-panel').hidden = v.role !== 'operator';
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    try {
      const cfg = await getJson('/api/config');
      state.nodeUrl = params.get('node') || cfg.nodeUrl || null;
      /* a grid from before the read rules served everything to everyone */
      const v = cfg.viewer || { role: 'operator' };
      if (v.role === 'operator' || v.role === 'member') state.viewer = { role: v.role, id: v.id || null };
    } catch (err) {
      state.nodeUrl = params.get('node');
    }
    showViewer();
    const link = document.getElementById('explorer-link');
    if (state.nodeUrl) link.href = state.nodeUrl.replace(/\/$/, '') + '/explorer/';
    else link.hidden = true;
    await poll();
    setInterval(poll, POLL_MS);
  }
  start();
})();
