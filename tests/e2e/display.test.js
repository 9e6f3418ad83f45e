// web/common/display.js (money and times of the dashboard and the explorer)
// in node, no browser: the same texts as pg_money_format / pg_time_label in
// C for the same cases (tests/unit/test_base_money.c, test_base_timelabel.c).
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
