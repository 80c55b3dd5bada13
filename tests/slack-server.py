#!/usr/bin/env python3
"""slack-server.py - a loopback server that behaves like Slack's incoming webhooks.

Written for vigil's tests from ../shared/docs/slack-webhooks.md (no machine
here reaches Slack).  It binds 127.0.0.1 on a free port, writes the port to
--port-file, and appends one JSON line per request to --log: what arrived,
when, what it answered, and every rule of the shared doc the payload broke.

Like Slack it validates the payload (JSON, blocks, limits) and answers "ok",
or an error string with its status; it enforces 1 message/s per webhook with
a small burst (--rate, --burst) with 429 + Retry-After.  The webhook URL's
path picks a behaviour, so one server serves every test:

  /services/<T>/<B>/ok[/...]            validate, then "ok"
  /services/<T>/<B>/err-<code>[/...]    answer <code> with its status (e.g. err-channel_not_found: 404)
  /services/<T>/<B>/429-<n>-<s>[/...]   the first n requests: 429, Retry-After: <s> ("date": an HTTP date)
  /services/<T>/<B>/500-<n>[/...]       the first n requests: 500 rollup_error
  /services/<T>/<B>/reset-<n>[/...]     the first n requests: the connection is reset, no answer
  /services/<T>/<B>/slow-<ms>[/...]     answer after <ms> milliseconds (and not while the
                                        --hold file exists: a test can keep a request in flight)
  /hook/<mode>[/...]                    the same modes for the generic webhook target (no Slack checks)

Stop it with SIGTERM (by PID).
"""
import argparse
import email.utils
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATUS = {
    "invalid_payload": 400, "invalid_blocks": 400, "invalid_blocks_format": 400, "no_text": 400,
    "user_not_found": 400, "too_many_attachments": 400, "msg_blocks_too_long": 400,
    "action_prohibited": 403, "posting_to_general_channel_denied": 403, "invalid_token": 403,
    "channel_not_found": 404, "no_service": 404, "no_service_id": 404, "no_team": 404,
    "channel_is_archived": 410, "team_disabled": 410, "no_active_hooks": 410,
    "rollup_error": 500,
}

# Slack's control sequences in mrkdwn: everything else must be escaped.
CONTROL = re.compile(r"<(?:!here|!channel|!everyone|@[UW][A-Z0-9]+|#C[A-Z0-9]+(?:\|[^<>]*)?"
                     r"|!subteam\^[A-Z0-9]+(?:\|[^<>]*)?|!date\^-?\d+\^[^|<>]*\|[^<>]*"
                     r"|https?://[^|<>\s]+(?:\|[^<>]*)?)>")
BAD_AMP = re.compile(r"&(?!amp;|lt;|gt;)")
BLOCK_TYPES = {"header", "section", "context", "divider", "actions", "image"}

lock = threading.Lock()
counters = {}
buckets = {}
args = None
seq = 0


def check_mrkdwn(text, where, v):
    rest = CONTROL.sub("", text)
    if "<" in rest or ">" in rest:
        v.append("%s: unescaped < or > in mrkdwn" % where)
    if BAD_AMP.search(rest):
        v.append("%s: unescaped & in mrkdwn" % where)


def check_text_obj(obj, where, limit, v, chars):
    if not isinstance(obj, dict) or obj.get("type") not in ("mrkdwn", "plain_text"):
        v.append("%s: not a text object" % where)
        return
    t = obj.get("text")
    if not isinstance(t, str) or not t:
        v.append("%s: empty text" % where)
        return
    if len(t) > limit:
        v.append("%s: text of %d characters (limit %d)" % (where, len(t), limit))
    chars[0] += len(t)
    if obj["type"] == "mrkdwn":
        check_mrkdwn(t, where, v)


def check_blocks(blocks, where, v, chars, count):
    if not isinstance(blocks, list):
        v.append("%s: blocks is not a list" % where)
        return
    for i, b in enumerate(blocks):
        w = "%s[%d]" % (where, i)
        count[0] += 1
        if not isinstance(b, dict) or b.get("type") not in BLOCK_TYPES:
            v.append("%s: unknown block type" % w)
            continue
        if len(b.get("block_id", "")) > 255:
            v.append("%s: block_id longer than 255" % w)
        t = b["type"]
        if t == "header":
            if not isinstance(b.get("text"), dict) or b["text"].get("type") != "plain_text":
                v.append("%s: header text must be plain_text" % w)
            else:
                check_text_obj(b["text"], w, 150, v, chars)
        elif t == "section":
            if "text" not in b and "fields" not in b:
                v.append("%s: section without text or fields" % w)
            if "text" in b:
                check_text_obj(b["text"], w, 3000, v, chars)
            if "fields" in b:
                if not isinstance(b["fields"], list) or len(b["fields"]) > 10:
                    v.append("%s: more than 10 fields" % w)
                else:
                    for k, f in enumerate(b["fields"]):
                        check_text_obj(f, "%s.fields[%d]" % (w, k), 2000, v, chars)
        elif t == "context":
            els = b.get("elements")
            if not isinstance(els, list) or not 1 <= len(els) <= 10:
                v.append("%s: context needs 1 to 10 elements" % w)
            else:
                for k, e in enumerate(els):
                    check_text_obj(e, "%s.elements[%d]" % (w, k), 3000, v, chars)


def validate(body, ctype):
    """Returns (error string or None, violations)."""
    v = []
    if not ctype.startswith("application/json"):
        v.append("content type %r" % ctype)
        return "invalid_payload", v
    try:
        p = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        v.append("not JSON: %s" % e)
        return "invalid_payload", v
    if not isinstance(p, dict):
        v.append("not an object")
        return "invalid_payload", v
    if not p.get("text") and not p.get("blocks") and not p.get("attachments"):
        return "no_text", ["no text, blocks or attachments"]
    if isinstance(p.get("text"), str):
        if len(p["text"]) > 40000:
            v.append("text longer than 40000 characters (Slack truncates it)")
        if len(p["text"]) > 4000:
            v.append("text longer than the 4000 characters Slack recommends")
        if p.get("mrkdwn", True):
            check_mrkdwn(p["text"], "text", v)
    atts = p.get("attachments", [])
    if not isinstance(atts, list):
        return "invalid_payload", ["attachments is not a list"]
    if len(atts) > 100:
        return "too_many_attachments", ["%d attachments" % len(atts)]
    chars, count = [0], [0]
    if "blocks" in p:
        check_blocks(p["blocks"], "blocks", v, chars, count)
    for i, a in enumerate(atts):
        if isinstance(a, dict) and "blocks" in a:
            check_blocks(a["blocks"], "attachments[%d].blocks" % i, v, chars, count)
        if isinstance(a, dict) and isinstance(a.get("fallback"), str):
            check_mrkdwn(a["fallback"], "attachments[%d].fallback" % i, v)
    if count[0] > 50:
        v.append("%d blocks (limit 50)" % count[0])
    if chars[0] > 12000:
        v.append("%d characters of block text (fails near 13k)" % chars[0])
        return "msg_blocks_too_long", v
    if any("limit" in x or "block type" in x or "not a text" in x or "empty text" in x or "without" in x
           or "elements" in x for x in v):
        return "invalid_blocks", v
    return None, v


def rate_ok(path):
    """Slack's limit: 1 message/s per webhook, short bursts allowed."""
    now = time.monotonic()
    tokens, t = buckets.get(path, (args.burst, now))
    tokens = min(args.burst, tokens + (now - t) * args.rate)
    if tokens < 1:
        buckets[path] = (tokens, now)
        return False
    buckets[path] = (tokens - 1, now)
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *a):
        pass

    def answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body.startswith("{") else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, val in headers:
            self.send_header(k, val)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_POST(self):
        global seq
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        t_recv = time.time()
        if args.arrivals:
            with lock:
                with open(args.arrivals, "a") as f:
                    f.write("%.6f %s\n" % (t_recv, self.path))
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[0] == "services" and len(parts) >= 4:
            slack, mode, key = True, parts[3], "/".join(parts[:4])
        elif parts[0] == "hook" and len(parts) >= 2:
            slack, mode, key = False, parts[1], "/".join(parts[:2])
        else:
            slack, mode, key = True, "err-no_service", self.path
        with lock:
            seq += 1
            me = seq
            counters[key] = counters.get(key, 0) + 1
            nth = counters[key]
            limited = not rate_ok(key)
        rec = {"n": me, "path": self.path, "key": key, "t_recv": t_recv, "bytes": len(body),
               "content_type": self.headers.get("Content-Type", ""), "violations": [], "rate_limited": limited,
               "headers": dict(self.headers.items())}
        try:
            rec["payload"] = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            rec["payload"] = None
        status, answer, headers = 200, "ok", []
        m = mode.split("-")
        if slack:
            err, rec["violations"] = validate(body, rec["content_type"])
        else:
            err = None
        if m[0] == "reset" and nth <= int(m[1]):
            rec.update(status=0, answer="reset", t_done=time.time())
            self.record(rec)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if limited:
            status, answer, headers = 429, '{"ok":false,"error":"rate_limited"}', [("Retry-After", "1")]
        elif m[0] == "err":
            status, answer = STATUS.get(m[1], 400), m[1]
        elif m[0] == "429" and nth <= int(m[1]):
            ra = m[2] if len(m) > 2 else "1"
            if ra == "date":
                ra = email.utils.formatdate(time.time() + 2, usegmt=True)
            status, answer, headers = 429, '{"ok":false,"error":"rate_limited"}', [("Retry-After", ra)]
        elif m[0] == "500" and nth <= int(m[1]):
            status, answer = 500, "rollup_error"
        elif err:
            status, answer = STATUS.get(err, 400), err
        elif m[0] in ("slow", "hang"):
            while args.hold and os.path.exists(args.hold):
                time.sleep(0.02)
            time.sleep(int(m[1]) / 1000.0)
        rec.update(status=status, answer=answer)
        try:
            self.answer(status, answer, headers)
            rec["t_done"] = time.time()
        except OSError as e:
            rec["t_done"] = None
            rec["write_error"] = str(e)
        self.record(rec)

    def record(self, rec):
        line = json.dumps(rec, sort_keys=True)
        with lock:
            with open(args.log, "a") as f:
                f.write(line + "\n")

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--rate", type=float, default=1.0)
    ap.add_argument("--burst", type=float, default=4.0)
    ap.add_argument("--arrivals", help="also append '<time> <path>' here as each request arrives")
    ap.add_argument("--hold", help="while this file exists, slow-<ms> requests are not answered")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever(poll_interval=0.1)
    except (SystemExit, KeyboardInterrupt):
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
