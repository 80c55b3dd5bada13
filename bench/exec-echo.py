#!/usr/bin/env python3
"""exec-echo.py - the cheapest Python detector (scores of 0.25), for bench-exec."""
import vigil_detector as vd  # found through PYTHONPATH, set by bench-exec


@vd.detector("echo")
def echo(series, params):
    return vd.Result(scores=[0.25] * len(series))


vd.main()
