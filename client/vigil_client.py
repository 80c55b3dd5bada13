"""vigil_client - run a job spec on a vigil cluster from Python (a notebook), standard library only.

    import pandas as pd
    import vigil_client

    client = vigil_client.Client("http://127.0.0.1:7460")  # token: token=... or $VIGIL_API_TOKEN
    run = client.run({"name": "try-mad", "source": {"type": "csv", "path": "cpu.csv"},
                      "detectors": [{"detector": "mad", "params": {"window": 60}}]})
    df = pd.DataFrame(vigil_client.table(run))

`run()` is `submit()` (POST /api/runs: the spec is queued as an ad-hoc run that any node of the
cluster may take) then `wait()` (GET /api/runs/{id}?wait=30s until the run ended).  Results are
plain dicts and lists: `table(run)` gives one column per field (series, ts, value, then
DETECTOR.score, .expected, .lower, .upper, .anomaly, .alerted), which pandas.DataFrame() takes as is.

Errors raise VigilError carrying the server's status and message (and, for an invalid spec, every
problem with its JSON path in .errors); a run that failed raises RunFailed with the run's error.
See docs/client.md.
"""

import json
import os
import time
import urllib.error
import urllib.request

__all__ = ["Client", "VigilError", "RunFailed", "table"]

DEFAULT_URL = "http://127.0.0.1:7460"
# The server waits at most 60 s per request; the client asks again until its own timeout.
_WAIT_STEP = 30


class VigilError(Exception):
    """The server refused a request, or could not be reached.

    status is the HTTP status (0 when there was no answer), message the server's "error",
    errors the list of {"path", "message"} of an invalid spec (empty otherwise).
    """

    def __init__(self, status, message, errors=None):
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.errors = errors or []


class RunFailed(VigilError):
    """The run ended in state "failed"; run is the whole answer of GET /api/runs/{id}."""

    def __init__(self, run):
        super().__init__(0, f"run {run.get('id')} failed: {run.get('error')}")
        self.run = run


class Client:
    """A connection to one vigil serve node (any node of a cluster will do)."""

    def __init__(self, url=None, token=None, timeout=60):
        self.url = (url or os.environ.get("VIGIL_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("VIGIL_API_TOKEN")
        self.timeout = timeout

    def _request(self, method, path, body=None, read_timeout=None):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.token and method != "GET":
            headers["Authorization"] = "Bearer " + self.token.strip()
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=read_timeout or self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                doc = json.loads(text)
            except ValueError:
                doc = {"error": text.strip() or e.reason}
            errors = [{"path": x.get("path"), "message": x.get("message")} for x in doc.get("errors", [])]
            raise VigilError(e.code, doc.get("error", str(e.reason)), errors) from None
        except (urllib.error.URLError, OSError) as e:
            raise VigilError(0, f"cannot reach {self.url}: {getattr(e, 'reason', e)}") from None

    def submit(self, spec):
        """Queue spec (a dict, a JSON text, or the path of a spec file) as an ad-hoc run.

        Returns {"id", "job", "scheduled_for", "state", "url"}.
        """
        if isinstance(spec, dict):
            body = json.dumps(spec)
        elif isinstance(spec, str) and spec.lstrip().startswith("{"):
            body = spec
        else:
            with open(os.fspath(spec), encoding="utf-8") as f:
                body = f.read()
        return self._request("POST", "/api/runs", body.encode("utf-8"))

    def get(self, run_id, wait=None):
        """The run (state, times, error, and for an ad-hoc run its spec and results).

        wait (seconds, at most 60): the server answers once the run ended or the wait is over.
        """
        path = f"/api/runs/{int(run_id)}"
        if wait:
            path += f"?wait={int(wait * 1000)}ms"
            return self._request("GET", path, read_timeout=wait + self.timeout)
        return self._request("GET", path)

    def wait(self, run_id, timeout=600):
        """Wait until the run ended (long-polls); returns it, or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            run = self.get(run_id, wait=max(0.001, min(_WAIT_STEP, left)))
            if run.get("state") in ("succeeded", "failed"):
                return run
            if time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} still {run.get('state')} after {timeout}s")

    def run(self, spec, timeout=600):
        """Submit spec, wait for it, return the finished run; RunFailed if it failed."""
        run = self.wait(self.submit(spec)["id"], timeout)
        if run.get("state") == "failed":
            raise RunFailed(run)
        return run


def table(run, series=None):
    """The results of a finished ad-hoc run as columns (a dict of equal-length lists).

    One row per point of every series (or only of series, a name): "series", "ts" (ms since
    the epoch), "value", then per detector "ID.score", "ID.expected", "ID.lower", "ID.upper",
    "ID.anomaly" and "ID.alerted" (0/1).  None is a missing value.  pandas.DataFrame(table(run))
    makes a frame; pd.to_datetime(df.ts, unit="ms") makes times.
    """
    results = run.get("results") or {}
    cols = {"series": [], "ts": [], "value": []}
    fields = ("score", "expected", "lower", "upper", "anomaly", "alerted")
    for s in results.get("series", []):
        if series is not None and s["series"] != series:
            continue
        n = len(s["ts"])
        have = len(cols["ts"])
        cols["series"].extend([s["series"]] * n)
        cols["ts"].extend(s["ts"])
        cols["value"].extend(s["value"])
        for d in s.get("detectors", []):
            for f in fields:
                col = cols.setdefault(f"{d['id']}.{f}", [None] * have)
                col.extend(d[f])
        for col in cols.values():
            if len(col) < have + n:
                col.extend([None] * (have + n - len(col)))
    return cols


def main(argv=None):
    """vigil_client.py [--url URL] [--timeout SECONDS] SPEC.json: run it, print the finished run as JSON."""
    import argparse
    import sys

    p = argparse.ArgumentParser(description="Run a job spec on vigil serve as an ad-hoc run.")
    p.add_argument("spec")
    p.add_argument("--url", default=None, help=f"the API (default $VIGIL_URL or {DEFAULT_URL})")
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args(argv)
    try:
        run = Client(args.url).run(args.spec, timeout=args.timeout)
    except RunFailed as e:
        json.dump(e.run, sys.stdout)
        print()
        return 1
    except (VigilError, TimeoutError, OSError) as e:
        print(f"vigil_client: {e}", file=sys.stderr)
        for x in getattr(e, "errors", []):
            print(f"  {x['path']}: {x['message']}", file=sys.stderr)
        return 2
    json.dump(run, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
