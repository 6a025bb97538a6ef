#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A legitimate client for the e2e tests: N connections one after another, each with a
timeout, each reading the server's one line.
   tcp_burst.py [-s SOURCE] [-t TIMEOUT] HOST PORT N
Prints "ok=A failed=B reply=LINE" (the reply of the last good connection), and the
slowest connection's time in ms."""

import argparse
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", "--source")
    ap.add_argument("-t", "--timeout", type=float, default=5.0)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    ok = failed = 0
    reply = ""
    slowest = 0.0
    for _ in range(a.n):
        t0 = time.monotonic()
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.settimeout(a.timeout)
                if a.source:
                    s.bind((a.source, 0))
                s.connect((a.host, a.port))
                line = s.makefile().readline().strip()
                if line:
                    ok += 1
                    reply = line
                else:
                    failed += 1
        except OSError:
            failed += 1
        slowest = max(slowest, time.monotonic() - t0)
    print(f"ok={ok} failed={failed} reply={reply} slowest_ms={slowest * 1000:.0f}")


main()
