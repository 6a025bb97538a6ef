#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The command line with bad input: a clear message, a non-zero exit, nothing changed.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
[ -x "$TG" ] || bail "$TG is not built"

T=$(mktemp -d /tmp/tollgate-cli.XXXXXX)
trap 'pkill -9 -f "$T/" 2>/dev/null; rm -rf "$T"' EXIT

# expect_fail DESC RC PATTERN -- COMMAND...: exit status RC and PATTERN on stderr or stdout
expect_fail() {
	local desc=$1 want=$2 pat=$3 out rc
	shift 4
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out"; then
		ok 0 "$desc"
	else
		diag "exit $rc, output: $out"
		ok 1 "$desc"
	fi
}

cat >"$T/bad.yaml" <<'YAML'
tenants:
  - name: acme
    cidrs: [10.1.0.1/24]
    colour: blue
billing: {interval: 7m}
YAML
cat >"$T/good.yaml" <<YAML
tenants: [{name: acme, interfaces: [vt-acme-*]}]
billing: {interval: 1s, store: "sqlite:$T/good.db"}
YAML

expect_fail "no command: usage, exit 2" 2 "usage: tollgate COMMAND" -- "$TG"
expect_fail "unknown command, exit 2" 2 "unknown command 'frobnicate'" -- "$TG" frobnicate
expect_fail "unknown option, exit 2" 2 "usage: tollgate status" -- "$TG" status --bogus
expect_fail "check without -c, exit 2" 2 "usage: tollgate check -c FILE" -- "$TG" check
expect_fail "check of a missing file, exit 1" 1 "cannot read: No such file" -- \
	"$TG" check -c "$T/missing.yaml"
expect_fail "check reports every error as FILE:LINE:COL" 1 \
	"^$T/bad.yaml:3:13: host bits set in 10.1.0.1/24" -- "$TG" check -c "$T/bad.yaml"
out=$("$TG" check -c "$T/bad.yaml" 2>&1)
equal "check reports all three errors" "$(grep -c "^$T/bad.yaml:[0-9]*:[0-9]*: " <<<"$out")" 3
expect_fail "run with a bad file applies nothing, exit 1" 1 "$T/bad.yaml:4:5: unknown key" -- \
	"$TG" run -c "$T/bad.yaml"
check "run with a bad file created no pins" -- test ! -e /sys/fs/bpf/tollgate
check "run with a bad file mounted nothing" -- bash -c '! mountpoint -q /sys/fs/bpf'
expect_fail "status without an agent, exit 1" 1 "not running" -- "$TG" status -c "$T/good.yaml"
expect_fail "tenants without a datapath, exit 1" 1 "no datapath" -- "$TG" tenants -c "$T/good.yaml"
expect_fail "bill without a store, exit 1" 1 "no billing store" -- "$TG" bill -c "$T/good.yaml"
expect_fail "bill --from garbage, exit 2" 2 "bad --from 'yesterday'" -- \
	"$TG" bill -c "$T/good.yaml" --from yesterday
expect_fail "bill --format xml, exit 2" 2 "bad --format 'xml'" -- \
	"$TG" bill -c "$T/good.yaml" --format xml
expect_fail "tenants -i -1, exit 2" 2 "bad --interval" -- "$TG" tenants -i -1

"$TG" run -c "$T/good.yaml" >"$T/agent.log" 2>&1 &
agent=$!
check "agent starts" -- wait_for 10 "$TG" status -c "$T/good.yaml"
expect_fail "a second agent is refused" 1 "another agent is running" -- "$TG" run -c "$T/good.yaml"
check "the refused agent left the first one's pid file" -- \
	grep -qx "$agent" /run/tollgate/tollgate.pid
check "the first agent still runs" -- bash -c "$TG status -c $T/good.yaml >/dev/null"
kill -HUP "$agent"
sleep 0.3
check "SIGHUP does not stop the agent" -- bash -c "$TG status -c $T/good.yaml >/dev/null"
check "SIGHUP reloads the configuration (generation 1)" -- \
	wait_for 5 grep -q "tollgate: reload (sighup): generation 1," "$T/agent.log"
expect_fail "reload with an unknown option, exit 2" 2 "usage: tollgate reload" -- \
	"$TG" reload -c "$T/good.yaml" --bogus
expect_fail "reload with an extra argument, exit 2" 2 "usage: tollgate reload" -- \
	"$TG" reload -c "$T/good.yaml" extra
check "reload --json prints the agent's answer" -- bash -c \
	"$TG reload -c $T/good.yaml --json | grep -q '^{\"reloaded\": true, \"generation\": 2,'"
check "bill of an empty interval range prints an empty JSON array" -- \
	bash -c "sleep 1.2; $TG bill -c $T/good.yaml --format json --from 2000-01-01 --to 2000-01-02 | grep -qx '\[\]'"
check "stop --purge stops the agent" -- bash -c "$TG stop -c $T/good.yaml --purge |
	grep -q 'agent $agent stopped'"
tap_done
