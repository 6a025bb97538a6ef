#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""SIGKILL a process at a chosen moment, to a fraction of a millisecond (a shell's `sleep`
forks and is late by a millisecond or more).

   killat.py PID [--at T] [--hup] [--after-line FILE TEXT [--whole-file]] [--delay MS]

In this order: waits until T (unix seconds with a fraction, CLOCK_REALTIME: the clock of
the agent's interval timer and of capture timestamps); sends SIGHUP (--hup); waits for a
line containing TEXT in FILE, a log being written (only lines added after that moment,
or any line with --whole-file); waits MS milliseconds; sends SIGKILL.

Prints the moments: "hup T" (just before it was sent), "line T" (when the line was seen)
and "kill T". Exits 1 when the process was gone before the kill, 2 when it exited before
the line came."""

import argparse
import os
import signal
import sys
import time


def until(t):
    """Sleeps to 2 ms before t, then spins: time.sleep alone wakes up late."""
    while True:
        left = t - time.time()
        if left <= 0:
            return
        if left > 0.002:
            time.sleep(left - 0.002)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def wait_line(pid, path, text, pos):
    """Polls the file from pos every 0.1 ms; returns when the line was seen, or None."""
    want = text.encode()
    buf, f = b"", None
    while True:
        chunk = b""
        if f is None:
            try:
                f = open(path, "rb")
                f.seek(pos)
            except FileNotFoundError:
                pass
        if f is not None:
            chunk = f.read()
        if chunk:
            buf += chunk
            lines = buf.split(b"\n")
            buf = lines.pop()
            if any(want in ln for ln in lines):
                return time.time()
        elif not alive(pid):
            return None
        time.sleep(0.0001)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pid", type=int)
    ap.add_argument("--at", type=float)
    ap.add_argument("--hup", action="store_true")
    ap.add_argument("--after-line", nargs=2, metavar=("FILE", "TEXT"))
    ap.add_argument("--whole-file", action="store_true")
    ap.add_argument("--delay", type=float, default=0.0, metavar="MS")
    a = ap.parse_args()
    if a.at is not None:
        until(a.at)
    pos = 0
    if a.after_line and not a.whole_file:
        pos = size(a.after_line[0])
    try:
        if a.hup:
            hup = time.time()  # before: the process may answer before kill() returns
            os.kill(a.pid, signal.SIGHUP)
            print("hup %.6f" % hup)
        if a.after_line:
            seen = wait_line(a.pid, a.after_line[0], a.after_line[1], pos)
            if seen is None:
                print("exited %.6f" % time.time())
                sys.exit(2)
            print("line %.6f" % seen)
        until(time.time() + a.delay / 1000.0)
        os.kill(a.pid, signal.SIGKILL)
        print("kill %.6f" % time.time())
    except ProcessLookupError:
        print("gone %.6f" % time.time())
        sys.exit(1)


if __name__ == "__main__":
    main()
