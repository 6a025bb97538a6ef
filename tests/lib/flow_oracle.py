#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The flows a capture should produce, worked out from tshark alone.

`tollgate replay` runs each frame through the BPF parser (bpf/lib/parse.h). This oracle
reads the same capture with tshark's dissectors instead and applies the rules the meter
documents, so that the two can be compared flow by flow (tests/lib/compare_replay.py):

- flows are unidirectional: (VLAN ids, family, proto, src, dst, sport, dport), plus the
  orphan-fragments flag; packets are frames, bytes are frame.len (Ethernet, no FCS);
- only the OUTER headers count: addresses, protocol and ports are those of the first IP
  header and the transport right after it (plus IPv6 extension headers), never the
  headers an ICMP error quotes or a tunnel carries;
- ICMP and ICMPv6: sport = type, dport = code; other transports: ports 0;
- a later fragment (offset > 0) joins its datagram's flow when the first fragment was
  seen earlier (same family, proto, src, dst and identification), else it goes to the
  orphan flow of its family, proto, src, dst and VLANs (ports 0);
- frames the parser cannot read go to `unparsed`, with its reasons: a third VLAN tag is
  not_ip, a 7th IPv6 extension header ext_limit, a frame cut inside an IPv6 extension
  header truncated_l3 (the IP header's options), a frame shorter than an Ethernet header
  not_run (BPF_PROG_TEST_RUN refuses it);
- in a later IPv6 fragment the walk stops at the fragment header: what follows is
  payload, whatever its next-header value says.

tshark runs with reassembly off, so each frame is dissected on its own. Where tshark
cannot tell (a header cut short), the frame's captured length decides, as it does for the
parser: the meter only has the bytes that were captured. A frame tshark does not dissect
far enough to give what the oracle needs (an ICMP header shorter than 8 bytes, a link
type other than Ethernet) is listed in "oracle_errors": a comparison must fail on it.

Usage:
  flow_oracle.py CAPTURE [-o OUT.json]      expected flows as JSON (stdout by default)
  flow_oracle.py [--outdir DIR] [--crosscheck] [--manifest MANIFEST.json]
                 [--tap-start N] CAPTURE...
      --outdir      writes DIR/NAME.oracle.json for each capture
      --crosscheck  TAP: the oracle against tshark's own conversation tables
                    (conv,ip, conv,ipv6, conv,tcp, conv,udp)
      --manifest    TAP: the oracle against what tests/lib/mkcaps.py meant to make
      --tap-start   numbers TAP lines from N, without a plan (for tests/lib/tap.sh)
"""

import argparse
import functools
import ipaddress
import json
import os
import re
import subprocess
import sys

# The parser's limits (bpf/lib/parse.h), as documented.
MAX_VLAN = 2
MAX_IPV6_EXT = 6  # extension headers walked; a 7th is beyond the limit (ext_limit)

ETH_HLEN = 14
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
VLAN_TPIDS = (0x8100, 0x88A8)

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
PROTO_NAMES = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_ICMP: "icmp",
               IPPROTO_ICMPV6: "icmpv6"}
PROTO_NUMBERS = {v: k for k, v in PROTO_NAMES.items()}

# IPv6 extension headers the parser walks, with the tshark layer holding their fields.
IPV6_EXT = {0: "ipv6.hopopts", 43: "ipv6.routing", 60: "ipv6.dstopts", 44: "ipv6.fraghdr"}

# The parser's reasons, and `not_run`: a frame BPF_PROG_TEST_RUN refuses to run (shorter
# than an Ethernet header), which `tollgate replay` counts as unparsed.
UNPARSED_REASONS = ("truncated_l2", "not_ip", "truncated_l3", "bad_l3", "ext_limit",
                    "truncated_l4", "bad_l4", "not_run")

FIELDS = [
    "frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.protocols",
    "eth.type", "vlan.id", "vlan.etype", "ieee8021ad.id", "ieee8021ah.etype",
    "ip.version", "ip.hdr_len", "ip.src", "ip.dst", "ip.proto", "ip.id", "ip.flags.mf",
    "ip.frag_offset",
    "ipv6.version", "ipv6.src", "ipv6.dst", "ipv6.nxt",
    "ipv6.hopopts.nxt", "ipv6.hopopts.len_oct", "ipv6.routing.nxt", "ipv6.routing.len_oct",
    "ipv6.dstopts.nxt", "ipv6.dstopts.len_oct",
    "ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.ident",
    "tcp.srcport", "tcp.dstport", "tcp.hdr_len", "tcp.flags",
    "udp.srcport", "udp.dstport",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    "_ws.malformed",
]

TSHARK_PREFS = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
                "-o", "tcp.desegment_tcp_streams:FALSE"]


class OracleError(Exception):
    """tshark did not give what the oracle needs: the oracle cannot vouch for a frame."""


def tshark(args):
    p = subprocess.run(["tshark", "-n"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise OracleError("tshark %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                       p.stderr.strip()[-500:]))
    return p.stdout


def read_frames(path):
    """One Fields per frame: field -> list of its occurrences (outermost first). tshark's
    output is read as it comes, so that dissecting and classifying overlap."""
    args = ["tshark", "-n", "-r", path] + TSHARK_PREFS + [
        "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=/t"]
    for f in FIELDS:
        args += ["-e", f]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          bufsize=1 << 20) as p:
        for line in p.stdout:
            vals = line.rstrip("\n").split("\t")
            if len(vals) != len(FIELDS):
                p.kill()
                raise OracleError("unexpected tshark line: %r" % line)
            yield Fields(vals)
        err = p.stderr.read()
        if p.wait() != 0:
            raise OracleError("tshark -r %s: exit %d: %s" % (path, p.returncode,
                                                             err.strip()[-500:]))


_INDEX = {f: i for i, f in enumerate(FIELDS)}


class Fields:
    """A frame's fields; each value, split into its occurrences when first used."""
    __slots__ = ("cols", "split")

    def __init__(self, cols):
        self.cols = cols
        self.split = {}

    def __getitem__(self, key):
        v = self.split.get(key)
        if v is None:
            raw = self.cols[_INDEX[key]]
            v = self.split[key] = raw.split(",") if raw else []
        return v


def num(v):
    try:
        return int(v)
    except ValueError:
        pass
    if v in ("True", "true"):
        return 1
    if v in ("False", "false"):
        return 0
    return int(v, 0)  # 0x...


@functools.lru_cache(maxsize=1 << 16)
def norm_addr(a):
    return ipaddress.ip_address(a).compressed


def flow_key(vlan, family, proto, src, dst, sport, dport, orphan):
    """The canonical text of a flow key, shared with compare_replay.py."""
    vl = ".".join(str(v) for v in vlan) if vlan else "-"
    return "v%d %s %s:%d > %s:%d vlan=%s%s" % (
        family, PROTO_NAMES.get(proto, str(proto)), norm_addr(src), sport,
        norm_addr(dst), dport, vl, " orphan" if orphan else "")


class Frame:
    """What the meter should make of one frame."""
    __slots__ = ("f", "number", "time", "len", "cap", "layers", "reason", "vlan", "family",
                 "proto", "src", "dst", "sport", "dport", "tcp_flags", "frag", "frag_id",
                 "error", "_occ")

    def __init__(self, f):
        self.f = f
        self.number = num(f["frame.number"][0])
        self.time = f["frame.time_epoch"][0]
        self.len = num(f["frame.len"][0])
        self.cap = num(f["frame.cap_len"][0])
        self.layers = f["frame.protocols"][0].split(":") if f["frame.protocols"] else []
        self.reason = None  # unparsed reason, or None for a parsed frame
        self.vlan = []
        self.family = self.proto = None
        self.src = self.dst = None
        self.sport = self.dport = 0
        self.tcp_flags = 0
        self.frag = None  # None, "first" or "later"
        self.frag_id = None
        self.error = None
        self._occ = {}

    def field(self, name, required=True):
        """The next occurrence of a field within its layer (outer headers first)."""
        vals = self.f[name]
        i = self._occ.get(name, 0)
        self._occ[name] = i + 1
        if i < len(vals):
            return vals[i]
        if required:
            raise OracleError("frame %d: tshark gave no %s #%d (layers %s)" %
                              (self.number, name, i + 1, ":".join(self.layers)))
        return None

    def first(self, name):
        vals = self.f[name]
        return vals[0] if vals else None

    def classify(self):
        """Sets self.reason: None (a flow's frame), an unparsed reason, or "oracle_error"
        when tshark did not give what the oracle needs (self.error says what)."""
        try:
            self.reason = self._classify()
        except OracleError as e:
            self.reason, self.error = "oracle_error", str(e)

    def tshark_convs(self, skip_outer):
        """The conversations tshark's tables count this frame in, as [(table, X, Y)],
        leaving out the outer headers' when skip_outer (the oracle's flows hold those).
        What tshark 4.0 does, found by experiment on the corpus and on mkcaps.py's cases:
        - every IP header is counted, the ones a tunnel (GRE, IP in IP) carries too, but
          not those an ICMP error quotes;
        - a header whose dissection failed (the frame is cut inside it, an IPv4 IHL < 5,
          a TCP data offset < 5) is not counted, nor anything inside it;
        - an IPv6 header is counted only after its extension headers were read, and not
          when it is a later fragment (reassembly off)."""
        out = []
        layers = self.layers
        broken_at = len(layers) - 1 if self.f["_ws.malformed"] else None
        occ = {}
        cur = None  # the addresses of the IP header a transport header belongs to
        depth = 0

        def nth(field, i):
            v = self.f[field]
            return v[i] if i < len(v) else None

        i = 0
        while i < len(layers):
            layer = layers[i]
            if layer in ("icmp", "icmpv6"):
                break
            if layer not in ("ip", "ipv6", "tcp", "udp"):
                i += 1
                continue
            k = occ.get(layer, 0)
            occ[layer] = k + 1
            if layer == "ip":
                src, dst = nth("ip.src", k), nth("ip.dst", k)
                # (not ip.version: tshark's IPv6 headers carry that field too)
                hl = nth("ip.hdr_len", k)
                if i == broken_at or None in (src, dst, hl) or num(hl) < 20:
                    cur = None  # tshark returned or threw before its tap
                    i += 1
                    continue
                depth += 1
                cur = (norm_addr(src), norm_addr(dst))
                if not (skip_outer and depth == 1):
                    out.append(("IPv4",) + cur)
            elif layer == "ipv6":
                src, dst = nth("ipv6.src", k), nth("ipv6.dst", k)
                j = i + 1
                later = False
                while j < len(layers) and layers[j].startswith("ipv6."):
                    if layers[j] == "ipv6.fraghdr":
                        kf = occ.get("ipv6.fraghdr", 0)
                        occ["ipv6.fraghdr"] = kf + 1
                        fo = nth("ipv6.fraghdr.offset", kf)
                        later = later or (fo is not None and num(fo) > 0)
                    j += 1
                chain_broken = broken_at is not None and i <= broken_at < j
                cur = None
                if not (chain_broken or later or None in (src, dst)):
                    depth += 1
                    cur = (norm_addr(src), norm_addr(dst))
                    if not (skip_outer and depth == 1):
                        out.append(("IPv6",) + cur)
                i = j
                continue
            else:  # tcp, udp
                sp = nth(layer + ".srcport", k)
                dp = nth(layer + ".dstport", k)
                ok = cur is not None and i != broken_at and None not in (sp, dp)
                if ok and layer == "tcp":
                    hl = nth("tcp.hdr_len", k)
                    ok = hl is not None and num(hl) >= 20
                if ok and not (skip_outer and depth == 1):
                    out.append((layer.upper(), endpoint(cur[0], num(sp)),
                                endpoint(cur[1], num(dp))))
            i += 1
        return out

    def _classify(self):
        if not self.layers or self.layers[0] != "eth":
            raise OracleError("frame %d: not Ethernet (%s)" % (self.number,
                                                              ":".join(self.layers)))
        if self.cap < ETH_HLEN:
            return "not_run"
        et = self.field("eth.type", required=False)
        if et is None:
            return "not_ip"  # an 802.3 length field (LLC): tshark names no type
        et = num(et)
        off = ETH_HLEN
        tags = [l for l in self.layers if l in ("vlan", "ieee8021ad")]
        while et in VLAN_TPIDS:
            if len(self.vlan) == MAX_VLAN:
                return "not_ip"  # a third tag: the parser stops there
            if self.cap < off + 4:
                return "truncated_l2"
            if len(self.vlan) >= len(tags):
                raise OracleError("frame %d: tshark did not dissect VLAN tag %d" %
                                  (self.number, len(self.vlan) + 1))
            layer = tags[len(self.vlan)]
            if layer == "vlan":
                vid, et = self.field("vlan.id"), self.field("vlan.etype")
            else:
                vid, et = self.field("ieee8021ad.id"), self.field("ieee8021ah.etype")
            self.vlan.append(num(vid))
            et = num(et)
            off += 4
        if et == ETH_P_IP:
            self.family = 4
            r = self._ipv4(off)
        elif et == ETH_P_IPV6:
            self.family = 6
            r = self._ipv6(off)
        else:
            return "not_ip"
        if isinstance(r, str):
            return r
        return self._l4(r)

    def _ipv4(self, off):
        if self.cap < off + 20:
            return "truncated_l3"
        if num(self.field("ip.version")) != 4:
            return "bad_l3"
        ihl = num(self.field("ip.hdr_len"))
        if ihl < 20:
            return "bad_l3"
        if self.cap < off + ihl:
            return "truncated_l3"
        self.src, self.dst = self.field("ip.src"), self.field("ip.dst")
        self.proto = num(self.field("ip.proto"))
        ident = num(self.field("ip.id"))
        mf = num(self.field("ip.flags.mf"))
        fo = num(self.field("ip.frag_offset"))
        if fo:
            self.frag, self.frag_id = "later", ident
        elif mf:
            self.frag, self.frag_id = "first", ident
        return off + ihl

    def _ipv6(self, off):
        if self.cap < off + 40:
            return "truncated_l3"
        if num(self.field("ipv6.version")) != 6:
            return "bad_l3"
        self.src = norm_addr(self.field("ipv6.src"))
        self.dst = norm_addr(self.field("ipv6.dst"))
        nh = num(self.field("ipv6.nxt"))
        off += 40
        walked = 0
        while nh in IPV6_EXT:
            if walked == MAX_IPV6_EXT:
                return "ext_limit"
            walked += 1
            layer = IPV6_EXT[nh]
            if nh == 44:
                if self.cap < off + 8:
                    return "truncated_l3"
                nh = num(self.field(layer + ".nxt"))
                fo = num(self.field(layer + ".offset"))
                ident = num(self.field(layer + ".ident"))
                self.frag = "later" if fo else "first"
                self.frag_id = ident
                off += 8
                if fo:
                    break  # the rest is payload: a later fragment has no more headers
            else:
                if self.cap < off + 2:
                    return "truncated_l3"
                nh = num(self.field(layer + ".nxt"))
                ln = num(self.field(layer + ".len_oct"))
                if self.cap < off + ln:
                    return "truncated_l3"  # cut inside the extension header
                off += ln
        self.proto = nh
        return off

    def _l4(self, off):
        if self.frag == "later":
            return None  # no transport header in this frame
        p = self.proto
        if p == IPPROTO_TCP:
            if self.cap < off + 20:
                return "truncated_l4"
            hl = num(self.field("tcp.hdr_len"))
            if hl < 20:
                return "bad_l4"
            if self.cap < off + hl:
                return "truncated_l4"
            self.sport = num(self.field("tcp.srcport"))
            self.dport = num(self.field("tcp.dstport"))
            self.tcp_flags = num(self.field("tcp.flags")) & 0xFF  # the flags byte only
        elif p == IPPROTO_UDP:
            if self.cap < off + 8:
                return "truncated_l4"
            self.sport = num(self.field("udp.srcport"))
            self.dport = num(self.field("udp.dstport"))
        elif p in (IPPROTO_ICMP, IPPROTO_ICMPV6):
            if self.cap < off + 4:
                return "truncated_l4"
            # the parser reads type and code whatever the IP version; so does tshark,
            # with the dissector the protocol number names
            pre = "icmp" if p == IPPROTO_ICMP else "icmpv6"
            self.sport = num(self.field(pre + ".type"))
            self.dport = num(self.field(pre + ".code"))
        return None


def oracle(path):
    """The expected replay of a capture: flows, unparsed frames and totals."""
    flows = {}
    firsts = {}  # (family, proto, src, dst, id) -> (sport, dport) of a first fragment
    unparsed = {r: {"packets": 0, "bytes": 0} for r in UNPARSED_REASONS}
    unparsed_frames = []
    errors = []  # frames the oracle cannot vouch for: a test must fail on them
    fragments = {"first": 0, "joined": 0, "orphan": 0}
    frames = []
    total = {"frames": 0, "bytes": 0}
    for f in read_frames(path):
        fr = Frame(f)
        fr.classify()
        frames.append(fr)
        total["frames"] += 1
        total["bytes"] += fr.len
        if fr.reason == "oracle_error":
            errors.append({"frame": fr.number, "len": fr.len, "error": fr.error})
            continue
        if fr.reason:
            unparsed[fr.reason]["packets"] += 1
            unparsed[fr.reason]["bytes"] += fr.len
            unparsed_frames.append({"frame": fr.number, "reason": fr.reason,
                                    "len": fr.len})
            continue
        orphan = False
        if fr.frag:
            fk = (fr.family, fr.proto, fr.src, fr.dst, fr.frag_id)
            if fr.frag == "first":
                firsts[fk] = (fr.sport, fr.dport)
                fragments["first"] += 1
            elif fk in firsts:
                fr.sport, fr.dport = firsts[fk]  # joins its datagram's flow
                fragments["joined"] += 1
            else:
                orphan = True
                fragments["orphan"] += 1
        k = flow_key(fr.vlan, fr.family, fr.proto, fr.src, fr.dst, fr.sport, fr.dport,
                     orphan)
        fl = flows.get(k)
        if fl is None:
            fl = flows[k] = {
                "family": fr.family, "src": fr.src, "dst": fr.dst,
                "sport": fr.sport, "dport": fr.dport,
                "proto": PROTO_NAMES.get(fr.proto, fr.proto), "vlan": list(fr.vlan),
                "orphan_fragments": orphan, "packets": 0, "bytes": 0, "tcp_flags": 0,
                "first": fr.time, "last": fr.time, "first_frame": fr.number,
                "later_fragments": {"packets": 0, "bytes": 0},
            }
        fl["packets"] += 1
        fl["bytes"] += fr.len
        fl["tcp_flags"] |= fr.tcp_flags
        fl["last"] = fr.time
        if fr.frag == "later":  # joined or orphan
            fl["later_fragments"]["packets"] += 1
            fl["later_fragments"]["bytes"] += fr.len
    un = {"packets": sum(v["packets"] for v in unparsed.values()),
          "bytes": sum(v["bytes"] for v in unparsed.values()),
          "reasons": unparsed}
    return {"capture": path, "frames": total["frames"], "bytes": total["bytes"],
            "flows": flows, "unparsed": un, "unparsed_frames": unparsed_frames,
            "fragments": fragments, "oracle_errors": errors}, frames


# ---------------------------------------------------------------------------------------
# Cross-check: the oracle's flows, folded into tshark's conversation tables.

_SIZE_UNITS = {"bytes": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def size_range(printed, unit):
    """tshark 4.0 prints byte counts below 10000 exactly ("3610 bytes"), larger ones in
    SI units with the remainder dropped: 137595 -> "137 kB", 25975 -> "25 kB" (found by
    experiment on the corpus; every comparison checks it again). Returns the range of
    exact counts the printed value stands for."""
    if unit not in _SIZE_UNITS:
        raise OracleError("unknown size unit %r" % unit)
    n, u = int(printed), _SIZE_UNITS[unit]
    if u == 1:
        return (n, n)
    return (max(n * u, 10000), n * u + u - 1)


def parse_conv(text):
    """tshark -z conv,... output -> {table: {frozenset(A, B): {(X, Y): [frames, lo, hi]}}}
    where (X, Y) is a direction and lo..hi the exact byte counts the printed size allows.
    Columns: "<-" is B to A, "->" is A to B (as the corpus shows). tshark may list a pair
    more than once (a TCP port pair reused by a new stream): the rows are summed."""
    tables = {}
    cur = m_table = None
    for line in text.splitlines():
        m = re.match(r"^(IPv4|IPv6|TCP|UDP) Conversations", line)
        if m:
            m_table = m.group(1)
            cur = tables.setdefault(m_table, {})
            continue
        if cur is None or "<->" not in line:
            continue
        t = line.split()
        if len(t) < 12 or t[1] != "<->":
            raise OracleError("cannot read conversation line: %r" % line)
        with_port = m_table in ("TCP", "UDP")
        a, b = norm_endpoint(t[0], with_port), norm_endpoint(t[2], with_port)
        pair = cur.setdefault(frozenset((a, b)), {})
        for key, (f, n, u) in (((b, a), t[3:6]), ((a, b), t[6:9]), ("total", t[9:12])):
            lo, hi = size_range(n, u)
            d = pair.setdefault(key, [0, 0, 0])
            d[0] += int(f)
            d[1] += lo
            d[2] += hi
    return tables


def endpoint(addr, port=None):
    a = norm_addr(addr)
    return a if port is None else "%s:%d" % (a, port)


def norm_endpoint(s, with_port):
    if not with_port:
        return endpoint(s)
    a, p = s.rsplit(":", 1)  # IPv6 too: tshark appends ":port" to the bare address
    return endpoint(a, int(p))


def crosscheck(path, orc=None, frames=None):
    """Folds the oracle's flows into tshark's conversation tables and compares.
    Returns a list of (passed, description, [diagnostic lines])."""
    if orc is None:
        orc, frames = oracle(path)
    name = os.path.basename(path)
    out = tshark(["-r", path, "-q"] + TSHARK_PREFS +
                 ["-z", "conv,ip", "-z", "conv,ipv6", "-z", "conv,tcp", "-z", "conv,udp"])
    tables = parse_conv(out)
    results = []

    # What the oracle expects in each table: {(X, Y) directed: [frames, bytes]}.
    want = {"IPv4": {}, "IPv6": {}, "TCP": {}, "UDP": {}}
    excluded = {"TCP": set(), "UDP": set()}  # conversations holding later fragments

    def add(table, a, b, packets, nbytes):
        d = want[table].setdefault((a, b), [0, 0])
        d[0] += packets
        d[1] += nbytes

    for fl in orc["flows"].values():
        lf = fl["later_fragments"]
        a, b = endpoint(fl["src"]), endpoint(fl["dst"])
        if fl["family"] == 4:
            add("IPv4", a, b, fl["packets"], fl["bytes"])
        else:
            # tshark 4.0 (reassembly off) leaves IPv6 fragments after the first out of
            # conv,ipv6: its IPv6 tap runs only when the payload is dissected
            add("IPv6", a, b, fl["packets"] - lf["packets"], fl["bytes"] - lf["bytes"])
        if fl["proto"] in ("tcp", "udp") and not fl["orphan_fragments"]:
            t = fl["proto"].upper()
            a = endpoint(fl["src"], fl["sport"])
            b = endpoint(fl["dst"], fl["dport"])
            # no transport is dissected in a later fragment; the brief is to compare only
            # conversations without any, but subtracting them must agree as well
            add(t, a, b, fl["packets"] - lf["packets"], fl["bytes"] - lf["bytes"])
            if lf["packets"]:
                excluded[t].add(frozenset((a, b)))
    for fr in frames:
        # tunnels' inner headers, and frames the parser gives up on but tshark reads
        if fr.reason != "oracle_error":
            for table, a, b in fr.tshark_convs(skip_outer=not fr.reason):
                add(table, a, b, 1, fr.len)
    if orc["oracle_errors"]:
        results.append((False, "%s: the oracle reads every frame" % name,
                         ["frame %(frame)d: %(error)s" % e
                          for e in orc["oracle_errors"][:10]]))
    for table in ("IPv4", "IPv6", "TCP", "UDP"):
        got = tables.get(table)
        if got is None:
            results.append((False, "%s: tshark printed no %s table" % (name, table), []))
            continue
        diffs = []
        compared = with_frags = 0
        for pair, rows in got.items():
            ends = sorted(pair)
            x, y = ends[0], ends[-1]
            if pair in excluded.get(table, ()):
                with_frags += 1
            compared += 1
            dirs = [(x, y)] + ([(y, x)] if x != y else [])
            tw = [0, 0]
            for d in dirs:
                w = want[table].get(d, [0, 0])
                g = rows.get(d, [0, 0, 0])
                tw[0] += w[0]
                tw[1] += w[1]
                if w[0] != g[0] or not g[1] <= w[1] <= g[2]:
                    diffs.append("%s -> %s: tshark %d frames %s bytes, oracle %d frames "
                                 "%d bytes" % (d[0], d[1], g[0], show_range(g), *w))
            g = rows["total"]
            if tw[0] != g[0] or not g[1] <= tw[1] <= g[2]:
                diffs.append("%s <-> %s total: tshark %d frames %s bytes, oracle %d "
                             "frames %d bytes" % (x, y, g[0], show_range(g), *tw))
        for (a, b), w in want[table].items():
            if frozenset((a, b)) not in got and w[0] > 0:
                diffs.append("%s -> %s: oracle %d frames %d bytes, not in tshark's table"
                             % (a, b, w[0], w[1]))
        desc = "%s: oracle agrees with tshark -z conv,%s (%d conversations%s)" % (
            name, {"IPv4": "ip"}.get(table, table.lower()), compared,
            ", %d with later fragments" % with_frags if with_frags else "")
        diag = diffs[:10] + (["... and %d more" % (len(diffs) - 10)]
                             if len(diffs) > 10 else [])
        results.append((not diffs, desc, diag))
    return results


def show_range(g):
    return str(g[1]) if g[1] == g[2] else "%d..%d" % (g[1], g[2])


def emit_tap(results, start, plan):
    n = start - 1
    failed = 0
    for passed, desc, diag in results:
        n += 1
        for d in diag:
            print("# " + d)
        print("%s %d - %s" % ("ok" if passed else "not ok", n, desc))
        failed += not passed
    if plan:
        print("1..%d" % n)
    sys.stdout.flush()
    return failed


def dump_json(orc):
    """Compact JSON, one flow per line, so that a diff of two runs reads well."""
    lines = ["{"]
    for k in sorted(orc):
        if k == "flows":
            continue
        lines.append(" %s: %s," % (json.dumps(k), json.dumps(orc[k], sort_keys=True)))
    lines.append(' "flows": {')
    items = sorted(orc["flows"].items())
    for i, (k, v) in enumerate(items):
        lines.append("  %s: %s%s" % (json.dumps(k), json.dumps(v, sort_keys=True),
                                     "," if i + 1 < len(items) else ""))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def manifest_check(orc, want, name):
    """(passed, description, diag): the oracle sees a self-made capture as mkcaps.py
    made it (frames, unparsed frames by reason, orphan and joined later fragments)."""
    got = {
        "frames": orc["frames"],
        "unparsed": {r: v["packets"] for r, v in orc["unparsed"]["reasons"].items()
                     if v["packets"]},
        "orphan_packets": sum(f["packets"] for f in orc["flows"].values()
                              if f["orphan_fragments"]),
        "joined_packets": sum(f["later_fragments"]["packets"]
                              for f in orc["flows"].values() if not f["orphan_fragments"]),
    }
    diag = ["%s: oracle %s, made %s" % (k, json.dumps(got[k], sort_keys=True),
                                         json.dumps(want.get(k), sort_keys=True))
            for k in sorted(got) if got[k] != want.get(k)]
    diag += ["frame %(frame)d: %(error)s" % e for e in orc["oracle_errors"]]
    return (not diag, "%s: the oracle sees what mkcaps.py made (%d frames, %d unparsed)"
            % (name, got["frames"], sum(got["unparsed"].values())), diag)


def main():
    ap = argparse.ArgumentParser(
        description="Expected flows of captures, from tshark",
        epilog="Without --crosscheck or --manifest: the oracle of one capture as JSON.")
    ap.add_argument("captures", nargs="+")
    ap.add_argument("-o", "--output", help="write the oracle's JSON here (one capture)")
    ap.add_argument("--outdir", help="write each capture's oracle to DIR/NAME.oracle.json")
    ap.add_argument("--crosscheck", action="store_true",
                    help="TAP: compare with tshark's conversation tables")
    ap.add_argument("--manifest",
                    help="TAP: compare with what mkcaps.py says it made (MANIFEST.json)")
    ap.add_argument("--tap-start", type=int,
                    help="number the first TAP line so, and print no plan "
                         "(inside a suite that uses tests/lib/tap.sh)")
    a = ap.parse_args()
    tap = a.crosscheck or a.manifest
    if len(a.captures) != 1 and not (tap or a.outdir):
        ap.error("one capture at a time, without --crosscheck, --manifest or --outdir")
    if a.output and len(a.captures) != 1:
        ap.error("-o takes one capture; use --outdir")
    manifest = None
    if a.manifest:
        with open(a.manifest) as fh:
            manifest = json.load(fh)
    results = []
    status = 0
    for c in a.captures:
        name = os.path.basename(c)
        try:
            orc, frames = oracle(c)
        except OracleError as e:
            if not tap:
                print("flow_oracle: %s" % e, file=sys.stderr)
                return 1
            results.append((False, "%s: the oracle could read the capture" % name, [str(e)]))
            status = 1
            continue
        text = dump_json(orc)
        if a.output:
            with open(a.output, "w") as fh:
                fh.write(text)
        elif a.outdir:
            with open(os.path.join(a.outdir, name + ".oracle.json"), "w") as fh:
                fh.write(text)
        elif not tap:
            sys.stdout.write(text)
        if manifest is not None:
            if name in manifest:
                results.append(manifest_check(orc, manifest[name], name))
            else:
                results.append((False, "%s: listed in the manifest" % name, []))
        if a.crosscheck:
            try:
                results += crosscheck(c, orc, frames)
            except OracleError as e:
                results.append((False, "%s: cross-check could run" % name, [str(e)]))
    if tap:
        if emit_tap(results, a.tap_start or 1, a.tap_start is None):
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
