#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end, the uplink guard live (docs/guard.md), in three agent runs on one topology:
#   1. native XDP: blocklist, tollgate block/unblock live, a source over its rate banned
#      and free again after the TTL, the audit log intact;
#   2. generic XDP, SYN-flood guard in cookie mode: hping3 --flood --rand-source at the
#      uplink while a legitimate client opens 200 connections to a tenant's service;
#   3. honeypot: a flagged source reaches the honeypot's server, others the tenant's.
#
#   t-web 10.3.0.2 --- [vt-web-0  host  up0] --- peer 192.0.2.2 (+ .3 .66 198.51.100.9)
#                                   hp0 --- honey (10.3.0.0/24 local)
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in ip tc ethtool hping3 ping python3; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"

T=$(mktemp -d /tmp/tollgate-guard.XXXXXX)
trap 'pkill -9 -f "$T/" 2>/dev/null; pkill -9 hping3 2>/dev/null; topo_cleanup; rm -rf "$T"' EXIT
LIB=$TG_ROOT/tests/lib

build() {
	set -e
	topo_init
	topo_peer
	topo_tenant web 3
	for a in 192.0.2.3 192.0.2.66; do nsx peer ip addr add $a/24 dev eth0; done
	nsx peer ip addr add 198.51.100.9/24 dev eth0
	ip route add 198.51.100.0/24 via 192.0.2.2
	for a in 192.0.2.3 192.0.2.66; do
		ip neigh replace $a lladdr 02:00:00:00:ff:02 dev up0 nud permanent
	done
	ip neigh replace 198.51.100.9 lladdr 02:00:00:00:ff:02 dev up0 nud permanent
	# the honeypot: answers for the tenant's whole prefix
	ip netns add honey && _quiet_ns honey
	ip link add hp0 address 02:00:00:00:68:01 type veth peer name eth0 \
		address 02:00:00:00:68:02 netns honey
	ip addr add 10.99.0.1/24 dev hp0
	ip link set hp0 up
	nsx honey ip addr add 10.99.0.2/24 dev eth0
	nsx honey ip link set eth0 up
	nsx honey ip route add local 10.3.0.0/24 dev lo
	nsx honey ip route add default via 10.99.0.1
	nsx honey ip neigh replace 10.99.0.1 lladdr 02:00:00:00:68:01 dev eth0 nud permanent
	# replies from the honeypot carry the tenant's address in from hp0
	sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.hp0.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
}
(build) || bail "cannot build the topology"

ip netns exec t-web python3 "$LIB/tcp_serve.py" 10.3.0.2 8080 real >/dev/null 2>&1 &
ip netns exec honey python3 "$LIB/tcp_serve.py" 0.0.0.0 8080 honeypot >/dev/null 2>&1 &
wait_for 10 nsx t-web bash -c 'exec 3<>/dev/tcp/10.3.0.2/8080' || bail "tenant server did not start"
wait_for 10 nsx honey bash -c 'exec 3<>/dev/tcp/10.3.0.2/8080' || bail "honeypot server did not start"

conf() { # conf GUARD-YAML-LINES: the whole configuration, with the uplink's guard keys
	cat >"$T/tollgate.yaml" <<YAML
tenants:
  - name: web
    cidrs: [10.3.0.0/24]
billing: {interval: 2s, store: "sqlite:$T/tollgate.db"}
outputs: {events: "$T/events.json", audit: "$T/audit.log"}
uplink:
  interfaces: [up0]
$1
YAML
}
start() {
	"$TG" run -c "$T/tollgate.yaml" >>"$T/agent.log" 2>&1 &
	wait_for 15 "$TG" status -c "$T/tollgate.yaml"
}
stop() { "$TG" stop -c "$T/tollgate.yaml" >/dev/null; }
st() { "$TG" status -c "$T/tollgate.yaml" --json; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
pings() { # pings SOURCE: replies out of 3
	nsx peer ping -q -c 3 -i 0.1 -W 1 -I "$1" 10.3.0.2 2>/dev/null |
		sed -n 's/.* \([0-9]*\) received.*/\1/p'
}
bans() { "$TG" block --list --json -c "$T/tollgate.yaml" | jq_py "' '.join(b['prefix'] + ':' + b['origin'] for b in d)"; }

# ---- 1. native XDP: sets, live bans, a source over its rate ----
conf "  xdp_mode: native
  blocklist: [198.51.100.0/24]
  rate_limit: {pps: 100, burst: 1s, ban_ttl: 3s}"
check "agent starts with the guard" -- start || cat "$T/agent.log"
check "status: the uplink's guard runs in native mode" -- \
	wait_for 10 bash -c "$TG status -c $T/tollgate.yaml --json |
		grep -q '\"interface\": \"up0\", [^}]*\"xdp\": \"native\"'"
equal "an ordinary source reaches the tenant" "$(pings 192.0.2.2)" 3
equal "a blocklisted source does not" "$(pings 198.51.100.9)" 0
check "tollgate block, live" -- "$TG" block 192.0.2.2 --ttl 1h -c "$T/tollgate.yaml"
equal "the blocked source is cut off at once" "$(pings 192.0.2.2)" 0
equal "another source is not" "$(pings 192.0.2.3)" 3
check "tollgate unblock, live" -- "$TG" unblock 192.0.2.2/32 -c "$T/tollgate.yaml"
equal "the unblocked source is back" "$(pings 192.0.2.2)" 3
# 2000 packets at 10 us spacing from .3: far over 100 packets/s
nsx peer hping3 -q -2 -p 9 -i u10 -c 2000 -a 192.0.2.3 10.3.0.2 >/dev/null 2>&1
equal "a source over its rate is banned by the guard" "$(bans)" "192.0.2.3/32:rate_limit"
equal "while banned it is cut off" "$(pings 192.0.2.3)" 0
check "the ban goes by itself after its 3 s TTL (and the agent sweeps it)" -- \
	wait_for 8 bash -c "[ -z \"\$($TG block --list --json -c $T/tollgate.yaml | tr -d '[] \n')\" ]"
equal "then it reaches the tenant again" "$(pings 192.0.2.3)" 3
equal "drops by reason: blocklist, bans and the rate limit counted" \
	"$(st | jq_py "all(d['drops'][k]['packets'] > 0 for k in ('guard_deny', 'ban', 'source_rate'))")" True
stop
check "the audit log holds the block, the unblock, the guard's ban and its expiry" -- \
	bash -c "grep -q '\"type\":\"block\"' $T/audit.log && grep -q '\"type\":\"unblock\"' $T/audit.log &&
		grep -q '\"type\":\"security_event\".*\"ban\"' $T/audit.log &&
		grep -q '\"type\":\"unban\".*192.0.2.3' $T/audit.log"
check "tollgate audit verify: chain intact" -- "$TG" audit verify "$T/audit.log"

# ---- 2. generic XDP, SYN flood in cookie mode ----
conf "  xdp_mode: generic
  syn_flood: {threshold: 500, source_budget: 50, mode: cookie, hold: 5s}"
check "agent restarts with the SYN-flood guard" -- start || cat "$T/agent.log"
# the agent answers status while it is still attaching: wait for the new mode
check "status: the guard now runs in generic mode (replaced without a gap)" -- \
	wait_for 10 bash -c "$TG status -c $T/tollgate.yaml --json |
		grep -q '\"interface\": \"up0\", [^}]*\"xdp\": \"generic\"'"
nsx peer hping3 -q -S --flood --rand-source -p 8080 10.3.0.2 >/dev/null 2>&1 &
flood=$!
check "the flood is detected" -- wait_for 10 bash -c "$TG status -c $T/tollgate.yaml --json |
	grep -q '\"syn_flood_active\": true'"
res=$(nsx peer python3 "$LIB/tcp_burst.py" -s 192.0.2.2 -t 3 10.3.0.2 8080 200)
diag "legitimate client during the flood: $res"
okc=$(echo "$res" | sed -n 's/.*ok=\([0-9]*\).*/\1/p')
check "at least 99% of 200 connections succeed during the flood (${okc:-0})" -- \
	test "${okc:-0}" -ge 198
t0=$(date +%s%N)
check "the agent keeps answering during the flood" -- bash -c "$TG status -c $T/tollgate.yaml --json >/dev/null"
diag "status answered in $((($(date +%s%N) - t0) / 1000000)) ms"
kill "$flood"
wait "$flood" 2>/dev/null
sleep 1
s=$(st)
diag "after the flood: $(echo "$s" | jq_py "d['guard'], d['drops']['syn_flood']")"
equal "SYNs of unvalidated sources were answered with cookies, counted as syn_flood" \
	"$(echo "$s" | jq_py "d['drops']['syn_flood']['packets'] > 1000")" True
equal "the legitimate client's source was validated by its reset" \
	"$(echo "$s" | jq_py "d['guard']['validated_sources'] >= 1")" True
stop
check "the flood is in the events file and the audit log" -- \
	bash -c "grep -q '\"type\": \"syn_flood\"' $T/events.json &&
		grep -q 'syn_flood' $T/audit.log && $TG audit verify $T/audit.log >/dev/null"

# ---- 3. honeypot ----
conf "  xdp_mode: generic
  honeypot: {interface: hp0, mac: \"02:00:00:00:68:02\", sources: [192.0.2.66/32]}"
check "agent restarts with the honeypot" -- start || cat "$T/agent.log"
res=$(nsx peer python3 "$LIB/tcp_burst.py" -s 192.0.2.66 -t 3 10.3.0.2 8080 5)
equal "a flagged source's connections reach the honeypot's server" "$res" \
	"$(echo "$res" | sed 's/ok=[0-9]* failed=[0-9]* reply=[a-z]*/ok=5 failed=0 reply=honeypot/')"
res=$(nsx peer python3 "$LIB/tcp_burst.py" -s 192.0.2.2 -t 3 10.3.0.2 8080 5)
equal "another source's reach the tenant's" "$res" \
	"$(echo "$res" | sed 's/ok=[0-9]* failed=[0-9]* reply=[a-z]*/ok=5 failed=0 reply=real/')"
equal "redirects counted as honeypot" "$(st | jq_py "d['drops']['honeypot']['packets'] > 0")" True
check "stop --purge detaches the guard" -- "$TG" stop -c "$T/tollgate.yaml" --purge
check "no XDP program left on up0" -- bash -c "! ip link show up0 | grep -q xdp"
tap_done
