#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Self-made captures for `tollgate replay` tests: the cases real captures lack.

  mkcaps.py OUTDIR              every capture below, plus OUTDIR/MANIFEST.json: what each
                                file was made to contain (unparsed frames by reason,
                                frames meant for orphan-fragment flows), for checking
                                that the oracle sees them the same way
  mkcaps.py --flows N OUT.pcap  N distinct UDP flows, one frame each (sources in
                                10.7.0.0/16, every 8th flow IPv6 from fd00:7::/32)

Everything is deterministic: fixed addresses, identifications, ports and timestamps, so
two runs write identical files. No frame is shorter than 14 bytes: BPF_PROG_TEST_RUN
refuses those. Frames are written at their captured length (no snap length): the meter
only has what was captured, and so does tshark.
"""

import json
import os
import random
import struct
import sys

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, GRE, IPOption_NOP,
                       IPOption_RR, IPOption_Router_Alert, IPOption_Timestamp, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, Padding, PadN, Raw, RawPcapWriter, conf,
                       fragment, fragment6, wrpcap)
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest,
                                ICMPv6ND_NS, ICMPv6PacketTooBig)
from scapy.layers.sctp import SCTP, SCTPChunkInit

try:
    from scapy.utils import PcapNgWriter
except ImportError:  # older scapy: the pcapng case is made with editcap instead
    PcapNgWriter = None

conf.verb = 0
random.seed(7)

T0 = 1700000000  # 2023-11-14T22:13:20Z: every capture starts here
MAC_A = "02:00:00:00:00:01"
MAC_B = "02:00:00:00:00:02"


def eth(src=MAC_A, dst=MAC_B, **kw):
    return Ether(src=src, dst=dst, **kw)


def cut(pkt, n):
    """The first n bytes of a frame, as a frame that tshark and the parser see cut."""
    b = bytes(pkt)[:n]
    assert n >= 14 and len(b) == n, "cut %d of %d" % (n, len(bytes(pkt)))
    e = Ether(b)  # an Ethernet frame to the writers, the same bytes
    assert bytes(e) == b
    return e


class Cap:
    """One capture being built, with what its frames were made to be."""

    def __init__(self, name):
        self.name = name
        self.frames = []
        self.unparsed = {}
        self.orphans = 0
        self.joined = 0

    def add(self, pkt, unparsed=None, orphan=False, joined=False):
        self.frames.append(pkt)
        if unparsed:
            self.unparsed[unparsed] = self.unparsed.get(unparsed, 0) + 1
        self.orphans += orphan
        self.joined += joined

    def stamped(self):
        out = []
        for i, p in enumerate(self.frames):
            p = p.copy()
            p.time = T0 + i / 1000  # 1 ms apart
            out.append(p)
        return out

    def manifest(self):
        return {"frames": len(self.frames), "unparsed": self.unparsed,
                "orphan_packets": self.orphans, "joined_packets": self.joined}


def tcp_session(c, vl, src, dst, sport, dport, payload=100, v6=False):
    """A short TCP exchange: handshake, data both ways, FIN both ways."""
    L3 = IPv6 if v6 else IP
    a = lambda **kw: vl(eth()) / L3(src=src, dst=dst) / TCP(sport=sport, dport=dport, **kw)
    b = lambda **kw: vl(eth(MAC_B, MAC_A)) / L3(src=dst, dst=src) / TCP(
        sport=dport, dport=sport, **kw)
    c.add(a(flags="S", seq=1000))
    c.add(b(flags="SA", seq=5000, ack=1001))
    c.add(a(flags="A", seq=1001, ack=5001))
    c.add(a(flags="PA", seq=1001, ack=5001) / Raw(b"q" * payload))
    c.add(b(flags="PA", seq=5001, ack=1001 + payload) / Raw(b"r" * (payload * 3)))
    c.add(a(flags="FA", seq=1001 + payload, ack=5001 + payload * 3))
    c.add(b(flags="FA", seq=5001 + payload * 3, ack=1002 + payload))
    c.add(a(flags="A", seq=1002 + payload, ack=5002 + payload * 3))


def untagged(p):
    return p


def tagged(*ids, tpids=None):
    """A function adding VLAN tags (outermost first) after the Ethernet header."""
    tpids = tpids or [0x8100] * len(ids)

    def f(e):
        e.type = tpids[0]
        p = e
        for i, vid in enumerate(ids):
            nxt = tpids[i + 1] if i + 1 < len(ids) else None
            tag = Dot1Q(vlan=vid) if nxt is None else Dot1Q(vlan=vid, type=nxt)
            p = p / tag
        return p
    return f


def cap_vlan():
    c = Cap("vlan.pcap")
    tcp_session(c, tagged(10), "10.1.0.1", "192.0.2.10", 40000, 80)
    # the same 5-tuple in another VLAN, and untagged: three distinct flows
    c.add(tagged(20)(eth()) / IP(src="10.1.0.1", dst="192.0.2.10") /
          TCP(sport=40000, dport=80, flags="S"))
    c.add(eth() / IP(src="10.1.0.1", dst="192.0.2.10") / TCP(sport=40000, dport=80,
                                                             flags="S"))
    for n in (1, 18, 200, 1400):
        c.add(tagged(10)(eth()) / IP(src="10.1.0.1", dst="192.0.2.10") /
              UDP(sport=5353, dport=53) / Raw(b"u" * n))
    c.add(tagged(10)(eth(MAC_B, MAC_A)) / IP(src="192.0.2.10", dst="10.1.0.1") /
          UDP(sport=53, dport=5353) / Raw(b"d" * 300))
    # priority bits and DEI set: only the 12-bit id counts; id 4094 and id 0 (a
    # priority tag) are tags like any other
    c.add(tagged(4094)(eth()) / IP(src="10.1.0.2", dst="192.0.2.10") /
          UDP(sport=1, dport=2))
    c.frames[-1][Dot1Q].prio = 5
    c.frames[-1][Dot1Q].id = 1
    c.add(tagged(0)(eth()) / IP(src="10.1.0.2", dst="192.0.2.10") / UDP(sport=1, dport=2))
    tcp_session(c, tagged(30), "fd00:1::1", "2001:db8::10", 40001, 443, v6=True)
    # a short frame padded to the Ethernet minimum: the padding is in frame.len
    c.add(tagged(10)(eth()) / IP(src="10.1.0.1", dst="192.0.2.10") /
          TCP(sport=40000, dport=80, flags="A") / Padding(b"\0" * 2))
    return c


def cap_qinq():
    c = Cap("qinq.pcap")
    ad = [0x88A8, 0x8100]
    tcp_session(c, tagged(100, 10, tpids=ad), "10.2.0.1", "198.51.100.1", 41000, 22)
    for n in (10, 500):
        c.add(tagged(100, 20, tpids=ad)(eth()) / IPv6(src="fd00:2::1", dst="2001:db8::1") /
              UDP(sport=4000, dport=4001) / Raw(b"v" * n))
    # two 802.1Q tags, and a single 802.1ad tag
    c.add(tagged(200, 30)(eth()) / IP(src="10.2.0.1", dst="198.51.100.1") /
          UDP(sport=4000, dport=4001))
    c.add(tagged(300, tpids=[0x88A8])(eth()) / IP(src="10.2.0.1", dst="198.51.100.1") /
          UDP(sport=4000, dport=4001))
    c.add(tagged(100, 10, tpids=ad)(eth()) / IP(src="10.2.0.1", dst="198.51.100.1") /
          ICMP(type=8, code=0, id=1, seq=1))
    return c


def cap_vlan3():
    c = Cap("vlan3.pcap")
    for i in range(3):
        c.add(tagged(100, 10, 5, tpids=[0x88A8, 0x8100, 0x8100])(eth()) /
              IP(src="10.3.0.1", dst="198.51.100.1") / UDP(sport=1, dport=2) /
              Raw(b"x" * (10 * i)), unparsed="not_ip")
    for i in range(2):
        c.add(tagged(1, 2, 3)(eth()) / IP(src="10.3.0.1", dst="198.51.100.1") /
              TCP(sport=1, dport=2, flags="S"), unparsed="not_ip")
    c.add(tagged(1, 2)(eth()) / IP(src="10.3.0.1", dst="198.51.100.1") /
          TCP(sport=1, dport=2, flags="S"))
    return c


def cap_ipv4_options():
    c = Cap("ipv4_options.pcap")
    rr = IPOption_RR(routers=["192.0.2.%d" % i for i in range(1, 10)])  # IHL 15
    c.add(eth() / IP(src="10.4.0.1", dst="192.0.2.20", options=[rr]) /
          TCP(sport=42000, dport=80, flags="S"))
    c.add(eth(MAC_B, MAC_A) / IP(src="192.0.2.20", dst="10.4.0.1", options=[rr]) /
          TCP(sport=80, dport=42000, flags="SA"))
    c.add(eth() / IP(src="10.4.0.1", dst="192.0.2.20", options=[IPOption_Router_Alert()]) /
          UDP(sport=42000, dport=5000) / Raw(b"a" * 40))  # IHL 6
    c.add(eth() / IP(src="10.4.0.1", dst="192.0.2.20", options=[IPOption_NOP()] * 12) /
          UDP(sport=42000, dport=5000) / Raw(b"a" * 80))  # IHL 8
    c.add(eth() / IP(src="10.4.0.1", dst="192.0.2.20",
                     options=[IPOption_Timestamp(flg=0, timestamp=[1, 2, 3])]) /
          ICMP(type=8, id=7, seq=1) / Raw(b"p" * 56))
    return c


def cap_ipv6_ext():
    c = Cap("ipv6_ext.pcap")
    s, d = "fd00:6::1", "2001:db8:6::1"
    chain = lambda: (IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt())
    c.add(eth() / IPv6(src=s, dst=d) / chain() / TCP(sport=43000, dport=443, flags="S"))
    c.add(eth(MAC_B, MAC_A) / IPv6(src=d, dst=s) / chain() /
          TCP(sport=443, dport=43000, flags="SA"))
    c.add(eth() / IPv6(src=s, dst=d) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
          UDP(sport=43000, dport=53) / Raw(b"q" * 30))
    # a long hop-by-hop header (48 bytes) before TCP
    c.add(eth() / IPv6(src=s, dst=d) / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 44)])
          / TCP(sport=43001, dport=443, flags="S"))
    c.add(eth() / IPv6(src=s, dst=d) / IPv6ExtHdrHopByHop() /
          ICMPv6EchoRequest(id=1, seq=1, data=b"e" * 32))
    # an extension header before a protocol without ports
    c.add(eth() / IPv6(src=s, dst=d) / IPv6ExtHdrDestOpt(nh=59))
    return c


def cap_ipv6_ext_limit():
    c = Cap("ipv6_ext_limit.pcap")
    s, d = "fd00:6::2", "2001:db8:6::2"
    for i in range(2):
        p = eth() / IPv6(src=s, dst=d) / IPv6ExtHdrHopByHop()
        for _ in range(6):
            p = p / IPv6ExtHdrDestOpt()
        c.add(p / UDP(sport=44000 + i, dport=53), unparsed="ext_limit")  # 7 headers
    # six extension headers: as many as the parser walks (the documented limit), so
    # the transport header after them is read
    c.add(eth() / IPv6(src=s, dst=d) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
          IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
          IPv6ExtHdrDestOpt() / UDP(sport=44002, dport=53))
    c.add(eth() / IPv6(src=s, dst=d) / UDP(sport=44000, dport=53))
    return c


def frag4(pkt, size):
    return [eth() / f for f in fragment(pkt, fragsize=size)]


def cap_ipv4_frag():
    c = Cap("ipv4_frag.pcap")
    fr = frag4(IP(src="10.5.0.1", dst="192.0.2.30", id=0x100) / UDP(sport=45000, dport=53)
               / Raw(b"f" * 3000), 1000)
    for i, f in enumerate(fr):
        c.add(f, joined=i > 0)
    fr = frag4(IP(src="192.0.2.30", dst="10.5.0.1", id=0x101) / UDP(sport=53, dport=45000)
               / Raw(b"g" * 2000), 800)
    for i, f in enumerate(fr):
        c.add(f, joined=i > 0)
    fr = frag4(IP(src="10.5.0.1", dst="192.0.2.30", id=0x102) / ICMP(type=8, id=3, seq=1)
               / Raw(b"i" * 2500), 1480)
    for i, f in enumerate(fr):
        c.add(f, joined=i > 0)
    fr = frag4(IP(src="10.5.0.1", dst="192.0.2.30", id=0x103) /
               TCP(sport=45001, dport=80, flags="PA") / Raw(b"t" * 1600), 1480)
    for i, f in enumerate(fr):
        c.add(f, joined=i > 0)
    # the same ports again, unfragmented: the same flow as the first datagram
    c.add(eth() / IP(src="10.5.0.1", dst="192.0.2.30") / UDP(sport=45000, dport=53))
    return c


def cap_ipv4_frag_orphan():
    c = Cap("ipv4_frag_orphan.pcap")
    fr = frag4(IP(src="10.5.1.1", dst="192.0.2.31", id=0x200) / UDP(sport=46000, dport=53)
               / Raw(b"o" * 3000), 800)
    # two later fragments before the first: orphans; the last after it: joins
    c.add(fr[1], orphan=True)
    c.add(fr[2], orphan=True)
    c.add(fr[0])
    c.add(fr[3], joined=True)
    # a datagram whose first fragment never comes
    fr = frag4(IP(src="10.5.1.1", dst="192.0.2.31", id=0x201) / UDP(sport=46001, dport=53)
               / Raw(b"o" * 2000), 800)
    for f in fr[1:]:
        c.add(f, orphan=True)
    # orphans of another source, and of the same pair in a VLAN: separate orphan flows
    fr = frag4(IP(src="10.5.1.2", dst="192.0.2.31", id=0x202) / UDP(sport=46002, dport=53)
               / Raw(b"o" * 1000), 600)
    c.add(fr[1], orphan=True)
    fr = frag4(IP(src="10.5.1.1", dst="192.0.2.31", id=0x203) / UDP(sport=46003, dport=53)
               / Raw(b"o" * 1000), 600)
    c.add(tagged(7)(eth()) / fr[1][IP], orphan=True)
    # a later fragment carrying 4 bytes is whole: there is no transport header to cut
    f = eth() / IP(src="10.5.1.3", dst="192.0.2.31", id=0x204, proto=17, frag=100) / \
        Raw(b"tail")
    c.add(f, orphan=True)
    # a first fragment of another datagram with the same id but another protocol does not
    # adopt these orphans; its own later fragment joins it
    fr = frag4(IP(src="10.5.1.1", dst="192.0.2.31", id=0x201) / TCP(sport=46004, dport=80)
               / Raw(b"o" * 1000), 600)
    c.add(fr[0])
    c.add(fr[1], joined=True)
    return c


def frag6(pkt, size):
    return [eth() / f for f in fragment6(pkt, size)]


def cap_ipv6_frag():
    c = Cap("ipv6_frag.pcap")
    s, d = "fd00:5::1", "2001:db8:5::1"
    fr = frag6(IPv6(src=s, dst=d) / IPv6ExtHdrFragment(id=0x1111) /
               UDP(sport=47000, dport=53) / Raw(b"f" * 3000), 1280)
    for i, f in enumerate(fr):
        c.add(f, joined=i > 0)
    fr = frag6(IPv6(src=d, dst=s) / IPv6ExtHdrFragment(id=0x2222) /
               ICMPv6EchoRequest(id=9, seq=1, data=b"e" * 2000), 1280)
    for i, f in enumerate(fr):
        c.add(f, joined=i > 0)
    # later before first
    fr = frag6(IPv6(src=s, dst=d) / IPv6ExtHdrFragment(id=0x3333) /
               UDP(sport=47001, dport=53) / Raw(b"f" * 2500), 1000)
    c.add(fr[1], orphan=True)
    c.add(fr[0])
    c.add(fr[2], joined=True)
    # hop-by-hop and destination options before the fragment header
    fr = frag6(IPv6(src=s, dst=d) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt(nh=44) /
               IPv6ExtHdrFragment(id=0x4444) / TCP(sport=47002, dport=80, flags="PA") /
               Raw(b"t" * 2000), 1280)
    for i, f in enumerate(fr):
        c.add(f, joined=i > 0)
    # an atomic fragment (offset 0, no more fragments)
    c.add(eth() / IPv6(src=s, dst=d) / IPv6ExtHdrFragment(id=0x5555, m=0, offset=0) /
          UDP(sport=47003, dport=53) / Raw(b"a" * 20))
    return c


def cap_icmp():
    c = Cap("icmp.pcap")
    a, b, r = "10.8.0.1", "192.0.2.40", "203.0.113.1"
    for seq in (1, 2):
        c.add(eth() / IP(src=a, dst=b) / ICMP(type=8, id=1, seq=seq) / Raw(b"p" * 56))
        c.add(eth(MAC_B, MAC_A) / IP(src=b, dst=a) / ICMP(type=0, id=1, seq=seq) /
              Raw(b"p" * 56))
    c.add(eth() / IP(src=a, dst=b) / ICMP(type=8, id=2, seq=1))
    # errors quote the offending header: only the outer ICMP type and code count
    c.add(eth(MAC_B, MAC_A) / IP(src=b, dst=a) / ICMP(type=3, code=3) /
          IP(src=a, dst=b, id=9) / UDP(sport=48000, dport=33434))
    c.add(eth(MAC_B, MAC_A) / IP(src=r, dst=a) / ICMP(type=11, code=0) /
          IP(src=a, dst=b, ttl=1) / TCP(sport=48001, dport=80, flags="S"))
    c.add(eth(MAC_B, MAC_A) / IP(src=r, dst=a) / ICMP(type=3, code=4, nexthopmtu=1400) /
          bytes(IP(src=a, dst=b) / TCP(sport=48001, dport=80))[:28])
    # a bare 8-byte ICMP header, padded to 60 bytes. (Not shorter: tshark dissects no
    # ICMP type from fewer than 8 bytes, though the parser needs only 4.)
    c.add(eth() / IP(src=a, dst=b) / ICMP(type=8, id=3, seq=1) / Padding(b"\0" * 18))
    s6, d6 = "fd00:8::1", "2001:db8:8::1"
    c.add(eth() / IPv6(src=s6, dst=d6) / ICMPv6EchoRequest(id=1, seq=1, data=b"x" * 16))
    c.add(eth(MAC_B, MAC_A) / IPv6(src=d6, dst=s6) / ICMPv6EchoReply(id=1, seq=1,
                                                                      data=b"x" * 16))
    c.add(eth(MAC_B, MAC_A) / IPv6(src=d6, dst=s6) / ICMPv6DestUnreach(code=4) /
          IPv6(src=s6, dst=d6) / UDP(sport=48002, dport=33434))
    c.add(eth(MAC_B, MAC_A) / IPv6(src=d6, dst=s6) / ICMPv6PacketTooBig(mtu=1280) /
          IPv6(src=s6, dst=d6) / TCP(sport=48003, dport=443, flags="PA") / Raw(b"z" * 64))
    c.add(eth() / IPv6(src="fe80::1", dst="ff02::1:ff00:2", hlim=255) /
          ICMPv6ND_NS(tgt="fe80::2"))
    return c


def cap_arp():
    c = Cap("arp.pcap")
    for i in range(3):
        c.add(Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") /
              ARP(op=1, hwsrc=MAC_A, psrc="10.9.0.1", pdst="10.9.0.%d" % (i + 2)),
              unparsed="not_ip")
    c.add(eth(MAC_B, MAC_A) / ARP(op=2, hwsrc=MAC_B, psrc="10.9.0.2", hwdst=MAC_A,
                                  pdst="10.9.0.1"), unparsed="not_ip")
    # LLDP-like, an 802.3 length field with LLC, and an unknown ethertype
    c.add(Ether(src=MAC_A, dst="01:80:c2:00:00:0e", type=0x88CC) / Raw(b"\x02\x07" +
                                                                     b"\0" * 40),
          unparsed="not_ip")
    c.add(Ether(src=MAC_A, dst=MAC_B, type=46) / Raw(b"\x42\x42\x03" + b"\0" * 43),
          unparsed="not_ip")
    c.add(eth(type=0x9000) / Raw(b"\0" * 46), unparsed="not_ip")
    # ARP in a VLAN: still not IP
    c.add(tagged(5)(eth()) / ARP(op=1, hwsrc=MAC_A, psrc="10.9.0.1", pdst="10.9.0.9"),
          unparsed="not_ip")
    c.add(eth() / IP(src="10.9.0.1", dst="10.9.0.2") / UDP(sport=67, dport=68))
    return c


def cap_truncated():
    c = Cap("truncated.pcap")
    s, d = "10.10.0.1", "192.0.2.50"
    s6, d6 = "fd00:10::1", "2001:db8:10::1"
    opts = [IPOption_RR(routers=["192.0.2.%d" % i for i in range(1, 10)])]
    c.add(cut(eth() / Dot1Q(vlan=5) / IP(src=s, dst=d) / UDP(), 16),
          unparsed="truncated_l2")
    c.add(cut(tagged(100, 10, tpids=[0x88A8, 0x8100])(eth()) / IP(src=s, dst=d) / UDP(), 20),
          unparsed="truncated_l2")
    c.add(cut(eth() / IP(src=s, dst=d) / TCP(), 14), unparsed="truncated_l3")
    c.add(cut(eth() / IP(src=s, dst=d) / TCP(), 14 + 12), unparsed="truncated_l3")
    c.add(cut(eth() / IP(src=s, dst=d, options=opts) / TCP(), 14 + 30),
          unparsed="truncated_l3")
    c.add(cut(tagged(5)(eth()) / IP(src=s, dst=d) / TCP(), 18 + 19), unparsed="truncated_l3")
    c.add(cut(eth() / IPv6(src=s6, dst=d6) / TCP(), 14 + 30), unparsed="truncated_l3")
    c.add(cut(eth() / IPv6(src=s6, dst=d6) / IPv6ExtHdrFragment(id=1) / UDP(), 14 + 40 + 4),
          unparsed="truncated_l3")
    c.add(cut(eth() / IPv6(src=s6, dst=d6) / IPv6ExtHdrHopByHop() / UDP(), 14 + 40 + 1),
          unparsed="truncated_l3")
    c.add(cut(eth() / IP(src=s, dst=d) / TCP(sport=49000, dport=80), 14 + 20 + 10),
          unparsed="truncated_l4")
    c.add(cut(eth() / IP(src=s, dst=d) / TCP(sport=49000, dport=80, options=[
        ("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
        ("WScale", 7)]), 14 + 20 + 24), unparsed="truncated_l4")
    c.add(cut(eth() / IP(src=s, dst=d) / UDP(sport=49000, dport=53), 14 + 20 + 6),
          unparsed="truncated_l4")
    c.add(cut(eth() / IP(src=s, dst=d) / ICMP(), 14 + 20 + 3), unparsed="truncated_l4")
    c.add(cut(eth() / IPv6(src=s6, dst=d6) / TCP(), 14 + 40 + 19), unparsed="truncated_l4")
    c.add(cut(eth() / IPv6(src=s6, dst=d6) / IPv6ExtHdrHopByHop() / UDP(), 14 + 40 + 8 + 4),
          unparsed="truncated_l4")
    c.add(cut(eth() / IPv6(src=s6, dst=d6) / ICMPv6EchoRequest(), 14 + 40 + 2),
          unparsed="truncated_l4")
    # whole frames around them, so that flows and unparsed frames mix
    c.add(eth() / IP(src=s, dst=d) / TCP(sport=49000, dport=80, flags="S"))
    c.add(eth() / IPv6(src=s6, dst=d6) / UDP(sport=49000, dport=53))
    return c


def cap_truncated_ext():
    """Frames cut inside an IPv6 extension header's body. The parser reads only an
    option header's first two bytes before skipping it, so the cut shows only at the
    next read; by the documented reasons it is still a cut in the IP header's options."""
    c = Cap("truncated_ext.pcap")
    s6, d6 = "fd00:10::2", "2001:db8:10::2"
    hbh = IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 20)])  # 24 bytes
    c.add(cut(eth() / IPv6(src=s6, dst=d6) / hbh / UDP(sport=1, dport=2), 14 + 40 + 10),
          unparsed="truncated_l3")
    c.add(cut(eth() / IPv6(src=s6, dst=d6) / IPv6ExtHdrHopByHop(
        nh=59, options=[PadN(optdata=b"\0" * 20)]), 14 + 40 + 10), unparsed="truncated_l3")
    c.add(eth() / IPv6(src=s6, dst=d6) / UDP(sport=1, dport=2))
    return c


def cap_bad():
    c = Cap("bad.pcap")
    s, d = "10.11.0.1", "192.0.2.60"
    for doff in (3, 0):
        c.add(eth() / IP(src=s, dst=d) / TCP(sport=50000, dport=80, dataofs=doff,
                                              flags="S") / Raw(b"\0" * 8),
              unparsed="bad_l4")
    c.add(eth() / IP(src=s, dst=d, ihl=4) / TCP(sport=50000, dport=80), unparsed="bad_l3")
    # the ethertype says IPv4, the version nibble says 6 (and the reverse)
    c.add(eth() / IP(src=s, dst=d, version=6) / TCP(sport=50000, dport=80),
          unparsed="bad_l3")
    c.add(eth(type=0x86DD) / IP(src=s, dst=d) / TCP(sport=50000, dport=80) /
          Raw(b"\0" * 20), unparsed="bad_l3")
    c.add(eth() / IP(src=s, dst=d) / TCP(sport=50000, dport=80, flags="S"))
    return c


def cap_tcp_flags():
    c = Cap("tcp_flags.pcap")
    s, d = "10.12.0.1", "192.0.2.70"
    for fl in ("S", "A", "PA", "FA"):  # one flow: S|A|P|F = 0x1b
        c.add(eth() / IP(src=s, dst=d) / TCP(sport=51000, dport=80, flags=fl))
    c.add(eth() / IP(src=s, dst=d) / TCP(sport=51001, dport=80, flags="R"))
    c.add(eth() / IP(src=s, dst=d) / TCP(sport=51002, dport=80, flags="SEC"))  # ECN setup
    # the NS bit (0x100) is outside the flags byte: it must not show in tcp_flags
    c.add(eth() / IP(src=s, dst=d) / TCP(sport=51003, dport=80, flags="SN"))
    c.add(eth() / IP(src=s, dst=d) / TCP(sport=51004, dport=80, flags="UA", urgptr=5) /
          Raw(b"u" * 10))
    c.add(eth(MAC_B, MAC_A) / IP(src=d, dst=s) / TCP(sport=80, dport=51000, flags="SA"))
    c.add(eth() / IP(src=s, dst=d) / TCP(sport=51005, dport=80, flags=0))  # no flag
    c.add(eth() / IP(src=s, dst=d) / TCP(sport=51006, dport=80, flags="FSRPAUEC"))
    return c


def cap_other_proto():
    c = Cap("other_proto.pcap")
    s, d = "10.13.0.1", "192.0.2.80"
    inner = IP(src="172.16.0.1", dst="172.16.0.2") / UDP(sport=1234, dport=5678)
    c.add(eth() / IP(src=s, dst=d) / GRE() / inner)  # proto 47: ports 0
    c.add(eth() / IP(src=s, dst=d, proto=4) / inner)  # IP in IP
    c.add(eth() / IP(src=s, dst=d) / SCTP(sport=3868, dport=3868) / SCTPChunkInit())
    c.add(eth() / IP(src=s, dst=d, proto=50) / Raw(b"\0\0\1\0" + b"e" * 60))  # ESP
    c.add(eth() / IP(src=s, dst=d, proto=2) / Raw(b"\x16\0\xfa\x04\xe0\0\0\xfb"))  # IGMP
    c.add(eth() / IP(src=s, dst=d, proto=41) / IPv6(src="2002::1", dst="2002::2") /
          UDP(sport=1, dport=2))  # 6in4
    c.add(eth() / IPv6(src="fd00:13::1", dst="2001:db8:13::1", nh=59))  # no next header
    c.add(eth() / IPv6(src="fd00:13::1", dst="2001:db8:13::1", nh=50) / Raw(b"e" * 40))
    c.add(eth() / IPv6(src="fd00:13::1", dst="2001:db8:13::1") / GRE() / inner)
    return c


def captures():
    return [cap_vlan(), cap_qinq(), cap_vlan3(), cap_ipv4_options(), cap_ipv6_ext(),
            cap_ipv6_ext_limit(), cap_ipv4_frag(), cap_ipv4_frag_orphan(), cap_ipv6_frag(),
            cap_icmp(), cap_arp(), cap_truncated(), cap_truncated_ext(), cap_bad(),
            cap_tcp_flags(), cap_other_proto()]


def write_all(outdir):
    os.makedirs(outdir, exist_ok=True)
    manifest = {}
    caps = captures()
    for c in caps:
        wrpcap(os.path.join(outdir, c.name), c.stamped())
        manifest[c.name] = c.manifest()
    # one pcapng holding a mix of the cases above
    mix = Cap("mixed.pcapng")
    for c in caps:
        if c.name in ("vlan.pcap", "ipv6_ext.pcap", "ipv4_frag_orphan.pcap", "icmp.pcap",
                      "truncated.pcap"):
            mix.frames += c.frames
            for k, v in c.unparsed.items():
                mix.unparsed[k] = mix.unparsed.get(k, 0) + v
            mix.orphans += c.orphans
            mix.joined += c.joined
    path = os.path.join(outdir, mix.name)
    if PcapNgWriter is not None:
        w = PcapNgWriter(path)
        for p in mix.stamped():
            w.write(p)
        w.close()
    else:
        tmp = path + ".pcap"
        wrpcap(tmp, mix.stamped())
        os.system("editcap -F pcapng '%s' '%s'" % (tmp, path))
        os.unlink(tmp)
    manifest[mix.name] = mix.manifest()
    with open(os.path.join(outdir, "MANIFEST.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return manifest


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def write_flows(n, path):
    """N distinct UDP 5-tuples, one 60-byte-or-so frame each. Built with struct rather
    than scapy layers so that a million flows take seconds; written by scapy."""
    eth4 = bytes.fromhex("020000000002020000000001" "0800")
    eth6 = bytes.fromhex("020000000002020000000001" "86dd")
    dst4 = bytes([192, 0, 2, 99])
    dst6 = bytes.fromhex("20010db8000700000000000000000063")
    w = RawPcapWriter(path, linktype=1)  # Ethernet
    w.write_header(None)
    for i in range(n):
        payload = struct.pack("!I", i)
        sport = 1024 + (i * 7919) % 64000
        if i % 8 == 7:  # IPv6
            src = bytes.fromhex("fd000007") + struct.pack("!IQ", 0, i)
            udp = struct.pack("!HHHH", sport, 9, 8 + len(payload), 0) + payload
            ph = src + dst6 + struct.pack("!IxxxB", len(udp), 17)
            ck = _csum(ph + udp) or 0xFFFF
            udp = udp[:6] + struct.pack("!H", ck) + udp[8:]
            ip = struct.pack("!IHBB", 6 << 28, len(udp), 17, 64) + src + dst6
            frame = eth6 + ip + udp
        else:  # IPv4, sources 10.7.0.0/16 (cycling past 65536 flows, ports then differ)
            src = bytes([10, 7, (i >> 8) & 0xFF, i & 0xFF])
            sport = 1024 + (i >> 16)
            udp = struct.pack("!HHHH", sport, 9, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0) \
                + src + dst4
            ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
            frame = eth4 + ip + udp
        if len(frame) < 60:
            frame += b"\0" * (60 - len(frame))
        sec, usec = divmod(i, 1000000)
        w.write_packet(frame, sec=T0 + sec, usec=usec)  # 1 us apart
    w.close()


def main(argv):
    if len(argv) == 4 and argv[1] == "--flows":
        write_flows(int(argv[2]), argv[3])
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write(__doc__)
        return 2
    m = write_all(argv[1])
    for name in sorted(m):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
