#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Identity history: 10.9.0.0/24 moves from tenant alpha to tenant beta between two runs of
# the agent; `tollgate whois` answers alpha before the move and beta after it. The host
# side of beta's veth carries 10.77.0.1/24: the agent records 10.77.0.0/24 as beta's
# (source interface). The rows are read back with sqlite3(1) and the interface addresses
# with `ip -j addr` (iproute2), independent of the agent.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
[ -x "$TG" ] || bail "$TG is not built"
command -v sqlite3 >/dev/null || bail "sqlite3 (the command line) is not installed"

T=$(mktemp -d /tmp/tollgate-whois.XXXXXX)
agent=
cleanup() {
	[ -n "$agent" ] && kill -9 "$agent" 2>/dev/null
	"$TG" stop -c "$T/b.yaml" --purge >/dev/null 2>&1
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

topo init || bail "cannot set up the namespace"
topo tenant b 77 || bail "cannot create beta's interface"
# IPv6 back on for vt-b-0 alone: it gets a link-local fe80::/64, which says nothing about a
# tenant (every link has one) and must not be recorded.
sysctl -qw net.ipv6.conf.vt-b-0.disable_ipv6=0 || bail "cannot enable IPv6 on vt-b-0"
wait_for 10 bash -c 'ip -6 addr show dev vt-b-0 scope link | grep -q fe80' ||
	bail "vt-b-0 got no link-local IPv6 address"
lladdr=$(ip -j -6 addr show dev vt-b-0 scope link | python3 -c 'import json, sys
print(json.load(sys.stdin)[0]["addr_info"][0]["local"])')

cat >"$T/a.yaml" <<YAML
tenants:
  - {name: alpha, cidrs: [10.9.0.0/24], interfaces: [vt-a-*]}
  - {name: beta, cidrs: [10.8.0.0/24], interfaces: [vt-b-*]}
billing: {interval: 60s, store: "sqlite:$T/tg.db"}
YAML
cat >"$T/b.yaml" <<YAML
tenants:
  - {name: alpha, cidrs: [10.10.0.0/24], interfaces: [vt-a-*]}
  - {name: beta, cidrs: [10.8.0.0/24, 10.9.0.0/24], interfaces: [vt-b-*]}
billing: {interval: 60s, store: "sqlite:$T/tg.db"}
YAML

# start CONFIG LOG: the agent, up once status says it is healthy.
start() {
	"$TG" run -c "$1" >"$2" 2>&1 &
	agent=$!
	wait_for 15 "$TG" status -c "$1"
}

# whois_json ARGS...: "tenant prefix source valid_from valid_to" (python3's json) and
# the exit status after a '/'.
whois_json() {
	local out rc
	out=$("$TG" whois -c "$T/b.yaml" --json "$@" 2>&1)
	rc=$?
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(d["tenant"], d["prefix"], d["source"], d["interface"], d["valid_to"] is None, sep=" ")' \
		"$out" 2>&1 | tr -d '\n'
	echo "/$rc"
}

check "agent with alpha holding 10.9.0.0/24 starts" -- start "$T/a.yaml" "$T/a.log"
check "it says where the history is" -- \
	grep -q "identity history in $T/tg.db: 2 prefixes opened, 0 closed, 0 kept" "$T/a.log"
sleep 1.1
T1=$(date +%s)
T1_RFC=$(date -u -d "@$T1" +%Y-%m-%dT%H:%M:%SZ)
equal "whois 10.9.0.7 now, under the first configuration" \
	"$(whois_json 10.9.0.7)" "alpha 10.9.0.0/24 config None True/0"

# The agent's view of beta's interface against iproute2's: the global /24 on vt-b-0.
hostpfx=$(ip -j addr show dev vt-b-0 | python3 -c 'import json, sys, ipaddress
for a in json.load(sys.stdin)[0]["addr_info"]:
    if a.get("scope") == "global":
        print(ipaddress.ip_interface(a["local"] + "/" + str(a["prefixlen"])).network)')
equal "iproute2: vt-b-0 carries one global prefix" "$hostpfx" "10.77.0.0/24"
equal "whois 10.77.0.2 (beta's side of the veth): beta, seen on vt-b-0" \
	"$(whois_json 10.77.0.2)" "beta $hostpfx interface vt-b-0 True/0"
equal "whois 10.8.0.9: beta's configured /24" \
	"$(whois_json 10.8.0.9)" "beta 10.8.0.0/24 config None True/0"

check "the agent stops (datapath left in place)" -- bash -c "$TG stop -c $T/a.yaml >/dev/null"
wait "$agent" 2>/dev/null
agent=
sleep 1.1
check "agent with 10.9.0.0/24 moved to beta starts" -- start "$T/b.yaml" "$T/b.log"
check "the restart closed one prefix and opened two (10.9.0.0/24 for beta, 10.10.0.0/24)" -- \
	grep -q "identity history in $T/tg.db: 2 prefixes opened, 1 closed, 1 kept" "$T/b.log"
sleep 1.1
T2=$(date +%s)

equal "whois 10.9.0.7 --at T1 (before the move): alpha" \
	"$(whois_json 10.9.0.7 --at "@$T1")" "alpha 10.9.0.0/24 config None False/0"
equal "whois 10.9.0.7 --at T1 in RFC 3339 ($T1_RFC): alpha" \
	"$(whois_json 10.9.0.7 --at "$T1_RFC")" "alpha 10.9.0.0/24 config None False/0"
equal "whois 10.9.0.7 --at T2 (after the move): beta" \
	"$(whois_json 10.9.0.7 --at "@$T2")" "beta 10.9.0.0/24 config None True/0"
equal "whois 10.9.0.7 (now): beta" "$(whois_json 10.9.0.7)" "beta 10.9.0.0/24 config None True/0"
equal "whois 10.10.0.1 --at T1: nobody yet" \
	"$(whois_json 10.10.0.1 --at "@$T1")" "None None None None True/1"
equal "whois 10.10.0.1 now: alpha" "$(whois_json 10.10.0.1)" "alpha 10.10.0.0/24 config None True/0"
equal "whois 10.77.0.2 still beta's interface" \
	"$(whois_json 10.77.0.2)" "beta 10.77.0.0/24 interface vt-b-0 True/0"
out=$("$TG" whois -c "$T/b.yaml" 203.0.113.9 2>&1)
equal "whois of an address never assigned: exit 1" "$?" 1
check "... saying no tenant held it, now" -- grep -qxE \
	"203\.0\.113\.9 at $(date -u +%Y-%m-%d)T[0-9:]{8}Z: no tenant held this address" <<<"$out"
out=$("$TG" whois -c "$T/b.yaml" 10.9.0.0/24 2>&1)
equal "whois of a prefix: bad input, exit 2" "$?" 2
check "... with a clear message" -- grep -q "bad address '10.9.0.0/24'" <<<"$out"

# The table itself, by sqlite3: alpha's row closed between T1 and T2, beta's opened then.
rows=$(sqlite3 "$T/tg.db" "SELECT tenant, source, IFNULL(interface, '-'),
	valid_from <= $T1, IFNULL(valid_to > $T1 AND valid_to <= $T2, 'open')
	FROM identity_history WHERE prefix = '10.9.0.0/24' ORDER BY id")
equal "sqlite3: 10.9.0.0/24 was alpha's until the restart, then beta's" "$(tr '\n' ' ' <<<"$rows")" \
	"alpha|config|-|1|1 beta|config|-|0|open "
move_end=$(sqlite3 "$T/tg.db" "SELECT valid_to FROM identity_history WHERE prefix =
	'10.9.0.0/24' AND tenant = 'alpha'")
move_start=$(sqlite3 "$T/tg.db" "SELECT valid_from FROM identity_history WHERE prefix =
	'10.9.0.0/24' AND tenant = 'beta'")
equal "sqlite3: the old row ends the instant the new one begins" "$move_end" "$move_start"
equal "whois 10.9.0.7 at the move's instant: beta ([from, to) intervals)" \
	"$(whois_json 10.9.0.7 --at "@$move_start")" "beta 10.9.0.0/24 config None True/0"
equal "whois 10.9.0.7 a second before it: alpha" \
	"$(whois_json 10.9.0.7 --at "@$((move_start - 1))")" "alpha 10.9.0.0/24 config None False/0"
equal "sqlite3: one interface row, vt-b-0's global prefix; its link-local $lladdr is not one" \
	"$(sqlite3 "$T/tg.db" "SELECT prefix FROM identity_history WHERE source = 'interface'")" \
	10.77.0.0/24
equal "whois $lladdr (link-local): none" "$(whois_json "$lladdr")" "None None None None True/1"

check "the billing store in the same file still reads (tollgate bill, exit 0)" -- \
	bash -c "$TG bill -c $T/b.yaml --format json >/dev/null"
equal "sqlite3: the billing schema version is the store's own (PRAGMA user_version)" \
	"$(sqlite3 "$T/tg.db" "PRAGMA user_version")" \
	"$(sed -n 's/^#define TG_STORE_VERSION \([0-9]*\).*/\1/p' "$TG_ROOT/src/store.c")"
check "stop --purge stops the agent" -- bash -c "$TG stop -c $T/b.yaml --purge >/dev/null"
wait "$agent" 2>/dev/null
agent=
tap_done
