#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Runs every suite and sums their TAP lines into the closing "N passed, N failed" line.
# A suite that exits non-zero without a failing check counts as one failure, and so does
# a suite that ran no check at all: nothing passes by saying nothing.
set -u
cd "$(dirname "$0")/.."
B=${OUT:-build}

if [ "$(id -u)" != 0 ]; then
	echo "tests: must run as root (BPF, tc, network namespaces); nothing was run" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

suite() {
	local name=$1 rc p f plan
	shift
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - suite $name exited $rc without a failing check"
		f=1
	fi
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | tail -1)
	if [ -n "$plan" ] && [ "$plan" -ne $((p + f)) ]; then
		echo "not ok - suite $name planned $plan checks but printed $((p + f))"
		f=$((f + 1))
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - suite $name ran no check"
		f=1
	fi
	echo "== $name: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
}

# Suites are found from their sources, so a test that failed to build fails here too.
for src in tests/unit/test_*.c tests/bpf/test_*.c; do
	t=$(basename "$src" .c)
	suite "$(basename "$(dirname "$src")")/$t" "$B/tests/$t"
done
for t in tests/e2e/*.sh; do
	suite "e2e/$(basename "$t" .sh)" "$t"
done
# The fuzzers, bounded (tests/fuzz/run_bounded.sh, docs/fuzzing.md).
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	suite "fuzz/${t#fuzz_}" tests/fuzz/run_bounded.sh "${t#fuzz_}"
done

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
