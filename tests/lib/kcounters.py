#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The kernel's own counters, read from the pinned maps with bpftool (an oracle that does
not go through tollgate's reader). Enum values are taken from include/tollgate.h.

  kcounters.py drops TENANT REASON   -> "packets bytes" dropped for reason (rate, pps, ...)
  kcounters.py quota TENANT          -> "used exceeded period_start"
  kcounters.py stat NAME             -> a tg_stats counter summed over CPUs (events_produced)
  kcounters.py id TENANT             -> the tenant's id
  kcounters.py conns TENANT          -> tg_conns: the tenant's counted TCP connections
  kcounters.py cgroups               -> tg_cgroups: "cgroup_id tenant level" per line

TENANT is a name or a numeric id. The pin directory is $TG_PIN (default
/sys/fs/bpf/tollgate).
"""
import json
import os
import re
import subprocess
import sys

PIN = os.environ.get("TG_PIN", "/sys/fs/bpf/tollgate")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def enum(name, prefix):
    text = open(os.path.join(ROOT, "include", "tollgate.h")).read()
    body = re.search(r"enum %s \{(.*?)\};" % name, text, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    out, nxt = {}, 0
    for item in body.split(","):
        item = item.strip()
        if not item:
            continue
        m = re.match(r"(\w+)(?:\s*=\s*(\w+))?$", item)
        key, val = m.group(1), m.group(2)
        nxt = int(val, 0) if val else nxt
        out[key[len(prefix):].lower()] = nxt
        nxt += 1
    return out


def define(name):
    text = open(os.path.join(ROOT, "include", "tollgate.h")).read()
    return int(re.search(r"#define %s (\w+)" % name, text).group(1), 0)


def lookup(mapname, key):
    kb = [str(b) for b in key.to_bytes(4, "little")]
    out = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned",
                          os.path.join(PIN, mapname), "key"] + kb,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def formatted(v):
    return v.get("formatted", v)


def tenant_id(name):
    if name.isdigit():
        return int(name)
    for i in range(1, 64):
        v = formatted(lookup("tg_tenant_meta", i))["value"]
        if v["name"] == name:
            return i
    sys.exit("kcounters: no tenant %s among the first ids" % name)


def percpu_sum(entry, fields):
    e = formatted(entry)
    tot = {f: 0 for f in fields}
    for cpu in e["values"]:
        val = cpu["value"]
        for f in fields:
            tot[f] += val[f] if isinstance(val, dict) else val
    return tot


def main():
    cmd = sys.argv[1]
    if cmd == "drops":
        reason = enum("tg_reason", "TG_REASON_")[sys.argv[3]]
        cell = tenant_id(sys.argv[2]) * define("TG_REASON_SLOTS") + reason
        t = percpu_sum(lookup("tg_drops", cell), ["packets", "bytes"])
        print(t["packets"], t["bytes"])
    elif cmd == "quota":
        v = formatted(lookup("tg_quota", tenant_id(sys.argv[2])))["value"]
        print(v["used"], v["exceeded"], v["period_start"])
    elif cmd == "stat":
        idx = enum("tg_stat", "TG_STAT_")[sys.argv[2]]
        e = formatted(lookup("tg_stats", idx))
        print(sum(c["value"] for c in e["values"]))
    elif cmd == "id":
        print(tenant_id(sys.argv[2]))
    elif cmd == "conns":
        print(formatted(lookup("tg_conns", tenant_id(sys.argv[2])))["value"])
    elif cmd == "cgroups":
        out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned",
                              os.path.join(PIN, "tg_cgroups")],
                             check=True, capture_output=True, text=True).stdout
        for e in json.loads(out):
            e = formatted(e)
            print(e["key"], e["value"]["tenant_id"], e["value"]["level"])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
