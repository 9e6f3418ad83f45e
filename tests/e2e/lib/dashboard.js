// What the dashboard shows against the grid's JSON API: every number element
// carries data-path ("status:totals.fees", "producers:<id>:paid", ...) and
// data-value (the raw API value); its text is that value formatted
// (quantities, class qty, in the display unit of /api/status resource with
// every decimal of the base unit: kWh with 3 decimals from Wh when absent,
// counts with thousands separators, amounts (class money) and prices (per the
// resource's price unit) in the grid's currency from /api/status money,
// slots (class slot) as the local time of their start in its timeZone).
//
// The expected texts are computed here independently of the page's code:
// decimal strings by BigInt long division and hand-made grouping, times by
// the sv-SE locale (which writes "2025-06-21 14:15:06" by itself).
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

function group(s) { return s.replace(/\B(?=(\d{3})+(?!\d))/g, ','); }

// v base units as currency text with dec decimals, half away from zero.
function moneyText(v, m, dec, suffix) {
  const upc = BigInt(m.unitsPerCurrency);
  const neg = v < 0;
  const a = BigInt(Math.abs(v)) * 10n ** BigInt(dec);
  let q = a / upc;
  if ((a % upc) * 2n >= upc) q += 1n;
  const s = q.toString().padStart(dec + 1, '0');
  const ip = s.slice(0, s.length - dec), fp = s.slice(s.length - dec);
  return (neg && q > 0n ? '-' : '') + group(ip) + (dec ? '.' + fp : '') + ' ' + m.currency + suffix;
}

function priceDecimals(m) {
  let r = 0;
  while (10n ** BigInt(r) < BigInt(m.unitsPerCurrency)) r++;
  return Math.min(m.decimals + 2, r);
}

// The local start of a slot in the grid's zone.
function slotText(slot, status) {
  const ms = slot * status.slotMs;
  const s = new Intl.DateTimeFormat('sv-SE', { timeZone: status.timeZone, year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(ms));
  return ms % 60000 ? s : s.slice(0, 16);
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
    const r = api.status.resource || { unit: 'Wh', displayUnit: 'kWh', displayFactor: 1000, priceUnit: 'kWh' };
    const dec = String(r.displayFactor).length - 1;
    if (e.qty) {
      const re = new RegExp('^-?\\d+' + (dec ? '\\.\\d{' + dec + '}' : '') + '$');
      if (!re.test(t) || Number(t.replace('.', '')) !== v) bad.push(`${e.path}: text ${e.text} ${r.displayUnit} != ${v} ${r.unit}`);
    } else if (e.money) {
      const want = moneyText(v, api.status.money, api.status.money.decimals, '');
      if (e.text !== want) bad.push(`${e.path}: text ${e.text} != ${want} (${v} i)`);
    } else if (e.slot) {
      const want = slotText(v, api.status);
      if (e.text !== want) bad.push(`${e.path}: text ${e.text} != ${want} (slot ${v})`);
    } else if (e.price) {
      const m = api.status.money;
      if (Number.isInteger(v)) {
        const want = moneyText(v, m, priceDecimals(m), '/' + r.priceUnit);
        if (e.text !== want) bad.push(`${e.path}: text ${e.text} != ${want} (${v} i/${r.priceUnit})`);
      } else if (Math.abs(Number(t.split(' ')[0]) - v / m.unitsPerCurrency) > 10 ** -priceDecimals(m)) {
        bad.push(`${e.path}: text ${e.text} != ${v} i/${r.priceUnit}`);
      }
    } else if (t !== String(v)) {
      bad.push(`${e.path}: text ${e.text} != ${v}`);
    }
  }
  return bad;
}

// Every [data-path] element of a page, in the form compare() takes.
function shownOf(page) {
  return page.$$eval('[data-path]', (els) => els.map((e) => ({ path: e.dataset.path, value: e.dataset.value,
    text: e.textContent, qty: e.classList.contains('qty'), price: e.classList.contains('price'),
    money: e.classList.contains('money'), slot: e.classList.contains('slot') })));
}

module.exports = { compare, shownOf, moneyText, slotText };
