// web/common/display.js (money, quantities and times of the dashboard and the
// explorer) in node, no browser: the same texts as pg_money_format,
// pg_resource_format and pg_time_label in C for the same cases
// (tests/unit/test_base_money.c, test_base_resource.c, test_base_timelabel.c).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const D = require(path.join(__dirname, '..', '..', 'web', 'common', 'display.js'));

const m = (currency, unitsPerCurrency, decimals) => ({ currency, unitsPerCurrency, decimals });

test('amounts: grouping, signs, half away from zero, like pg_money_format', () => {
  const eur = m('EUR', 1000000000, 2);
  const cases = [
    [D.BASE, 2343151525, '2,343,151,525 i'], [D.BASE, -1000, '-1,000 i'], [D.BASE, 0, '0 i'],
    [eur, 2343151525, '2.34 EUR'], [eur, 1234567890123, '1,234.57 EUR'], [eur, -50000000, '-0.05 EUR'],
    [eur, 5000000, '0.01 EUR'], [eur, 4999999, '0.00 EUR'], [eur, -5000000, '-0.01 EUR'], [eur, -4999999, '0.00 EUR'],
    [eur, 999999999995000000n, '1,000,000,000.00 EUR'],
    [D.BASE, 9223372036854775807n, '9,223,372,036,854,775,807 i'],
    [D.BASE, -9223372036854775808n, '-9,223,372,036,854,775,808 i'],
    [m('EUR', 1000000000, 9), -9223372036854775808n, '-9,223,372,036.854775808 EUR'],
    [m('EUR', 1000000000, 0), 9223372036854775807n, '9,223,372,037 EUR'],
    [m('T', 3, 2), 1, '0.33 T'], [m('T', 3, 2), -2, '-0.67 T'], [m('Q', 8, 2), 1, '0.13 Q'], [m('Q', 8, 2), -1, '-0.13 Q'],
  ];
  for (const [mo, v, want] of cases) assert.equal(D.money(v, mo), want, `${v} in ${JSON.stringify(mo)}`);
  assert.equal(D.money(1.5, eur), '–');
  assert.equal(D.money(undefined, eur), '–');
  // a money object out of range is base units, as in C
  assert.equal(D.money(1500, m('EUR', 0, 2)), '1,500 i');
  assert.equal(D.money(1500, m('EUR', 1000, 10)), '1,500 i');
  assert.equal(D.money(1500, m('E U', 1000, 2)), '1,500 i');
});

test('prices per kWh, like pg_money_format_price', () => {
  assert.equal(D.price(300000000, m('EUR', 1000000000, 2)), '0.3000 EUR/kWh');
  assert.equal(D.price(123456789, m('EUR', 1000000000, 2)), '0.1235 EUR/kWh');
  assert.equal(D.price(300000000, D.BASE), '300,000,000 i/kWh');
  assert.equal(D.price(1, m('T', 3, 2)), '0.3 T/kWh');
  assert.equal(D.price(1, m('K', 1000, 2)), '0.001 K/kWh');
  assert.equal(D.price(165.5, D.BASE), '166 i/kWh');
});

// The same cases as tests/unit/test_base_resource.c (pg_resource_format,
// _format_base) and test_base_money.c (pg_money_format_price_per).
const water = { name: 'water', unit: 'L', displayUnit: 'm³', displayFactor: 1000, flowUnit: 'L/min', flowFactor: 60, priceUnit: 'm³' };

test('quantities of a resource, like pg_resource_format', () => {
  const cases = [[water, 1500, '1.5 m³'], [water, 1234567, '1,234.567 m³'], [water, 1, '0.001 m³'], [water, 0, '0 m³'],
    [water, -2000, '-2 m³'], [D.ELECTRICITY, 12345, '12.345 kWh'], [undefined, 12345, '12.345 kWh'],
    [{ ...water, name: 'heat', unit: 'Wh', displayUnit: 'MWh', displayFactor: 1000000 }, 2500000, '2.5 MWh'],
    [water, 9223372036854775807n, '9,223,372,036,854,775.807 m³']];
  for (const [r, q, want] of cases) assert.equal(D.quantity(q, r), want, `${q} of ${r && r.name}`);
  assert.equal(D.quantityBase(1234500, water), '1,234,500 L');
  assert.equal(D.quantityBase(-9223372036854775808n), '-9,223,372,036,854,775,808 Wh');
  // the dashboard's cells: every decimal of the base unit, the unit beside them
  assert.equal(D.fixed(1500, water), '1.500');
  assert.equal(D.fixed(-1234567), '-1,234.567');
  assert.equal(D.fixed(7, { ...water, displayFactor: 1, displayUnit: 'L' }), '7');
  assert.equal(D.quantity(1.5, water), '–');
  assert.equal(D.noun(water), 'water');
  assert.equal(D.noun(undefined), 'energy');
  // a resource that pg_resource_check refuses is electricity, as in C
  for (const bad of [{ ...water, displayFactor: 7 }, { ...water, displayUnit: '<b>' }, { ...water, name: 'Water' },
    { ...water, unit: 'l/s' }, { ...water, flowFactor: 0 }, { ...water, priceUnit: 'a'.repeat(16) },
    { ...water, displayUnit: 'm³m³m³m³m³m³' }, { ...water, priceUnit: undefined }, 'water', null]) {
    assert.equal(D.quantity(1500, bad), '1.5 kWh', JSON.stringify(bad));
  }
});

test('prices per the resource\'s price unit, like pg_money_format_price_per', () => {
  const eur = m('EUR', 1000000000, 2);
  assert.equal(D.price(1500000000, eur, water), '1.5000 EUR/m³');
  assert.equal(D.price(300000000, eur, D.ELECTRICITY), '0.3000 EUR/kWh');
  assert.equal(D.price(300000000, eur, { ...water, priceUnit: '1000 L' }), '0.3000 EUR/1000 L');
});

test('times in a zone, like pg_time_label', () => {
  const utc = (s) => Date.parse(s);
  assert.equal(D.time(utc('2025-06-21T12:15:00Z'), 'Europe/Berlin'), '2025-06-21 14:15');
  assert.equal(D.time(utc('2025-06-21T12:15:07Z'), 'Europe/Berlin'), '2025-06-21 14:15:07');
  assert.equal(D.time(utc('2025-01-15T23:30:00Z'), 'Europe/Berlin'), '2025-01-16 00:30');
  assert.equal(D.time(utc('2025-06-21T12:15:00Z')), '2025-06-21 12:15');
  assert.equal(D.time(utc('2025-06-21T00:00:00Z'), '-05:30'), '2025-06-20 18:30');
  assert.equal(D.time(utc('2025-06-21T00:00:00Z'), '+14:00'), '2025-06-21 14:00');
  assert.equal(D.time(utc('2025-06-21T12:00:00Z'), 'Europe/Lisbon'), '2025-06-21 13:00');
  assert.equal(D.time(NaN, 'UTC'), '–');
});
