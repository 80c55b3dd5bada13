#!/usr/bin/env python3
"""spikes.py - a plain-Python external detector offering two algorithms.

  spike     flags a point more than `threshold` standard deviations away from
            the mean of the `window` points before it;
  flatline  flags a point that ends a run of at least `min_run` identical
            values (a stuck sensor).

Run by vigil (see docs/exec-protocol.md); standard library only.
"""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vigil_detector as vd  # noqa: E402


def _tail(z):
    """1 - p for a two-sided normal tail: the score convention of vigil."""
    return 1.0 - math.erfc(abs(z) / math.sqrt(2.0))


@vd.detector("spike", summary="flags points far from the rolling mean of the points before them",
             params={"window": {"type": "integer", "default": 20, "min": 2, "max": 100000,
                                "doc": "points of history"},
                     "threshold": {"type": "number", "default": 4, "exclusive_min": 0,
                                   "doc": "standard deviations that count as a spike"}},
             min_history=2)
def spike(series, params):
    w, k = int(params["window"]), float(params["threshold"])
    n = len(series)
    scores, expected, lower, upper, anomalies = [0.0] * n, [None] * n, [None] * n, [None] * n, []
    hist = []
    warmup = None
    for i, v in enumerate(series.values):
        if len(hist) >= 2:
            if warmup is None:
                warmup = i
            mean = sum(hist) / len(hist)
            sd = math.sqrt(sum((x - mean) ** 2 for x in hist) / (len(hist) - 1))
            expected[i], lower[i], upper[i] = mean, mean - k * sd, mean + k * sd
            if v is not None and math.isfinite(v):
                z = (v - mean) / sd if sd > 0 else (0.0 if v == mean else math.inf)
                scores[i] = _tail(z) if math.isfinite(z) else 1.0
                if abs(z) >= k:
                    anomalies.append(vd.Anomaly(i, reason="%.3g standard deviations from the mean %.6g" % (z, mean)))
        if v is not None and math.isfinite(v):
            hist.append(v)
            if len(hist) > w:
                hist.pop(0)
    return vd.Result(scores=scores, anomalies=anomalies, warmup=n if warmup is None else warmup,
                     expected=expected, lower=lower, upper=upper)


@vd.detector("flatline", summary="flags the end of a run of identical values",
             params={"min_run": {"type": "integer", "default": 10, "min": 2, "doc": "shortest stuck run"}})
def flatline(series, params):
    run, last, flagged = 0, None, []
    for i, v in enumerate(series.values):
        run = run + 1 if v is not None and v == last else 1
        last = v
        if run == params["min_run"]:
            flagged.append(vd.Anomaly(i, reason="the same value %g for %d points" % (v, run)))
    scores = [0.0] * len(series)
    for a in flagged:
        scores[a.index] = 1.0
    return vd.Result(scores=scores, anomalies=flagged, warmup=0)


if __name__ == "__main__":
    vd.main()
