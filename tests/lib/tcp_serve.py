#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A TCP server for the e2e tests: answers every connection with one line (its name)
and closes it.   tcp_serve.py ADDRESS PORT NAME"""

import socket
import sys
import threading


def main():
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b"\n"
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(4096)

    def answer(c):
        with c:
            try:
                c.sendall(name)
            except OSError:
                pass

    while True:
        c, _ = s.accept()
        threading.Thread(target=answer, args=(c,), daemon=True).start()


main()
