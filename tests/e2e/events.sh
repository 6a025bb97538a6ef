#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end, events: a running agent drains the kernel's events into the events file
# (the default path, on a /var/log private to this namespace); `tollgate events` reads
# it (table, --json, filters, --follow across rotation and truncation, SIGINT);
# `tollgate status` accounts for every event (produced = delivered + dropped + pending)
# and `tollgate tenants` shows drops by reason, quota and connections.
#
# The events come from the kernel's own event code (lib/enforce.h) run on the agent's
# pinned maps by build/tests/ev_inject, so the numbers sent are known: the oracles are
# the enforcements and sends the test asked for, the frame's length, the values it wrote,
# and python3's json module for the file. Also: events sent while no agent runs wait in
# the pinned ring (beyond its size they are counted as dropped) and the next agent
# writes them.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
B=$TG_ROOT/${OUT:-build}
INJ=$B/tests/ev_inject
[ -x "$TG" ] || bail "$TG is not built"
[ -x "$INJ" ] || bail "$INJ is not built (make build-tests)"

T=$(mktemp -d /tmp/tollgate-events.XXXXXX)
AGENT=
FOLLOW=
cleanup() {
	[ -n "$FOLLOW" ] && kill -9 "$FOLLOW" 2>/dev/null
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	wait 2>/dev/null
	umount /var/log 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
mount -t tmpfs tg-log /var/log || bail "cannot mount a private /var/log"
EV=/var/log/tollgate/events.json
PIN=/sys/fs/bpf/tollgate
FRAME=74 # bytes of ev_inject's frame

cat >"$T/tollgate.yaml" <<YAML
tenants:
  - {name: acme, interfaces: [vt-acme-*]}
  - {name: beta, interfaces: [vt-beta-*]}
billing: {interval: 1s, store: "sqlite:$T/tollgate.db"}
YAML

start_agent() {
	"$TG" run -c "$T/tollgate.yaml" >>"$T/agent.log" 2>&1 &
	AGENT=$!
	wait_for 15 "$TG" status -c "$T/tollgate.yaml"
}

stop_agent() {
	kill -TERM "$AGENT" && wait "$AGENT"
	AGENT=
}

lines() { # lines FILE: whole lines in FILE
	[ -e "$1" ] && wc -l <"$1" || echo 0
}

has_lines() { # has_lines FILE OP N: for wait_for, evaluated at every try
	[ "$(lines "$1")" "$2" "$3" ]
}

# py EXPR: EXPR over the JSON document on stdin (d)
py() {
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

status_ev() { # status_ev KEY: events.KEY of `tollgate status --json`
	"$TG" status -c "$T/tollgate.yaml" --json | py "d['events']['$1']"
}

tenant_row() { # tenant_row NAME EXPR: EXPR over the tenant's egress row (r)
	"$TG" tenants -c "$T/tollgate.yaml" --json -i 0 |
		python3 -c "import json,sys
r=[x for x in json.load(sys.stdin) if x['tenant']=='$1' and x['direction']=='egress'][0]
print($2)"
}

# every line of FILE is a JSON object; prints the count, fails otherwise
json_lines() {
	python3 -c "import json,sys
n=0
for l in open(sys.argv[1], encoding='utf-8'):
    assert isinstance(json.loads(l), dict); n+=1
print(n)" "$1"
}

check "agent starts" -- start_agent || { cat "$T/agent.log"; bail "no agent"; }
check "the events file is created at the default path" -- test -f "$EV"
equal "its directory was created 0700" "$(stat -c %a /var/log/tollgate)" 700
equal "the file is 0600" "$(stat -c %a "$EV")" 600
equal "events of an empty file: nothing, exit 0" "$("$TG" events -c "$T/tollgate.yaml" --json; echo "rc=$?")" "rc=0"

"$TG" events -c "$T/tollgate.yaml" --follow --json >"$T/follow.out" 2>"$T/follow.err" &
FOLLOW=$!

# 1000 enforcements in one go: one event, 999 suppressed; after the interval one more:
# its event carries the 999 (count 1000).
check "1000 deny enforcements of acme" -- "$INJ" "$PIN" enforce acme deny 1000
check "the agent writes an event" -- wait_for 5 has_lines "$EV" -ge 1
sleep 1.1 # the rate limit's interval (one event per tenant and reason per second)
check "one more after the interval" -- "$INJ" "$PIN" enforce acme deny 1
check "5 rate enforcements of beta" -- "$INJ" "$PIN" enforce beta rate 5
check "three events written" -- wait_for 5 has_lines "$EV" -ge 3
equal "every line is one JSON object" "$(json_lines "$EV")" 3
equal "the counts of acme's deny events add up to the 1001 enforcements" \
	"$(python3 -c "import json
print(sum(json.loads(l)['count'] for l in open('$EV') if '\"deny\"' in l))")" 1001
equal "status: produced" "$(status_ev produced)" 3
equal "status: delivered" "$(status_ev delivered)" 3
equal "status: dropped" "$(status_ev dropped)" 0
equal "status: pending" "$(status_ev pending)" 0
equal "status: suppressed (999 + 4)" "$(status_ev suppressed)" 1003
equal "status: drops by reason, summed over tenants" \
	"$("$TG" status -c "$T/tollgate.yaml" --json |
		py "d['drops']['deny']['packets'], d['drops']['deny']['bytes'], d['drops']['rate']['packets'], d['drops']['pps']['packets']")" \
	"1001 $((1001 * FRAME)) 5 0"
check "status (text) has the events line and the drops" -- bash -c "$TG status -c $T/tollgate.yaml |
	grep -q '^events:    produced 3, delivered 3, dropped 0 (ring full), pending 0, suppressed 1003' &&
	$TG status -c $T/tollgate.yaml | grep -q '^drops:     rate=5 ($((5 * FRAME)) bytes), deny=1001 ($((1001 * FRAME)) bytes)'"
equal "tenants: acme's drops by reason" "$(tenant_row acme "r['drops']")" \
	"{'deny': {'packets': 1001, 'bytes': $((1001 * FRAME))}}"
equal "tenants: beta's drops by reason" "$(tenant_row beta "r['drops']")" \
	"{'rate': {'packets': 5, 'bytes': $((5 * FRAME))}}"
equal "tenants: no quota, no connection cap: null" "$(tenant_row beta "r['quota'], r['connections']")" \
	"None None"

# The reader: table and filters.
out=$("$TG" events -c "$T/tollgate.yaml" --type deny)
equal "events --type deny: two rows of acme" "$(tail -n +2 <<<"$out" | awk '{ print $2, $3, $4 }' | sort | uniq -c | xargs)" \
	"2 enforce acme deny"
check "the table shows the frame's addresses and the action" -- \
	grep -q "drop egress 10.1.0.2:12345 -> 192.0.2.99:22 tcp" <<<"$out"
equal "events --tenant beta: one row, reason rate, count 1" \
	"$("$TG" events -c "$T/tollgate.yaml" --tenant beta | tail -n +2 | awk '{ print $4, $5 }')" "rate 1"
equal "events --type rate --tenant acme: none" \
	"$("$TG" events -c "$T/tollgate.yaml" --type rate --tenant acme --json | wc -l)" 0
check "events --json prints the file's lines" -- cmp -s <("$TG" events -c "$T/tollgate.yaml" --json) "$EV"

# Quota and connections as tenants shows them (values written into the maps).
check "acme's quota and connections written" -- "$INJ" "$PIN" state acme 5000000 1234567 1 1700000000 50 7
equal "tenants: acme's quota" "$(tenant_row acme "r['quota']")" \
	"{'limit': 5000000, 'used': 1234567, 'exceeded': True, 'action': 'throttle', 'period_start': '2023-11-14T22:13:20Z'}"
equal "tenants: acme's connections" "$(tenant_row acme "r['connections']")" "{'current': 7, 'max': 50}"
check "tenants (text) shows quota and connections" -- bash -c "$TG tenants -c $T/tollgate.yaml -i 0 |
	grep -q '^  quota: 1234567 of 5000000 bytes (24.7%) since 2023-11-14T22:13:20Z, action throttle, EXCEEDED' &&
	$TG tenants -c $T/tollgate.yaml -i 0 | grep -q '^  connections: 7 of 50'"

# Rotation by rename: the agent reopens the path at its next drain, --follow follows.
mv "$EV" "$EV.1"
check "an event after the rename" -- "$INJ" "$PIN" send acme pps 1
check "it goes to a new file at the path" -- wait_for 5 has_lines "$EV" -eq 1
equal "the renamed file kept its three lines" "$(lines "$EV.1")" 3
check "--follow read across the rename" -- wait_for 5 has_lines "$T/follow.out" -eq 4
# Truncation (logrotate copytruncate): O_APPEND writes at the new end.
truncate -s 0 "$EV"
sleep 1 # the follower notices a truncation while the file is shorter than what it read
check "an event after the truncation" -- "$INJ" "$PIN" send acme pps 1
check "the file holds only that event" -- wait_for 5 has_lines "$EV" -eq 1
check "--follow read it from the truncated file's start" -- wait_for 5 has_lines "$T/follow.out" -eq 5
kill -INT "$FOLLOW"
wait "$FOLLOW"
equal "--follow exits 0 on SIGINT" "$?" 0
FOLLOW=
check "--follow: first the renamed file's three lines" -- cmp -s <(head -n 3 "$T/follow.out") "$EV.1"
check "--follow: last the truncated file's line" -- cmp -s <(tail -n 1 "$T/follow.out") "$EV"
equal "nothing on --follow's stderr" "$(cat "$T/follow.err")" ""
check "the line after the rename is a pps event of acme" -- bash -c "sed -n 4p $T/follow.out | grep -q '\"tenant\": \"acme\", \"reason\": \"pps\"'"

# While no agent runs, events wait in the pinned ring; past its size they are dropped,
# and counted. The next agent writes what waited.
check "the agent stops" -- stop_agent
before=$(lines "$EV")
p0=$(status_ev produced)
dl0=$(status_ev delivered)
d0=$(status_ev dropped)
check "50000 sends with no agent" -- "$INJ" "$PIN" send acme rate 50000
p1=$(status_ev produced)
d1=$(status_ev dropped)
equal "produced counts every send" "$((p1 - p0))" 50000
check "the ring filled: $((d1 - d0)) dropped" -- test "$((d1 - d0))" -gt 0
equal "pending = what the ring holds" "$(status_ev pending)" "$((50000 - (d1 - d0)))"
check "a new agent starts" -- start_agent
nothing_pending() { [ "$(status_ev pending)" = 0 ]; }
check "it delivers everything that waited" -- wait_for 10 nothing_pending
equal "delivered grew by what the ring held" "$(($(status_ev delivered) - dl0))" "$((50000 - (d1 - d0)))"
equal "produced = delivered + dropped" "$(status_ev produced)" "$(($(status_ev delivered) + $(status_ev dropped)))"
equal "the file grew by as many whole lines" "$(($(lines "$EV") - before))" "$((50000 - (d1 - d0)))"
equal "every line is one JSON object" "$(json_lines "$EV")" "$(lines "$EV")"

check "stop --purge" -- "$TG" stop -c "$T/tollgate.yaml" --purge
AGENT=
tap_done
