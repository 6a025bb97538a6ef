#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Runtime security against bpftrace: what one openat(2) costs with nothing attached, with
# the agent's runtime security on (`runtime:` with its defaults: the monitors, the
# inventory, no rule), and with bpftrace one-liners on the same tracepoint that count the
# opens of the tenant's cgroup (by comm, and by path, which reads the path as the agent
# does). Method and readings: docs/BENCHMARKS.md, "System calls".
#
# bench/sys_loop times a tight loop of opens of a path that does not exist (in its own
# CPU time, so that other tasks taking the CPU do not count), from a cgroup of a tenant
# (acme's) and from a cgroup of no tenant beside it (every other process of the host pays
# that one). A round takes the four cases in an order shuffled anew each
# round; each case starts its tracer, runs both loops, and stops it. The ratio is the
# median over rounds of each round's ratio to nothing attached.
#
# Checks that fail the run (timing decides nothing): the agent must report its openat
# tracepoint attached and must see acme's opens (an inventory event for acme after the
# loops); each bpftrace must have counted exactly the opens the loop made in acme's cgroup
# and none of the other cgroup's.
#
# Environment: SYS_ROUNDS (5), SYS_CALLS (50000 per sample), SYS_SAMPLES (3 per loop,
# median), SEED (1).
set -u
. "$(dirname "$0")/../tests/lib/topo.sh"
[ "$(id -u)" = 0 ] || { echo "syscalls: run as root" >&2; exit 1; }
[ -n "${TG_SYS_SANDBOX:-}" ] || { unset TG_SANDBOX; export TG_SYS_SANDBOX=1; }
tg_sandbox "$0" "$@" || { echo "syscalls: cannot enter a private namespace" >&2; exit 1; }

B=$TG_ROOT/build
LOOP=$B/bench/sys_loop
SYS_ROUNDS=${SYS_ROUNDS:-5}
SYS_CALLS=${SYS_CALLS:-50000}
SYS_SAMPLES=${SYS_SAMPLES:-3}
SEED=${SEED:-1}
OPEN_PATH=/etc/tollgate-bench/none # sys_loop's

die() {
	echo "syscalls: $*" >&2
	exit 1
}

for v in SYS_ROUNDS SYS_CALLS SYS_SAMPLES SEED; do
	case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive integer: ${!v}" ;; esac
done
for tool in bpftrace python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || die "$TG is not built (make)"
[ -x "$LOOP" ] || die "$LOOP is not built (make $LOOP)"
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CGROOT" ] || die "no cgroup2 mount in /proc/self/mounts"
# bpftrace needs tracefs (the sandbox starts without it); the agent leaves it mounted,
# as it did not mount it itself
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing ||
	die "cannot mount tracefs"

T=$(mktemp -d /tmp/tollgate-sys.XXXXXX)
TOP=tollgate-bench-sys-$$
CG=$CGROOT/$TOP
AGENT=
BT=
cleanup() {
	local pid d
	[ -z "$AGENT" ] || "$TG" stop -c "$T/tollgate.yaml" --purge >/dev/null 2>&1
	for pid in $BT $AGENT; do
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for d in "$CG/acme" "$CG/other" "$CG"; do
		[ -d "$d" ] || continue
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		sleep 0.1
		rmdir "$d" 2>/dev/null || echo "syscalls: cannot remove $d" >&2
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
START=$(date +%s)
mkdir -p "$CG/acme" "$CG/other" || die "cannot create cgroups under $CGROOT"

cat >"$T/tollgate.yaml" <<YAML
node: {name: bench}
tenants: [{name: acme, cgroups: [/$TOP/acme]}]
billing: {interval: 60s, store: "sqlite:$T/tollgate.db"}
outputs: {events: "$T/events.json", audit: "$T/audit.log"}
runtime: {inventory_path: "$T/inventory.db"}
YAML
CASES=(none tollgate bt-comm bt-path)
label() {
	case $1 in
	none) echo "nothing attached (baseline)" ;;
	tollgate) echo "tollgate runtime security (defaults)" ;;
	bt-comm) echo "bpftrace, cgroup filter, @[comm] = count()" ;;
	bt-path) echo "bpftrace, cgroup filter, @[str(path)] = count()" ;;
	esac
}
bt_prog() {
	local key=comm
	[ "$1" = bt-path ] && key='str(args->filename)'
	echo "tracepoint:syscalls:sys_enter_openat /cgroup == cgroupid(\"$CG/acme\")/ { @[$key] = count(); }"
}

STARTS=0
attach() {
	case $1 in
	tollgate)
		STARTS=$((STARTS + 1))
		"$TG" run -c "$T/tollgate.yaml" >"$T/agent.$STARTS.log" 2>&1 &
		AGENT=$!
		wait_for 60 "$TG" status -c "$T/tollgate.yaml" ||
			die "the agent did not start: $(tail -3 "$T/agent.$STARTS.log")"
		grep -q "tg_rt_openat: attached" "$T/agent.$STARTS.log" ||
			die "the agent did not attach its openat tracepoint"
		;;
	bt-*)
		bpftrace -e "$(bt_prog "$1")" >"$T/bt.out" 2>"$T/bt.err" &
		BT=$!
		wait_for 30 grep -q "Attaching" "$T/bt.out" || die "bpftrace did not start: $(cat "$T/bt.err")"
		sleep 1 # "Attaching" comes before the probe is
		;;
	esac
}

# detach CASE ACME_CALLS: stops the tracer and checks that it saw acme's opens
detach() {
	local got want=$2
	case $1 in
	tollgate)
		# one library open from acme's cgroup must reach the inventory: the agent's open
		# program saw the tenant's task
		sh -c 'echo $$ >"$1" && exec cat /dev/null' sh "$CG/acme/cgroup.procs"
		wait_for 10 grep -q '"type": "open", "tenant": "acme"' "$T/events.json" ||
			die "the agent reported no open of acme's (inventory) after the loops"
		"$TG" stop -c "$T/tollgate.yaml" --purge >/dev/null 2>&1 || die "tollgate stop failed"
		wait "$AGENT"
		AGENT=
		: >"$T/events.json"
		;;
	bt-*)
		kill -INT "$BT"
		wait "$BT"
		BT=
		if [ "$1" = bt-comm ]; then
			got=$(awk '$1 == "@[sys_loop]:" { print $2 }' "$T/bt.out")
		else
			got=$(awk -v k="@[$OPEN_PATH]:" '$1 == k { print $2 }' "$T/bt.out")
		fi
		[ "${got:-0}" = "$want" ] ||
			die "$1 counted ${got:-0} opens of sys_loop in acme's cgroup; it made $want" \
				"there (and others elsewhere): $(head -5 "$T/bt.out")"
		;;
	esac
}

order() {
	printf '%s\n' "${CASES[@]}" |
		awk -v s=$((SEED * 1000 + $1)) 'BEGIN { srand(s) } { print rand(), $0 }' |
		sort -k1,1g | cut -d' ' -f2
}

echo "openat(2) of a missing path, ns per call: $SYS_ROUNDS rounds of the ${#CASES[@]} cases" \
	"in a shuffled order, each $SYS_SAMPLES samples of $SYS_CALLS calls (median) from a" \
	"tenant's cgroup and from another"
for r in $(seq "$SYS_ROUNDS"); do
	line="round $r:"
	for c in $(order "$r"); do
		attach "$c"
		set -- $("$LOOP" "$CG/acme/cgroup.procs" "$SYS_CALLS" "$SYS_SAMPLES" |
			sed -n 's/^ns_per_call=\([0-9.]*\) calls=\([0-9]*\)$/\1 \2/p')
		[ $# = 2 ] || die "sys_loop failed in acme's cgroup"
		tenant=$1 calls=$2
		set -- $("$LOOP" "$CG/other/cgroup.procs" "$SYS_CALLS" "$SYS_SAMPLES" |
			sed -n 's/^ns_per_call=\([0-9.]*\) calls=\([0-9]*\)$/\1 \2/p')
		[ $# = 2 ] || die "sys_loop failed in the other cgroup"
		detach "$c" "$calls"
		echo "$r $c $tenant $1" >>"$T/samples"
		line="$line $c $tenant/$1"
	done
	echo "$line ns (tenant/other)"
done

awk -v cases="${CASES[*]}" '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
		t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ t[$2, $1] = $3; o[$2, $1] = $4; if ($1 > rounds) rounds = $1 }
END {
	n = split(cases, cs, " ")
	for (k = 1; k <= n; k++) {
		c = cs[k]; delete a; delete b; delete d; delete e
		for (r = 1; r <= rounds; r++) {
			a[r] = t[c, r]; b[r] = t[c, r] / t["none", r]
			d[r] = o[c, r]; e[r] = o[c, r] / o["none", r] }
		printf "%s %.1f %.3f %.1f %.3f\n", c, median(a, rounds), median(b, rounds),
			median(d, rounds), median(e, rounds)
	}
}' "$T/samples" >"$T/medians" || die "cannot read the samples"
get() { awk -v c="$1" -v i="$2" '$1 == c { print $i }' "$T/medians"; }
echo
printf '%-48s %10s %7s %10s %7s\n' "openat(2), ns per call" "tenant" "ratio" "no tenant" "ratio"
for c in "${CASES[@]}"; do
	printf '%-48s %10s %7s %10s %7s\n' "$(label "$c")" "$(get "$c" 2)" "$(get "$c" 3)" \
		"$(get "$c" 4)" "$(get "$c" 5)"
done
echo "(tenant: from acme's cgroup; no tenant: from a cgroup beside it; medians of" \
	"$SYS_ROUNDS rounds; ratio: median of each round's ratio to nothing attached;" \
	"$(($(date +%s) - START)) s in all)"
short() {
	case $1 in
	tollgate) echo "tollgate runtime security" ;;
	bt-comm) echo "bpftrace @[comm] = count()" ;;
	bt-path) echo "bpftrace @[str(path)] = count()" ;;
	esac
}
for c in "${CASES[@]}"; do
	[ "$c" = none ] && continue
	printf 'RESULT\topenat, tenant task: %s\tnothing attached\tns/call\t%s\t%s\t%s\n' \
		"$(short "$c")" "$(get none 2)" "$(get "$c" 2)" "$(get "$c" 3)"
	printf 'RESULT\topenat, other task: %s\tnothing attached\tns/call\t%s\t%s\t%s\n' \
		"$(short "$c")" "$(get none 4)" "$(get "$c" 4)" "$(get "$c" 5)"
done
