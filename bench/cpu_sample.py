#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""CPU use of processes over a window, for bench/agent_scale.sh.

    cpu_sample.py SECONDS PID...

For each PID, one line:

    pid=P cpu_pct=C idle_pct=I bursts=N burst_cpu_s=B burst_wall_s=W list=t:cpu:wall,...

cpu_pct is the process's utime + stime (/proc/PID/stat) over the window, in percent of one
CPU. The run time of all its threads (/proc/PID/task/*/schedstat, in ns) is also sampled
20 times a second: a slot where the process ran at least 30% of the time is busy, and a
burst is a run of busy slots (a gap of one quiet slot does not end it): a harvest or a
flow cycle. burst_cpu_s and burst_wall_s are the medians over the bursts of their run
time and wall time; idle_pct is the process's CPU between bursts; list gives each burst's
start (seconds into the window), run time and wall time.
"""
import os
import sys
import time

HZ = 20
BUSY = 0.3


def stat_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def runtime_ns(pid):
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that just ended
    return total


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else 0.0


def main():
    secs = float(sys.argv[1])
    pids = [int(p) for p in sys.argv[2:]]
    clk = os.sysconf("SC_CLK_TCK")
    t0 = time.monotonic()
    ticks0 = {p: stat_ticks(p) for p in pids}
    last = {p: runtime_ns(p) for p in pids}
    slots = {p: [] for p in pids}  # (start, wall, ran) per slot
    prev = t0
    while prev - t0 < secs:
        time.sleep(max(0.0, prev + 1.0 / HZ - time.monotonic()))
        now = time.monotonic()
        for p in pids:
            ns = runtime_ns(p)
            slots[p].append((prev - t0, now - prev, max(0, ns - last[p]) / 1e9))
            last[p] = ns
        prev = now
    wall = time.monotonic() - t0
    for p in pids:
        cpu = (stat_ticks(p) - ticks0[p]) / clk
        s = slots[p]
        busy = [ran >= BUSY * w for _, w, ran in s]
        # a single quiet slot between two busy ones belongs to the burst
        for i in range(1, len(s) - 1):
            if not busy[i] and busy[i - 1] and busy[i + 1]:
                busy[i] = True
        bursts, i = [], 0
        idle_ran = idle_wall = 0.0
        while i < len(s):
            if not busy[i]:
                idle_ran += s[i][2]
                idle_wall += s[i][1]
                i += 1
                continue
            j = i
            while j < len(s) and busy[j]:
                j += 1
            bursts.append((s[i][0], sum(x[2] for x in s[i:j]), sum(x[1] for x in s[i:j])))
            i = j
        print("pid=%d cpu_pct=%.2f idle_pct=%.2f bursts=%d burst_cpu_s=%.3f burst_wall_s=%.3f "
              "list=%s" % (p, 100 * cpu / wall, 100 * idle_ran / idle_wall if idle_wall else 0,
                           len(bursts), median([b[1] for b in bursts]),
                           median([b[2] for b in bursts]),
                           ",".join("%.1f:%.3f:%.3f" % b for b in bursts) or "-"))


if __name__ == "__main__":
    main()
