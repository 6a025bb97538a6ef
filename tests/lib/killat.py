#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""SIGKILL a process at a chosen moment, to a tenth of a millisecond (a shell's `sleep`
forks and is late by a millisecond or more).

   killat.py PID --at T [--hup-first MS]
   killat.py PID --after-line FILE TEXT --delay MS

--at: T is unix seconds with a fraction (CLOCK_REALTIME, the clock of the agent's
interval timer and of capture timestamps). With --hup-first, SIGHUP is sent at T and
SIGKILL MS milliseconds later (a kill in the middle of a reload).
--after-line: waits for a line containing TEXT in FILE (a log being written), then
SIGKILL after MS milliseconds; gives up (exit 2) if the process exits first.

Prints the moments the signals were sent: "hup T" (with --hup-first), "line T" (when
the line was seen) and "kill T". Exits 1 when the process was gone before the kill."""

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


def wait_line(pid, path, text):
    """Polls the file every 0.2 ms; returns the moment the line was seen, or None."""
    want = text.encode()
    buf, pos = b"", 0
    while True:
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            pos += len(chunk)
            buf += chunk
            lines = buf.split(b"\n")
            buf = lines.pop()
            if any(want in ln for ln in lines):
                return time.time()
        elif not alive(pid):
            return None
        time.sleep(0.0002)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pid", type=int)
    ap.add_argument("--at", type=float)
    ap.add_argument("--after-line", nargs=2, metavar=("FILE", "TEXT"))
    ap.add_argument("--delay", type=float, default=0.0, metavar="MS")
    ap.add_argument("--hup-first", type=float, metavar="MS")
    a = ap.parse_args()
    if (a.at is None) == (a.after_line is None):
        ap.error("one of --at and --after-line")
    if a.after_line:
        seen = wait_line(a.pid, *a.after_line)
        if seen is None:
            print("exited %.6f" % time.time())
            sys.exit(2)
        print("line %.6f" % seen)
        at = seen + a.delay / 1000.0
    else:
        at = a.at
    until(at)
    try:
        if a.hup_first is not None:
            os.kill(a.pid, signal.SIGHUP)
            print("hup %.6f" % time.time())
            until(at + a.hup_first / 1000.0)
        os.kill(a.pid, signal.SIGKILL)
        print("kill %.6f" % time.time())
    except ProcessLookupError:
        print("gone %.6f" % time.time())
        sys.exit(1)


if __name__ == "__main__":
    main()
