#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Malformed and random requests against the agent's HTTP server (tests/e2e/api.sh).

api_fuzz.py HOST PORT COUNT TIMEOUT: sends COUNT requests, each on its own connection,
over raw sockets: bad JSON, huge bodies (declared and sent), wrong methods, unknown paths,
oversized headers, random bytes, and partial requests held open. Every one must be
answered with a 4xx status or closed by the server; a partial request held open must be
closed within TIMEOUT seconds (plus slack). Prints one JSON line of counts; exit 0 when
no request got anything else.
"""
import json
import os
import random
import socket
import sys
import threading
import time

HOST, PORT, COUNT, TIMEOUT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
SLACK = 4.0
rng = random.Random(7)

PATHS = ["/metrics", "/api/v1/status", "/api/v1/tenants", "/api/v1/rates", "/api/v1/flows",
         "/api/v1/events", "/api/v1/bans", "/api/v1/block", "/api/v1/unblock"]
POSTS = ["/api/v1/block", "/api/v1/unblock"]


def req(method, path, body=b"", headers=None, length=None):
    h = [f"{method} {path} HTTP/1.1", "Host: x", "Connection: close"]
    h += headers or []
    if body or length is not None:
        h.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def bad_json():
    return rng.choice([b"{", b"[]", b"null", b"\"x\"", b"{\"cidr\": 5}", b"{\"cidr\": \"x\"}",
                       b"{\"cidr\": \"10.0.0.0/8\", \"ttl\": \"soon\"}",
                       b"{\"cidr\": \"1.2.3.4\", \"x\": 1}", b"{\"cidr\": \"1.2.3.4\"} trailing",
                       b"[" * 5000, b"{\"cidr\": \"" + b"9" * 3000 + b"\"}",
                       bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))),
                       b"{\"cidr\": \"10.0.0.1/33\"}", b"{\"cidr\": \"\xff\xfe\"}"])


def case(i):
    """(kind, bytes to send, hold open?)"""
    if i % 50 == 49:  # one in 50: a partial request, held open until the server closes it
        return "partial", b"GET /metrics HTTP/1.1\r\nHost: x\r\n", True
    k = i % 9
    if k == 0:
        return "bad_json", req("POST", rng.choice(POSTS), bad_json()), False
    if k == 1:  # declared too large: refused on the headers
        return "huge_declared", req("POST", rng.choice(POSTS), b"{", length=10 << 20), False
    if k == 2:  # sent too large (chunked, no length)
        body = b"{\"cidr\": \"" + b"a" * (70 << 10) + b"\"}"
        chunked = hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"
        return "huge_sent", req("POST", rng.choice(POSTS), chunked,
                                headers=["Transfer-Encoding: chunked"]), False
    if k == 3:
        m = rng.choice(["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"])
        return "wrong_method", req(m, rng.choice(PATHS)), False
    if k == 4:
        return "get_on_post", req("GET", rng.choice(POSTS)), False
    if k == 5:
        p = "/" + "".join(rng.choice("abc/%.?=&") for _ in range(rng.randint(1, 60)))
        # the dashboard's own paths ("/" with any query, "/ui...") are not unknown
        if p.split("?")[0] == "/" or p.startswith("/ui"):
            p = "/x" + p
        return "unknown_path", req("GET", p), False
    if k == 6:
        return "big_headers", req("GET", "/metrics", headers=["X-Big: " + "b" * (64 << 10)]), False
    if k == 7:
        return "random_bytes", bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2000))), False
    if True:
        q = rng.choice(["seconds=-1", "seconds=601", "seconds=x", "top=-5", "limit=0",
                        "wait=31", "after=zz", "interval=9", "format=xml", "limit=99999999999"])
        p = {"seconds": "/api/v1/rates", "top": "/api/v1/flows", "limit": "/api/v1/events",
             "wait": "/api/v1/events", "after": "/api/v1/events", "interval": "/api/v1/tenants",
             "format": "/api/v1/status"}[q.split("=")[0]]
    return "bad_query", req("GET", p + "?" + q), False


lock = threading.Lock()
counts = {}
bad = []


def run_one(i):
    kind, data, hold = case(i)
    s = socket.socket(socket.AF_INET6 if ":" in HOST else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT + SLACK + 5)
    outcome = None
    t0 = time.monotonic()
    try:
        s.connect((HOST, PORT))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking everything
        if not hold:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
            if len(got) > (1 << 20):
                break
        dt = time.monotonic() - t0
        if not got:
            outcome = "closed"
            if hold and dt > TIMEOUT + SLACK:
                outcome = f"held {dt:.1f}s"
        elif got.startswith(b"HTTP/1.") and got[9:10] == b"4":
            outcome = "4" + got[10:12].decode(errors="replace")
        else:
            outcome = "answer " + got[:40].decode(errors="replace")
    except socket.timeout:
        outcome = "timeout"
    except OSError as e:
        outcome = "error " + e.__class__.__name__
    finally:
        s.close()
    ok = outcome == "closed" or (outcome[0] == "4" and outcome[1:].isdigit())
    with lock:
        counts[f"{kind}:{outcome if ok else 'BAD'}"] = counts.get(f"{kind}:{outcome if ok else 'BAD'}", 0) + 1
        if not ok and len(bad) < 20:
            bad.append((kind, outcome))


def worker(ids):
    for i in ids:
        run_one(i)


WORKERS = 48  # under the server's connection limit (64), also with every partial one held
ids = list(range(COUNT))
rng2 = random.Random(11)
rng2.shuffle(ids)
threads = [threading.Thread(target=worker, args=(ids[w::WORKERS],)) for w in range(WORKERS)]
t0 = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
total = sum(counts.values())
print(json.dumps({"requests": total, "seconds": round(time.monotonic() - t0, 1),
                  "bad": len(bad), "examples": bad[:5], "outcomes": counts}, sort_keys=True))
sys.exit(0 if total == COUNT and not bad else 1)
