#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Per-tenant accounting, side by side: what counting one tenant's traffic costs its TCP
# throughput and its small-packet request/response latency, with nothing attached (the
# baseline), with the Tollgate agent metering the tenant, with per-tenant iptables
# accounting rules, and with an nftables set with per-element counters; the last three
# with 1 tenant and with ACCT_TENANTS tenants. Method and readings: docs/BENCHMARKS.md,
# "Per-tenant accounting".
#
#   t-CONF: tenant 10.1.0.2 --veth-- vt-acme-0 [h-CONF: the host] up0 --veth-- p-CONF: 192.0.2.2
#
# Every configuration gets its own three namespaces, all built, loaded and checked before
# the first sample, so that one round takes them all in turn (in an order shuffled anew
# every round) and every configuration sees the same machine. The host forwards the
# tenant's traffic to the peer, where iperf3 and bench/rr serve; the accounting is on the
# host, as on a hosting node. Offloads stay on (the default of a veth): the host forwards
# GSO super-packets, as it does for containers. The rr client runs on CPU 0 and its server
# on the last CPU, so that every sample has the same placement.
#
#   none       nothing but forwarding
#   tg:N       the agent (`tollgate run`, in h-CONF with its own bpffs); acme is
#              `interfaces: [vt-acme-*]`, the N-1 others one /32 each
#   ipt:N      iptables (Debian's default, the nf_tables backend): FORWARD -i vt-+ jumps to
#              TG_OUT, -o vt-+ to TG_IN, each with one rule per tenant address
#              (-s ADDR -j RETURN, -d ADDR -j RETURN); acme's rule is the middle one, the
#              average tenant's place in a list that is walked in order
#   nft:N      an nftables table with two sets of the N tenant addresses, each element with
#              its own counter (`set ... { counter; }`), matched from a forward hook:
#              `iifname "vt-*" ip saddr @tout`, `oifname "vt-*" ip daddr @tin`
#
# Every sample also reads the mechanism's count of acme's egress before and after it:
# the TCP bytes it counted must be 1.00 to 1.10 times what iperf3's receiver got (wire or
# IP bytes against payload), and for request/response at least one packet per
# transaction. So each row counted the very traffic it is compared on. Timing decides
# nothing: the script only prints, and fails when a mechanism cannot be set up or did not
# count what passed.
#
# Environment: TCP_ROUNDS (5), TCP_SECS (2), RR_ROUNDS (7), RR_N (4000 transactions per
# sample), RR_SIZE (64 bytes), ACCT_TENANTS (1000), SEED (1: the order of each round).
set -u
. "$(dirname "$0")/../tests/lib/topo.sh"
[ "$(id -u)" = 0 ] || { echo "accounting: run as root" >&2; exit 1; }
# a sandbox of its own, also when another sandboxed script (bench.sh) runs this one
[ -n "${TG_ACCT_SANDBOX:-}" ] || { unset TG_SANDBOX; export TG_ACCT_SANDBOX=1; }
tg_sandbox "$0" "$@" || { echo "accounting: cannot enter a private namespace" >&2; exit 1; }

B=$TG_ROOT/build
RR=$B/bench/rr
TCP_ROUNDS=${TCP_ROUNDS:-5}
TCP_SECS=${TCP_SECS:-2}
RR_ROUNDS=${RR_ROUNDS:-7}
RR_N=${RR_N:-4000}
RR_WARM=500
RR_SIZE=${RR_SIZE:-64}
ACCT_TENANTS=${ACCT_TENANTS:-1000}
SEED=${SEED:-1}
SRV_CPU=$(($(nproc) - 1)) # the rr server's CPU; the client's is 0

die() {
	echo "accounting: $*" >&2
	exit 1
}

for v in TCP_ROUNDS TCP_SECS RR_ROUNDS RR_N RR_SIZE ACCT_TENANTS SEED; do
	case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive integer: ${!v}" ;; esac
done
[ "$ACCT_TENANTS" -ge 2 ] && [ "$ACCT_TENANTS" -le 16000 ] || die "ACCT_TENANTS must be 2 to 16000"
for tool in ip nsenter nft iptables-nft-restore iptables-nft-save iperf3 taskset python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || die "$TG is not built (make)"
[ -x "$RR" ] || die "$RR is not built (make $RR)"

T=$(mktemp -d /tmp/tollgate-acct.XXXXXX)
declare -A AGENT=()
cleanup() {
	local c
	for c in "${!AGENT[@]}"; do
		nsenter -t "${AGENT[$c]}" -m -n "$TG" stop -c "$T/$(ns_of "$c").yaml" --purge >/dev/null 2>&1
		kill "${AGENT[$c]}" 2>/dev/null
		wait "${AGENT[$c]}" 2>/dev/null
	done
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
START=$(date +%s)

CONFS=(none "tg:1" "tg:$ACCT_TENANTS" "ipt:1" "ipt:$ACCT_TENANTS" "nft:1" "nft:$ACCT_TENANTS")
ns_of() { echo "${1/:/-}"; }
label() {
	local m=${1%:*} n=${1#*:} t=tenants
	[ "$n" = 1 ] && t=tenant
	case $m in
	none) echo "nothing attached (baseline)" ;;
	tg) echo "tollgate agent, $n $t" ;;
	ipt) echo "iptables rules, $n $t" ;;
	nft) echo "nftables set counters, $n $t" ;;
	esac
}

# The N tenant addresses: acme's 10.1.0.2 in the middle of N-1 others (10.200.X.Y).
addrs() {
	local n=$1 k mid=$((($1 + 1) / 2))
	for ((k = 1; k <= n; k++)); do
		if [ "$k" = "$mid" ]; then
			echo 10.1.0.2
		else
			echo "10.200.$((k >> 8)).$((k & 255))"
		fi
	done
}

rig() {
	local c=$1 t=t-$1 h=h-$1 p=p-$1
	(
		set -e
		for ns in "$t" "$h" "$p"; do
			ip netns add "$ns"
			_quiet_ns "$ns"
		done
		nsx "$h" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
		ip -n "$h" link add vt-acme-0 address 02:00:00:00:01:01 type veth peer name eth0 \
			address 02:00:00:00:01:02 netns "$t"
		ip -n "$h" link add up0 address 02:00:00:00:ff:01 type veth peer name eth0 \
			address 02:00:00:00:ff:02 netns "$p"
		ip -n "$h" addr add 10.1.0.1/24 dev vt-acme-0
		ip -n "$h" addr add 192.0.2.1/24 dev up0
		ip -n "$t" addr add 10.1.0.2/24 dev eth0
		ip -n "$p" addr add 192.0.2.2/24 dev eth0
		for l in "$h:vt-acme-0" "$h:up0" "$t:eth0" "$p:eth0"; do
			ip -n "${l%%:*}" link set "${l#*:}" up
		done
		ip -n "$t" route add default via 10.1.0.1
		ip -n "$p" route add 10.0.0.0/8 via 192.0.2.1
		ip -n "$h" neigh replace 10.1.0.2 lladdr 02:00:00:00:01:02 dev vt-acme-0 nud permanent
		ip -n "$h" neigh replace 192.0.2.2 lladdr 02:00:00:00:ff:02 dev up0 nud permanent
		ip -n "$t" neigh replace 10.1.0.1 lladdr 02:00:00:00:01:01 dev eth0 nud permanent
		ip -n "$p" neigh replace 192.0.2.1 lladdr 02:00:00:00:ff:01 dev eth0 nud permanent
	)
}

# count CONF: acme's egress as the configuration's mechanism counts it: "packets bytes".
count() {
	local c=$1 m=${1%:*} ns=h-$(ns_of "$1")
	case $m in
	tg)
		nsenter -t "${AGENT[$c]}" -m -n "$TG" tenants -c "$T/$(ns_of "$c").yaml" --json -i 0 |
			python3 -c 'import json, sys
for r in json.load(sys.stdin):
    if r["tenant"] == "acme" and r["direction"] == "egress":
        print(r["packets"], r["bytes"])'
		;;
	ipt)
		nsx "$ns" iptables-nft-save -c -t filter |
			sed -n 's/^\[\([0-9]*\):\([0-9]*\)\] -A TG_OUT -s 10\.1\.0\.2\/32 -j RETURN$/\1 \2/p'
		;;
	nft)
		nsx "$ns" nft -j list set inet tgacct tout | python3 -c 'import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        if e["elem"]["val"] == "10.1.0.2":
            print(e["elem"]["counter"]["packets"], e["elem"]["counter"]["bytes"])'
		;;
	*) echo 0 0 ;;
	esac
}

# order ROUND: the configurations in an order shuffled for that round
order() {
	printf '%s\n' "${CONFS[@]}" |
		awk -v s=$((SEED * 1000 + $1)) 'BEGIN { srand(s) } { print rand(), $0 }' |
		sort -k1,1g | cut -d' ' -f2
}

echo "setting up ${#CONFS[@]} configurations (ACCT_TENANTS=$ACCT_TENANTS)..."
for c in "${CONFS[@]}"; do
	n=$(ns_of "$c")
	rig "$n" || die "$c: cannot build its namespaces"
	nsx "p-$n" iperf3 -s -p 5201 >/dev/null 2>&1 &
	nsx "p-$n" taskset -c "$SRV_CPU" "$RR" -l -p 7007 -s "$RR_SIZE" >/dev/null 2>"$T/rr-$n.err" &
	k=${c#*:}
	case ${c%:*} in
	tg)
		{
			echo "node: {name: bench}"
			echo "tenants:"
			echo "  - {name: acme, interfaces: [vt-acme-*]}"
			addrs "$k" | grep -v '^10\.1\.0\.2$' | awk '{ printf "  - {name: t%d, cidrs: [%s/32]}\n", NR + 1, $1 }'
			echo "billing: {interval: 60s, store: \"sqlite:$T/$n.db\"}"
			echo "outputs: {events: \"$T/$n.events.json\", audit: \"$T/$n.audit.log\"}"
			echo "agent: {run_dir: /run/tg-$n}"
		} >"$T/$n.yaml"
		ip netns exec "h-$n" "$TG" run -c "$T/$n.yaml" >"$T/$n.log" 2>&1 &
		AGENT[$c]=$!
		;;
	ipt)
		{
			echo "*filter"
			echo ":FORWARD ACCEPT [0:0]"
			echo ":TG_OUT - [0:0]"
			echo ":TG_IN - [0:0]"
			echo "-A FORWARD -i vt-+ -j TG_OUT"
			echo "-A FORWARD -o vt-+ -j TG_IN"
			addrs "$k" | sed 's,.*,-A TG_OUT -s &/32 -j RETURN,'
			addrs "$k" | sed 's,.*,-A TG_IN -d &/32 -j RETURN,'
			echo "COMMIT"
		} >"$T/$n.rules"
		nsx "h-$n" iptables-nft-restore <"$T/$n.rules" || die "$c: iptables-nft-restore failed"
		;;
	nft)
		{
			echo "table inet tgacct {"
			echo "	set tout { type ipv4_addr; size 65536; counter; elements = { $(addrs "$k" | paste -sd,) } }"
			echo "	set tin { type ipv4_addr; size 65536; counter; elements = { $(addrs "$k" | paste -sd,) } }"
			echo "	chain acct { type filter hook forward priority 0; policy accept;"
			echo "		iifname \"vt-*\" ip saddr @tout"
			echo "		oifname \"vt-*\" ip daddr @tin"
			echo "	}"
			echo "}"
		} >"$T/$n.nft"
		nsx "h-$n" nft -f "$T/$n.nft" || die "$c: nft cannot load the table"
		;;
	esac
done
for c in "${!AGENT[@]}"; do
	n=$(ns_of "$c")
	t=1200
	until nsenter -t "${AGENT[$c]}" -m -n "$TG" status -c "$T/$n.yaml" >/dev/null 2>&1; do
		if ! kill -0 "${AGENT[$c]}" 2>/dev/null || [ "$t" -le 0 ]; then
			tail -5 "$T/$n.log" >&2
			die "$c: the agent did not start"
		fi
		sleep 0.1
		t=$((t - 1))
	done
done
for c in "${CONFS[@]}"; do
	n=$(ns_of "$c")
	wait_for 10 nsx "p-$n" bash -c 'exec 3<>/dev/tcp/127.0.0.1/5201' ||
		die "$c: iperf3 does not listen"
	wait_for 10 nsx "p-$n" bash -c 'exec 3<>/dev/tcp/127.0.0.1/7007' ||
		die "$c: rr does not listen: $(cat "$T/rr-$n.err")"
	[ "${c%:*}" = none ] || [ -n "$(count "$c")" ] || die "$c: cannot read its counters"
done
echo "set up in $(($(date +%s) - START)) s; $TCP_ROUNDS rounds of iperf3 -t $TCP_SECS, then" \
	"$RR_ROUNDS rounds of $RR_N request/response transactions ($RR_SIZE bytes each way)," \
	"configurations in a shuffled order each round"

# ---- TCP throughput: one sample per configuration per round
for r in $(seq "$TCP_ROUNDS"); do
	line="round $r:"
	for c in $(order "$r"); do
		n=$(ns_of "$c")
		a=$(count "$c")
		nsx "t-$n" iperf3 -c 192.0.2.2 -p 5201 -t "$TCP_SECS" -J >"$T/iperf.json" ||
			die "$c: iperf3 failed: $(tail -3 "$T/iperf.json")"
		z=$(count "$c")
		# shellcheck disable=SC2086 # the words are the counters
		set -- $(python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum_received"]
print("%.3f %d" % (e["bits_per_second"] / 1e9, e["bytes"]))' "$T/iperf.json") $a $z
		echo "tcp $r $c $1 $2 $(($5 - $3)) $(($6 - $4))" >>"$T/samples"
		line="$line $(ns_of "$c") $1"
	done
	echo "$line Gbit/s"
done

# ---- request/response latency
for r in $(seq "$RR_ROUNDS"); do
	for c in $(order $((r + 100))); do
		n=$(ns_of "$c")
		a=$(count "$c")
		out=$(nsx "t-$n" taskset -c 0 "$RR" -c 192.0.2.2 -p 7007 -s "$RR_SIZE" -n "$RR_N" -w "$RR_WARM") ||
			die "$c: rr failed"
		z=$(count "$c")
		# shellcheck disable=SC2086
		set -- $a $z
		echo "rr $r $c $(echo "$out" | sed -n 's/.*p50_ns=\([0-9]*\) p99_ns=\([0-9]*\).*/\1 \2/p') $(($3 - $1)) $(($4 - $2))" >>"$T/samples"
	done
done
for c in "${!AGENT[@]}"; do
	kill -0 "${AGENT[$c]}" 2>/dev/null || die "$c: the agent died during the measurement"
done

# ---- the counts must be the traffic: every mechanism counted what passed
awk -v rrn=$((RR_N + RR_WARM)) '
$1 == "tcp" && $3 != "none" {
	q = $7 / $5
	if (q < 1.0 || q > 1.10) {
		printf "accounting: %s, TCP round %d: counted %d bytes of egress for %d received " \
			"by iperf3 (%.4f)\n", $3, $2, $7, $5, q > "/dev/stderr"; bad = 1 }
}
$1 == "rr" && $3 != "none" {
	if ($6 < rrn || $6 > 1.5 * rrn + 20) {
		printf "accounting: %s, request/response round %d: counted %d egress packets for " \
			"%d transactions\n", $3, $2, $6, rrn > "/dev/stderr"; bad = 1 }
}
END { exit bad }' "$T/samples" || die "a mechanism did not count the traffic it carried"

# ---- medians, and ratios paired with the baseline's sample of the same round
awk -v confs="${CONFS[*]}" '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
		t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$1 == "tcp" { g[$3, $2] = $4; q[$3, $2] = $3 == "none" ? 0 : $7 / $5; if ($2 > tr) tr = $2 }
$1 == "rr" { p50[$3, $2] = $4; p99[$3, $2] = $5; if ($2 > rr) rr = $2 }
END {
	n = split(confs, cs, " ")
	for (k = 1; k <= n; k++) {
		c = cs[k]
		delete a; delete b; delete d; delete e; delete f; delete h; delete x
		for (r = 1; r <= tr; r++) { a[r] = g[c, r]; b[r] = g[c, r] / g["none", r]; d[r] = q[c, r] }
		for (r = 1; r <= rr; r++) {
			e[r] = p50[c, r]; f[r] = p99[c, r]
			h[r] = p50[c, r] / p50["none", r]; x[r] = p99[c, r] / p99["none", r] }
		printf "%s %.2f %.3f %.4f", c, median(a, tr), median(b, tr), median(d, tr)
		printf " %.1f %.3f", median(e, rr) / 1000, median(h, rr)
		printf " %.1f %.3f\n", median(f, rr) / 1000, median(x, rr)
	}
}' "$T/samples" >"$T/medians" || die "cannot read the samples"

get() { awk -v c="$1" -v i="$2" '$1 == c { print $i }' "$T/medians"; }
echo
printf '%-40s %9s %7s %15s\n' "iperf3 TCP, tenant to peer, forwarded" "Gbit/s" "ratio" "counted/iperf3"
for c in "${CONFS[@]}"; do
	if [ "$c" = none ]; then q=-; else q=$(get "$c" 4); fi
	printf '%-40s %9s %7s %15s\n' "$(label "$c")" "$(get "$c" 2)" "$(get "$c" 3)" "$q"
done
echo "(medians of $TCP_ROUNDS rounds; ratio: median of each round's ratio to the baseline;" \
	"counted/iperf3: acme's egress bytes as the mechanism counted them over iperf3's" \
	"received bytes: the agent counts Ethernet frames, iptables and nftables IP packets)"
echo
printf '%-40s %9s %7s %9s %7s\n' "TCP request/response, $RR_SIZE bytes" "p50 us" "ratio" \
	"p99 us" "ratio"
for c in "${CONFS[@]}"; do
	printf '%-40s %9s %7s %9s %7s\n' "$(label "$c")" "$(get "$c" 5)" "$(get "$c" 6)" \
		"$(get "$c" 7)" "$(get "$c" 8)"
done
echo "(per sample: $RR_N transactions on one connection after $RR_WARM of warm-up, p50 and p99" \
	"of their latencies; medians of $RR_ROUNDS rounds; ratio: median of each round's ratio" \
	"to the baseline; $(($(date +%s) - START)) s in all)"
for c in "${CONFS[@]}"; do
	[ "$c" = none ] && continue
	printf 'RESULT\tTCP throughput: %s\tnothing attached\tGbit/s\t%s\t%s\t%s\n' "$(label "$c")" \
		"$(get none 2)" "$(get "$c" 2)" "$(get "$c" 3)"
done
for c in "${CONFS[@]}"; do
	[ "$c" = none ] && continue
	printf 'RESULT\tRR %sB p50 latency: %s\tnothing attached\tus\t%s\t%s\t%s\n' "$RR_SIZE" \
		"$(label "$c")" "$(get none 5)" "$(get "$c" 5)" "$(get "$c" 6)"
	printf 'RESULT\tRR %sB p99 latency: %s\tnothing attached\tus\t%s\t%s\t%s\n' "$RR_SIZE" \
		"$(label "$c")" "$(get none 7)" "$(get "$c" 7)" "$(get "$c" 8)"
done
