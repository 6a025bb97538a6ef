#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A tenant's process for tests/e2e/cgroups.sh: run inside a tenant cgroup, it takes one
command per line on stdin and answers with one line on stdout. It holds the TCP
connections it opens until told to close them, so a test can count them from outside
across agent restarts. Errors are reported by errno name, as the process saw them.

  open N HOST PORT        N TCP connects; keeps those that succeed
                          -> "ok=A ECONNREFUSED=B ..." (counts by errno name)
  close N                 closes the N oldest held connections -> "held=M"
  connect tcp|udp HOST PORT   one connect, closed at once -> "OK" or the errno name
  sendto HOST PORT N SIZE     N unconnected UDP datagrams of SIZE bytes
                          -> "ok=A EPERM=B ..."
  raw 4|6                 socket(AF_INET[6], SOCK_RAW, ICMP[v6]) -> "OK" or errno name
  udp_bind HOST PORT      a UDP socket to receive on -> "OK"
  udp_drain               datagrams received on it so far -> "N"
  quit
"""

import errno
import select
import socket
import sys


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def counts(results):
    out = {}
    for r in results:
        out[r] = out.get(r, 0) + 1
    return " ".join("%s=%d" % (k, out[k]) for k in sorted(out)) or "none"


def err_name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def main():
    held = []
    udp = None
    received = 0
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        cmd, reply = w[0], "?"
        if cmd == "open":
            n, host, port = int(w[1]), w[2], int(w[3])
            res = []
            for _ in range(n):
                s = socket.socket(family(host), socket.SOCK_STREAM)
                try:
                    s.connect((host, port))
                    held.append(s)
                    res.append("ok")
                except OSError as e:
                    s.close()
                    res.append(err_name(e))
            reply = counts(res)
        elif cmd == "close":
            for s in held[: int(w[1])]:
                s.close()
            held = held[int(w[1]):]
            reply = "held=%d" % len(held)
        elif cmd == "connect":
            kind = socket.SOCK_STREAM if w[1] == "tcp" else socket.SOCK_DGRAM
            s = socket.socket(family(w[2]), kind)
            try:
                s.connect((w[2], int(w[3])))
                reply = "OK"
            except OSError as e:
                reply = err_name(e)
            s.close()
        elif cmd == "sendto":
            host, port, n, size = w[1], int(w[2]), int(w[3]), int(w[4])
            s = socket.socket(family(host), socket.SOCK_DGRAM)
            res = []
            for _ in range(n):
                try:
                    s.sendto(b"x" * size, (host, port))
                    res.append("ok")
                except OSError as e:
                    res.append(err_name(e))
            s.close()
            reply = counts(res)
        elif cmd == "raw":
            fam, proto = ((socket.AF_INET, socket.IPPROTO_ICMP) if w[1] == "4" else
                          (socket.AF_INET6, socket.IPPROTO_ICMPV6))
            try:
                socket.socket(fam, socket.SOCK_RAW, proto).close()
                reply = "OK"
            except OSError as e:
                reply = err_name(e)
        elif cmd == "udp_bind":
            udp = socket.socket(family(w[1]), socket.SOCK_DGRAM)
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            udp.bind((w[1], int(w[2])))
            udp.setblocking(False)
            reply = "OK"
        elif cmd == "udp_drain":
            while udp and select.select([udp], [], [], 0.2)[0]:
                try:
                    udp.recv(65536)
                    received += 1
                except BlockingIOError:
                    break
            reply = str(received)
        elif cmd == "quit":
            break
        print(reply, flush=True)


if __name__ == "__main__":
    main()
