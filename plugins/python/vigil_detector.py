"""vigil_detector - write a vigil detector in Python: an algorithm is one function.

vigil runs an external detector as a process and talks to it with one JSON
document per line on stdin/stdout (docs/exec-protocol.md, protocol 1).  This
module implements that protocol with the standard library only:

    #!/usr/bin/env python3
    import vigil_detector as vd

    @vd.detector("above", params={"limit": {"type": "number", "doc": "flag values above this"}})
    def above(series, params):
        flagged = [i for i, v in enumerate(series.values) if v is not None and v > params["limit"]]
        return vd.Result(scores=[1.0 if i in flagged else 0.0 for i in range(len(series))],
                         anomalies=[vd.Anomaly(i, reason="above %g" % params["limit"]) for i in flagged])

    if __name__ == "__main__":
        vd.main()

A function receives a Series (name, labels, ts in ms, values with None for
missing points and float('inf') for infinities) and the params (already
validated by vigil against the schema, defaults filled in), and returns a
Result, a dict with the same keys, or a list of scores.  Raising an exception
fails that series only, with the exception's message as the reason; the
traceback goes to stderr, which vigil logs.  Print nothing on stdout yourself:
stdout belongs to the protocol (print() is redirected to stderr while a
detector runs).
"""

import json
import math
import sys
import traceback

PROTOCOL = 1
__all__ = ["detector", "Series", "Result", "Anomaly", "DetectorError", "main"]

_detectors = {}


class DetectorError(Exception):
    """Raise to fail a series with a clean message (no traceback is logged)."""


class Series:
    """One time series: name, labels (dict), ts (ms since the epoch), values (float or None)."""

    __slots__ = ("name", "labels", "ts", "values")

    def __init__(self, name, labels, ts, values):
        self.name = name
        self.labels = labels
        self.ts = ts
        self.values = values

    def __len__(self):
        return len(self.values)


class Anomaly:
    """A flagged point: its index, and optionally a reason and the expected value and band."""

    __slots__ = ("index", "reason", "expected", "lower", "upper", "score")

    def __init__(self, index, reason=None, expected=None, lower=None, upper=None, score=None):
        self.index = index
        self.reason = reason
        self.expected = expected
        self.lower = lower
        self.upper = upper
        self.score = score


class Result:
    """What a detector returns; every field is optional.

    scores    one number in [0, 1] per point (by convention 1 - p, p the tail
              probability of the point under the model of normal behaviour);
    anomalies the flagged points: indexes or Anomaly objects;
    warmup    how many leading points had too little history to be scored;
    expected, lower, upper
              the model's expected value and normal band for every point
              (None where there is no model).
    """

    __slots__ = ("scores", "anomalies", "warmup", "expected", "lower", "upper")

    def __init__(self, scores=None, anomalies=None, warmup=None, expected=None, lower=None, upper=None):
        self.scores = scores
        self.anomalies = anomalies
        self.warmup = warmup
        self.expected = expected
        self.lower = lower
        self.upper = upper


def detector(name, params=None, summary="", version="1.0.0", min_history=0, causal=True):
    """Register the decorated function as the algorithm `name`.

    params is the JSON schema of the params, in the format of vigil's plugin
    params_schema: {"window": {"type": "integer", "default": 20, "min": 2,
    "doc": "..."}}.  A param without "default" is required.
    """
    def register(fn):
        _detectors[name] = {
            "fn": fn,
            "describe": {
                "name": name,
                "version": version,
                "summary": summary or (fn.__doc__ or "").strip().split("\n")[0],
                "params": params or {},
                "min_history": int(min_history),
                "causal": bool(causal),
            },
        }
        return fn
    return register


def _value(v):
    if v is None or isinstance(v, (int, float)):
        return v
    if v in ("inf", "+inf", "Infinity"):
        return math.inf
    if v in ("-inf", "-Infinity"):
        return -math.inf
    return None


def _num(x, digits):
    """A finite float rounded to `digits` significant digits (short to send, fast to parse), or None."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float("%.*g" % (digits, x))


def _array(xs, n, what, digits):
    if xs is None:
        return None
    xs = list(xs)
    if len(xs) != n:
        raise DetectorError("%s has %d values for a series of %d points" % (what, len(xs), n))
    return [_num(x, digits) for x in xs]


def _encode_result(res, n):
    if isinstance(res, dict):
        res = Result(**res)
    elif not isinstance(res, Result):
        res = Result(scores=res)
    out = {}
    if res.scores is not None:
        out["scores"] = [0.0 if s is None else s for s in _array(res.scores, n, "scores", 6)]
    for key in ("expected", "lower", "upper"):
        arr = _array(getattr(res, key), n, key, 12)
        if arr is not None:
            out[key] = arr
    if res.warmup is not None:
        out["warmup"] = max(0, min(int(res.warmup), n))
    anomalies = []
    for a in res.anomalies or ():
        if not isinstance(a, Anomaly):
            a = Anomaly(int(a))
        item = {"index": int(a.index)}
        if a.reason is not None:
            item["reason"] = str(a.reason)[:255]
        for key in ("expected", "lower", "upper", "score"):
            v = getattr(a, key)
            if v is not None:
                item[key] = _num(v, 12)
        anomalies.append(item)
    out["anomalies"] = anomalies
    return out


def _handle(req):
    method = req.get("method")
    if req.get("protocol", PROTOCOL) > PROTOCOL:
        raise DetectorError("protocol %s is not supported (this module speaks %d)" % (req.get("protocol"), PROTOCOL))
    if method == "describe":
        return {"protocol": PROTOCOL, "detectors": [d["describe"] for d in _detectors.values()]}
    if method == "detect":
        name = req.get("detector")
        if name not in _detectors:
            raise DetectorError("unknown detector '%s' (offered: %s)" % (name, ", ".join(sorted(_detectors))))
        s = req.get("series") or {}
        values = [_value(v) for v in s.get("values", ())]
        series = Series(s.get("name", ""), s.get("labels") or {}, s.get("ts", []), values)
        if len(series.ts) != len(values):
            raise DetectorError("series has %d timestamps and %d values" % (len(series.ts), len(values)))
        # stdout belongs to the protocol: a stray print() must not corrupt it.
        saved, sys.stdout = sys.stdout, sys.stderr
        try:
            res = _detectors[name]["fn"](series, req.get("params") or {})
        finally:
            sys.stdout = saved
        return _encode_result(res, len(values))
    raise DetectorError("unknown method '%s'" % method)


def main():
    """Serve requests until stdin closes (persistent and one-shot alike)."""
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            resp = _handle(req)
        except DetectorError as e:
            resp = {"error": {"message": str(e)}}
        except Exception as e:  # the series fails; the worker goes on
            traceback.print_exc(file=sys.stderr)
            resp = {"error": {"message": "%s: %s" % (type(e).__name__, e)}}
        resp["id"] = rid
        out.write(json.dumps(resp, separators=(",", ":"), allow_nan=False))
        out.write("\n")
        out.flush()
