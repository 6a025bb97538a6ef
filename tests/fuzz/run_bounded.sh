#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# One libFuzzer harness, bounded, as a suite of `make test` (docs/fuzzing.md):
#
#   tests/fuzz/run_bounded.sh NAME      (NAME: config, capture, api or rules)
#
# First every input of the seed corpus tests/fuzz/corpus/NAME runs once, then the harness
# fuzzes from that corpus for FUZZ_BOUNDED_SECONDS (default 25). Any crash, sanitizer
# report, broken property, leak, timeout (an input running over 10 s) or memory blow-up
# (2 GiB) fails the suite, with the input that did it kept under
# $OUT/fuzz/artifacts/NAME/ and its path printed. Inputs the run finds are thrown away;
# `make fuzz` keeps them.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh

NAME=${1:-}
[ -n "$NAME" ] || bail "usage: $0 NAME"
B=${OUT:-build}
BIN=$B/fuzz/fuzz_$NAME
SEEDS=tests/fuzz/corpus/$NAME
SECS=${FUZZ_BOUNDED_SECONDS:-25}
ART=$(pwd)/$B/fuzz/artifacts/$NAME

[ -x "$BIN" ] || bail "$BIN is not built (make build-tests builds it)"
[ -d "$SEEDS" ] || bail "no seed corpus at $SEEDS"
n_seeds=$(find "$SEEDS" -type f | wc -l)
[ "$n_seeds" -gt 0 ] || bail "the seed corpus $SEEDS is empty"

T=$(mktemp -d "/tmp/tollgate-fuzz-$NAME.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$ART" "$T/new"

opts=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$ART/" -print_final_stats=1)
[ -f "tests/fuzz/$NAME.dict" ] && opts+=(-dict="tests/fuzz/$NAME.dict")

# What a failed run left: the reason, the sanitizer's summary, the input's path.
report() {
	local log=$1 unit
	grep -E '^fuzz: |ERROR: |SUMMARY: |runtime error|^==[0-9]+==' "$log" | head -20 |
		while IFS= read -r l; do diag "$l"; done
	unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	if [ -n "$unit" ]; then
		diag "the input: $unit (reproduce: $BIN $unit)"
	else
		diag "no input was written; the end of the log:"
		tail -15 "$log" | while IFS= read -r l; do diag "  $l"; done
	fi
}

# stat::number_of_executed_units from -print_final_stats
executed() {
	sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)/\1/p' "$1" | tail -1
}

"$BIN" "${opts[@]}" -runs=0 "$SEEDS" >"$T/seeds.log" 2>&1
rc=$?
runs=$(executed "$T/seeds.log")
[ "$rc" -eq 0 ] || report "$T/seeds.log"
ok "$rc" "$NAME: the $n_seeds seed inputs run once each (${runs:-0} runs, exit $rc)"

# A fixed seed (FUZZ_SEED, default 1): every run of `make test` walks the same sequence of
# mutations, as far as its time allows, so CI repeats what passed here. `make fuzz`
# explores with a new seed each time.
SEED=${FUZZ_SEED:-1}
"$BIN" "${opts[@]}" -seed="$SEED" -max_total_time="$SECS" "$T/new" "$SEEDS" >"$T/fuzz.log" 2>&1
rc=$?
runs=$(executed "$T/fuzz.log")
[ "$rc" -eq 0 ] || report "$T/fuzz.log"
ok "$rc" "$NAME: ${SECS} s of fuzzing from the seeds (seed $SEED): no crash, leak or timeout (${runs:-0} runs," \
	"$(find "$T/new" -type f | wc -l) new inputs, exit $rc)"
# A run that stopped at the seeds fuzzed nothing: that is no pass either.
[ "${runs:-0}" -gt "$n_seeds" ]
ok $? "$NAME: the fuzzer ran past the seeds (${runs:-0} runs for $n_seeds seeds)"

tap_done
