#!/usr/bin/env python3
"""planted-variants.py - the real-server check of docs/detectors.md ("Validation") on generated variants.

Each seed draws one variant of a week or two of minute data (a daily cycle of 0, 5, 20 or 50 sigma, Gaussian,
Student-t(3) or Laplace noise of sd 1 or 3, a level of 100 or 1000, a weekend at 70 % of the cycle in two-week
series, a ten-minute +6 sigma job every night at 02:00 or none, up to two gaps of 10-90 minutes without rows) and
plants one anomaly in each of three series on the last two days: a +10 sigma spike, a 30-minute -6 sigma dip and a
+5 sigma level shift.  `vigil export-scores` scores them from CSV with the default detector; a variant passes when
each anomaly is flagged within 15 minutes of its onset and each series raises at most 3 other alert events (flags
an hour or more apart) a week.

Usage: bench/planted-variants.py [--vigil PATH] [--plugins DIR] [--noise gauss|t3|laplace] [--dir DIR] SEED...
"""
import argparse, csv, datetime, math, os, random, subprocess, sys

T0 = 1793577600   # 2026-11-02T00:00:00Z, a Monday
DAY = 1440


def noise(r, kind):
    if kind == "gauss":
        return r.gauss(0, 1)
    if kind == "t3":   # Student-t with 3 degrees of freedom, scaled to unit variance
        return r.gauss(0, 1) / math.sqrt(sum(r.gauss(0, 1) ** 2 for _ in range(3)) / 3) / math.sqrt(3)
    return r.expovariate(1) * (1 if r.random() < .5 else -1) / math.sqrt(2)   # Laplace, unit variance


def variant(seed, kind=None):
    r = random.Random(seed)
    weeks = r.choice([1, 2])
    n = weeks * 7 * DAY
    amp = r.choice([0, 5, 20, 50])
    kind = kind or r.choice(["gauss", "t3", "laplace"])
    level = r.choice([100, 1000])
    weekend = r.choice([1.0, 0.7]) if weeks == 2 else 1.0
    batch = r.choice([0, 6])
    sd = r.choice([1, 3])
    gaps = [(g, g + r.randint(10, 90)) for g in (r.randrange(DAY, n - 2 * DAY) for _ in range(r.randint(0, 2)))]
    last = n - 2 * DAY
    planted = {"spike": last + r.randrange(0, DAY), "dip": last + r.randrange(0, DAY),
               "shift": last + DAY + r.randrange(0, DAY - 240)}
    rows = []
    for host, at in planted.items():
        for i in range(n):
            if any(a <= i < b for a, b in gaps):
                continue
            cyc = amp * sd * math.sin(2 * math.pi * ((i % DAY) - 360) / DAY)
            v = level + (cyc if (i // DAY) % 7 < 5 else cyc * weekend) + sd * noise(r, kind)
            if 120 <= i % DAY < 130:
                v += batch * sd
            if host == "spike" and i == at:
                v += 10 * sd
            if host == "dip" and at <= i < at + 30:
                v -= 6 * sd
            if host == "shift" and i >= at:
                v += 5 * sd
            rows.append((host, T0 + 60 * i, round(v, 4)))
    desc = "%dw, cycle %d sigma, %s noise, sd %d, level %d, weekend %.1f, nightly job %d sigma, %d gaps" % (
        weeks, amp, kind, sd, level, weekend, batch, len(gaps))
    return rows, planted, n, weeks, desc


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", default=os.path.join(top, "build", "vigil"))
    ap.add_argument("--plugins", default=None, help="detector plugins (default: the build tree's detectors/.libs)")
    ap.add_argument("--noise", choices=["gauss", "t3", "laplace"], default=None)
    ap.add_argument("--dir", default="planted-variants", help="scratch directory (default ./planted-variants)")
    ap.add_argument("seeds", nargs="+", type=int)
    args = ap.parse_args()
    plugins = args.plugins or os.path.join(os.path.dirname(os.path.abspath(args.vigil)), "detectors", ".libs")
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    env = dict(os.environ, VIGIL_PLUGIN_PATH=plugins, VIGIL_SOURCE_ROOTS=d, VIGIL_LOG_LEVEL="error")
    passed = 0
    for seed in args.seeds:
        rows, planted, n, weeks, desc = variant(seed, args.noise)
        with open(os.path.join(d, "load.csv"), "w") as f:
            f.write("timestamp,load,host\n")
            f.writelines("%d,%s,%s\n" % (t, v, h) for h, t, v in rows)
        with open(os.path.join(d, "job.json"), "w") as f:
            f.write('{"version": 1, "name": "variant", "window": "%dd", "source": {"type": "csv", "path": "load.csv",'
                    ' "series_column": "host", "value_columns": ["load"]}, "detectors": [{"detector": "auto"}]}'
                    % (7 * weeks))
        end = datetime.datetime.fromtimestamp(T0 + 60 * (n - 1), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        subprocess.run([args.vigil, "export-scores", "--at", end, "--out", os.path.join(d, "out.csv"),
                        os.path.join(d, "job.json")], env=env, check=True)
        flags = {}
        for r in csv.DictReader(open(os.path.join(d, "out.csv"))):
            host = next((h for h in planted if h == r["series"] or h in r["series"]), None)
            if host and r["is_anomaly"] == "1":
                t = datetime.datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
                flags.setdefault(host, []).append(int(t.replace(tzinfo=datetime.timezone.utc).timestamp()))
        span = {"spike": 15 * 60, "dip": 45 * 60, "shift": 10 ** 9}   # flags that belong to the anomaly
        res, ok = [], True
        for host, i in planted.items():
            t, f = T0 + 60 * i, flags.get(host, [])
            hit = [x for x in f if t <= x <= t + 15 * 60]
            events, last = 0, None
            for x in f:
                if not t <= x <= t + span[host]:
                    events += last is None or x - last > 3600
                    last = x
            ok = ok and bool(hit) and events <= 3 * weeks
            res.append("%s %s, %d other events" % (host, "%d min" % ((hit[0] - t) // 60) if hit else "MISSED", events))
        passed += ok
        print("%s seed %d: %s | %s" % ("pass" if ok else "FAIL", seed, desc, "; ".join(res)), flush=True)
    print("%d of %d variants pass" % (passed, len(args.seeds)))


if __name__ == "__main__":
    sys.exit(main())
