#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `tollgate replay` against tshark. Every capture of the shared corpus (../shared/corpus/pcap
# beside the repository) and every capture tests/lib/mkcaps.py makes (VLANs, QinQ, IPv4
# options, IPv6 extension headers, fragments in and out of order, ICMP errors, ARP,
# truncated and malformed frames) runs through the real BPF meter (`tollgate replay FILE
# --json`) and, independently, through tshark's dissectors (tests/lib/flow_oracle.py);
# tests/lib/compare_replay.py compares the two flow by flow, checks the unparsed reasons
# and that every frame is accounted for exactly once.
#
# The oracle is checked first, on its own: against tshark's conversation tables, against
# what mkcaps.py meant each frame to be, and the comparison against damaged replays.
# Last, a capture with more flows than a small flow table holds: flows are evicted, the
# ones listed stay exact, and the tenant's totals (billing never reads the table) too.
#
# The corpus: $TG_CORPUS, else ../shared/corpus/pcap from the repository root (from a git
# worktree, from the main checkout's root). tshark, capinfos and python3 with scapy are
# required: without them the suite fails, it does not skip. About 30 s on 2 CPUs: the
# oracles run in the background while tollgate replays the captures.
[ -n "${TG:-}" ] || TG=$(cd "$(dirname "$0")/../.." && pwd)/${OUT:-build}/tollgate
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
LIB=$TG_ROOT/tests/lib
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree

for tool in tshark capinfos timeout; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
PY=
for p in ${PYTHON:-} /usr/bin/python3 python3; do
	if "$p" -c 'import scapy.all' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || bail "no python3 with scapy (make deps installs python3-scapy)"

CORPUS=${TG_CORPUS:-}
if [ -z "$CORPUS" ]; then
	CORPUS=$TG_ROOT/../shared/corpus/pcap
	if [ ! -d "$CORPUS" ]; then # a worktree: beside the main checkout
		common=$(git -C "$TG_ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
		[ -n "$common" ] && CORPUS=$(dirname "$common")/../shared/corpus/pcap
	fi
fi
[ -d "$CORPUS" ] || bail "no capture corpus at $CORPUS (set TG_CORPUS)"

T=$(mktemp -d /tmp/tollgate-replay.XXXXXX)
cleanup() {
	local pid
	for pid in $(jobs -p); do kill "$pid" 2>/dev/null; done
	wait
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/caps" "$T/flows" "$T/oracle" "$T/replay" "$T/tap"
FLOWS=$T/flows/flows.pcap

# job NAME COMMAND...: runs a Python check in the background, its TAP into $T/tap/NAME.
declare -A JOB
job() {
	local name=$1
	shift
	"$@" >"$T/tap/$name" 2>"$T/tap/$name.err" &
	JOB[$name]=$!
}

# relay NAME DESC: waits for job NAME and adds its TAP lines to this suite's, numbered
# on from ours (its own plan dropped). A non-zero exit without a failing line, or no
# line at all, is one failure; its stderr becomes diagnostics.
relay() {
	local name=$1 desc=$2 line n=0 failed=0 rc
	wait "${JOB[$name]}"
	rc=$?
	while IFS= read -r line; do
		if [[ $line =~ ^ok\ [0-9]+\ -\ (.*)$ ]]; then
			ok 0 "${BASH_REMATCH[1]}"
			n=$((n + 1))
		elif [[ $line =~ ^not\ ok\ [0-9]+\ -\ (.*)$ ]]; then
			ok 1 "${BASH_REMATCH[1]}"
			n=$((n + 1))
			failed=1
		elif ! [[ $line =~ ^1\.\.[0-9]+$ ]]; then
			echo "$line"
		fi
	done <"$T/tap/$name"
	while IFS= read -r line; do diag "$line"; done < <(tail -20 "$T/tap/$name.err")
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		ok 1 "$desc (exit $rc)"
	elif [ "$n" -eq 0 ]; then
		ok 1 "$desc (no check printed)"
	fi
}

# --- the captures -------------------------------------------------------------------------
corpus=("$CORPUS"/*.pcap "$CORPUS"/*.pcapng)
[ -e "${corpus[0]}" ] || bail "no capture in $CORPUS"
# The corpus's oracle takes longest: it starts first, and runs while the rest is made.
# One tshark pass per capture writes its oracle, then tshark's tables check it.
job corpus "$PY" "$LIB/flow_oracle.py" --outdir "$T/oracle" --crosscheck "${corpus[@]}"

quiet() { "$@" >/dev/null; }
check "mkcaps.py writes the self-made captures" -- quiet "$PY" "$LIB/mkcaps.py" "$T/caps"
check "mkcaps.py --flows writes 3000 distinct flows" -- \
	"$PY" "$LIB/mkcaps.py" --flows 3000 "$FLOWS"
own=("$T"/caps/*.pcap "$T"/caps/*.pcapng)
# (tshark reads each of them for its oracle, which fails on a file it cannot read)
check "capinfos reads every self-made capture" -- quiet capinfos -c "${own[@]}" "$FLOWS"
job own "$PY" "$LIB/flow_oracle.py" --outdir "$T/oracle" --crosscheck \
	--manifest "$T/caps/MANIFEST.json" "${own[@]}"
job flows "$PY" "$LIB/flow_oracle.py" --outdir "$T/oracle" --crosscheck "$FLOWS"

# --- tollgate replay, while the oracles run -----------------------------------------------
replay_ready() {
	local out
	[ -x "$TG" ] || { diag "$TG is not built"; return 1; }
	out=$(timeout 10 "$TG" replay </dev/null 2>&1)
	if grep -q "unknown command" <<<"$out"; then
		diag "$TG: $(head -1 <<<"$out")"
		return 1
	fi
}
replay_ready
ok $? "tollgate has a replay command" && REPLAY=1 || REPLAY=
if [ -n "$REPLAY" ]; then
	for c in "${corpus[@]}" "${own[@]}" "$FLOWS"; do
		r=$T/replay/$(basename "$c").json
		timeout 120 "$TG" replay "$c" --json >"$r" 2>"$r.err"
		echo $? >"$r.rc"
	done
	# A flow table smaller than the capture's flows: entries are evicted (LRU).
	cat >"$T/evict.yaml" <<-YAML
	tenants:
	  - name: acme
	    cidrs: [10.7.0.0/16, "fd00:7::/32"]
	flows: {capacity: 1024}
	YAML
	r=$T/replay/evict.json
	timeout 120 "$TG" replay "$FLOWS" -c "$T/evict.yaml" --json >"$r" 2>"$r.err"
	echo $? >"$r.rc"
fi

# --- the oracle, on its own ---------------------------------------------------------------
relay corpus "oracle of the corpus"
relay own "oracle of the self-made captures"
relay flows "oracle of flows.pcap"
check "flows.pcap: the oracle finds 3000 flows and nothing unparsed" -- "$PY" -c '
import json, sys
o = json.load(open(sys.argv[1]))
sys.exit(len(o["flows"]) != 3000 or o["unparsed"]["packets"] != 0)' "$T/oracle/flows.pcap.oracle.json"
for n in ipv4_frag_orphan.pcap truncated.pcap icmp.pcap; do
	job "selftest-$n" "$PY" "$LIB/compare_replay.py" --selftest "$T/oracle/$n.oracle.json"
	relay "selftest-$n" "compare_replay.py self-test on $n"
done

# --- tollgate replay against the oracle ---------------------------------------------------
if [ -n "$REPLAY" ]; then
	for c in "${corpus[@]}" "${own[@]}" "$FLOWS"; do
		n=$(basename "$c")
		o=$T/oracle/$n.oracle.json
		r=$T/replay/$n.json
		if [ ! -s "$o" ]; then
			ok 1 "$n: no oracle to compare with (see above)"
		elif [ "$(cat "$r.rc")" -ne 0 ]; then
			diag "$(head -5 "$r.err")"
			ok 1 "$n: tollgate replay --json exits 0 (exit $(cat "$r.rc"))"
		else
			job "cmp-$n" "$PY" "$LIB/compare_replay.py" --times --name "$n" "$r" "$o"
			relay "cmp-$n" "$n: compare_replay.py"
		fi
	done

	# What is listed stays exact, and so do the tenant's totals: billing never reads
	# the flow table.
	r=$T/replay/evict.json
	if [ "$(cat "$r.rc")" -eq 0 ]; then
		job evict "$PY" "$LIB/compare_replay.py" --name "flows.pcap, capacity 1024" \
			--allow-evictions --tenant "acme=10.7.0.0/16,fd00:7::/32" \
			"$r" "$T/oracle/flows.pcap.oracle.json"
		relay evict "flow table eviction: compare_replay.py"
		check "flow table eviction: entries were evicted, no more live than the capacity" -- \
			"$PY" -c '
import json, sys
t = json.load(open(sys.argv[1]))["flow_table"]
print("# %s" % json.dumps(t, sort_keys=True))
sys.exit(not (t["evictions"] > 0 and t["live"] <= t["capacity"] == 1024))' "$r"
	else
		diag "$(head -5 "$r.err")"
		ok 1 "flow table eviction: tollgate replay -c CONFIG --json exits 0"
	fi
fi

tap_done
