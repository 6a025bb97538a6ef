#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Compares `tollgate replay FILE --json` with the oracle (tests/lib/flow_oracle.py).

  compare_replay.py [options] REPLAY_JSON ORACLE_JSON

Prints TAP: one line per check, with at most 10 differences as `#` lines before a
failing one. Standalone it numbers from 1 and ends with the plan; with --tap-start N
(inside a suite that uses tests/lib/tap.sh) it numbers from N and prints no plan, and the
suite adds the lines to its own count. Exit status: 0 when every check passed.

Options:
  --name NAME           prefix for the check descriptions (default: the capture's name)
  --tenant NAME=CIDR[,CIDR...]
                        a tenant of the replay's configuration (repeatable). Without any,
                        every flow must be unattributed (tenant null) and `ingress`.
                        With them, each flow's tenant and direction are checked by the
                        tap rule (the owner of the destination, ingress; else the owner
                        of the source, egress; longest prefix wins), and so are the
                        per-tenant totals
  --allow-evictions     the flow table may be too small: flows may be missing from the
                        replay, as many as it reports evicted; those listed must be exact
  --times               also check each flow's start and end against the frames' times
  --selftest            ORACLE_JSON only: make a faithful replay from the oracle, check
                        that compare() accepts it and rejects damaged copies of it (a
                        test of this script, while `tollgate replay` is not there)

Flows are compared by (VLANs, family, proto, src, dst, sport, dport, orphan_fragments):
replay flows that differ only in tenant, direction or class are summed first. As a
function: compare(replay_dict, oracle_dict, **options) -> [(passed, description, diag)].
"""

import argparse
import calendar
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flow_oracle import PROTO_NUMBERS, UNPARSED_REASONS, emit_tap, flow_key  # noqa: E402

MAX_DIFF = 10


def proto_number(p):
    if isinstance(p, int):
        return p
    if isinstance(p, str) and p in PROTO_NUMBERS:
        return PROTO_NUMBERS[p]
    return int(p)


def oracle_key(fl):
    return flow_key(fl["vlan"], fl["family"], proto_number(fl["proto"]), fl["src"],
                    fl["dst"], fl["sport"], fl["dport"], fl["orphan_fragments"])


_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?"
                      r"([Zz]|[+-]\d\d:\d\d)$")


def rfc3339(s):
    """-> (seconds since the epoch as a Decimal, resolution in seconds)"""
    m = _RFC3339.match(s)
    if not m:
        raise ValueError("not RFC 3339: %r" % s)
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    t = Decimal(calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)))
    frac = m.group(7) or ""
    if frac:
        t += Decimal(frac)
    res = Decimal(1).scaleb(-(len(frac) - 1)) if frac else Decimal(1)
    tz = m.group(8)
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        t -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return t, res


class Tenants:
    def __init__(self, specs):
        self.nets = []
        for spec in specs:
            name, _, cidrs = spec.partition("=")
            for c in cidrs.split(","):
                self.nets.append((ipaddress.ip_network(c.strip(), strict=False), name))

    def owner(self, addr):
        a = ipaddress.ip_address(addr)
        best = None
        for net, name in self.nets:
            if a.version == net.version and a in net:
                if best is None or net.prefixlen > best[0].prefixlen:
                    best = (net, name)
        return best[1] if best else None

    def attribute(self, fl):
        """(tenant, direction) of a flow's frames in a capture (the tap role)."""
        t = self.owner(fl["dst"])
        if t is not None:
            return t, "ingress"
        t = self.owner(fl["src"])
        if t is not None:
            return t, "egress"
        return None, "ingress"


def capinfos_count(path):
    """(frames, data bytes) by capinfos, independently of tshark; None if unavailable."""
    if not path or not os.path.exists(path) or not shutil.which("capinfos"):
        return None
    p = subprocess.run(["capinfos", "-M", "-T", "-r", "-c", "-d", path],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        return None
    cols = p.stdout.strip().split("\t")
    try:
        return int(cols[1]), int(cols[2])
    except (IndexError, ValueError):
        return None


def fmt(fl):
    return "%d pkts %d bytes" % (fl["packets"], fl["bytes"])


def clip(lines):
    if len(lines) > MAX_DIFF:
        return lines[:MAX_DIFF] + ["... and %d more" % (len(lines) - MAX_DIFF)]
    return lines


def compare(rep, orc, name=None, tenants=None, allow_evictions=False, times=False):
    name = name or os.path.basename(orc.get("capture", "capture"))
    R = []

    def check(passed, desc, diag=()):
        R.append((bool(passed), "%s: %s" % (name, desc), clip(list(diag))))

    need = ("frames", "bytes", "flows", "unparsed")
    missing = [k for k in need if k not in rep]
    bad_flows = [] if isinstance(rep.get("flows"), list) else ["flows is not a list"]
    if missing or bad_flows:
        check(False, "replay JSON has frames, bytes, flows and unparsed",
              ["missing: %s" % ", ".join(missing)] + bad_flows)
        return R
    if orc.get("oracle_errors"):
        check(False, "the oracle read every frame",
              ["frame %(frame)d: %(error)s" % e for e in orc["oracle_errors"]])

    # Totals: the replay read what tshark and capinfos read.
    cap = orc["frames"], orc["bytes"]
    ci = capinfos_count(orc.get("capture"))
    diag = ["replay %d frames %d bytes, tshark %d frames %d bytes" %
            (rep["frames"], rep["bytes"], cap[0], cap[1])]
    ok = (rep["frames"], rep["bytes"]) == cap
    if ci is not None:
        diag.append("capinfos %d frames %d bytes" % ci)
        ok = ok and ci == cap
    check(ok, "replay read %d frames, %d bytes" % cap, [] if ok else diag)

    # Conservation: every frame is in exactly one flow or in unparsed.
    fl_p = sum(f.get("packets", 0) for f in rep["flows"])
    fl_b = sum(f.get("bytes", 0) for f in rep["flows"])
    un = rep["unparsed"]
    ev = rep.get("flow_table", {}).get("evictions", 0) if allow_evictions else 0
    ok_p = fl_p + un.get("packets", -1) == cap[0]
    ok_b = fl_b + un.get("bytes", -1) == cap[1]
    if not allow_evictions or not ev:
        check(ok_p, "conservation: flow packets %d + unparsed %s = %d frames"
              % (fl_p, un.get("packets"), cap[0]))
        check(ok_b, "conservation: flow bytes %d + unparsed %s = %d bytes"
              % (fl_b, un.get("bytes"), cap[1]))
    else:  # evicted entries took their counts with them: no more than the capture
        check(fl_p + un.get("packets", 0) <= cap[0] and fl_b + un.get("bytes", 0) <= cap[1],
              "flows and unparsed hold no more than the capture (%d of %d frames; %d "
              "flows evicted)" % (fl_p + un.get("packets", 0), cap[0], ev))

    # Unparsed, by reason.
    reasons = un.get("reasons", {})
    diag = []
    for r in UNPARSED_REASONS:
        w = orc["unparsed"]["reasons"].get(r, {"packets": 0, "bytes": 0})
        g = reasons.get(r, {"packets": 0, "bytes": 0})
        if (g.get("packets"), g.get("bytes")) != (w["packets"], w["bytes"]):
            diag.append("%s: replay %s pkts %s bytes, oracle %d pkts %d bytes" %
                        (r, g.get("packets"), g.get("bytes"), w["packets"], w["bytes"]))
    for r in sorted(set(reasons) - set(UNPARSED_REASONS)):
        if reasons[r].get("packets") or reasons[r].get("bytes"):
            diag.append("reason %r the oracle does not know: %s" % (r, reasons[r]))
    sp = sum(v.get("packets", 0) for v in reasons.values())
    sb = sum(v.get("bytes", 0) for v in reasons.values())
    if (sp, sb) != (un.get("packets"), un.get("bytes")):
        diag.append("reasons sum to %d pkts %d bytes, unparsed says %s pkts %s bytes" %
                    (sp, sb, un.get("packets"), un.get("bytes")))
    if diag and orc.get("unparsed_frames"):
        diag.append("oracle: " + ", ".join("frame %(frame)d %(reason)s" % u
                                           for u in orc["unparsed_frames"][:8]))
    check(not diag, "unparsed frames by reason agree with the oracle (%d frames)" %
          orc["unparsed"]["packets"], diag)

    # Flows: sum the replay's over tenant, direction and class, then compare.
    got = {}
    seen_full = set()
    dup = []
    bad = []
    for f in rep["flows"]:
        try:
            k = oracle_key(f)
        except (KeyError, ValueError, TypeError) as e:
            bad.append("unreadable flow %s: %r" % (json.dumps(f)[:160], e))
            continue
        full = (k, f.get("tenant"), f.get("direction"), f.get("class"))
        if full in seen_full:
            dup.append("listed twice: %s tenant=%s %s" % (k, f.get("tenant"),
                                                         f.get("direction")))
        seen_full.add(full)
        g = got.setdefault(k, {"packets": 0, "bytes": 0, "tcp_flags": 0, "parts": []})
        g["packets"] += f.get("packets", 0)
        g["bytes"] += f.get("bytes", 0)
        g["tcp_flags"] |= f.get("tcp_flags", 0)
        g["parts"].append(f)
    want = {}
    for k, fl in orc["flows"].items():
        want[k] = fl
    diffs = bad + dup
    missing = []
    for k in sorted(set(want) | set(got)):
        w, g = want.get(k), got.get(k)
        if g is None:
            missing.append("missing from the replay: %s (oracle %s)" % (k, fmt(w)))
        elif w is None:
            diffs.append("not in the oracle: %s (replay %s)" % (k, fmt(g)))
        elif (g["packets"], g["bytes"]) != (w["packets"], w["bytes"]):
            diffs.append("%s: replay %s, oracle %s" % (k, fmt(g), fmt(w)))
    if allow_evictions:
        ft = rep.get("flow_table", {})
        if len(missing) != ft.get("evictions", 0):
            diffs.append("%d oracle flows missing from the replay, %s evicted" %
                         (len(missing), ft.get("evictions")))
        check(not diffs, "flows listed agree with the oracle (%d of %d flows; %d evicted)"
              % (len(got), len(want), len(missing)), diffs + missing if diffs else [])
    else:
        check(not diffs and not missing, "flows agree with the oracle (%d flows)" %
              len(want), missing + diffs)

    # TCP flags: the OR of the flags byte of every segment.
    diag = []
    for k in sorted(set(want) & set(got)):
        if got[k]["tcp_flags"] != want[k]["tcp_flags"]:
            diag.append("%s: replay tcp_flags %#x, oracle %#x" %
                        (k, got[k]["tcp_flags"], want[k]["tcp_flags"]))
    check(not diag, "tcp_flags agree with the oracle", diag)

    # Billing: every frame is billed once, to a tenant or as unattributed (null).
    if isinstance(rep.get("tenants"), list):
        tp = sum(t.get("packets", 0) for t in rep["tenants"])
        tb = sum(t.get("bytes", 0) for t in rep["tenants"])
        check((tp, tb) == cap, "billing: tenants (unattributed included) sum to the capture",
              [] if (tp, tb) == cap else ["tenants sum to %d pkts %d bytes" % (tp, tb)])

    # Tenants and directions.
    if not tenants:
        diag = ["%s: tenant %s, direction %s" % (oracle_key(f), json.dumps(f.get("tenant")),
                                                 f.get("direction"))
                for f in rep["flows"] if f.get("tenant") is not None or
                f.get("direction") != "ingress"]
        check(not diag, "no tenant configured: every flow unattributed and ingress", diag)
    else:
        diag = []
        exp_tot = {}
        for k, g in sorted(got.items()):
            for f in g["parts"]:
                t, d = tenants.attribute(f)
                if (f.get("tenant"), f.get("direction")) != (t, d):
                    diag.append("%s: tenant %s %s, want %s %s" % (
                        k, json.dumps(f.get("tenant")), f.get("direction"), json.dumps(t),
                        d))
        check(not diag, "each flow's tenant and direction follow the configured CIDRs",
              diag)
        # Billing never reads the flow table: its totals are exact even with evictions.
        for fl in want.values():
            t, d = tenants.attribute(fl)
            if t is not None:
                e = exp_tot.setdefault((t, d), [0, 0])
                e[0] += fl["packets"]
                e[1] += fl["bytes"]
        got_tot = {}
        for t in rep.get("tenants", []):
            if t.get("tenant") is None:
                continue
            e = got_tot.setdefault((t["tenant"], t["direction"]), [0, 0])
            e[0] += t.get("packets", 0)
            e[1] += t.get("bytes", 0)
        got_tot = {k: v for k, v in got_tot.items() if v != [0, 0]}
        diag = ["%s %s: replay %s, oracle %s" % (k[0], k[1], got_tot.get(k), exp_tot.get(k))
                for k in sorted(set(exp_tot) | set(got_tot))
                if got_tot.get(k) != exp_tot.get(k)]
        if orc["unparsed"]["packets"]:
            diag.append("(the oracle's totals leave out its %d unparsed frames)" %
                        orc["unparsed"]["packets"])
        check(not diag, "per-tenant totals agree with the oracle's flows", diag)

    # The flow table's own accounting.
    ft = rep.get("flow_table")
    if ft is not None:
        diag = []
        if ft.get("live") != len(rep["flows"]):
            diag.append("live %s, %d flows listed" % (ft.get("live"), len(rep["flows"])))
        if ft.get("created", 0) != ft.get("live", 0) + ft.get("evictions", 0):
            diag.append("created %s != live %s + evictions %s" %
                        (ft.get("created"), ft.get("live"), ft.get("evictions")))
        if not allow_evictions and ft.get("evictions"):
            diag.append("%s evictions (capacity %s)" % (ft.get("evictions"),
                                                         ft.get("capacity")))
        check(not diag, "flow table: %s created, %s live, %s evicted" %
              (ft.get("created"), ft.get("live"), ft.get("evictions")), diag)

    # Fragments: first ones remembered, later ones joined or orphaned.
    fr = rep.get("fragments")
    if isinstance(fr, dict) and "fragments" in orc:
        w = orc["fragments"]
        diag = ["%s: replay %s, oracle %d" % (k, fr.get(k), w[k]) for k in sorted(w)
                if fr.get(k) != w[k]]
        check(not diag, "fragments: %d first, %d joined, %d orphan, as the oracle" %
              (w["first"], w["joined"], w["orphan"]), diag)

    # Verdicts: every frame got one.
    v = rep.get("verdicts")
    if isinstance(v, dict):
        n = sum(x for x in v.values() if isinstance(x, int))
        check(n == cap[0], "verdicts cover every frame (%s)" % json.dumps(v, sort_keys=True),
              [] if n == cap[0] else ["%d verdicts for %d frames" % (n, cap[0])])

    if times:
        diag = []
        for k in sorted(set(want) & set(got)):
            w = want[k]
            for part in got[k]["parts"]:
                for field, ref in (("start", w["first"]), ("end", w["last"])):
                    try:
                        t, res = rfc3339(part.get(field, ""))
                    except ValueError as e:
                        diag.append("%s: %s" % (k, e))
                        continue
                    ref = Decimal(ref)
                    # one part of a flow split by tenant lies within the flow's times
                    lo, hi = Decimal(w["first"]), Decimal(w["last"])
                    if len(got[k]["parts"]) == 1:
                        lo = hi = ref
                    if not (lo - res < t < hi + res):
                        diag.append("%s: %s %s, frames say %s" % (k, field, part[field],
                                                                   ref))
        check(not diag, "flow start and end are the first and last frames' times", diag)
    return R


def rfc3339_of(epoch):
    sec, _, frac = epoch.partition(".")
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(sec))) + \
        ("." + frac if frac else "") + "Z"


def fake_replay(orc):
    """What a correct `tollgate replay FILE --json` with no config would print."""
    flows = []
    for fl in orc["flows"].values():
        f = {k: fl[k] for k in ("family", "src", "dst", "sport", "dport", "proto", "vlan",
                                "orphan_fragments", "packets", "bytes", "tcp_flags")}
        f.update(tenant=None, direction="ingress", start=rfc3339_of(fl["first"]),
                 end=rfc3339_of(fl["last"]))
        f["class"] = "internet"
        flows.append(f)
    return {"capture": orc["capture"], "frames": orc["frames"], "bytes": orc["bytes"],
            "flows": flows, "verdicts": {"pass": orc["frames"]},
            "tenants": [{"tenant": None, "class": "internet", "direction": "ingress",
                         "packets": orc["frames"], "bytes": orc["bytes"]}],
            "events": [], "unparsed": json.loads(json.dumps(orc["unparsed"])),
            "flow_table": {"capacity": 1 << 20, "created": len(flows), "live": len(flows),
                           "evictions": 0}}


def selftest(orc, name):
    """[(passed, description, diag)]: compare() passes a faithful replay and fails
    damaged ones, each damage caught by the check meant to catch it."""
    import copy
    out = []
    good = fake_replay(orc)
    res = compare(good, orc, name=name, times=True)
    bad = [d for p, d, _ in res if not p]
    out.append((not bad, "%s: compare accepts a faithful replay" % name,
                ["failed: " + d for d in bad] + [x for p, _, dg in res if not p for x in dg]))
    damages = []
    if good["flows"]:
        def drop(r):
            r["flows"].pop(0)
        def more(r):
            r["flows"][-1]["bytes"] += 1
        def swap_ports(r):
            f = r["flows"][0]
            f["sport"], f["dport"] = f["dport"] + 1, f["sport"]
        def flags(r):
            r["flows"][0]["tcp_flags"] ^= 0x10
        def tenant(r):
            r["flows"][0]["tenant"] = "acme"
        def to_unparsed(r):
            f = r["flows"][0]
            f["packets"] -= 1
            f["bytes"] -= 60
            r["unparsed"]["packets"] += 1
            r["unparsed"]["bytes"] += 60
            r["unparsed"]["reasons"]["not_ip"]["packets"] += 1
            r["unparsed"]["reasons"]["not_ip"]["bytes"] += 60
        def vlan(r):
            r["flows"][0]["vlan"] = r["flows"][0]["vlan"] + [99]
        def late(r):
            r["flows"][0]["end"] = rfc3339_of("%d" % (int(orc["flows"][
                oracle_key(r["flows"][0])]["last"].split(".")[0]) + 5))
        damages += [("a flow missing", drop, "flows agree"),
                    ("one byte more", more, "flows agree"),
                    ("ports changed", swap_ports, "flows agree"),
                    ("tcp_flags changed", flags, "tcp_flags agree"),
                    ("a tenant where none is configured", tenant, "unattributed"),
                    ("a frame moved to unparsed", to_unparsed, "unparsed frames"),
                    ("a VLAN id added", vlan, "flows agree"),
                    ("an end time 5 s late", late, "start and end")]
    damages.append(("a frame fewer", lambda r: r.update(frames=r["frames"] - 1),
                    "replay read"))
    for what, fn, catcher in damages:
        r = copy.deepcopy(good)
        fn(r)
        res = compare(r, orc, name=name, times=True)
        failed = [d for p, d, _ in res if not p]
        ok = any(catcher in d for d in failed)
        out.append((ok, "%s: compare catches %s" % (name, what),
                    [] if ok else ["failing checks: %s" % (failed or "none")]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("replay", nargs="?")
    ap.add_argument("oracle")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--name")
    ap.add_argument("--tenant", action="append", default=[])
    ap.add_argument("--allow-evictions", action="store_true")
    ap.add_argument("--times", action="store_true")
    ap.add_argument("--tap-start", type=int)
    a = ap.parse_args()
    if (a.replay is None) != a.selftest:
        ap.error("REPLAY_JSON ORACLE_JSON, or --selftest ORACLE_JSON")
    with open(a.oracle) as fh:
        orc = json.load(fh)
    name = a.name or os.path.basename(orc.get("capture", a.oracle))
    if a.selftest:
        failed = emit_tap(selftest(orc, name), a.tap_start or 1, a.tap_start is None)
        return 1 if failed else 0
    try:
        with open(a.replay) as fh:
            rep = json.load(fh)
        if not isinstance(rep, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        results = [(False, "%s: replay output is one JSON object" % name, [str(e)])]
    else:
        results = compare(rep, orc, name=name,
                          tenants=Tenants(a.tenant) if a.tenant else None,
                          allow_evictions=a.allow_evictions, times=a.times)
    failed = emit_tap(results, a.tap_start or 1, a.tap_start is None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
