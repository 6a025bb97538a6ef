#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: configuration reload (docs/lifecycle.md#reload).
#
# Tenants acme, beta and gamma behind veths, a peer behind the uplink up0 (guard on it).
# acme holds 8 long-lived TCP connections to the peer (tests/lib/longlived.py: a chunk
# echoed and checked on each, every few ms) while the agent takes 100 reloads, one in four
# by SIGHUP, the rest through the API (`tollgate reload`, and curl on the unix socket).
# The reloads alternate between two configurations that differ in everything that does
# not concern acme's connections: beta's deny list, tenant gamma (and its interface),
# the classes, the guard's blocklist and per-source rate limit, acme's own deny list and
# caps (both far above what the connections send).
# Oracles: the connections themselves (no reset, no close, no wrong byte), the kernel's
# drop counters for acme read with bpftool (kcounters.py), probes from beta to the ports
# the two deny lists name, tc's own filter list on gamma's interface, and the agent's
# answers, metrics, log and audit chain.
# Then refusals: a file with an error and one that changes a restart-only key are refused
# by SIGHUP and by the API with the reason, and every map the configuration programs is
# byte for byte what it was (bpftool dumps); a valid file that fails while programmed
# (a honeypot interface that does not exist) is rolled back.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in ip tc bpftool python3 curl sha256sum; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"

RELOADS=${RELOADS:-100}
CONNS=8
KC="python3 $TG_ROOT/tests/lib/kcounters.py"
LL="python3 $TG_ROOT/tests/lib/longlived.py"
T=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
AGENT=
cleanup() {
	local pids
	pids=$(jobs -p)
	[ -n "$pids" ] && { kill -9 $pids && wait $pids; } 2>/dev/null
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

# config VARIANT [EXTRA]: the two configurations (a and b); EXTRA is appended as is.
config() {
	local v=$1
	{
		echo "node: {name: e2e}"
		echo "tenants:"
		echo "  - name: acme"
		echo "    cidrs: [10.1.0.0/24]"
		echo "    interfaces: [vt-acme-*]"
		if [ "$v" = a ]; then
			echo "    limits: {egress_rate: 500mbit, ingress_rate: 500mbit}"
			echo "    deny: [198.51.100.0/24]"
		else
			echo "    limits: {egress_rate: 800mbit, ingress_rate: 900mbit, egress_pps: 200000}"
			echo "    deny: [198.51.100.0/24, 100.64.0.0/10]"
		fi
		echo "  - name: beta"
		echo "    cidrs: [10.2.0.0/24]"
		echo "    interfaces: [vt-beta-*]"
		if [ "$v" = a ]; then
			echo "    deny: [{cidr: 192.0.2.2/32, proto: tcp, ports: 8001}]"
			echo "  - name: gamma"
			echo "    cidrs: [10.3.0.0/24]"
			echo "    interfaces: [vt-gamma-*]"
			echo "classes: [{name: internal, cidrs: [10.0.0.0/8]}]"
		else
			echo "    deny: [{cidr: 192.0.2.2/32, proto: tcp, ports: 8002}]"
			echo "classes: [{name: peering, cidrs: [192.0.2.0/24]}]"
		fi
		echo "billing: {interval: 60s, store: \"sqlite:$T/tollgate.db\"}"
		echo "outputs: {events: $T/events.json, audit: $T/audit.log}"
		echo "uplink:"
		echo "  interfaces: [up0]"
		if [ "$v" = a ]; then
			echo "  blocklist: [203.0.113.0/24]"
			echo "  rate_limit: {pps: 100000}"
		else
			echo "  blocklist: [198.18.0.0/15, 203.0.113.128/25]"
		fi
		[ -n "${2:-}" ] && printf '%s\n' "$2"
	} >"$T/tollgate.yaml"
}

none() { ! "$@" >/dev/null 2>&1; } # none COMMAND...: the command fails
api() { # api METHOD PATH [BODY]: the answer's body, then its status on the last line
	curl -s --unix-socket /run/tollgate/api.sock -X "$1" ${3:+-d "$3"} \
		-w '\n%{http_code}' "http://tollgate$2"
}
metric() { api GET /metrics | awk -v m="$1" '$1 == m { print $2 }'; }
# probe PORT: 0 when beta can open a TCP connection to the peer's PORT within 1 s
probe() {
	nsx t-beta timeout 1 bash -c "exec 3<>/dev/tcp/192.0.2.2/$1" 2>/dev/null
}
filtered() { tc filter show dev vt-gamma-0 ingress | grep -q "name tg_meter_ingres "; }
acme_drops() { # every drop reason's packets for acme, summed
	local r sum=0 p
	for r in rate pps deny segment conn_cap raw_socket quota_block quota_throttle \
		guard_deny ban src_rate syn_flood sqli traversal; do
		p=$($KC drops acme "$r" | cut -d' ' -f1)
		sum=$((sum + p))
	done
	echo "$sum"
}
# the maps a configuration programs, dumped by bpftool and hashed
maps_hash() {
	local m
	for m in tg_tenant_meta tg_class_meta tg_lpm4 tg_class4 tg_policy tg_deny4 tg_peers \
		tg_gset4 tg_guard tg_guard_groups tg_ifaces tg_cgroups; do
		echo "== $m"
		bpftool map dump pinned "/sys/fs/bpf/tollgate/$m" 2>&1
	done | sha256sum | cut -d' ' -f1
}

topo init && topo peer && topo tenant acme 1 && topo tenant beta 2 && topo tenant gamma 3 ||
	bail "cannot build the topology"
nsx peer $LL server 7000 >/dev/null 2>&1 &
for p in 8001 8002; do
	nsx peer python3 -c "import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(128)
while True: s.accept()[0].close()" "$p" >/dev/null 2>&1 &
done
wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/127.0.0.1/7000' || bail "echo server did not start"

config a
"$TG" run -c "$T/tollgate.yaml" >"$T/agent.log" 2>&1 &
AGENT=$!
check "agent starts" -- wait_for 15 "$TG" status -c "$T/tollgate.yaml" ||
	{ cat "$T/agent.log"; bail "no agent"; }
equal "generation 0 at start" "$(metric tollgate_config_generation)" 0
check "a: beta may not reach port 8001" -- none probe 8001
check "a: beta reaches port 8002" -- probe 8002
check "a: gamma's interface is metered" -- filtered

rm -f "$T/stop"
nsx t-acme $LL client 192.0.2.2 7000 "$CONNS" "$T/stop" >"$T/ll.json" 2>"$T/ll.err" &
LLPID=$!
sleep 1
drops0=$(acme_drops)

# 100 reloads, b a b a ...; every tenth checked by probes and tc
fails=0 badgen=0 sighups=0 apis=0
for i in $(seq "$RELOADS"); do
	v=$([ $((i % 2)) = 1 ] && echo b || echo a)
	config "$v"
	if [ $((i % 4)) = 0 ]; then
		kill -HUP "$AGENT"
		sighups=$((sighups + 1))
		wait_for 10 bash -c "[ \"\$(curl -s --unix-socket /run/tollgate/api.sock \
			http://t/metrics | awk '\$1 == \"tollgate_config_generation\" { print \$2 }')\" = $i ]" ||
			fails=$((fails + 1))
	elif [ $((i % 4)) = 2 ]; then
		out=$(api POST /api/v1/reload '{}')
		apis=$((apis + 1))
		[ "$(tail -1 <<<"$out")" = 200 ] || { fails=$((fails + 1)); diag "reload $i: $out"; }
		grep -q "\"generation\": $i," <<<"$out" || badgen=$((badgen + 1))
	else
		out=$("$TG" reload -c "$T/tollgate.yaml" 2>&1) || { fails=$((fails + 1)); diag "reload $i: $out"; }
		apis=$((apis + 1))
		grep -q "^reloaded: generation $i," <<<"$out" || badgen=$((badgen + 1))
	fi
	if [ $((i % 10)) = 0 ] || [ $((i % 10)) = 1 ]; then
		if [ "$v" = a ]; then
			probe 8001 && { fails=$((fails + 1)); diag "reload $i (a): 8001 open"; }
			probe 8002 || { fails=$((fails + 1)); diag "reload $i (a): 8002 closed"; }
			filtered || { fails=$((fails + 1)); diag "reload $i (a): gamma not metered"; }
		else
			probe 8002 && { fails=$((fails + 1)); diag "reload $i (b): 8002 open"; }
			probe 8001 || { fails=$((fails + 1)); diag "reload $i (b): 8001 closed"; }
			filtered && { fails=$((fails + 1)); diag "reload $i (b): gamma still metered"; }
		fi
	fi
done
sleep 1
touch "$T/stop"
wait "$LLPID"
diag "$RELOADS reloads ($sighups by SIGHUP, $apis through the API); connections: $(cat "$T/ll.json")"
equal "every reload was applied, and each new policy was in force when probed" "$fails" 0
equal "each API answer names its generation" "$badgen" 0
equal "generation after $RELOADS reloads" "$(metric tollgate_config_generation)" "$RELOADS"
equal "tollgate_config_reloads_total" "$(metric tollgate_config_reloads_total)" "$RELOADS"
equal "no reload failed" "$(metric tollgate_config_reload_failures_total)" 0
ll() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/ll.json" "$1"; }
equal "all $CONNS long-lived connections alive" "$(ll alive)" "$CONNS"
equal "no connection error" "$(ll errors)" "[]"
check "the connections carried data throughout ($(ll rounds) rounds)" -- \
	[ "$(ll rounds)" -gt 100 ]
equal "acme: no packet dropped, for any reason, during the reloads" "$(($(acme_drops) - drops0))" 0
equal "one log line per reload" "$(grep -c 'tollgate: reload (' "$T/agent.log")" "$RELOADS"
equal "one audit record per reload" "$(grep -c '"type":"reload"' "$T/audit.log")" "$RELOADS"
check "the audit chain verifies" -- "$TG" audit verify "$T/audit.log"
check "the agent still runs" -- kill -0 "$AGENT"

# Refusals: nothing changes.
config b
out=$("$TG" reload -c "$T/tollgate.yaml" 2>&1)
diag "to b: $out"
before=$(maps_hash)
gen=$(metric tollgate_config_generation)
failed=$(metric tollgate_config_reload_failures_total)

config b "bogus_key: 1"
sed -i 's#10.2.0.0/24#10.2.0.0/33#' "$T/tollgate.yaml"
out=$(api POST /api/v1/reload)
equal "invalid file: the API answers 422" "$(tail -1 <<<"$out")" 422
check "invalid file: the answer says why, with the line" -- \
	grep -q 'tollgate.yaml:[0-9]*:[0-9]*: .*10.2.0.0/33' <<<"$out"
check "invalid file: the unknown key is named too" -- grep -q 'bogus_key' <<<"$out"
kill -HUP "$AGENT"
check "invalid file by SIGHUP: the log says it was refused and why" -- \
	wait_for 5 grep -q 'reload (sighup) refused: .*error' "$T/agent.log"
out=$("$TG" reload -c "$T/tollgate.yaml" 2>&1)
equal "tollgate reload with an invalid file exits 1" "$?" 1
check "tollgate reload with an invalid file shows the errors" -- grep -q '10.2.0.0/33' <<<"$out"

config b
sed -i 's#interval: 60s#interval: 30s#' "$T/tollgate.yaml"
out=$(api POST /api/v1/reload)
equal "restart-only key: the API answers 422" "$(tail -1 <<<"$out")" 422
check "restart-only key: the answer names billing.interval" -- \
	grep -q 'billing.interval changed, which takes a restart' <<<"$out"

config b "  honeypot: {interface: hp-none, mac: \"02:00:00:00:68:02\", sources: [198.18.0.0/15]}"
out=$(api POST /api/v1/reload)
diag "honeypot on a missing interface: $(head -1 <<<"$out")"
equal "a step that fails: the API answers 422" "$(tail -1 <<<"$out")" 422
check "a step that fails: the previous configuration is programmed again" -- \
	grep -q 'cannot program the uplink guard: .*previous configuration was programmed again' <<<"$out"

sleep 0.5
equal "after the refusals, every configured map is byte for byte as before" "$(maps_hash)" "$before"
equal "the generation did not move" "$(metric tollgate_config_generation)" "$gen"
equal "four refusals counted" "$(metric tollgate_config_reload_failures_total)" "$((failed + 4))"
equal "tollgate_config_last_reload_successful is 0" "$(metric tollgate_config_last_reload_successful)" 0
check "b's policy still holds: beta reaches 8001" -- probe 8001
check "b's policy still holds: beta does not reach 8002" -- none probe 8002
check "refusals are audited" -- grep -q '"type":"reload_failed"' "$T/audit.log"
check "the agent still runs" -- kill -0 "$AGENT"
config b
check "a valid file reloads again afterwards" -- "$TG" reload -c "$T/tollgate.yaml"
check "tollgate stop" -- "$TG" stop -c "$T/tollgate.yaml"
wait "$AGENT" 2>/dev/null
AGENT=
tap_done
