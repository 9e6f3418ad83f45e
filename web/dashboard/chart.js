// Charts of the grid dashboard as inline SVG drawn at the element's own
// pixel size (text is never stretched): a time axis with readable ticks in
// the grid's zone, a left value axis and optionally a right one, each with
// its title and unit, lines or side-by-side bars per slot. No libraries.
//
//   pgChart.draw(svg, {
//     rows: [{slot, ...}], slotMs, zone,            // x: the start of each slot
//     type: 'line' | 'bar', height: 160,
//     axes: { left: {title: 'energy (kWh)', scale: 1000}, right: {...} },
//     series: [{key, cls, label, axis: 'left'|'right', tip(row) -> text}],
//     empty: 'no settled slot yet' })
// scale: what one axis unit is in the row's values (1000 Wh = 1 kWh; the
// money's unitsPerCurrency). The svg gets data-last-slot; axis titles are
// <text class="axis-title">, tick labels <text class="tick">.
'use strict';

(function (root) {
  const SVGNS = 'http://www.w3.org/2000/svg';
  function el(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // 0, step, 2 step, ... covering max with about n ticks; step 1, 2 or 5 x 10^k.
  function niceTicks(max, n) {
    if (!(max > 0)) max = 1;
    const raw = max / n, p = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
    const top = Math.ceil(max / step - 1e-9) * step;
    const ticks = [];
    for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
    return { ticks, top, decimals: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
  }
  function tickText(v, decimals) {
    return v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }

  // The zone's offset (ms) at ms, from the local time pgDisplay prints.
  function offsetAt(ms, zone) {
    const m = Math.floor(ms / 60000) * 60000;
    const t = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d)/.exec(root.pgDisplay.time(m, zone));
    return t ? Date.UTC(+t[1], +t[2] - 1, +t[3], +t[4], +t[5]) - m : 0;
  }
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
    .map((s) => s * 1000);
  // Tick times between t0 and t1 (ms), at most n, on whole steps of local time
  // or, first, on the slots' own boundaries (minStep, the slot length): a
  // span of a few slots whose length is none of STEPS (3 s) then still gets
  // a tick at each end instead of one tick or none on a coarser step.
  function timeTicks(t0, t1, n, zone, minStep) {
    const span = Math.max(1, t1 - t0);
    const steps = minStep > 0 ? [minStep].concat(STEPS) : STEPS;
    const step = steps.find((s) => s >= minStep && span / s <= n) || Math.ceil(span / n / 86400000) * 86400000;
    const off = offsetAt(t0, zone);
    const ticks = [];
    for (let t = Math.ceil((t0 + off) / step) * step - off; t <= t1; t += step) ticks.push(t);
    return { ticks, step };
  }
  // "14:15" ("14:15:30" for steps under a minute; "06-22" at a new day).
  function timeLabel(t, step, zone, prevDay) {
    const s = root.pgDisplay.time(t, zone), day = s.slice(0, 10), hm = s.slice(11);
    if (prevDay !== null && day !== prevDay) return { text: s.slice(5, 10) + ' ' + hm.slice(0, 5), day };
    return { text: step < 60000 ? (hm.length === 5 ? hm + ':00' : hm) : hm.slice(0, 5), day };
  }

  function draw(svg, o) {
    while (svg.firstChild) svg.firstChild.remove();
    const W = Math.max(200, Math.round(svg.getBoundingClientRect().width || svg.parentNode.clientWidth || 600));
    const H = o.height || 160;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('height', String(H));
    const rows = o.rows || [];
    if (!rows.length || !o.slotMs) {
      svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, o.empty || 'no data yet'));
      svg.dataset.lastSlot = '';
      return;
    }
    const right = o.axes.right;
    const M = { l: 46, r: right ? 46 : 12, t: 20, b: 32 };
    const pw = W - M.l - M.r, ph = H - M.t - M.b;
    // y axes
    const scales = {};
    for (const side of ['left', 'right']) {
      const ax = o.axes[side];
      if (!ax) continue;
      let max = 0;
      for (const s of o.series) if ((s.axis || 'left') === side) for (const r of rows) max = Math.max(max, (Number(r[s.key]) || 0) / ax.scale);
      const nt = niceTicks(max, ph < 100 ? 3 : 4);
      scales[side] = (v) => M.t + ph - ((Number(v) || 0) / ax.scale) * ph / nt.top;
      const x = side === 'left' ? M.l - 4 : W - M.r + 4;
      for (const v of nt.ticks) {
        const y = M.t + ph - (v * ph) / nt.top;
        if (side === 'left') svg.append(el('line', { x1: M.l, x2: W - M.r, y1: y, y2: y, class: 'grid' }));
        svg.append(el('text', { x, y: y + 3, 'text-anchor': side === 'left' ? 'end' : 'start', class: 'tick' }, tickText(v, nt.decimals)));
      }
      svg.append(el('text', { x: side === 'left' ? 2 : W - 2, y: 11, 'text-anchor': side === 'left' ? 'start' : 'end',
        class: 'axis-title axis-' + side }, ax.title));
    }
    // x axis: the start of each slot; bars take the slot's width
    const n = rows.length, t0 = rows[0].slot * o.slotMs, t1 = rows[n - 1].slot * o.slotMs;
    const bar = o.type === 'bar';
    const span = bar ? t1 - t0 + o.slotMs : Math.max(t1 - t0, o.slotMs);
    const xOf = (t) => M.l + ((t - t0) * pw) / span;
    // ticks over the whole axis: for bars up to the end of the last slot, so a
    // chart of one slot still reads from its start to its end
    const tt = timeTicks(t0, t0 + span, Math.max(2, Math.floor(pw / 70)), o.zone, o.slotMs);
    // the time axis and its tick marks as one path
    const yb = M.t + ph;
    svg.append(el('path', { d: 'M' + M.l + ' ' + yb + ' H' + (W - M.r) + tt.ticks.map((t) => ' M' + xOf(t).toFixed(1) + ' ' + yb + ' v4').join(''),
      class: 'axis' }));
    let day = null;
    for (const t of tt.ticks) {
      const x = xOf(t);
      const lab = timeLabel(t, tt.step, o.zone, day);
      day = lab.day;
      // labels at the edges stay inside the chart
      const half = lab.text.length * 3;
      const anchor = x - half < 0 ? 'start' : x + half > W ? 'end' : 'middle';
      svg.append(el('text', { x: anchor === 'start' ? 0 : anchor === 'end' ? W : x, y: M.t + ph + 15, 'text-anchor': anchor, class: 'tick' }, lab.text));
    }
    svg.append(el('text', { x: M.l + pw / 2, y: H - 3, 'text-anchor': 'middle', class: 'axis-title axis-x' },
      o.xTitle || 'time (' + (o.zone || 'UTC') + ')'));
    if (bar) drawBars(svg, o, rows, scales, xOf, (pw / span) * o.slotMs, M.t + ph);
    else drawLines(svg, o, rows, scales, xOf);
    svg.dataset.lastSlot = String(rows[n - 1].slot);
  }

  function drawBars(svg, o, rows, scales, xOf, slotW, base) {
    const k = o.series.length, gap = slotW > 6 ? 1 : 0, bw = Math.max(0.5, (slotW - 2 * gap) / k);
    for (const r of rows) {
      o.series.forEach((s, j) => {
        const y = scales[s.axis || 'left'](r[s.key]);
        const rect = el('rect', { x: (xOf(r.slot * o.slotMs) + gap + j * bw).toFixed(1), y: y.toFixed(1),
          width: bw.toFixed(1), height: Math.max(0, base - y).toFixed(1), class: s.cls });
        if (s.tip) rect.append(el('title', {}, s.tip(r)));
        svg.append(rect);
      });
    }
  }

  function drawLines(svg, o, rows, scales, xOf) {
    for (const s of o.series) {
      const y = scales[s.axis || 'left'];
      const pts = rows.map((r) => xOf(r.slot * o.slotMs).toFixed(1) + ' ' + y(r[s.key]).toFixed(1));
      if (pts.length === 1) pts.push((xOf(rows[0].slot * o.slotMs) + 2).toFixed(1) + ' ' + y(rows[0][s.key]).toFixed(1));
      svg.append(el('path', { d: 'M' + pts.join(' L'), class: s.cls }));
      for (const r of rows) {
        const c = el('circle', { cx: xOf(r.slot * o.slotMs).toFixed(1), cy: y(r[s.key]).toFixed(1), r: 2.5, class: s.cls });
        if (s.tip) c.append(el('title', {}, s.tip(r)));
        svg.append(c);
      }
    }
  }

  // The legend under a chart: one key per series ("supply (kWh)").
  function legend(box, series) {
    let lg = box.querySelector('.legend');
    if (!lg) {
      lg = document.createElement('div');
      lg.className = 'legend';
      box.querySelector('svg').before(lg);
    }
    const text = series.map((s) => s.label).join('|');
    if (lg.dataset.text === text) return;
    lg.dataset.text = text;
    lg.replaceChildren(...series.map((s) => {
      const k = document.createElement('span');
      k.className = 'key ' + s.cls;
      k.textContent = s.label;
      return k;
    }));
  }

  root.pgChart = Object.freeze({ draw, legend, niceTicks, timeTicks });
})(window);
