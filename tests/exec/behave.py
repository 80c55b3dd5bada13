#!/usr/bin/env python3
"""behave.py MODE - an external detector that misbehaves on purpose, for the tests.

It offers one algorithm, "magic", which flags values equal to 42 with the
reason "the answer".  It behaves on every series except the one named "b",
where MODE says what goes wrong:

  good          nothing (uses the vigil_detector module)
  slow-start    sleeps 1.5 s before reading anything
  hang          never answers, keeps reading
  sleep         sleeps 60 s before answering
  crash-mid     writes half a response, then dies of SIGSEGV
  garbage       answers a line that is not JSON
  garbage-stay  answers a line that is not JSON, then sleeps 60 s without exiting
  huge          answers a 100 MB line
  close-stdout  closes its stdout and stays alive
  exit-nonzero  exits with status 3 without answering
  fork-child    forks a child that keeps stdout open, then exits without answering
  wrong-id      answers with another request's id
  ignore-term   ignores SIGTERM and sleeps
  error         answers with a detector error
  whoami        behaves, with the reason "uid N" (N its user id)
"""
import json
import os
import signal
import sys
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "good"

if mode == "good":
    sys.path.insert(0, os.environ.get("VIGIL_PYTHON_DIR", ""))
    import vigil_detector as vd

    @vd.detector("magic", summary="flags 42", params={"a": {"type": "number", "default": 0}})
    def magic(series, params):
        flagged = [vd.Anomaly(i, reason="the answer") for i, v in enumerate(series.values) if v == 42]
        return vd.Result(scores=[1.0 if v == 42 else 0.0 for v in series.values], anomalies=flagged, warmup=0)

    vd.main()
    sys.exit(0)

if mode == "slow-start":
    time.sleep(1.5)

out = sys.stdout


def answer(obj):
    out.write(json.dumps(obj) + "\n")
    out.flush()


for line in sys.stdin:
    req = json.loads(line)
    rid = req["id"]
    if req["method"] == "describe":
        answer({"id": rid, "protocol": 1, "detectors": [
            {"name": "magic", "summary": "flags 42", "params": {"a": {"type": "number", "default": 0}}}]})
        continue
    s = req["series"]
    if s["name"] == "b":
        if mode == "hang":
            continue
        if mode == "sleep":
            time.sleep(60)
        elif mode == "crash-mid":
            out.write('{"id": %d, "scores": [0' % rid)
            out.flush()
            os.kill(os.getpid(), signal.SIGSEGV)
        elif mode == "garbage":
            out.write("this is not JSON \x1b[31m\n")
            out.flush()
            continue
        elif mode == "garbage-stay":
            out.write("this is not JSON either\n")
            out.flush()
            sys.stderr.write("about to sleep on series b\n")
            sys.stderr.flush()
            time.sleep(60)
        elif mode == "huge":
            chunk = "x" * (1 << 20)
            out.write('{"id": %d, "junk": "' % rid)
            for _ in range(100):
                out.write(chunk)
            out.write('"}\n')
            out.flush()
            continue
        elif mode == "close-stdout":
            out.close()
            os.close(1)
            time.sleep(60)
        elif mode == "exit-nonzero":
            sys.stderr.write("giving up on series b\n")
            sys.exit(3)
        elif mode == "fork-child":
            if os.fork() == 0:
                time.sleep(300)
                os._exit(0)
            os._exit(0)
        elif mode == "wrong-id":
            rid += 1000
        elif mode == "ignore-term":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(60)
        elif mode == "error":
            answer({"id": rid, "error": {"message": "cannot score series b"}})
            continue
    vals = s["values"]
    reason = "uid %d" % os.getuid() if mode == "whoami" else "the answer"
    answer({"id": rid, "scores": [1 if v == 42 else 0 for v in vals],
            "anomalies": [{"index": i, "reason": reason} for i, v in enumerate(vals) if v == 42],
            "warmup": 0, "unknown_key_is_ignored": {"x": [1, 2]}})
