#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Steady UDP of varied sizes, until killed: datagrams of 1 to 8000 bytes in a fixed
cycle (those above the path MTU leave as IPv4 fragments), RATE datagrams a second.

   udpmix.py DST PORT RATE

Nobody needs to listen at DST: the ICMP port-unreachable answers are traffic too."""

import socket
import sys
import time

SIZES = (1, 17, 64, 100, 512, 999, 1400, 1472, 1473, 3000, 8000)


def main():
    dst, port, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bufs = [bytes((i * 7 + n) & 0xFF for i in range(n)) for n in SIZES]
    period, nxt, i = 1.0 / rate, time.monotonic(), 0
    while True:
        try:
            s.sendto(bufs[i % len(bufs)], (dst, port))
        except OSError:
            pass  # an ICMP error reported on the socket, or a full buffer: go on
        i += 1
        nxt += period
        left = nxt - time.monotonic()
        if left > 0:
            time.sleep(left)


if __name__ == "__main__":
    main()
