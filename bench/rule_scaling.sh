#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Rule scaling: what filtering by a list of source CIDRs costs per packet at N = 0, 1k,
# 10k and 100k CIDRs, for Tollgate's uplink guard (XDP, an LPM trie), an nftables
# interval set at netdev ingress, and N iptables rules in raw PREROUTING (the nf_tables
# backend, Debian's default `iptables`, and the legacy x_tables one). Method and readings:
# bench/rule_scaling.md.
#
#   p-CONF: udp_blast --veth--> up0 in r-CONF [filter] --> route 10.3.0.0/24 blackhole
#
# Every configuration gets its own pair of namespaces, all built and loaded before the
# measurement, so one sender can take them in turn many times over (rounds of a short
# sample each, in an order shuffled every round) and every configuration sees the same
# machine. The traffic is the worst case for every list: 60-byte UDP frames (64 on a
# wire) from 192.0.2.2, which no CIDR covers, so every rule, set or trie is consulted and
# the frame passes; the blackhole route then drops it the same way everywhere. The sender is pinned to one CPU and the receive
# path runs in its softirq, so its CPU time (plus its CPU's ksoftirqd's, meanwhile) over
# the frames sent is the cost per frame of the whole path. A configuration's cost is the
# median over rounds of its difference to the no-filter baseline in the same round.
#
# Timing decides nothing: the script only prints. It fails when a mechanism cannot be set
# up, drops no frame from a listed source, or drops ours, or when frames are lost before
# the filter.
#
# Environment: ROUNDS (40), MEAS seconds per sample (0.1), WARM seconds before each (0.02),
# SIZES ("0 1000 10000 100000"), MECHS ("guard nft iptables iptables-legacy"),
# XDP_MODE (native), CPU (the last one), SEED (1: the lists and the order), SAMPLES (a
# file to keep udp_blast's raw samples in).
set -u
. "$(dirname "$0")/../tests/lib/topo.sh"
[ "$(id -u)" = 0 ] || { echo "rule_scaling: run as root" >&2; exit 1; }
# a sandbox of its own, also when another sandboxed script (bench.sh) runs this one
[ -n "${TG_SCALING_SANDBOX:-}" ] || { unset TG_SANDBOX; export TG_SCALING_SANDBOX=1; }
tg_sandbox "$0" "$@" || { echo "rule_scaling: cannot enter a private namespace" >&2; exit 1; }

B=$TG_ROOT/build
BLAST=$B/bench/udp_blast
ROUNDS=${ROUNDS:-40}
MEAS=${MEAS:-0.1}
WARM=${WARM:-0.02}
SIZES=${SIZES:-0 1000 10000 100000}
MECHS=${MECHS:-guard nft iptables iptables-legacy}
XDP_MODE=${XDP_MODE:-native}
CPU=${CPU:-$(($(nproc) - 1))}
SEED=${SEED:-1}
UPMAC=02:00:00:00:ff:01

die() {
	echo "rule_scaling: $*" >&2
	exit 1
}

case $ROUNDS in '' | *[!0-9]* | 0) die "ROUNDS must be a positive integer: $ROUNDS" ;; esac
for n in $SIZES; do
	case $n in '' | *[!0-9]*) die "SIZES must be integers: $SIZES" ;; esac
	[ "$n" -le 1000000 ] || die "at most 1000000 CIDRs: $n"
done
[ -n "$SIZES" ] || die "SIZES is empty"
case $XDP_MODE in
native) XDPFLAG=xdpdrv ;;
generic) XDPFLAG=xdpgeneric ;;
*) die "XDP_MODE must be native or generic: $XDP_MODE" ;;
esac
for m in $MECHS; do
	case $m in
	guard | nft | iptables | iptables-legacy) ;;
	*) die "unknown mechanism: $m" ;;
	esac
done
for tool in ip ethtool nsenter nft iptables-nft-restore iptables-legacy-restore python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || die "$TG is not built (make)"
[ -x "$BLAST" ] || die "$BLAST is not built (make $BLAST)"
KSOFTIRQD=$(pgrep -x "ksoftirqd/$CPU") || die "no ksoftirqd/$CPU: is CPU $CPU online?"

T=$(mktemp -d /tmp/tollgate-scaling.XXXXXX)
declare -A AGENT=()
cleanup() {
	local c
	for c in "${!AGENT[@]}"; do
		nsenter -t "${AGENT[$c]}" -m -n "$TG" stop -c "$T/$c.yaml" --purge >/dev/null 2>&1
		kill "${AGENT[$c]}" 2>/dev/null
		wait "${AGENT[$c]}" 2>/dev/null
	done
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
START=$(date +%s)

# The configurations, MECH:N; each has namespaces r-MECH-N (up0 and the filter) and
# p-MECH-N (the sender's end). Two baselines: the second one shows the noise floor.
CONFS=(none:0 none2:0 xdp:0)
for m in $MECHS; do
	for n in $SIZES; do CONFS+=("$m:$n"); done
done
ns_of() { echo "${1/:/-}"; }

# rig NAME: the measured path for a configuration. Offloads are off on both ends, IPv6 is
# off, neighbours are static; with forwarding on, the blackhole route drops the frames
# without an ICMP answer.
rig() {
	local r=r-$1 p=p-$1
	(
		set -e
		ip netns add "$r" && _quiet_ns "$r"
		ip netns add "$p" && _quiet_ns "$p"
		nsx "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
		ip -n "$r" link add up0 address $UPMAC type veth peer name eth0 \
			address 02:00:00:00:ff:02 netns "$p"
		nsx "$r" ethtool -K up0 tso off gso off gro off >/dev/null
		nsx "$p" ethtool -K eth0 tso off gso off gro off >/dev/null
		ip -n "$r" addr add 192.0.2.1/24 dev up0
		ip -n "$p" addr add 192.0.2.2/24 dev eth0
		ip -n "$r" link set up0 up
		ip -n "$p" link set eth0 up
		ip -n "$r" neigh replace 192.0.2.2 lladdr 02:00:00:00:ff:02 dev up0 nud permanent
		ip -n "$p" neigh replace 192.0.2.1 lladdr $UPMAC dev eth0 nud permanent
		ip -n "$r" route add blackhole 10.3.0.0/24
	)
}

# counters NAME: up0's received and dropped frames, then eth0's dropped ones.
counters() {
	echo "$(nsx "r-$1" sed 's/:/ /' /proc/net/dev | awk '$1 == "up0" { print $3, $5 }')" \
		"$(nsx "p-$1" sed 's/:/ /' /proc/net/dev | awk '$1 == "eth0" { print $13 }')"
}

noports() { # UDP datagrams to a port without a socket, in namespace $1
	nsx "$1" awk '/^Udp:/ { if (!c) { for (i = 2; i <= NF; i++) if ($i == "NoPorts") c = i }
		else print $c }' /proc/net/snmp
}

# controls NAME N: 200 frames from the source at the end of the list (when N > 0), then
# 200 from ours, to 192.0.2.1 port 9 where nothing listens: exactly 200 must reach UDP
# (Udp NoPorts), ours. They are handled in order, so once ours are counted, the listed
# ones are done with.
controls() {
	local c=$1 n=$2 a t=40 got
	a=$(noports "r-$c")
	if [ "$n" -gt 0 ]; then
		"$BLAST" -m $UPMAC -s "$(sed -n "${n}{s,/.*,,;p}" "$T/cidrs")" -d 192.0.2.1 -n 200 \
			"p-$c:eth0" || return 1
	fi
	"$BLAST" -m $UPMAC -s 192.0.2.2 -d 192.0.2.1 -n 200 "p-$c:eth0" || return 1
	while :; do
		got=$(($(noports "r-$c") - a))
		[ "$got" -ge 200 ] || [ "$t" -le 0 ] && break
		sleep 0.05
		t=$((t - 1))
	done
	[ "$got" -eq 200 ] && return 0
	echo "rule_scaling: $c: $got frames reached UDP; expected only the 200 from 192.0.2.2" >&2
	return 1
}

# ---- the lists: N random CIDRs, /24 to /32, none overlapping another, none covering
# the sender (each in its own /24, never 192.0.2.0/24, 10/8, 0/8, 127/8 or 224/3); a
# list of N is the first N lines, so the lists nest.
MAXN=0
for n in $SIZES; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done
python3 - "$T/cidrs" "$MAXN" "$SEED" <<'PY' || die "cannot generate the CIDR lists"
import random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
seen, out = set(), []
while len(out) < n:
    b = r.randrange(1 << 24)  # a /24 block
    if b >> 16 in (0, 10, 127) or b >> 16 >= 224 or b == (192 << 16 | 2) or b in seen:
        continue
    seen.add(b)
    plen = r.randint(24, 32)
    a = b << 8 | r.randrange(256) & (0xFF << (32 - plen)) & 0xFF
    out.append("%d.%d.%d.%d/%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, plen))
with open(path, "w") as f:
    f.write("".join(c + "\n" for c in out))
PY
for n in $SIZES; do
	head -n "$n" "$T/cidrs" >"$T/list.$n"
	{
		echo "table netdev t {"
		echo "	set s {"
		echo "		type ipv4_addr; flags interval"
		[ "$n" -gt 0 ] && echo "		elements = { $(paste -sd, "$T/list.$n") }"
		echo "	}"
		echo "	chain c {"
		echo "		type filter hook ingress device up0 priority 0; policy accept"
		echo "		ip saddr @s drop"
		echo "	}"
		echo "}"
	} >"$T/nft.$n"
	{
		echo "*raw"
		echo ":PREROUTING ACCEPT [0:0]"
		echo ":OUTPUT ACCEPT [0:0]"
		sed 's/^/-A PREROUTING -s /; s/$/ -j DROP/' "$T/list.$n"
		echo "COMMIT"
	} >"$T/ipt.$n"
done

# the empty XDP program, for reference: what any XDP program costs on this veth
[ -f "$B/empty_xdp.bpf.o" ] || die "$B/empty_xdp.bpf.o is not built (make $B/empty_xdp.bpf.o)"

echo "== rule scaling: ns per 60-byte UDP frame from a source in no list; XDP $XDP_MODE"
echo "setting up ${#CONFS[@]} configurations..."
for c in "${CONFS[@]}"; do
	rig "$(ns_of "$c")" || die "$c: cannot build its namespaces"
done

# The agents start side by side (each loads its datapath: seconds of verifier time).
# `ip netns exec` gives each a mount namespace of its own, where it mounts its own bpffs;
# nsenter reaches it there. Each has its own run directory, as /run is shared.
for c in "${CONFS[@]}"; do
	[ "${c%:*}" = guard ] || continue
	n=${c#*:}
	cat >"$T/$c.yaml" <<-YAML
	tenants: [{name: web, cidrs: [10.3.0.0/24]}]
	uplink: {interfaces: [up0], xdp_mode: $XDP_MODE, blocklist_files: [$T/list.$n]}
	billing: {interval: 60s, store: "sqlite:$T/$c.db"}
	outputs: {events: "$T/$c.events.json", audit: "$T/$c.audit.log"}
	agent: {run_dir: /run/tg-$n}
	YAML
	ip netns exec "r-$(ns_of "$c")" "$TG" run -c "$T/$c.yaml" >"$T/$c.log" 2>&1 &
	AGENT[$c]=$!
done
for c in "${!AGENT[@]}"; do
	t=1200
	until nsenter -t "${AGENT[$c]}" -m -n "$TG" status -c "$T/$c.yaml" >/dev/null 2>&1; do
		if ! kill -0 "${AGENT[$c]}" 2>/dev/null || [ "$t" -le 0 ]; then
			tail -5 "$T/$c.log" >&2
			die "$c: the agent did not start"
		fi
		sleep 0.1
		t=$((t - 1))
	done
	mode=$(nsenter -t "${AGENT[$c]}" -m -n "$TG" status -c "$T/$c.yaml" --json | python3 -c '
import json, sys
hooks = json.load(sys.stdin)["hooks"]
print(" ".join(h["xdp"] or "none" for h in hooks if h["interface"] == "up0"))')
	[ "$mode" = "$XDP_MODE" ] || die "$c: tollgate status says XDP '$mode' on up0"
done

for c in "${CONFS[@]}"; do
	m=${c%:*}
	n=${c#*:}
	r=r-$(ns_of "$c")
	case $m in
	xdp)
		ip -n "$r" link set dev up0 "$XDPFLAG" obj "$B/empty_xdp.bpf.o" sec xdp ||
			die "cannot attach an XDP program to up0 ($XDP_MODE)"
		;;
	nft) nsx "$r" nft -f "$T/nft.$n" || die "$c: nft cannot load the set" ;;
	iptables)
		nsx "$r" iptables-nft-restore <"$T/ipt.$n" || die "$c: iptables-nft-restore failed"
		;;
	iptables-legacy)
		nsx "$r" iptables-legacy-restore <"$T/ipt.$n" ||
			die "$c: iptables-legacy-restore failed"
		;;
	esac
	controls "$(ns_of "$c")" "$n" || die "$c: does not filter as configured"
done
echo "set up and checked in $(($(date +%s) - START)) s; measuring: $ROUNDS rounds of" \
	"${#CONFS[@]} configurations in a shuffled order, $WARM s warm-up + $MEAS s each," \
	"sender on CPU $CPU"

targets=()
for c in "${CONFS[@]}"; do
	echo "$c $(counters "$(ns_of "$c")")" >>"$T/before"
	targets+=("p-$(ns_of "$c"):eth0")
done
"$BLAST" -m $UPMAC -s 192.0.2.2 -d 10.3.0.2 -C "$CPU" -k "$KSOFTIRQD" -r "$ROUNDS" \
	-t "$MEAS" -w "$WARM" -S "$SEED" "${targets[@]}" >"$T/samples" || die "udp_blast failed"
[ -z "${SAMPLES:-}" ] || cp "$T/samples" "$SAMPLES" || die "cannot write $SAMPLES"
for c in "${CONFS[@]}"; do
	# shellcheck disable=SC2046 # the words are the counters
	set -- $(grep "^$c " "$T/before") $(counters "$(ns_of "$c")")
	sent=$(sed -n "s/^total target=p-$(ns_of "$c"):eth0 frames=//p" "$T/samples")
	# every frame must have reached up0's receive path, none dropped on the way
	[ -n "$sent" ] && [ $(($5 - $2)) -ge "$sent" ] && [ "$6" = "$3" ] && [ "$7" = "$4" ] ||
		die "$c: frames lost before the filter (up0 received $(($5 - $2)) of ${sent:-?}" \
			"sent, rx_dropped +$(($6 - $3)), eth0 tx_dropped +$(($7 - $4)))"
done
for c in "${!AGENT[@]}"; do
	kill -0 "${AGENT[$c]}" 2>/dev/null || die "$c: the agent died during the measurement"
done

# ---- results: ns per frame for each sample; costs paired with the baseline's sample of
# the same round
awk -v confs="${CONFS[*]}" '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
		t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
BEGIN {
	n = split(confs, cs, " ")
	for (k = 1; k <= n; k++) { t = cs[k]; sub(/:/, "-", t); conf["p-" t ":eth0"] = cs[k] }
}
/^round=/ {
	for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	c = conf[f["target"]]
	if (f["packets"] == 0) { print "no frames in a sample of " c > "/dev/stderr"; exit 1 }
	ns[c, f["round"]] = (f["cpu_ns"] + f["ksoftirqd_ns"]) / f["packets"]
	if (f["round"] > rounds) rounds = f["round"]
}
END {
	for (k = 1; k <= n; k++) {
		c = cs[k]; delete a; delete d
		for (r = 1; r <= rounds; r++) { a[r] = ns[c, r]; d[r] = ns[c, r] - ns["none:0", r] }
		printf "%s %.1f %.1f\n", c, median(a, rounds), median(d, rounds)
	}
}' "$T/samples" >"$T/medians" || die "cannot read the samples"

raw() { awk -v c="$1" '$1 == c { print $2 }' "$T/medians"; }
cost() { awk -v c="$1" '$1 == c { print $3 }' "$T/medians"; }
label() {
	case $1 in
	guard) echo "tollgate guard, $XDP_MODE XDP" ;;
	nft) echo "nftables set, netdev ingress" ;;
	iptables) echo "iptables (nf_tables), raw PREROUTING" ;;
	iptables-legacy) echo "iptables-legacy, raw PREROUTING" ;;
	esac
}
first=${SIZES%% *}
last=${SIZES##* }
echo
printf '%-38s' "ns/frame, whole path (medians)"
for n in $SIZES; do printf ' %9s' "N=$n"; done
echo
printf '%-38s %9.0f\n' "no filter (baseline)" "$(raw none:0)"
printf '%-38s %9.0f\n' "empty XDP program, $XDP_MODE (reference)" "$(raw xdp:0)"
for m in $MECHS; do
	printf '%-38s' "$(label "$m")"
	for n in $SIZES; do printf ' %9.0f' "$(raw "$m:$n")"; done
	echo
done
echo
printf '%-38s' "cost over the baseline, ns/frame"
for n in $SIZES; do printf ' %9s' "N=$n"; done
printf ' %9s %9s\n' "+ns" "ratio"
printf '%-38s %9.0f\n' "second baseline rig (noise floor)" "$(cost none2:0)"
printf '%-38s %9.0f\n' "empty XDP program, $XDP_MODE (reference)" "$(cost xdp:0)"
for m in $MECHS; do
	printf '%-38s' "$(label "$m")"
	for n in $SIZES; do printf ' %9.0f' "$(cost "$m:$n")"; done
	awk -v a="$(cost "$m:$last")" -v z="$(cost "$m:$first")" 'BEGIN {
		printf " %9.0f", a - z
		if (z <= 0) print "         -"
		else if (a / z > 1000) print "    >1000"
		else printf " %9.2f\n", a / z }'
done
echo "(cost: median over rounds of the difference to the baseline in the same round;" \
	"+ns: N=$last minus N=$first; ratio: N=$last / N=$first, \"-\" when the cost at N=$first" \
	"is not above 0; $(($(date +%s) - START)) s in all)"
# the summary's rows (bench/bench.sh)
short() {
	case $1 in
	guard) echo "tollgate guard" ;;
	nft) echo "nftables set" ;;
	iptables) echo "iptables-nft" ;;
	iptables-legacy) echo "iptables-legacy" ;;
	esac
}
printf 'RESULT\trule scaling: empty XDP program (%s), whole path\tno filter\tns/frame\t%s\t%s\t%s\n' \
	"$XDP_MODE" "$(raw none:0)" "$(raw xdp:0)" \
	"$(awk -v a="$(raw xdp:0)" -v b="$(raw none:0)" 'BEGIN { printf "%.3f", a / b }')"
for m in $MECHS; do
	printf 'RESULT\trule scaling: %s, %s CIDRs, whole path\tno filter\tns/frame\t%s\t%s\t%s\n' \
		"$(short "$m")" "$last" "$(raw none:0)" "$(raw "$m:$last")" \
		"$(awk -v a="$(raw "$m:$last")" -v b="$(raw none:0)" 'BEGIN { printf "%.3f", a / b }')"
	printf 'RESULT\trule scaling: %s, cost at %s CIDRs\tits cost at %s\tns/frame\t%s\t%s\t%s\n' \
		"$(short "$m")" "$last" "$first" "$(cost "$m:$first")" "$(cost "$m:$last")" \
		"$(awk -v a="$(cost "$m:$last")" -v z="$(cost "$m:$first")" 'BEGIN {
			if (z <= 0) print "-"; else if (a / z > 1000) print ">1000"; else printf "%.3f", a / z }')"
done
