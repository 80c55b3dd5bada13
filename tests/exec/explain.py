#!/usr/bin/env python3
"""explain.py MODE - an external root-cause algorithm (the exec protocol's
explain method), for the tests.  Its ranking: the label value held by the
most anomalous series, with score = that count; the series that moved first
by onset.  MODE says how it behaves:

  good        answers as above
  garbage     answers a line that is not JSON
  bad-score   answers a contributor without a score
  stranger    names a series that is not in the request as first_moved
  error       answers with an error message
"""
import json
import sys

mode = sys.argv[1] if len(sys.argv) > 1 else "good"


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    req = json.loads(line)
    rid = req["id"]
    if req["method"] == "describe":
        answer({"id": rid, "protocol": 1, "explain": True, "detectors": []})
        continue
    if req["method"] != "explain":
        answer({"id": rid, "error": {"message": "only explain here"}})
        continue
    print("explaining %d series" % len(req["series"]), file=sys.stderr)
    if mode == "garbage":
        sys.stdout.write("this is not json\n")
        sys.stdout.flush()
        continue
    if mode == "error":
        answer({"id": rid, "error": {"message": "no model for job %s" % req["context"]["job"]}})
        continue
    counts = {}
    for s in req["series"]:
        if s["anomalous"]:
            for k, v in s["labels"].items():
                counts[(k, v)] = counts.get((k, v), 0) + 1
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    contributors = [{"label": k, "value": v, "score": n, "anomalous": n, "text": "most common: %s=%s" % (k, v)}
                    for (k, v), n in best]
    if mode == "bad-score":
        del contributors[0]["score"]
    moved = sorted((s for s in req["series"] if s["anomalous"] and s["onset"] is not None),
                   key=lambda s: (s["onset"], s["name"]))
    first = [s["name"] for s in moved[:1]]
    if mode == "stranger":
        first = ["nobody"]
    answer({"id": rid, "statistic": "count", "contributors": contributors, "first_moved": first})
