#!/usr/bin/env python3
"""seasonal_numpy.py - a numpy external detector (scipy used when present).

  seasonal-mad  compares each point with the points at the same phase of the
                previous `seasons` periods of `period` points: a robust z-score
                from their median and MAD.

Needs numpy (Debian: python3-numpy); uses scipy.stats for the tail
probability when installed (Debian: python3-scipy), else math.erfc.  Being
persistent, vigil pays numpy's import once per worker, not per series.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vigil_detector as vd  # noqa: E402

try:
    from scipy.stats import norm

    def tail_score(z):
        return 1.0 - 2.0 * norm.sf(np.abs(z))
except ImportError:  # numpy only
    _erfc = np.vectorize(math.erfc, otypes=[float])

    def tail_score(z):
        return 1.0 - _erfc(np.abs(z) / math.sqrt(2.0))


@vd.detector("seasonal-mad", summary="robust z-score against the same phase of previous seasons",
             params={"period": {"type": "integer", "default": 24, "min": 2, "doc": "points per season"},
                     "seasons": {"type": "integer", "default": 4, "min": 2, "max": 1000,
                                 "doc": "previous seasons compared"},
                     "threshold": {"type": "number", "default": 5, "exclusive_min": 0,
                                   "doc": "robust z-score that flags a point"}})
def seasonal_mad(series, params):
    p, k, thr = int(params["period"]), int(params["seasons"]), float(params["threshold"])
    x = np.array([np.nan if v is None else v for v in series.values], dtype=float)
    n = len(x)
    warm = min(n, p * k)
    if n <= warm:
        return vd.Result(scores=[0.0] * n, warmup=n)
    # history[j, i] = x[i - (j + 1) p] for the points that have k seasons behind them
    idx = np.arange(warm, n)
    hist = np.stack([x[idx - (j + 1) * p] for j in range(k)])
    med = np.nanmedian(hist, axis=0)
    mad = 1.4826 * np.nanmedian(np.abs(hist - med), axis=0)
    mad[~(mad > 0)] = np.nan
    z = (x[idx] - med) / mad
    scores = np.zeros(n)
    scores[idx] = np.where(np.isfinite(z), tail_score(np.nan_to_num(z)), 0.0)
    expected = np.full(n, np.nan)
    expected[idx] = med
    band = np.full(n, np.nan)
    band[idx] = thr * mad
    flagged = idx[np.isfinite(z) & (np.abs(z) >= thr)]
    anomalies = [vd.Anomaly(int(i), reason="robust z-score %.3g against the last %d seasons" % (z[i - warm], k))
                 for i in flagged]
    tolist = lambda a: [None if not np.isfinite(v) else float(v) for v in a]  # noqa: E731
    return vd.Result(scores=scores.tolist(), anomalies=anomalies, warmup=warm, expected=tolist(expected),
                     lower=tolist(expected - band), upper=tolist(expected + band))


if __name__ == "__main__":
    vd.main()
