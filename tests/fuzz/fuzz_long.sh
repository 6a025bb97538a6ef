#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make fuzz` (docs/fuzzing.md): every harness for FUZZ_SECONDS (default 600), one after
# the other (FUZZ_TARGETS="config api" picks some). Each run grows its working corpus
# $OUT/fuzz/corpus/NAME from the seeds in tests/fuzz/corpus/NAME; at the end the inputs
# that add coverage beyond the seeds are merged into $OUT/fuzz/merged/NAME (copy them
# into tests/fuzz/corpus/NAME to keep them). Crashes, leaks and timeouts are kept in
# $OUT/fuzz/artifacts/NAME/ and listed; the exit status is 1 when any harness failed.
set -u
cd "$(dirname "$0")/../.."

B=${OUT:-build}
SECS=${FUZZ_SECONDS:-600}
TARGETS=${FUZZ_TARGETS:-$(for s in tests/fuzz/fuzz_*.c; do s=${s##*/fuzz_}; echo "${s%.c}"; done)}
failed=0

for name in $TARGETS; do
	bin=$B/fuzz/fuzz_$name
	seeds=tests/fuzz/corpus/$name
	work=$B/fuzz/corpus/$name
	art=$(pwd)/$B/fuzz/artifacts/$name
	merged=$B/fuzz/merged/$name
	log=$B/fuzz/$name.log
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin is not built (make fuzz-build)" >&2
		failed=1
		continue
	fi
	mkdir -p "$work" "$art"
	opts=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$art/" -print_final_stats=1)
	[ -f "tests/fuzz/$name.dict" ] && opts+=(-dict="tests/fuzz/$name.dict")
	echo "== fuzz/$name: $SECS s (log: $log)"
	before=$(find "$art" -type f | wc -l)
	"$bin" "${opts[@]}" -max_total_time="$SECS" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)/\1/p' "$log" | tail -1)
	echo "   ${runs:-0} runs, exit $rc, working corpus: $(find "$work" -type f | wc -l) inputs"
	if [ "$rc" -ne 0 ] || [ "$(find "$art" -type f | wc -l)" -ne "$before" ]; then
		failed=1
		grep -E '^fuzz: |SUMMARY: ' "$log" | head -5 | sed 's/^/   /'
		sed -n 's/.*Test unit written to \(.*\)$/   crash input: \1/p' "$log"
	fi
	# The inputs that add coverage beyond the seeds: merged into a copy of the seeds,
	# whatever the merge added is new.
	rm -rf "$merged" "$merged.base"
	mkdir -p "$merged" "$merged.base"
	cp "$seeds"/* "$merged.base"/
	"$bin" -merge=1 -timeout=10 -rss_limit_mb=2048 "$merged.base" "$work" >"$log.merge" 2>&1 ||
		echo "   the merge failed (see $log.merge)"
	for f in "$merged.base"/*; do
		[ -e "$seeds/${f##*/}" ] || mv "$f" "$merged/"
	done
	rm -rf "$merged.base"
	echo "   new inputs beyond the seeds: $(find "$merged" -type f | wc -l) in $merged"
done
if [ "$failed" -ne 0 ]; then
	echo "fuzz: FAILED; the inputs are under $B/fuzz/artifacts/" >&2
	exit 1
fi
echo "fuzz: no crash, leak or timeout"
