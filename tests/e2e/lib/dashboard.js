// What the dashboard shows against the grid's JSON API: every number element
// carries data-path ("status:totals.fees", "producers:<id>:paid", ...) and
// data-value (the raw API value); its text is that value formatted (kWh with
// 3 decimals from Wh, prices as numbers, amounts with thousands separators).
'use strict';

function resolve(api, path) {
  const parts = path.split(':');
  let src;
  if (parts[0] === 'status') src = api.status;
  else src = (parts[0] === 'producers' ? api.producers : api.consumers).find((e) => e.id === parts[1]);
  let v = src;
  for (const k of parts[parts.length - 1].split('.')) v = v == null ? undefined : v[k];
  return v;
}

// Mismatches between what the page shows and the API (empty = equal).
function compare(shown, api) {
  const bad = [];
  for (const e of shown) {
    const v = resolve(api, e.path);
    const raw = v === undefined || v === null ? '' : String(v);
    if (e.value !== raw) { bad.push(`${e.path}: data-value ${e.value} != API ${raw}`); continue; }
    if (raw === '') continue;
    const t = e.text.replace(/,/g, '');
    if (e.kwh) {
      if (!/^-?\d+\.\d{3}$/.test(t) || Number(t.replace('.', '')) !== v) bad.push(`${e.path}: text ${e.text} kWh != ${v} Wh`);
    } else if (e.price) {
      if (Number(t) !== v) bad.push(`${e.path}: text ${e.text} != ${v}`);
    } else if (t !== String(v)) {
      bad.push(`${e.path}: text ${e.text} != ${v}`);
    }
  }
  return bad;
}

module.exports = { compare };
