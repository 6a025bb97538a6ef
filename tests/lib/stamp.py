#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Runs a command and writes its output (stdout and stderr) to stdout, each line prefixed
with the wall-clock time it arrived at (unix seconds with microseconds), so that a test
can tell what a process had said by a given moment.

   stamp.py [--drop PREFIX]... [--pidfile FILE] -- COMMAND...

Lines that start with a --drop prefix are left out (libbpf's debug output under
`tollgate run -v`, say). The command's pid goes to --pidfile as soon as it runs. Exits
once the command has exited and its output is all written: with its status, or 128 + the
signal that killed it, as a shell would report it."""

import argparse
import os
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--pidfile")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("no command")
    drop = tuple(p.encode() for p in a.drop)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % p.pid)
        os.rename(a.pidfile + ".tmp", a.pidfile)
    out = sys.stdout.buffer
    for line in iter(p.stdout.readline, b""):
        t = time.time()
        if drop and line.startswith(drop):
            continue
        out.write(b"%.6f " % t + line)
        out.flush()
    rc = p.wait()
    sys.exit(128 - rc if rc < 0 else rc)


if __name__ == "__main__":
    main()
