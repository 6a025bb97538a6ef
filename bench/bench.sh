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
