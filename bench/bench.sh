#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench`: ratios measured side by side in one run (see docs/BENCHMARKS.md).
set -u
. "$(dirname "$0")/../tests/lib/topo.sh"
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
tg_sandbox "$0" "$@" || exit 1
B=$TG_ROOT/build
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-5}

echo "== meter cost per packet"
"$B/bench/prog_cost" || exit 1

echo
echo "== uplink guard: cost per packet beside xdp-filter and an empty XDP program"
"$B/bench/guard_cost" || exit 1

echo
echo "== caps: cost per packet"
"$B/bench/cap_cost" || exit 1

echo
echo "== seccomp learning: cost per syscall (raw_tp/sys_enter)"
"$B/bench/seccomp_learn" || exit 1

echo
echo "== flow table harvest: batch against per-key, 1M entries"
"$B/bench/flow_harvest" || exit 1

echo
echo "== TCP throughput over a veth (iperf3, $SECS s per run, $ROUNDS interleaved rounds)"
T=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; topo_cleanup; rm -rf "$T"' EXIT
topo init && topo tenant acme 1 || exit 1
cat >"$T/tollgate.yaml" <<YAML
tenants: [{name: acme, interfaces: [vt-acme-*]}]
billing: {interval: 60s, store: "sqlite:$T/tollgate.db"}
YAML
iperf3 -s -B 10.1.0.1 -p 5201 >/dev/null 2>&1 &
wait_for 10 bash -c 'exec 3<>/dev/tcp/10.1.0.1/5201'

gbps() {
	nsx t-acme iperf3 -c 10.1.0.1 -p 5201 -t "$SECS" -J |
		sed -n 's/.*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p' | tail -1 |
		awk '{ printf "%.2f", $1 / 1e9 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$T/off"
: >"$T/on"
for r in $(seq "$ROUNDS"); do
	gbps >>"$T/off"
	echo >>"$T/off"
	"$TG" run -c "$T/tollgate.yaml" >/dev/null 2>&1 &
	wait_for 10 "$TG" status -c "$T/tollgate.yaml" || { echo "agent did not start"; exit 1; }
	gbps >>"$T/on"
	echo >>"$T/on"
	"$TG" stop -c "$T/tollgate.yaml" --purge >/dev/null
	echo "round $r: without $(tail -1 "$T/off") Gbit/s, with meter $(tail -1 "$T/on") Gbit/s"
done
off=$(median <"$T/off")
on=$(median <"$T/on")
printf '%-44s %10s %8s\n' "iperf3 TCP, tenant veth" "Gbit/s" "ratio"
printf '%-44s %10s %8.2f\n' "no meter (baseline)" "$off" 1
printf '%-44s %10s %8.2f\n' "tollgate meter at tc ingress and egress" "$on" \
	"$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')"

caps() { # rate accuracy of the caps (docs/isolation.md, "Caps")
	local cap ns port r
	CAP_ROUNDS=${CAP_ROUNDS:-3}
	CAP_SECS=${CAP_SECS:-5}
	echo
	echo "== caps: rate accuracy (iperf3 to a peer, $CAP_SECS s after 2 s omitted, 4 TCP" \
		"streams or a UDP flood at 2x, median of $CAP_ROUNDS rounds)"
	topo_cleanup
	topo peer && topo tenant c20 2 && topo tenant c100 3 && topo tenant c400 4 || return 1
	cat >"$T/caps.yaml" <<-YAML
	tenants:
	  - {name: c20, interfaces: [vt-c20-*], limits: {egress_rate: 20mbit, ingress_rate: 20mbit}}
	  - {name: c100, interfaces: [vt-c100-*], limits: {egress_rate: 100mbit, ingress_rate: 100mbit}}
	  - {name: c400, interfaces: [vt-c400-*], limits: {egress_rate: 400mbit, ingress_rate: 400mbit}}
	billing: {interval: 60s, store: "sqlite:$T/caps.db"}
	YAML
	for port in 5202 5203 5204; do
		nsx peer iperf3 -s -p $port >/dev/null 2>&1 &
	done
	wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/127.0.0.1/5204' || return 1
	"$TG" run -c "$T/caps.yaml" >"$T/caps.log" 2>&1 &
	wait_for 10 "$TG" status -c "$T/caps.yaml" || { cat "$T/caps.log"; return 1; }
	for r in $(seq "$CAP_ROUNDS"); do
		for cap in 20 100 400; do
			ns=t-c$cap
			port=$((5202 + (cap > 20) + (cap > 100)))
			for m in tcp tcp-R udp; do
				case $m in
				tcp) set -- -P 4 ;;
				tcp-R) set -- -P 4 -R ;;
				udp) set -- -u -b $((2 * cap))M -l 1400 ;;
				esac
				nsx "$ns" iperf3 -c 192.0.2.2 -p "$port" -J -t "$CAP_SECS" -O 2 "$@" |
					python3 -c 'import json, sys
print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' \
					>>"$T/cap-$cap-$m"
			done
			echo "round $r, cap $cap Mbit/s: TCP $(tail -1 "$T/cap-$cap-tcp")," \
				"TCP -R $(tail -1 "$T/cap-$cap-tcp-R"), UDP $(tail -1 "$T/cap-$cap-udp") Mbit/s"
		done
	done
	"$TG" stop -c "$T/caps.yaml" --purge >/dev/null
	printf '%-12s %12s %8s %12s %8s %12s %8s\n' "cap Mbit/s" "TCP egress" "ratio" \
		"TCP ingress" "ratio" "UDP flood" "ratio"
	for cap in 20 100 400; do
		local t u d
		t=$(median <"$T/cap-$cap-tcp")
		d=$(median <"$T/cap-$cap-tcp-R")
		u=$(median <"$T/cap-$cap-udp")
		printf '%-12s %12s %8.3f %12s %8.3f %12s %8.3f\n' "$cap" "$t" \
			"$(awk -v a="$t" -v c="$cap" 'BEGIN { print a / c }')" "$d" \
			"$(awk -v a="$d" -v c="$cap" 'BEGIN { print a / c }')" "$u" \
			"$(awk -v a="$u" -v c="$cap" 'BEGIN { print a / c }')"
	done
	echo "(goodput from iperf3's receiver report; ratio = goodput / cap; default burst; the wire" \
		"ceiling is 0.956 for TCP, 0.971 for 1400-byte datagrams;" \
		"TCP congestion control: $(cat /proc/sys/net/ipv4/tcp_congestion_control))"
}
caps || { echo "caps benchmark failed"; exit 1; }
