#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Reads Tollgate's pinned maps with bpftool, for shell tests (the kernel's own numbers,
read without any Tollgate code).

  tgmap.py PIN tenant NAME           the tenant's id (tg_tenant_meta)
  tgmap.py PIN conns ID              tg_conns[ID]: the tenant's counted TCP connections
  tgmap.py PIN drops ID REASON       tg_drops cell summed over CPUs -> "packets bytes"
  tgmap.py PIN cgroups               tg_cgroups -> "cgroup_id tenant level" per line
"""

import json
import struct
import subprocess
import sys

REASON_SLOTS = 16
MAX_TENANTS = 16384
REASONS = {"rate": 1, "pps": 2, "deny": 3, "segment": 4, "conn_cap": 5, "raw_socket": 6,
           "quota_block": 7, "quota_throttle": 8}


def lookup(pin, mapname, key):
    args = ["bpftool", "-j", "map", "lookup", "pinned", "%s/%s" % (pin, mapname), "key"]
    args += [str(b) for b in key]
    return json.loads(subprocess.check_output(args))


def raw_bytes(v):
    return bytes(int(x, 16) for x in v)


def main():
    pin, what = sys.argv[1], sys.argv[2]
    if what == "tenant":
        name = sys.argv[3]
        for tid in range(1, MAX_TENANTS):
            v = raw_bytes(lookup(pin, "tg_tenant_meta", struct.pack("<I", tid))["value"])
            n = v[:48].split(b"\0")[0].decode()
            if n == name:
                print(tid)
                return
            if not n:
                break
        sys.exit("no tenant %s" % name)
    elif what == "conns":
        v = lookup(pin, "tg_conns", struct.pack("<I", int(sys.argv[3])))["value"]
        print(struct.unpack("<q", raw_bytes(v))[0])
    elif what == "drops":
        cell = int(sys.argv[3]) * REASON_SLOTS + REASONS[sys.argv[4]]
        v = lookup(pin, "tg_drops", struct.pack("<I", cell))
        packets = bytes_ = 0
        for cpu in v["values"]:
            p, b = struct.unpack("<QQ", raw_bytes(cpu["value"]))
            packets += p
            bytes_ += b
        print(packets, bytes_)
    elif what == "cgroups":
        out = subprocess.check_output(["bpftool", "-j", "map", "dump", "pinned",
                                       "%s/tg_cgroups" % pin])
        for e in json.loads(out):
            k = struct.unpack("<Q", raw_bytes(e["key"]))[0]
            t, lvl = struct.unpack("<II", raw_bytes(e["value"]))
            print(k, t, lvl)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
