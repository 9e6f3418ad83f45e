// p2pgrid grid dashboard: polls the grid's JSON API every second and draws
// the numbers and charts. Every number element carries data-path (which API
// field it shows) and data-value (the raw value), so tests can compare them
// with the API exactly. No libraries, no network beyond this grid's API.
//
// What it shows depends on who is looking (GET /api/config says: viewer.role
// is the grid's reading of the browser's client certificate):
//   operator  everything: totals, slots, every producer and consumer with
//             its series, recent payments and payouts, every recent event
//             (/api/events), the process log (folded)
//   member    the totals and slots, and its own row and series (/api/me,
//             its own /api/{producers|consumers}/{id}/slots), the
//             settlements and its own events
//   public    the community totals, slots and settlements only
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
// Charts (web/dashboard/chart.js) are drawn at their pixel size with a time
// axis in the grid's zone, value axes titled with their unit and a legend.
'use strict';

(function () {
  const POLL_MS = 1000;
  const SLOTS_SHOWN = 30;
  const EVENTS_SHOWN = 50;
  const state = { status: null, producers: [], consumers: [], slots: [], pslots: {}, cslots: {},
    events: [], nodeUrl: null, busy: false, viewer: { role: 'public', id: null }, me: null };
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
  const tz = () => (state.status && state.status.timeZone) || 'UTC';
  const fmtTime = (ms) => D.time(ms, tz());
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
    let el = svg.parentNode.querySelector('.chart-range');
    if (!el) {
      el = document.createElement('div');
      el.className = 'chart-range muted';
      svg.after(el);
    }
    el.textContent = text;
  }
  // The time range under a chart ("2025-06-21 18:30 – 2025-06-22 01:45").
  function rangeText(rows) {
    return rows.length ? fmtSlot(rows[0].slot) + ' – ' + fmtSlot(rows[rows.length - 1].slot) : '';
  }
  const qtyTitle = () => noun() + ' per slot (' + resource().displayUnit + ')';
  const moneyTitle = () => 'amount (' + money().currency + ')';
  function noun() { return D.noun(resource()); }
  function qtyTip(label) { return (r, key) => fmtSlot(r.slot) + ': ' + label + ' ' + fmtQty(r[key]) + ' ' + resource().displayUnit; }
  function moneyTip(label) { return (r, key) => fmtSlot(r.slot) + ': ' + label + ' ' + fmtMoney(r[key]); }
  // Series [{key, cls, label, axis, tip(row, key)}] as pgChart takes them.
  function chartSeries(list) {
    return list.map((s) => Object.assign({}, s, { tip: (r) => s.tip(r, s.key) }));
  }
  // The grid's supply and demand per slot: lines over time, axis in the display unit.
  function gridChart(svg, rows) {
    const r = resource(), u = r.displayUnit;
    const series = [{ key: 'supplyWh', cls: 'supply', label: 'supply (' + u + ')', tip: qtyTip('supply') },
      { key: 'demandWh', cls: 'demand', label: 'demand (' + u + ')', tip: qtyTip('demand') }];
    window.pgChart.draw(svg, { rows, slotMs: state.status.slotMs, zone: tz(), type: 'line', height: 180,
      axes: { left: { title: qtyTitle(), scale: r.displayFactor } }, series: chartSeries(series),
      empty: 'no settled slot yet' });
    window.pgChart.legend(svg.parentNode, series);
    let top = 0;
    for (const x of rows) top = Math.max(top, Number(x.supplyWh) || 0, Number(x.demandWh) || 0);
    setRange(svg, rangeText(rows) + (rows.length ? ' · top ' + D.quantityBase(top, r) : ''));
  }
  // A member's bars per slot: its quantity (left axis) and money (right axis).
  function memberChart(svg, rows, qty, amount) {
    const r = resource();
    const series = [{ key: qty.key, cls: qty.cls, label: qty.label + ' (' + r.displayUnit + ')', axis: 'left', tip: qtyTip(qty.label) },
      { key: amount.key, cls: 'paid', label: amount.label + ' (' + money().currency + ')', axis: 'right', tip: moneyTip(amount.label) }];
    window.pgChart.draw(svg, { rows, slotMs: state.status.slotMs, zone: tz(), type: 'bar', height: 150,
      axes: { left: { title: qtyTitle(), scale: r.displayFactor }, right: { title: moneyTitle(), scale: money().unitsPerCurrency } },
      series: chartSeries(series), empty: 'no reading yet' });
    window.pgChart.legend(svg.parentNode, series);
    setRange(svg, rangeText(rows));
  }

  // ---- entity panels ----
  function ensurePanel(container, kind, e) {
    const sel = 'div.entity[data-id="' + CSS.escape(e.id) + '"]';
    let el = container.querySelector(sel);
    if (el) return el;
    const p = kind + ':' + e.id + ':';
    const svg = svgEl('svg', { class: 'chart small', role: 'img', 'aria-label': e.id + ' per slot' });
    const box = h('figure', { class: 'chart-box' }, svg);
    if (kind === 'producers') {
      el = h('div', { class: 'entity', 'data-id': e.id },
        h('h3', {}, h('span', { class: 'name' }), ' ', h('span', { class: 'id muted', text: e.id }), ' ', h('span', { class: 'state' })),
        h('p', {}, 'output ', num(p + 'outputWh', 'qty'), ' ', h('span', { class: 'unit' }), ' in ', num(p + 'readings'), ' readings'),
        h('p', {}, 'earned ', num(p + 'earned', 'money'), ' · received ', num(p + 'paid', 'money'), ' · due ', num(p + 'due', 'money')),
        h('p', { class: 'muted addr' }),
        h('p', { class: 'muted note', text: 'Sources: registered at this producer (see its /api/status); the grid books only the producer\'s total.' }),
        box);
    } else {
      el = h('div', { class: 'entity', 'data-id': e.id },
        h('h3', {}, h('span', { class: 'name' }), ' ', h('span', { class: 'id muted', text: e.id }), ' ', h('span', { class: 'state' })),
        h('p', {}, 'usage ', num(p + 'usageWh', 'qty'), ' ', h('span', { class: 'unit' }), ' in ', num(p + 'readings'), ' readings'),
        h('p', {}, 'billed ', num(p + 'billed', 'money'), ' · paid ', num(p + 'paid', 'money'), ' · outstanding ', num(p + 'outstanding', 'money')),
        h('p', { class: 'muted' }, 'payment requests ', num(p + 'requests')),
        box);
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
        memberChart(el.querySelector('svg'), rows, { key: 'outputWh', cls: 'out', label: 'output' },
          { key: 'amount', label: 'payout' });
      } else {
        const rows = state.cslots[e.id] || [];
        memberChart(el.querySelector('svg'), rows, { key: 'usageWh', cls: 'use', label: 'usage' },
          { key: 'billed', label: 'billed' });
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

  // ---- recent events (GET /api/events: what this viewer may see) ----
  // The slot's start, its date left out when it is the day of ref (ms).
  function slotAt(slot, ref) {
    const t = fmtSlot(slot), r = fmtTime(ref);
    return t.slice(0, 10) === r.slice(0, 10) ? t.slice(11) : t;
  }
  const who = (e) => e.member || '–';
  const EVENT_TEXT = {
    settlement: (e) => ['settled', 'slot of ' + slotAt(e.slot, e.time) + ': supply ' + D.quantity(e.supplyWh, resource()) +
      ', demand ' + D.quantity(e.demandWh, resource()) + (e.hasPrice ? ', price ' + fmtPrice(e.buyPrice) : ', no clearing price')],
    bill: (e) => [e.bill === 'month' ? 'month bill' : 'bill', who(e) + ' owes ' + fmtMoney(e.amount) +
      (e.bill === 'month' ? '' : ' for ' + D.quantity(e.usageWh, resource()) + ' (slot of ' + slotAt(e.slot, e.time) + ')')],
    payment: (e) => ['payment', who(e) + ' paid ' + fmtMoney(e.amount) + ' (bill of ' + slotAt(e.slot, e.time) + ')', e.messageId],
    payout: (e) => ['payout', (e.member ? 'to ' + e.member + ' ' : '#' + e.batch + ': ') + fmtMoney(e.amount) +
      (e.member ? ' for ' + slotAt(e.slot, e.time) : ' to ' + e.outputs + ' producer' + (e.outputs === 1 ? '' : 's')) + ' · ' + e.state, e.messageId],
    registration: (e) => ['registered', who(e) + (e.name && e.name !== e.member ? ' (' + e.name + ')' : '') + ' as ' + e.role + ' · ' + e.state],
    enrolment: (e) => ['enrolled', who(e) + ' as ' + e.role + ' · ' + e.state],
    quarantine: (e) => ['quarantined', who(e) + '\'s reading of ' + slotAt(e.slot, e.time) + ' (' + D.quantity(e.wh, resource()) + '): ' +
      e.reason + ' · ' + e.state],
  };
  // Consecutive bills (or payments) of one slot as one line: a slot of 200
  // households does not push everything else off the list.
  function grouped(events) {
    const out = [];
    for (const e of events) {
      const last = out[out.length - 1];
      if (last && (e.kind === 'bill' || e.kind === 'payment') && last.kind === e.kind && last.slot === e.slot &&
          last.bill === e.bill) last.items.push(e);
      else out.push(Object.assign({}, e, { items: [e] }));
    }
    return out;
  }
  function groupText(g) {
    const sum = g.items.reduce((a, e) => a + BigInt(e.amount), 0n);
    const shown = g.items.slice(0, 4).map((e) => e.member + ' ' + fmtMoney(e.amount)).join(', ') +
      (g.items.length > 4 ? ', …' : '');
    const what = g.kind === 'bill' ? [(g.bill === 'month' ? 'month ' : '') + 'bills', g.items.length + ' bills for the slot of ']
      : ['payments', g.items.length + ' payments for the bills of '];
    return [what[0], what[1] + slotAt(g.slot, g.time) + ': ' + fmtMoney(sum) + ' (' + shown + ')'];
  }
  function renderEvents() {
    const list = document.getElementById('events');
    const key = JSON.stringify(state.events) + tz();
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    clear(list);
    for (const g of grouped(state.events || [])) {
      const f = EVENT_TEXT[g.kind];
      if (!f) continue;
      const [tag, text, msg] = g.items.length > 1 ? groupText(g) : f(g);
      list.append(h('li', { 'data-kind': g.kind, 'data-count': String(g.items.length) },
        h('time', { 'data-ms': String(g.time), text: fmtTime(g.time) }),
        h('span', { class: 'tag tag-' + g.kind, text: tag }), h('span', { class: 'what', text }),
        msg ? h('span', { class: 'link' }, explorerLink('message', msg)) : ''));
    }
    if (!list.children.length) list.append(h('li', { class: 'muted', text: 'nothing yet' }));
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
    gridChart(document.getElementById('grid-chart'), state.slots);
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
    try { // the events after the numbers: a slow list never holds them back
      state.events = await getJson('/api/events?limit=' + EVENTS_SHOWN);
      if (state.status) renderEvents();
    } catch (err) {
      // shown again with the next poll
    }
    if (!isOperator()) return;
    try {
      const log = await getJson('/api/log?lines=60');
      const pre = document.getElementById('log');
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      const text = log.lines.join('\n');
      document.getElementById('log-panel').hidden = !log.lines.length;
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
    window.addEventListener('resize', () => { if (state.status) render(); });
    const link = document.getElementById('explorer-link');
    if (state.nodeUrl) link.href = state.nodeUrl.replace(/\/$/, '') + '/explorer/';
    else link.hidden = true;
    await poll();
    setInterval(poll, POLL_MS);
  }
  start();
})();
