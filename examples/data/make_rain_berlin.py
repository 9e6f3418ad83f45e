#!/usr/bin/env python3
"""Writes rain-berlin-2025.csv: a SYNTHETIC hourly rainfall series for 2025
(`time,rain_mm`, mm fallen in the hour that starts at `time`, UTC) whose
monthly totals and numbers of rain days equal the climatology in README.md
(Berlin, about 570 mm and 165 rain days a year). Deterministic: its own
splitmix64 generator with a fixed seed, no library randomness, so the file is
the same on every machine and Python version (python3 make_rain_berlin.py).
"""
import datetime
import math
import os

YEAR = 2025
SEED = 20250101
# mm per month, Jan..Dec (sum 570) and days with rain (sum 165): README.md.
MONTH_MM = [42, 33, 41, 32, 53, 65, 76, 63, 45, 34, 42, 44]
MONTH_DAYS = [16, 13, 14, 12, 13, 13, 14, 13, 12, 14, 15, 16]
MASK = (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        self.s = seed & MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):  # (0, 1)
        return ((self.next() >> 11) + 0.5) / float(1 << 53)

    def below(self, n):
        return self.next() % n


def split_exact(total, weights):
    """Integers summing exactly to total, proportional to weights
    (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(math.floor(x)) for x in raw]
    rest = total - sum(out)
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[:rest]:
        out[i] += 1
    return out


def month_hours(rng, year, month, total_tenths, rain_days):
    """Tenths of a mm per hour of the month."""
    ndays = (datetime.date(year + (month == 12), month % 12 + 1, 1) - datetime.date(year, month, 1)).days
    days = list(range(ndays))
    for i in range(ndays - 1, 0, -1):  # Fisher-Yates
        j = rng.below(i + 1)
        days[i], days[j] = days[j], days[i]
    wet = sorted(days[:rain_days])
    # daily amounts: exponential weights (many light days, a few heavy ones)
    amounts = split_exact(total_tenths, [-math.log(rng.uniform()) + 0.05 for _ in wet])
    hours = [0] * (ndays * 24)
    summer = month in (5, 6, 7, 8)
    for day, tenths in zip(wet, amounts):
        tenths = max(tenths, 1) if total_tenths else 0
        dur = 1 + rng.below(3 if summer else 8)  # short showers in summer
        start = rng.below(24 - dur + 1)
        if summer:  # afternoon convection
            start = min(24 - dur, 12 + rng.below(8))
        for h, v in enumerate(split_exact(tenths, [1 + rng.uniform() for _ in range(dur)])):
            hours[day * 24 + start + h] += v
    # the max(.., 1) above may add a tenth: take it back from the wettest hour
    while sum(hours) > total_tenths:
        hours[hours.index(max(hours))] -= 1
    return hours


def main():
    rng = Rng(SEED)
    here = os.path.dirname(os.path.abspath(__file__))
    t = datetime.datetime(YEAR, 1, 1, tzinfo=datetime.timezone.utc)
    with open(os.path.join(here, "rain-berlin-2025.csv"), "w", newline="\n") as f:
        f.write("time,rain_mm\n")
        for m in range(1, 13):
            for v in month_hours(rng, YEAR, m, MONTH_MM[m - 1] * 10, MONTH_DAYS[m - 1]):
                f.write("%s,%d.%d\n" % (t.strftime("%Y-%m-%dT%H:%M:%SZ"), v // 10, v % 10))
                t += datetime.timedelta(hours=1)


if __name__ == "__main__":
    main()
