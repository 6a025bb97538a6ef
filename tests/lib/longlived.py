#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Long-lived TCP connections that must survive whatever the test does meanwhile.

  longlived.py server PORT
      an echo server (one thread per connection) on 0.0.0.0:PORT
  longlived.py client HOST PORT CONNS STOPFILE
      opens CONNS connections, then, round after round until STOPFILE exists, sends each a
      1 KiB chunk (a counter pattern) and reads it back, checking every byte; prints one
      JSON object: {"conns": N, "alive": N, "rounds": R, "bytes": B, "errors": [...],
      "max_gap_ms": G}. A connection that is reset, closed, stalls over 10 s or echoes a
      wrong byte is an error and is not used again.
"""
import json
import os
import socket
import sys
import threading
import time

CHUNK = 1024


def serve(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(64)

    def echo(c):
        with c:
            while True:
                b = c.recv(65536)
                if not b:
                    return
                c.sendall(b)

    while True:
        c, _ = ls.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def pattern(conn, rnd):
    seed = (conn * 7919 + rnd * 104729) & 0xFFFFFFFF
    return bytes(((seed >> (8 * (i % 4))) + i) & 0xFF for i in range(CHUNK))


def client(host, port, n, stopfile):
    socks, errors = [], []
    for i in range(n):
        s = socket.create_connection((host, port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    alive = [True] * n
    rounds, total, max_gap, last = 0, 0, 0.0, time.monotonic()
    while not os.path.exists(stopfile) and any(alive):
        for i, s in enumerate(socks):
            if not alive[i]:
                continue
            want = pattern(i, rounds)
            try:
                s.sendall(want)
                got = b""
                while len(got) < CHUNK:
                    b = s.recv(CHUNK - len(got))
                    if not b:
                        raise ConnectionError("closed by the peer")
                    got += b
                if got != want:
                    raise ValueError("echo differs in round %d" % rounds)
                total += 2 * CHUNK
            except (OSError, ValueError) as e:
                alive[i] = False
                errors.append("conn %d round %d: %s" % (i, rounds, e))
        now = time.monotonic()
        max_gap = max(max_gap, now - last)
        last = now
        rounds += 1
        time.sleep(0.005)
    for s in socks:
        s.close()
    print(json.dumps({"conns": n, "alive": sum(alive), "rounds": rounds, "bytes": total,
                      "errors": errors, "max_gap_ms": round(max_gap * 1000, 1)}))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "server":
        serve(int(sys.argv[2]))
    elif len(sys.argv) == 6 and sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
