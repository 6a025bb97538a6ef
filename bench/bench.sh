#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench`: every figure against a baseline measured side by side in the same run
# (interleaved rounds, medians), then one summary table of them all (docs/BENCHMARKS.md).
# Each part prints its own detailed table and lines "RESULT<TAB>measurement<TAB>baseline
# <TAB>unit<TAB>baseline's figure<TAB>figure<TAB>ratio", which this script keeps for the
# summary (also written to build/bench/summary.txt with the machine and the date). A part
# that fails is reported and makes the run fail, after the others have run.
#
# Environment: each part's own (see the parts), and CAP_ROUNDS (3), CAP_SECS (5) for the
# caps' rate accuracy; PARTS (all of: prog guard caps seccomp harvest syscalls accounting
# caprates scale scaling) to run only some.
set -u
. "$(dirname "$0")/../tests/lib/topo.sh"
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
tg_sandbox "$0" "$@" || exit 1
B=$TG_ROOT/build
CAP_ROUNDS=${CAP_ROUNDS:-3}
CAP_SECS=${CAP_SECS:-5}
PARTS=${PARTS:-prog guard caps seccomp harvest syscalls accounting caprates scale scaling}
T=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; topo_cleanup; rm -rf "$T"' EXIT
RESULTS=$T/results
: >"$RESULTS"
FAILED=()
TIMES=()
START=$(date +%s)

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

machine() {
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git -C "$TG_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sort -u | paste -sd';')), $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, Linux $(uname -r), load average at start ${LOAD0:-?}"
}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# part NAME TITLE CMD...: runs CMD (when PARTS names it) under a title; its RESULT lines
# go to the summary, the rest to the terminal.
part() {
	local name=$1 title=$2 rc t0=$(date +%s)
	shift 2
	case " $PARTS " in *" $name "*) ;; *) return 0 ;; esac
	echo
	echo "== $title"
	printf 'SECTION\t%s\n' "$title" >>"$RESULTS"
	"$@" | awk -v f="$RESULTS" '/^RESULT\t/ { print >>f; next } { print; fflush() }'
	rc=${PIPESTATUS[0]}
	if [ "$rc" != 0 ]; then
		echo "bench: $name failed (exit $rc)" >&2
		FAILED+=("$name")
	fi
	TIMES+=("$name $(($(date +%s) - t0))s")
}

caps() { # rate accuracy of the caps (docs/isolation.md, "Caps")
	local cap ns port r
	echo "iperf3 to a peer, $CAP_SECS s after 2 s omitted, 4 TCP streams or a UDP flood at" \
		"2x, median of $CAP_ROUNDS rounds"
	topo_cleanup
	topo init && topo peer && topo tenant c20 2 && topo tenant c100 3 &&
		topo tenant c400 4 || return 1
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
	wait_for 60 "$TG" status -c "$T/caps.yaml" || { cat "$T/caps.log"; return 1; }
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
	for cap in 20 100 400; do
		for m in tcp:"TCP egress" tcp-R:"TCP ingress" udp:"UDP flood egress"; do
			printf 'RESULT\tcaps: %s Mbit/s cap, %s goodput\tthe cap\tMbit/s\t%s\t%s\t%s\n' \
				"$cap" "${m#*:}" "$cap" "$(median <"$T/cap-$cap-${m%%:*}")" \
				"$(awk -v a="$(median <"$T/cap-$cap-${m%%:*}")" -v c="$cap" \
					'BEGIN { printf "%.3f", a / c }')"
		done
	done
	topo_cleanup
}

machine
part prog "meter cost per packet" "$B/bench/prog_cost"
part guard "uplink guard: cost per packet beside xdp-filter and an empty XDP program" \
	"$B/bench/guard_cost"
part caps "caps: cost per packet" "$B/bench/cap_cost"
part seccomp "seccomp learning: cost per syscall (raw_tp/sys_enter)" "$B/bench/seccomp_learn"
part harvest "flow table harvest: batch against per-key, 1M entries" "$B/bench/flow_harvest"
part syscalls "runtime security against bpftrace: cost per openat(2)" \
	"$TG_ROOT/bench/syscalls.sh"
part accounting "per-tenant accounting: TCP throughput and request/response latency" \
	"$TG_ROOT/bench/accounting.sh"
part caprates "caps: rate accuracy" caps
part scale "the agent at 10k tenants and 1M flows: memory and CPU" \
	"$TG_ROOT/bench/agent_scale.sh"
part scaling "uplink guard: rule scaling against an nftables set and iptables rules" \
	"$TG_ROOT/bench/rule_scaling.sh"

# ---- the summary
summary() {
	echo "== summary: every figure against its baseline, measured side by side in this run"
	machine
	echo "($(($(date +%s) - START)) s in all: ${TIMES[*]}; ratio = figure / baseline, or the" \
		"median of per-round ratios where a part pairs rounds)"
	awk -F'\t' '
	function num(x, a) {
		if (x !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) return x
		if (x ~ /^-?[0-9]+$/) return x
		a = x < 0 ? -x : x
		if (a >= 100) return sprintf("%.0f", x)
		if (a >= 10) return sprintf("%.1f", x)
		if (a >= 1 || a == 0) return sprintf("%.2f", x)
		return sprintf("%.3g", x)
	}
	{ line[NR] = $0 }
	$1 == "RESULT" {
		if (length($2) > w1) w1 = length($2)
		if (length($3) > w2) w2 = length($3)
		if (length($4) > w3) w3 = length($4)
	}
	END {
		fmt = "%-" w1 "s  %-" w2 "s  %-" w3 "s %10s %10s %8s\n"
		printf fmt, "measurement", "baseline", "unit", "baseline", "figure", "ratio"
		for (i = 1; i <= NR; i++) {
			split(line[i], f, "\t")
			if (f[1] == "SECTION") { s = f[2]; continue }
			if (s != "") { print "-- " s; s = "" }
			printf fmt, f[2], f[3], f[4], num(f[5]), num(f[6]),
				f[7] ~ /^-?[0-9.]+$/ ? sprintf("%.2f", f[7]) : f[7]
		}
	}' "$RESULTS"
	[ ${#FAILED[@]} = 0 ] || echo "FAILED: ${FAILED[*]}"
}
echo
mkdir -p "$B/bench"
summary | tee "$B/bench/summary.txt"
[ ${#FAILED[@]} = 0 ] || exit 1
