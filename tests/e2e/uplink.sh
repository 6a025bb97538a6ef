#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end, tenants selected by CIDR: a tenant with an IPv4 and an IPv6 prefix is
# metered on the uplink by address (its own link is not selected). Billed bytes and
# packets per direction must equal a capture on the far side of the uplink, attributed
# by the outer header's addresses.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in ip tc ethtool dumpcap tshark iperf3 ping; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"

T=$(mktemp -d /tmp/tollgate-uplink.XXXXXX)
trap 'pkill -9 -f "$T/" 2>/dev/null; topo_cleanup; rm -rf "$T"' EXIT

v6() { # v6 NS: IPv6 on, for this test only
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
		net.ipv6.conf.eth0.disable_ipv6=0
}

build() {
	set -e
	topo_init
	topo_peer
	topo_tenant web 3
	sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.up0.disable_ipv6=0 \
		net.ipv6.conf.vt-web-0.disable_ipv6=0 net.ipv6.conf.all.forwarding=1
	v6 peer
	v6 t-web
	ip addr add fd00:ff::1/64 dev up0 nodad
	nsx peer ip addr add fd00:ff::2/64 dev eth0 nodad
	ip addr add fd00:3::1/64 dev vt-web-0 nodad
	nsx t-web ip addr add fd00:3::2/64 dev eth0 nodad
	ip neigh replace fd00:ff::2 lladdr 02:00:00:00:ff:02 dev up0 nud permanent
	nsx peer ip neigh replace fd00:ff::1 lladdr 02:00:00:00:ff:01 dev eth0 nud permanent
	ip neigh replace fd00:3::2 lladdr 02:00:00:00:03:02 dev vt-web-0 nud permanent
	nsx t-web ip neigh replace fd00:3::1 lladdr 02:00:00:00:03:01 dev eth0 nud permanent
	nsx peer ip -6 route add fd00:3::/64 via fd00:ff::1
	nsx t-web ip -6 route add default via fd00:3::1
}
(build) || bail "cannot build the topology"

cat >"$T/tollgate.yaml" <<YAML
tenants:
  - name: web
    cidrs: [10.3.0.0/24, "fd00:3::/64"]
uplink: {interfaces: [up0]}
billing: {interval: 2s, store: "sqlite:$T/tollgate.db"}
YAML
"$TG" run -c "$T/tollgate.yaml" >"$T/agent.log" 2>&1 &
check "agent starts and reports healthy" -- wait_for 15 "$TG" status -c "$T/tollgate.yaml" ||
	cat "$T/agent.log"
check "the uplink carries the meter" -- bash -c "$TG status -c $T/tollgate.yaml --json |
	grep -q '\"interface\": \"up0\", [^}]*\"role\": \"uplink\", [^}]*\"tc_ingress\": true, \"tc_egress\": true'"
# Native XDP bills the uplink's ingress and marks each frame for tc ingress to leave
# alone: the exact totals below also say that no frame is billed twice or missed.
check "the uplink's guard runs in native XDP mode, so XDP bills its ingress" -- bash -c "$TG status -c $T/tollgate.yaml --json |
	grep -q '\"interface\": \"up0\", [^}]*\"xdp\": \"native\"'"
check "the tenant's own link is not metered" -- bash -c "! tc qdisc show dev vt-web-0 | grep -q clsact"

ip netns exec peer iperf3 -s -p 5201 >/dev/null 2>&1 &
server=$!
wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/127.0.0.1/5201' || bail "iperf3 server did not start"
capture_start peer eth0 "$T/far.pcap" || bail "dumpcap did not start"
for dst in 192.0.2.2 fd00:ff::2; do
	nsx t-web bash -c "for s in 1 200 1400 3000; do head -c \$s /dev/urandom >/dev/udp/$dst/9; done"
	nsx t-web ping -q -c 4 -i 0.02 -s 1200 "$dst" >/dev/null
	nsx t-web iperf3 -c "$dst" -p 5201 -n 2M >/dev/null
	nsx t-web iperf3 -c "$dst" -p 5201 -n 1M -R >/dev/null
done
for src in 10.3.0.2 fd00:3::2; do
	nsx peer bash -c "for s in 1 500 2000; do head -c \$s /dev/urandom >/dev/udp/$src/9; done"
	nsx peer ping -q -c 3 -i 0.02 "$src" >/dev/null
done
# Frames of no tenant, in both directions: the peer and the host's own uplink address.
nsx peer ping -q -c 3 -i 0.02 192.0.2.1 >/dev/null
nsx peer ping -q -c 2 -i 0.02 fd00:ff::1 >/dev/null
check "capture complete, nothing dropped" -- capture_stop "$T/far.pcap"
check "agent stops with a final harvest" -- "$TG" stop -c "$T/tollgate.yaml"

oracle=$(tshark -r "$T/far.pcap" -T fields -E occurrence=f -e frame.len -e ip.src -e ip.dst \
	-e ipv6.src -e ipv6.dst 2>/dev/null |
	awk -F'\t' 'function mine(a) { return a ~ /^10\.3\.0\./ || a ~ /^fd00:3::/ }
		{ s = $2 $4; d = $3 $5
		  if (mine(s)) { p["egress"]++; b["egress"] += $1 }
		  if (mine(d)) { p["ingress"]++; b["ingress"] += $1 }
		  if ($4 ~ /^fd00:3::/) v6++ }
		END { print "ingress", p["ingress"], b["ingress"]; print "egress", p["egress"], b["egress"]
		      print "v6", v6 + 0 }')
diag "capture: $(echo $oracle)"
check "the capture holds IPv6 tenant traffic" -- test "$(echo "$oracle" | awk '$1 == "v6" { print $2 }')" -gt 0
billed=$("$TG" bill -c "$T/tollgate.yaml" --format csv |
	awk -F, 'NR > 1 { p[$4] += $8; b[$4] += $7 } END { for (k in p) print k, p[k], b[k] }')
for dir in ingress egress; do
	equal "billed $dir (packets bytes) of the CIDR tenant equals the capture" \
		"$(echo "$billed" | grep "^$dir " | cut -d' ' -f2-)" \
		"$(echo "$oracle" | grep "^$dir " | cut -d' ' -f2-)"
done
# On the uplink a frame is unattributed when no tenant owns its inner destination (coming
# in, sent by the peer) or its inner source (going out); non-IP frames too. The agent ran
# a little longer than the capture, so it counted at least what the capture holds.
stray=$(tshark -r "$T/far.pcap" -T fields -E occurrence=f -e eth.src -e ip.src -e ip.dst \
	-e ipv6.src -e ipv6.dst 2>/dev/null |
	awk -F'\t' 'function mine(a) { return a ~ /^10\.3\.0\./ || a ~ /^fd00:3::/ }
		{ a = $1 == "02:00:00:00:ff:02" ? $3 $5 : $2 $4; if (!mine(a)) n++ }
		END { print n + 0 }')
counted=$("$TG" status -c "$T/tollgate.yaml" --json |
	sed -n 's/.*"unattributed_packets": \([0-9]*\).*/\1/p')
diag "frames of no tenant: capture $stray, counted ${counted:-none}"
check "the capture holds frames of no tenant" -- test "$stray" -ge 5
check "uplink frames of no tenant are counted as unattributed (at least the capture's)" -- \
	test "${counted:-0}" -ge "$stray"
check "stop --purge" -- "$TG" stop -c "$T/tollgate.yaml" --purge

# The same tenant selected by its interface too: every frame crosses vt-web-0 and the
# uplink, and is billed once, at the interface (docs/byte-rule.md). The interface also
# sees the tenant's own link traffic (neighbour discovery) that never reaches the far
# side, so billed must be at least the capture and within a few percent of it; billed
# twice would be twice.
cat >"$T/both.yaml" <<YAML
tenants:
  - name: web
    cidrs: [10.3.0.0/24, "fd00:3::/64"]
    interfaces: [vt-web-*]
uplink: {interfaces: [up0]}
billing: {interval: 2s, store: "sqlite:$T/both.db"}
YAML
"$TG" run -c "$T/both.yaml" >"$T/agent2.log" 2>&1 &
check "both selectors: agent starts" -- wait_for 15 "$TG" status -c "$T/both.yaml" ||
	cat "$T/agent2.log"
capture_start peer eth0 "$T/far2.pcap" || bail "dumpcap did not start"
nsx t-web iperf3 -c 192.0.2.2 -p 5201 -n 2M >/dev/null
nsx t-web iperf3 -c 192.0.2.2 -p 5201 -n 1M -R >/dev/null
nsx t-web ping -q -c 4 -i 0.02 -s 1200 192.0.2.2 >/dev/null
check "both selectors: capture complete" -- capture_stop "$T/far2.pcap"
check "both selectors: agent stops with a final harvest" -- "$TG" stop -c "$T/both.yaml"
oracle2=$(tshark -r "$T/far2.pcap" -T fields -E occurrence=f -e frame.len -e ip.src -e ip.dst \
	2>/dev/null | awk -F'\t' '$2 ~ /^10\.3\.0\./ { b["egress"] += $1 }
		$3 ~ /^10\.3\.0\./ { b["ingress"] += $1 }
		END { print "ingress", b["ingress"] + 0; print "egress", b["egress"] + 0 }')
billed2=$("$TG" bill -c "$T/both.yaml" --format csv |
	awk -F, 'NR > 1 { b[$4] += $7 } END { for (k in b) print k, b[k] }')
for dir in ingress egress; do
	want=$(echo "$oracle2" | awk -v d=$dir '$1 == d { print $2 }')
	got=$(echo "$billed2" | awk -v d=$dir '$1 == d { print $2 }')
	diag "both selectors, $dir: billed ${got:-0}, capture $want"
	check "both selectors: $dir billed once (capture $want <= billed ${got:-0} <= 1.05 x capture)" -- \
		test "${got:-0}" -ge "$want" -a "$((${got:-0} * 100))" -le "$((want * 105))"
done
check "both selectors: stop --purge" -- "$TG" stop -c "$T/both.yaml" --purge
kill "$server"
wait "$server" 2>/dev/null
tap_done
