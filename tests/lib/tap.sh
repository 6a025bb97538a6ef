# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# TAP checks for shell tests, summed by tests/run.sh.
TAP_N=0
TAP_FAILED=0

# ok COND_RC DESCRIPTION: record a check from a status (0 = pass).
ok() {
	local rc=$1
	shift
	TAP_N=$((TAP_N + 1))
	if [ "$rc" -eq 0 ]; then
		echo "ok $TAP_N - $*"
	else
		echo "not ok $TAP_N - $*"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
	return "$rc"
}

# check DESCRIPTION -- COMMAND...: run a command, pass when it succeeds.
check() {
	local desc=$1
	shift
	[ "$1" = "--" ] && shift
	"$@"
	ok $? "$desc"
}

# equal DESCRIPTION GOT WANT
equal() {
	if [ "$2" = "$3" ]; then
		ok 0 "$1 ($2)"
	else
		echo "# got:  $2"
		echo "# want: $3"
		ok 1 "$1"
	fi
}

diag() {
	echo "# $*"
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# A test that cannot run fails loudly with the reason; it never skips silently.
bail() {
	TAP_N=$((TAP_N + 1))
	echo "not ok $TAP_N - cannot run: $*"
	echo "1..$TAP_N"
	exit 1
}
