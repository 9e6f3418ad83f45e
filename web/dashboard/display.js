// Money and times as people read them, for the browser apps (the grid
// dashboard and the Tangle explorer, which embed this file through a
// symlink in their asset directories) and for node (tests).
//
// money: {currency, unitsPerCurrency, decimals} as the grid's /api/status
// and the node's /api/plugins/display give it (p2pgrid/base/money.h):
//   pgDisplay.money(2343151525, {currency: 'EUR', unitsPerCurrency: 1e9, decimals: 2})
//     -> "2.34 EUR"
// Exact: an integer amount (Number or BigInt) is scaled with BigInt and
// rounded half away from zero, then grouped by Intl.NumberFormat; the same
// text as pg_money_format in C. Prices per kWh show decimals + 2 digits, but
// no more than a base unit resolves (pg_money_format_price).
// Times: pgDisplay.time(ms, 'Europe/Berlin') -> "2025-06-21 14:15" (":ss"
// off the whole minute) by Intl.DateTimeFormat in that zone; an offset zone
// ("+01:00") the browser does not know is applied to UTC by hand.
//
// resource: {name, unit, displayUnit, displayFactor, flowUnit, flowFactor,
// priceUnit} as the entities' /api/status and the simulator's summary.json
// give it (pg_resource_json, p2pgrid/base/resource.h); absent or invalid means
// electricity (Wh, kWh, kW). Quantities are integers of its base unit:
//   pgDisplay.quantity(1500, water) -> "1.5 m³" (pg_resource_format: exact,
//   trailing zeros dropped), quantityBase(1500, water) -> "1,500 L",
//   fixed(1500, water) -> "1.500" (every decimal of the base unit, no unit:
//   the dashboard's number cells), noun(water) -> "water" ("energy" for
//   electricity), and prices per its price unit: price(v, money, water)
//   -> "0.3000 EUR/m³" (pg_money_format_price_per).
'use strict';

(function (root) {
  const BASE = Object.freeze({ currency: 'i', unitsPerCurrency: 1, decimals: 0 });
  const ELECTRICITY = Object.freeze({ name: 'electricity', unit: 'Wh', displayUnit: 'kWh', displayFactor: 1000,
    flowUnit: 'kW', flowFactor: 1000, priceUnit: 'kWh' });
  const numberFormats = new Map();
  const dateFormats = new Map();

  function numberFormat(dec) {
    if (!numberFormats.has(dec)) {
      numberFormats.set(dec, new Intl.NumberFormat('en-US', { minimumFractionDigits: dec, maximumFractionDigits: dec }));
    }
    return numberFormats.get(dec);
  }
  function valid(m) {
    return m && typeof m.currency === 'string' && /^[A-Za-z]{1,15}$/.test(m.currency) &&
      Number.isSafeInteger(m.unitsPerCurrency) && m.unitsPerCurrency >= 1 &&
      Number.isInteger(m.decimals) && m.decimals >= 0 && m.decimals <= 9 ? m : BASE;
  }
  // |v| / upc with dec decimals, half away from zero, grouped; '-' unless it rounds to 0.
  function scaled(v, upc, dec) {
    let a = BigInt(v);
    const neg = a < 0n;
    if (neg) a = -a;
    const u = BigInt(upc), scale = 10n ** BigInt(dec);
    const q = (2n * a * scale + u) / (2n * u);
    const frac = dec ? '.' + (q % scale).toString().padStart(dec, '0') : '';
    return numberFormat(dec).format((neg && q ? '-' : '') + (q / scale).toString() + frac);
  }
  const isAmount = (v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));

  // "1,234.57 EUR" for an amount in base units; '–' for anything else.
  function money(v, m) {
    if (!isAmount(v)) return '–';
    m = valid(m);
    return scaled(v, m.unitsPerCurrency, m.decimals) + ' ' + m.currency;
  }
  // The resource checks of pg_resource_check: labels of 1..15 UTF-8 bytes
  // without control characters or <>&"'\, factors 1..10^9 (display: a power of ten).
  const label = (s) => typeof s === 'string' && new TextEncoder().encode(s).length >= 1 &&
    new TextEncoder().encode(s).length <= 15 && !/[\u0000-\u001f\u007f<>&"'\\]/.test(s);
  const factor = (f) => Number.isSafeInteger(f) && f >= 1 && f <= 1e9;
  function resource(r) {
    return r && typeof r.name === 'string' && /^[a-z0-9_-]{1,31}$/.test(r.name) &&
      typeof r.unit === 'string' && /^[A-Za-z0-9_.-]{1,15}$/.test(r.unit) && label(r.displayUnit) &&
      factor(r.displayFactor) && /^10*$/.test(String(r.displayFactor)) && label(r.flowUnit) &&
      factor(r.flowFactor) && label(r.priceUnit) ? r : ELECTRICITY;
  }
  const isElectricity = (r) => r.name === 'electricity' && r.unit === 'Wh';
  // "energy" for electricity, else the resource's name ("water").
  function noun(r) {
    r = resource(r);
    return isElectricity(r) ? 'energy' : r.name;
  }
  // |q| / f as grouped integer part and the fraction's digits (exact, BigInt).
  function split(q, f) {
    let a = BigInt(q);
    const neg = a < 0n;
    if (neg) a = -a;
    const F = BigInt(f), dec = String(f).length - 1;
    return { sign: neg ? '-' : '', int: (a / F).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ','),
      frac: dec ? (a % F).toString().padStart(dec, '0') : '' };
  }
  // "1,234.5 m³": q base units in the display unit, trailing zeros dropped.
  function quantity(q, r) {
    if (!isAmount(q)) return '–';
    r = resource(r);
    const p = split(q, r.displayFactor), frac = p.frac.replace(/0+$/, '');
    return p.sign + p.int + (frac ? '.' + frac : '') + ' ' + r.displayUnit;
  }
  // "1,234,500 L": q in the base unit.
  function quantityBase(q, r) {
    if (!isAmount(q)) return '–';
    r = resource(r);
    const p = split(q, 1);
    return p.sign + p.int + ' ' + r.unit;
  }
  // "1,234.500": q in the display unit with every decimal of the base unit.
  function fixed(q, r) {
    if (!isAmount(q)) return '–';
    const p = split(q, resource(r).displayFactor);
    return p.sign + p.int + (p.frac ? '.' + p.frac : '');
  }
  // "0.3000 EUR/kWh" for a price in base units per price unit (1000 base
  // units: kWh, m³; a decimal price is shown rounded by Intl, not exactly).
  function price(v, m, r) {
    if (!isAmount(v) && !(typeof v === 'number' && Number.isFinite(v))) return '–';
    m = valid(m);
    let resolve = 0; // smallest r with 10^r >= unitsPerCurrency
    for (let p = 1n; p < BigInt(m.unitsPerCurrency); p *= 10n) resolve++;
    const dec = Math.min(m.decimals + 2, resolve);
    const text = isAmount(v) ? scaled(v, m.unitsPerCurrency, dec) : numberFormat(dec).format(v / m.unitsPerCurrency);
    return text + ' ' + m.currency + '/' + resource(r).priceUnit;
  }

  function dateFormat(zone) {
    if (!dateFormats.has(zone)) {
      const opts = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
        second: '2-digit', hourCycle: 'h23' };
      let f, shift = 0;
      try {
        f = new Intl.DateTimeFormat('en-US', Object.assign({ timeZone: zone }, opts));
      } catch (err) {
        const o = /^([+-])(\d\d):(\d\d)$/.exec(zone || '');
        shift = o ? (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3])) * 60000 : 0;
        f = new Intl.DateTimeFormat('en-US', Object.assign({ timeZone: 'UTC' }, opts));
      }
      dateFormats.set(zone, { f, shift });
    }
    return dateFormats.get(zone);
  }
  // "2025-06-21 14:15" (local time of ms in zone; UTC when zone is not given).
  function time(ms, zone) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
    const { f, shift } = dateFormat(zone || 'UTC');
    const p = {};
    for (const x of f.formatToParts(new Date(ms + shift))) p[x.type] = x.value;
    return p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + (ms % 60000 ? ':' + p.second : '');
  }

  const api = Object.freeze({ BASE, ELECTRICITY, money, price, time, resource, noun, quantity, quantityBase, fixed });
  root.pgDisplay = api;
  if (typeof module === 'object' && module.exports) module.exports = api;
})(typeof window !== 'undefined' ? window : globalThis);
