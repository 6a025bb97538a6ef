#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Polls the agent's API at a fixed period and times every answer (tests/e2e/event_flood.sh).

    api_poll.py --unix SOCK --tcp HOST:PORT --period 0.2 --stop FILE --out RESULT.json
                [--path /api/v1/status=unix --path /api/v1/tenants=tcp ...] [--burst N]

Every period it sends each request once (one connection each, HTTP/1.0, as curl would):
a request is timed from before connect() to the last byte of the answer, and counts as
answered when the status is 200 and the body is a JSON value. A request that takes longer
than --timeout is cut and recorded with the time it was given, as failed. It stops when
FILE exists, and writes one JSON object: per path the number of requests, failures, the
latencies' max, p99 and median in seconds, and the first failures' reasons. With --burst N
it first sends N requests to every path at once (not timed): the agent serves each
connection in a thread of its own, and this is what a few clients at once make it allocate.
"""
import argparse
import json
import os
import socket
import threading
import time


def request(kind, addr, path, timeout):
    """One GET; returns (status, body) or raises."""
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = addr
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host, int(port))
    s.settimeout(timeout)
    try:
        s.connect(target)
        s.sendall(("GET %s HTTP/1.0\r\nHost: tollgate\r\n\r\n" % path).encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unix")
    ap.add_argument("--tcp")
    ap.add_argument("--path", action="append", required=True,
                    help="PATH=unix or PATH=tcp")
    ap.add_argument("--period", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--burst", type=int, default=0)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    targets = []
    for p in a.path:
        path, kind = p.rsplit("=", 1)
        addr = a.unix if kind == "unix" else a.tcp
        if not addr:
            ap.error("no address for %s" % p)
        targets.append((path, kind, addr))
    def untimed(kind, addr, path):
        try:
            request(kind, addr, path, a.timeout)
        except (OSError, ValueError, IndexError):
            pass

    burst = [threading.Thread(target=untimed, args=(k, addr, p))
             for p, k, addr in targets for _ in range(a.burst)]
    for t in burst:
        t.start()
    for t in burst:
        t.join()
    lat = {p + "@" + k: [] for p, k, _ in targets}
    fails = {p + "@" + k: [] for p, k, _ in targets}
    t_next = time.monotonic()
    ticks = 0
    while not os.path.exists(a.stop):
        for path, kind, addr in targets:
            key = path + "@" + kind
            t0 = time.monotonic()
            why = None
            try:
                status, body = request(kind, addr, path, a.timeout)
                if status != 200:
                    why = "status %d" % status
                else:
                    json.loads(body)
            except (OSError, ValueError, IndexError) as e:
                why = "%s: %s" % (type(e).__name__, e)
            dt = time.monotonic() - t0
            lat[key].append(dt)
            if why:
                fails[key].append("%.3f s: %s" % (dt, why))
        ticks += 1
        t_next += a.period
        pause = t_next - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            t_next = time.monotonic()  # late: no catch-up burst
    out = {"ticks": ticks, "paths": {}}
    for key, xs in lat.items():
        out["paths"][key] = {
            "requests": len(xs),
            "failed": len(fails[key]),
            "max": max(xs) if xs else None,
            "p99": percentile(xs, 99),
            "median": percentile(xs, 50),
            "failures": fails[key][:5],
        }
    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
