#!/usr/bin/python3
"""http-fixture.py - a loopback HTTP server for the HTTP source tests.

Usage: http-fixture.py PORT_FILE LOG_FILE [--lifetime S] [--tls CERT KEY]

Listens on 127.0.0.1 on a free port (written to PORT_FILE once listening),
speaks HTTP/1.1 with keep-alive, and logs one line per request to LOG_FILE:
    <client port> <method> <target> ae=<Accept-Encoding> auth=<Authorization> ua=<User-Agent>
so a test can check what vigil sent (gzip asked, the token, one connection
for all pages).  It also answers absolute-form targets, as a proxy would.
It exits by itself after --lifetime seconds (default 300).

Routes (any prefix before them is ignored, so a source that appends its own
path, like Prometheus's /api/v1/query_range, reaches the same behaviour):
  /api/cursor      3 pages of 2 series x 4 points, cursor pagination ("next")
  /api/link        the same data, next-page links relative to the page
  /api/loop        the same cursor forever
  /api/endless     a new cursor forever
  /api/offsite     a next link to another server
  /api/wrongtypes  a point whose value is an object
  /api/badtime     a point whose time is "yesterday"
  /api/empty       no series
  /api/gzip        a body sent gzip-compressed when asked for
  /api/auth        401 unless "Authorization: Bearer s3cret-token"
  /flaky/KEY       500 twice for KEY, then the data
  /always500       503 with an HTML body
  /slow            answers after 10 s
  /garbage         text that is not JSON
  /html            an HTML page with status 200
  /truncated       JSON cut in the middle
  /huge            an endless body (until the client hangs up, at most 3 GB)
  /reflect         400 with a Prometheus-style error echoing the request's
                   headers and target (as a careless server does), to check
                   that no resolved secret is shown
"""
import gzip
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

T0 = 1795299600  # 2026-11-21T22:20:00Z
SERIES = [("req", {"host": "h0"}), ("req", {"host": "h1"})]
PAGES = 3
PER_PAGE = 4

flaky_counts = {}
lock = threading.Lock()
log_file = None


def page_doc(page):
    """Page `page` (0-based): each series gets PER_PAGE points."""
    series = []
    for k, (name, tags) in enumerate(SERIES):
        pts = []
        for i in range(PER_PAGE):
            n = page * PER_PAGE + i
            pts.append({"t": T0 + 60 * n, "v": k * 100 + n})
        series.append({"name": name, "tags": tags, "points": pts})
    return {"data": {"series": series}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, obj, status=200, ctype="application/json"):
        body = json.dumps(obj).encode()
        self.send_body(body, status, ctype)

    def send_body(self, body, status=200, ctype="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        target = self.path
        if target.startswith("http://"):
            # absolute form: we are being used as a proxy
            target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
        url = urllib.parse.urlsplit(target)
        q = urllib.parse.parse_qs(url.query)
        with lock:
            log_file.write("%d GET %s ae=%s auth=%s ua=%s\n" % (
                self.client_address[1], self.path, self.headers.get("Accept-Encoding", "-"),
                self.headers.get("Authorization", "-"), self.headers.get("User-Agent", "-")))
            log_file.flush()
        path = url.path
        for route in ("/reflect", "/flaky/", "/always500", "/slow", "/garbage", "/html", "/truncated", "/huge", "/api/"):
            i = path.find(route)
            if i >= 0:
                # a source may append its own path after the route (/html/api/v1/query_range)
                path = path[i:] if route in ("/api/", "/flaky/") else route
                break

        if path == "/reflect":
            echo = " ".join("%s: %s" % (k, v) for k, v in self.headers.items()
                            if k.lower() not in ("host", "accept-encoding", "user-agent", "accept"))
            return self.send_json({"status": "error", "errorType": "bad_data",
                                   "error": "target: " + self.path + " " + echo}, status=400)
        if path == "/api/cursor":
            page = int(q.get("cursor", ["0"])[0])
            doc = page_doc(page)
            doc["next"] = str(page + 1) if page + 1 < PAGES else None
            doc["window"] = {"from": q.get("from", [None])[0], "to": q.get("to", [None])[0]}
            return self.send_json(doc)
        if path == "/api/link":
            page = int(q.get("page", ["0"])[0])
            doc = page_doc(page)
            doc["links"] = {"next": "link?page=%d" % (page + 1) if page + 1 < PAGES else None}
            return self.send_json(doc)
        if path == "/api/loop":
            doc = page_doc(0)
            doc["next"] = "same"
            return self.send_json(doc)
        if path == "/api/endless":
            page = int(q.get("cursor", ["0"])[0])
            doc = page_doc(page % PAGES)
            doc["next"] = str(page + 1)
            return self.send_json(doc)
        if path == "/api/offsite":
            doc = page_doc(0)
            doc["links"] = {"next": "http://127.0.0.2:9/api/link?page=1"}
            return self.send_json(doc)
        if path == "/api/wrongtypes":
            doc = page_doc(0)
            doc["data"]["series"][1]["points"][2]["v"] = {"oops": 1}
            return self.send_json(doc)
        if path == "/api/badtime":
            doc = page_doc(0)
            doc["data"]["series"][0]["points"][1]["t"] = "yesterday"
            return self.send_json(doc)
        if path == "/api/empty":
            return self.send_json({"data": {"series": []}, "next": None})
        if path == "/api/gzip":
            body = json.dumps(page_doc(0)).encode()
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                return self.send_body(gzip.compress(body), extra={"Content-Encoding": "gzip"})
            return self.send_body(body)
        if path == "/api/auth":
            if self.headers.get("Authorization") != "Bearer s3cret-token":
                return self.send_json({"error": "unauthorized"}, status=401)
            return self.send_json(page_doc(0))
        if path.startswith("/flaky/"):
            key = path[len("/flaky/"):].split("/")[0]
            with lock:
                flaky_counts[key] = flaky_counts.get(key, 0) + 1
                n = flaky_counts[key]
            if n <= 2:
                return self.send_body(b"internal error", status=500, ctype="text/plain")
            return self.send_json(page_doc(0))
        if path == "/always500":
            return self.send_body(b"<html><head><title>503 Service Unavailable</title></head>"
                                  b"<body>upstream down</body></html>", status=503, ctype="text/html")
        if path == "/slow":
            time.sleep(10)
            return self.send_json(page_doc(0))
        if path == "/garbage":
            return self.send_body(b"this is not json at all\n", ctype="text/plain")
        if path == "/html":
            return self.send_body(b"<!DOCTYPE html>\n<html><head><title>Login required</title></head>"
                                  b"<body>Please sign in</body></html>\n", ctype="text/html; charset=utf-8")
        if path == "/truncated":
            body = json.dumps(page_doc(0)).encode()
            return self.send_body(body[: len(body) // 2])
        if path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"[1," * 65536
            sent = 0
            try:
                self.wfile.write(b"[")
                while sent < 3 << 30:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        return self.send_json({"error": "no route " + path}, status=404)


def main():
    global log_file
    port_file, log_path = sys.argv[1], sys.argv[2]
    lifetime, tls = 300, None
    args = sys.argv[3:]
    while args:
        if args[0] == "--lifetime":
            lifetime, args = int(args[1]), args[2:]
        elif args[0] == "--tls":
            tls, args = (args[1], args[2]), args[3:]
        else:
            sys.exit("http-fixture: unknown option " + args[0])
    log_file = open(log_path, "a")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls[0], tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    timer = threading.Timer(lifetime, srv.shutdown)
    timer.daemon = True
    timer.start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()
    os._exit(0)


if __name__ == "__main__":
    main()
