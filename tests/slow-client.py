#!/usr/bin/env python3
"""slow-client.py - a slowloris attack on a loopback server, for api-hostile.sh.

usage: slow-client.py HOST PORT SOURCE_ADDR N INTERVAL MAX_SECONDS

Opens N connections from SOURCE_ADDR (a loopback address such as 127.0.0.2)
and sends one header line on each every INTERVAL seconds, never finishing the
request.  Stops when the server has closed every connection or after
MAX_SECONDS, and prints "closed C of N" (C: connections the server closed or
refused).  Bounded in count and time; talks to loopback only.
"""
import socket
import sys
import time

host, port, src, n, interval, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), \
    float(sys.argv[5]), float(sys.argv[6])
assert host.startswith("127.") and src.startswith("127."), "loopback only"
socks, closed = [], 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    try:
        s.connect((host, port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        s.setblocking(False)
        socks.append(s)
    except OSError:
        closed += 1
        s.close()
start = time.monotonic()
line = 0
while socks and time.monotonic() - start < limit:
    line += 1
    for s in list(socks):
        try:
            # a read of b"" (or an error) means the server closed us
            try:
                if s.recv(4096) == b"":
                    raise OSError("closed")
            except BlockingIOError:
                pass
            s.sendall(b"X-Slow-%d: %d\r\n" % (line, line))
        except OSError:
            closed += 1
            socks.remove(s)
            s.close()
    time.sleep(interval)
for s in socks:
    s.close()
print("closed %d of %d" % (closed, n))
