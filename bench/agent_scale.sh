#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The agent at scale: its memory and CPU with 10,000 tenants and 1,000,000 flows. Three
# agents run side by side on the same machine over the same window: "base" (1 tenant, an
# empty flow table), "tenants" (SCALE_TENANTS tenants, an empty flow table) and "scale"
# (SCALE_TENANTS tenants, FLOWS flows). Method and readings: docs/BENCHMARKS.md, "The agent at
# scale".
#
# Each agent runs in a network namespace of its own (with its own bpffs), with an uplink
# veth (up0, XDP) and CIDR tenants (one /32 each), billing every 60 s and
# flows.idle_timeout FLOW_PERIOD, so that it runs a flow cycle (reads the whole flow
# table, drops idle entries, exports) every FLOW_PERIOD seconds. Once they run, scale's
# pinned flow table is filled with FLOWS distinct flows of its tenants through the map
# (bench/flow_harvest --fill), stamped as seen an hour ahead so that none goes idle while
# measured; that tool then times one bare batch read of the whole table, as the agent
# reads it (the kernel's share of a flow cycle, wall and CPU time). After one flow
# period, the three agents' CPU is sampled over WINDOW seconds (bench/cpu_sample.py):
#
#   - CPU: utime + stime (/proc/PID/stat) over the window, in % of one CPU
#   - CPU per flow cycle: scale's CPU time over the window less tenants', over the
#     WINDOW / FLOW_PERIOD cycles in it (the window is a whole number of periods; both
#     bill 10k tenants at the same minute boundaries)
#   - wall time per flow cycle: scale's bursts of work (cpu_sample.py), the median of
#     those with at least half the largest one's CPU time
#   - RSS: VmRSS and VmHWM (peak) from /proc/PID/status, after the window
#   - map memory: the kernel's memlock of every BPF map the agent holds (map ids from
#     /proc/PID/fdinfo; bytes_memlock as `bpftool map show` reports it)
#   - start-up: from `tollgate run` to `tollgate status` answering healthy
#
# Checks that fail the run: an agent that does not start or dies; a fill that does not
# leave exactly FLOWS entries; a flow table that lost entries during the window (status:
# flows live). Timing decides nothing.
#
# Environment: SCALE_TENANTS (10000), FLOWS (1000000), WINDOW (20 s), FLOW_PERIOD (10 s;
# WINDOW must be a multiple of it).
set -u
. "$(dirname "$0")/../tests/lib/topo.sh"
[ "$(id -u)" = 0 ] || { echo "agent_scale: run as root" >&2; exit 1; }
[ -n "${TG_SCALE_SANDBOX:-}" ] || { unset TG_SANDBOX; export TG_SCALE_SANDBOX=1; }
tg_sandbox "$0" "$@" || { echo "agent_scale: cannot enter a private namespace" >&2; exit 1; }

B=$TG_ROOT/build
FILL=$B/bench/flow_harvest
SAMPLE=$TG_ROOT/bench/cpu_sample.py
SCALE_TENANTS=${SCALE_TENANTS:-10000}
FLOWS=${FLOWS:-1000000}
WINDOW=${WINDOW:-20}
FLOW_PERIOD=${FLOW_PERIOD:-10}

die() {
	echo "agent_scale: $*" >&2
	exit 1
}

for v in SCALE_TENANTS FLOWS WINDOW FLOW_PERIOD; do
	case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive integer: ${!v}" ;; esac
done
[ $((WINDOW % FLOW_PERIOD)) = 0 ] || die "WINDOW must be a multiple of FLOW_PERIOD"
[ "$SCALE_TENANTS" -le 16000 ] || die "SCALE_TENANTS: at most 16000 (TG_MAX_TENANTS is 16384)"
[ "$FLOWS" -le 1048576 ] || die "FLOWS: at most the flow table's default capacity, 1048576"
for tool in ip nsenter bpftool python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || die "$TG is not built (make)"
[ -x "$FILL" ] || die "$FILL is not built (make $FILL)"

T=$(mktemp -d /tmp/tollgate-scale.XXXXXX)
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

# config NAME N: N tenants, one /32 each (10.100.0.1 on)
config() {
	{
		echo "node: {name: bench}"
		echo "tenants:"
		awk -v n="$2" 'BEGIN { for (i = 1; i <= n; i++)
			printf "  - {name: t%d, cidrs: [10.%d.%d.%d/32]}\n", i, 100 + int(i / 65536),
				int(i / 256) % 256, i % 256 }'
		echo "uplink: {interfaces: [up0]}"
		echo "flows: {idle_timeout: ${FLOW_PERIOD}s}"
		echo "billing: {interval: 60s, store: \"sqlite:$T/$1.db\"}"
		echo "outputs: {events: \"$T/$1.events.json\", audit: \"$T/$1.audit.log\"}"
		echo "agent: {run_dir: /run/tg-$1}"
	} >"$T/$1.yaml"
}

in_agent() { # in_agent NAME CMD...: in the agent's namespaces (its bpffs)
	local c=$1
	shift
	nsenter -t "${AGENT[$c]}" -m -n "$@"
}

AGENTS=(base tenants scale)
echo "starting three agents, one after the other: 1 tenant, $SCALE_TENANTS tenants, $SCALE_TENANTS" \
	"tenants and $FLOWS flows"
declare -A UP=()
for c in "${AGENTS[@]}"; do
	ip netns add "h-$c" && _quiet_ns "h-$c" && ip netns add "u-$c" && _quiet_ns "u-$c" &&
		ip -n "h-$c" link add up0 type veth peer name eth0 netns "u-$c" &&
		ip -n "h-$c" addr add 192.0.2.1/24 dev up0 && ip -n "h-$c" link set up0 up &&
		ip -n "u-$c" link set eth0 up || die "$c: cannot build its namespaces"
	if [ $c = base ]; then config $c 1; else config $c "$SCALE_TENANTS"; fi
	t0=$(date +%s.%N)
	ip netns exec "h-$c" "$TG" run -c "$T/$c.yaml" >"$T/$c.log" 2>&1 &
	AGENT[$c]=$!
	t=1800
	until in_agent $c "$TG" status -c "$T/$c.yaml" >/dev/null 2>&1; do
		if ! kill -0 "${AGENT[$c]}" 2>/dev/null || [ "$t" -le 0 ]; then
			tail -5 "$T/$c.log" >&2
			die "$c: the agent did not start"
		fi
		sleep 0.1
		t=$((t - 1))
	done
	UP[$c]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
done
echo "started in ${UP[base]} s, ${UP[tenants]} s and ${UP[scale]} s; filling scale's flow" \
	"table with $FLOWS flows"
out=$(in_agent scale "$FILL" --fill /sys/fs/bpf/tollgate "$FLOWS" "$SCALE_TENANTS") ||
	die "cannot fill the agent's flow table"
READ_S=$(echo "$out" | sed -n 's/^entries=[0-9]* read_s=\([0-9.]*\) .*/\1/p')
READ_CPU=$(echo "$out" | sed -n 's/.* read_cpu_s=\([0-9.]*\)$/\1/p')
[ "$(echo "$out" | sed -n 's/^entries=\([0-9]*\) .*/\1/p')" = "$FLOWS" ] ||
	die "the flow table does not hold the $FLOWS flows written: $out"
sleep "$FLOW_PERIOD"
echo "sampling the agents' CPU for $WINDOW s (a flow cycle every $FLOW_PERIOD s)"
python3 "$SAMPLE" "$WINDOW" "${AGENT[base]}" "${AGENT[tenants]}" "${AGENT[scale]}" >"$T/cpu" ||
	die "cannot sample the agents' CPU"

declare -A RSS=() HWM=() MAPS=() FLOWMAP=() CPU=() LIST=()
for c in "${AGENTS[@]}"; do
	pid=${AGENT[$c]}
	kill -0 "$pid" 2>/dev/null || die "$c: the agent died"
	RSS[$c]=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
	HWM[$c]=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
	ids=$(grep -h '^map_id:' /proc/"$pid"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -un)
	[ -n "$ids" ] || die "$c: no BPF map among the agent's file descriptors"
	set -- $(bpftool -j map show | python3 -c 'import json, sys
ids = set(int(i) for i in sys.argv[1:])
maps = [m for m in json.load(sys.stdin) if m["id"] in ids]
if len(maps) != len(ids):
    sys.exit("bpftool lists %d of the agent'"'"'s %d maps" % (len(maps), len(ids)))
flows = sum(m["bytes_memlock"] for m in maps if m.get("name") == "tg_flows")
print("%.1f %.1f" % (sum(m["bytes_memlock"] for m in maps) / 2**20, flows / 2**20))' $ids) ||
		die "$c: cannot read the maps' memory"
	MAPS[$c]=$1 FLOWMAP[$c]=$2
	line=$(grep "^pid=$pid " "$T/cpu")
	CPU[$c]=$(echo "$line" | tr ' ' '\n' | sed -n "s/^cpu_pct=//p")
	LIST[$c]=$(echo "$line" | tr ' ' '\n' | sed -n "s/^list=//p")
done
# CPU per flow cycle: scale's CPU over the window less tenants', per cycle
CYCLE_CPU=$(awk -v a="${CPU[scale]}" -v b="${CPU[tenants]}" -v w="$WINDOW" -v p="$FLOW_PERIOD" \
	'BEGIN { printf "%.3f", (a - b) / 100 * w / (w / p) }')
# wall time per flow cycle: the median of scale's bursts with at least half the largest's CPU
CYCLE_WALL=$(echo "${LIST[scale]}" | tr ',' '\n' | awk -F: '$2 != "" { c[NR] = $2; w[NR] = $3
	if ($2 > max) max = $2 } END { for (i in c) if (c[i] >= max / 2) print w[i] }' | sort -g |
	awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }')
set -- $(in_agent scale "$TG" status -c "$T/scale.yaml" --json | python3 -c 'import json, sys
f = json.load(sys.stdin)["flows"]
print(f["live"], f["removed"], f["evictions"])')
[ "${1:-}" = "$FLOWS" ] ||
	die "the flow table holds ${1:-?} flows after the window, not $FLOWS (removed ${2:-?}, evicted ${3:-?})"

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'
}
echo
printf '%-40s %10s %10s %12s %8s\n' "agent" "1 tenant" "$SCALE_TENANTS" "$SCALE_TENANTS+flows" "ratio"
row() { printf '%-40s %10s %10s %12s %8s\n' "$1" "$2" "$3" "$4" "${5-$(ratio "$4" "$2")}"; }
row "tenants" 1 "$SCALE_TENANTS" "$SCALE_TENANTS" ""
row "flows in the table" 0 0 "$FLOWS" ""
row "start-up, s (run to status healthy)" "${UP[base]}" "${UP[tenants]}" "${UP[scale]}"
row "VmRSS, MiB" "${RSS[base]}" "${RSS[tenants]}" "${RSS[scale]}"
row "VmHWM (peak RSS), MiB" "${HWM[base]}" "${HWM[tenants]}" "${HWM[scale]}"
row "BPF map memory (memlock), MiB" "${MAPS[base]}" "${MAPS[tenants]}" "${MAPS[scale]}"
row "  of which the flow table, MiB" "${FLOWMAP[base]}" "${FLOWMAP[tenants]}" "${FLOWMAP[scale]}"
row "CPU over $WINDOW s, % of one CPU" "${CPU[base]}" "${CPU[tenants]}" "${CPU[scale]}"
echo "(ratio: the last column over the first)"
echo "flow cycle over $FLOWS flows: $CYCLE_CPU s of CPU (scale less tenants, per cycle)," \
	"$CYCLE_WALL s of wall time (median burst); a bare batch read of the table:" \
	"$READ_CPU s of CPU, $READ_S s of wall time"
echo "bursts of work (start s:CPU s:wall s): tenants ${LIST[tenants]}; scale ${LIST[scale]}" \
	"($(($(date +%s) - START)) s in all)"
G="agent, $SCALE_TENANTS tenants, $FLOWS flows"
B1="the agent, 1 tenant, no flow"
for r in "VmRSS|MiB|${RSS[base]}|${RSS[scale]}" "VmHWM|MiB|${HWM[base]}|${HWM[scale]}" \
	"BPF map memory|MiB|${MAPS[base]}|${MAPS[scale]}" \
	"CPU over ${WINDOW} s|% CPU|${CPU[base]}|${CPU[scale]}" \
	"start-up|s|${UP[base]}|${UP[scale]}"; do
	IFS='|' read -r what unit b v <<<"$r"
	printf 'RESULT\t%s: %s\t%s\t%s\t%s\t%s\t%s\n' "$G" "$what" "$B1" "$unit" "$b" "$v" \
		"$(ratio "$v" "$b")"
done
printf 'RESULT\tagent, %s tenants, no flow: CPU over %s s\t%s\t%% CPU\t%s\t%s\t%s\n' \
	"$SCALE_TENANTS" "$WINDOW" "$B1" "${CPU[base]}" "${CPU[tenants]}" "$(ratio "${CPU[tenants]}" "${CPU[base]}")"
printf 'RESULT\t%s: CPU per flow cycle\ta bare batch read of the table (CPU)\ts\t%s\t%s\t%s\n' \
	"$G" "$READ_CPU" "$CYCLE_CPU" "$(ratio "$CYCLE_CPU" "$READ_CPU")"
printf 'RESULT\t%s: flow cycle duration\ta bare batch read of the table (wall)\ts\t%s\t%s\t%s\n' \
	"$G" "$READ_S" "$CYCLE_WALL" "$(ratio "$CYCLE_WALL" "$READ_S")"
