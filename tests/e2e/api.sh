#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: the agent's HTTP server (docs/api.md), with two tenants and real traffic.
#   1. /metrics passes `promtool check metrics`, and its per-tenant byte and packet
#      counters equal what `tollgate bill` billed for the same traffic (the store is the
#      oracle); /api/v1/rates saw the traffic; /api/v1/tenants is `tollgate tenants --json`.
#   2. 10,000 malformed or random requests (api_fuzz.py): every one answered 4xx or
#      closed, partial requests closed after the timeout, the agent up, its RSS within
#      +10 MB of what it was after a warm-up round, a normal request still served.
#   3. Block and unblock through POST: the pins hold the ban (`block --list`, which reads
#      them), the audit log records both with "via":"api"; `tollgate block` goes through
#      the socket too.
#   4. The unix socket: mode 0600, a throwaway non-root user gets EACCES, root is served;
#      gone when the agent stops, and `stop --purge` removes a killed agent's.
#   5. Beyond loopback: refused to start without api.token_file, or with a token file
#      others can read; with the token every request without it is 401, with it 200.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in ip curl promtool python3 useradd userdel runuser; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"

T=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
TUSER=tgapi$$
cleanup() {
	local pids
	pids=$(jobs -p)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	pkill -9 -f "$T/" 2>/dev/null # the agent, wherever it was started from
	id "$TUSER" >/dev/null 2>&1 && userdel "$TUSER" 2>/dev/null
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

API=http://127.0.0.1:9477
SOCK=/run/tollgate/api.sock

write_config() { # write_config [API SECTION]
	cat >"$T/tollgate.yaml" <<-YAML
	node: {name: e2e}
	tenants:
	  - name: acme
	    interfaces: [vt-acme-*]
	    deny: [192.0.2.99/32]
	  - name: globex
	    interfaces: [vt-globex-*]
	uplink: {interfaces: [up0]}
	billing: {interval: 2s, store: "sqlite:$T/bill.db"}
	outputs: {events: "$T/events.json", audit: "$T/audit.log"}
	${1:-}
	YAML
}

agent_start() {
	"$TG" run -c "$T/tollgate.yaml" >>"$T/agent.log" 2>&1 &
	AGENT=$!
	wait_for 15 "$TG" status -c "$T/tollgate.yaml" && wait_for 5 test -S "$SOCK"
}

agent_stop() {
	kill -TERM "$AGENT" 2>/dev/null
	wait "$AGENT" 2>/dev/null
}

code() { # code CURL-ARGS...: the HTTP status only
	curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@"
}

udp_burst() { # udp_burst NS DST
	nsx "$1" bash -c "for s in 1 17 64 100 512 999 1400 1472 1473 3000 8000; do
		head -c \$s /dev/urandom >/dev/udp/$2/9; done"
}

traffic() { # traffic TENANT I
	local ns=t-$1 ip=10.$2.0.2
	udp_burst "$ns" 192.0.2.2
	udp_burst peer "$ip"
	nsx "$ns" ping -q -c 5 -i 0.02 -s 1000 192.0.2.2 >/dev/null
	nsx peer ping -q -c 3 -i 0.02 -s 2000 "$ip" >/dev/null
}

# "tenant direction packets bytes" over every class, from /metrics
metered() {
	curl -s --max-time 10 "$API/metrics" | awk '
		/^tollgate_tenant_(bytes|packets)_total\{/ {
			match($0, /tenant="[^"]*"/); t = substr($0, RSTART + 8, RLENGTH - 9)
			match($0, /direction="[^"]*"/); d = substr($0, RSTART + 11, RLENGTH - 12)
			if ($0 ~ /^tollgate_tenant_bytes/) b[t " " d] += $NF; else p[t " " d] += $NF }
		END { for (k in b) if (b[k] > 0) print k, p[k], b[k] }' | sort
}

billed() { # the same from `tollgate bill --format csv`
	"$TG" bill -c "$T/tollgate.yaml" --format csv |
		awk -F, 'NR > 1 { p[$2 " " $4] += $8; b[$2 " " $4] += $7 }
			 END { for (k in p) if (b[k] > 0) print k, p[k], b[k] }' | sort
}

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# --- 1. metrics and JSON against the billing store ---------------------------------------
write_config
topo init && topo peer && topo tenant acme 1 && topo tenant globex 2 ||
	bail "cannot build the topology"
check "agent starts and serves its unix socket" -- agent_start || { cat "$T/agent.log"; bail "no agent"; }
equal "the socket's mode" "$(stat -c '%a %U %F' "$SOCK")" "600 root socket"

traffic acme 1
traffic globex 2
sleep 2 # the agent samples once a second: the traffic's second is in the ring
rates=$(curl -s --max-time 10 "$API/api/v1/rates?seconds=30")
check "/api/v1/rates: acme's traffic in its in and out series" -- python3 -c '
import json, sys
d = json.loads(sys.argv[1])["tenants"]["acme"]
assert len(d["in_bps"]) >= 1 and len(d["in_bps"]) <= 30, d
assert max(d["in_bps"]) > 0 and max(d["out_bps"]) > 0 and max(d["out_pps"]) > 0, d
assert len(set(map(len, d.values()))) == 1, d' "$rates"
sleep 5 # two billing intervals without traffic: everything metered is harvested
m=$(metered)
b=$(billed)
diag "metered: $(echo $m)"
equal "/metrics per tenant and direction (packets bytes) equal tollgate bill" "$m" "$b"
equal "both tenants and directions are in it" "$(echo "$m" | awk '{ print $1, $2 }' | xargs)" \
	"acme egress acme ingress globex egress globex ingress"
curl -s --max-time 10 "$API/metrics" >"$T/metrics.txt"
check "promtool check metrics passes on the live /metrics" -- \
	bash -c "promtool check metrics <'$T/metrics.txt' >'$T/promtool.txt' 2>&1"
cat "$T/promtool.txt" | sed 's/^/# /'
check "the families of docs/api.md are there" -- bash -c "
	for f in tollgate_tenant_bytes_total tollgate_tenant_packets_total tollgate_drops_total \
		tollgate_drop_bytes_total tollgate_cap_hits_total tollgate_flows \
		tollgate_flow_evictions_total tollgate_events_produced_total \
		tollgate_events_delivered_total tollgate_events_dropped_total \
		tollgate_map_entries tollgate_map_capacity tollgate_agent_up \
		tollgate_agent_start_time_seconds tollgate_last_harvest_timestamp_seconds \
		tollgate_unparsed_packets_total tollgate_unattributed_packets_total; do
		grep -q \"^# TYPE \$f \" '$T/metrics.txt' || { echo \"missing \$f\"; exit 1; }
	done"
equal "the same /metrics over the unix socket" \
	"$(curl -s --unix-socket "$SOCK" http://x/metrics | grep -c '^tollgate_tenant_bytes_total')" \
	"$(grep -c '^tollgate_tenant_bytes_total' "$T/metrics.txt")"
equal "/api/v1/tenants is what tollgate tenants --json -i 0 prints" \
	"$(curl -s "$API/api/v1/tenants")" "$("$TG" tenants -c "$T/tollgate.yaml" --json -i 0)"
# Events: a long poll from a cursor and the stream, both woken by real deny hits.
cursor=$(curl -s "$API/api/v1/events?limit=1000" | python3 -c 'import json, sys; print(json.load(sys.stdin)["cursor"])')
curl -s --max-time 25 "$API/api/v1/events?after=$cursor&wait=20" >"$T/poll.json" &
POLL=$!
curl -sN --max-time 6 "$API/api/v1/events/stream" >"$T/sse.txt" &
SSE=$!
sleep 1
nsx t-acme ping -q -c 3 -i 0.2 -W 1 192.0.2.99 >/dev/null
wait "$POLL" "$SSE"
is_deny='import json, sys
e = [json.loads(l) for l in sys.stdin] if sys.argv[1] == "lines" else json.load(sys.stdin)["events"]
assert any(x["type"] == "enforce" and x["tenant"] == "acme" and x["reason"] == "deny" and x["dst"] == "192.0.2.99" for x in e), e'
check "the long poll returned acme's deny event" -- python3 -c "$is_deny" poll <"$T/poll.json"
check "the event stream sent it as a data line" -- \
	bash -c "sed -n 's/^data: //p' '$T/sse.txt' | python3 -c '$is_deny' lines"
equal "the long poll's events are the events file's lines after the cursor" \
	"$(python3 -c 'import json, sys; [print(json.dumps(e, separators=(",", ":"))) for e in json.load(sys.stdin)["events"]]' <"$T/poll.json")" \
	"$(python3 -c 'import json, sys
n = len(json.load(open(sys.argv[2]))["events"])
f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[3].split(":")[1], 16))
for l in f.read().decode().splitlines()[:n]:
    print(json.dumps(json.loads(l), separators=(",", ":")))' "$T/events.json" "$T/poll.json" "$cursor")"
equal "/metrics counts the three deny drops of acme" \
	"$(curl -s "$API/metrics" | grep '^tollgate_drops_total{tenant="acme",reason="deny"}' | awk '{ print $2 }')" 3

equal "/api/v1/flows?top=0 is what tollgate flows --json -i 0 --top 0 prints" \
	"$(curl -s "$API/api/v1/flows?top=0")" "$("$TG" flows -c "$T/tollgate.yaml" --json -i 0 --top 0)"
equal "/api/v1/bans is what tollgate block --list --json prints" \
	"$(curl -s "$API/api/v1/bans")" "$("$TG" block --list --json -c "$T/tollgate.yaml")"
via_agent=$("$TG" status -c "$T/tollgate.yaml" | grep -v '^harvest:')
mv "$SOCK" "$SOCK.away" # the command falls back to the pins
via_pins=$("$TG" status -c "$T/tollgate.yaml" | grep -v '^harvest:')
mv "$SOCK.away" "$SOCK"
equal "tollgate status: the agent's table is the pins' table (but for the harvest line)" \
	"$via_agent" "$via_pins"
equal "tollgate status goes through the socket: its answer is the agent's" \
	"$("$TG" status -c "$T/tollgate.yaml" --json | head -c 16)" '{"healthy": true'
equal "an unknown endpoint is 404, a wrong method 405" \
	"$(code "$API/api/v1/nothing") $(code -X DELETE "$API/metrics") $(code "$API/api/v1/block")" \
	"404 405 405"

# --- 2. 10,000 malformed or random requests ----------------------------------------------
python3 "$TG_ROOT/tests/lib/api_fuzz.py" 127.0.0.1 9477 1000 5 >"$T/warmup.json"
rss0=$(rss "$AGENT")
python3 "$TG_ROOT/tests/lib/api_fuzz.py" 127.0.0.1 9477 10000 5 >"$T/fuzz.json"
fuzz=$?
rss1=$(rss "$AGENT")
diag "$(cut -c1-600 "$T/fuzz.json")"
check "10,000 malformed requests: each answered 4xx or closed (partial ones within 5 s + slack)" \
	-- test "$fuzz" -eq 0
check "the agent is still up" -- kill -0 "$AGENT"
diag "RSS after the warm-up round: $rss0 kB, after 10,000 requests: $rss1 kB"
check "its RSS grew by less than 10 MB ($rss0 -> $rss1 kB)" -- test $((rss1 - rss0)) -lt 10240
equal "a normal request is served after" "$(code "$API/api/v1/status")" 200

# --- 3. block and unblock through the API ------------------------------------------------
equal "POST /api/v1/block" "$(code -X POST -d '{"cidr": "203.0.113.0/24", "ttl": "10m"}' \
	"$API/api/v1/block")" 200
bans=$("$TG" block --list --json -c "$T/tollgate.yaml")
check "the ban is in the pins (block --list)" -- grep -q '"prefix": "203.0.113.0/24", "origin": "block"' <<<"$bans"
equal "POST /api/v1/unblock" "$(code -X POST -d '{"cidr": "203.0.113.0/24"}' "$API/api/v1/unblock")" 200
check "the ban is gone from the pins" -- bash -c "! '$TG' block --list --json -c '$T/tollgate.yaml' | grep -q 203.0.113.0"
equal "unblocking it again: 404" "$(code -X POST -d '{"cidr": "203.0.113.0/24"}' "$API/api/v1/unblock")" 404
check "both are audited, by the API" -- bash -c "
	grep -q '\"type\":\"block\",\"src\":\"203.0.113.0/24\",\"ttl_ms\":600000,\"uid\":null,\"via\":\"api\",\"remote\":\"127.0.0.1\"' '$T/audit.log' &&
	grep -q '\"type\":\"unblock\",\"src\":\"203.0.113.0/24\",\"uid\":null,\"via\":\"api\"' '$T/audit.log'"
check "tollgate block goes through the socket (audited as uid 0 via the API)" -- bash -c "
	'$TG' block 198.51.100.7 -c '$T/tollgate.yaml' >/dev/null &&
	grep -q '\"type\":\"block\",\"src\":\"198.51.100.7/32\",\"ttl_ms\":null,\"uid\":0,\"via\":\"api\"' '$T/audit.log'"
check "tollgate unblock too" -- bash -c "
	'$TG' unblock 198.51.100.7 -c '$T/tollgate.yaml' >/dev/null &&
	grep -q '\"type\":\"unblock\",\"src\":\"198.51.100.7/32\",\"uid\":0,\"via\":\"api\"' '$T/audit.log'"
check "the audit chain verifies" -- "$TG" audit verify "$T/audit.log"

# --- 4. the unix socket and a non-root user ----------------------------------------------
useradd -M -r -s /usr/sbin/nologin "$TUSER" || bail "cannot create the throwaway user"
probe='import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("connected")
except OSError as e:
    print(e.__class__.__name__)'
equal "a non-root user cannot connect" "$(runuser -u "$TUSER" -- python3 -c "$probe" "$SOCK")" \
	PermissionError
chmod 755 /run/tollgate # the socket's own mode, not only its directory's, refuses
equal "not even with the run directory open to it (socket mode 0600)" \
	"$(runuser -u "$TUSER" -- python3 -c "$probe" "$SOCK")" PermissionError
chmod 700 /run/tollgate
userdel "$TUSER"
equal "root is served" "$(code --unix-socket "$SOCK" http://x/api/v1/status)" 200
# clients that hold on (an event stream, a long poll, a partial request) do not hold the agent
curl -sN --max-time 60 "$API/api/v1/events/stream" >/dev/null &
cursor=$(curl -s "$API/api/v1/events" | python3 -c 'import json, sys; print(json.load(sys.stdin)["cursor"])')
curl -s --max-time 60 "$API/api/v1/events?after=$cursor&wait=30" >/dev/null &
curl -s --max-time 60 --unix-socket "$SOCK" "http://x/api/v1/events?after=$cursor&wait=30" >/dev/null &
exec 7<>/dev/tcp/127.0.0.1/9477 && printf 'GET /metrics HTTP/1.1\r\n' >&7
sleep 1
t0=$(date +%s%N)
agent_stop
t1=$(date +%s%N)
exec 7>&-
check "the agent stops within 3 s with clients holding on ($(((t1 - t0) / 1000000)) ms)" -- \
	test $(((t1 - t0) / 1000000)) -lt 3000
check "the socket is removed when the agent stops" -- test ! -e "$SOCK"
agent_start
kill -9 "$AGENT"
wait "$AGENT" 2>/dev/null
check "a killed agent leaves its socket; the CLI falls back to the pins" -- bash -c "
	test -S '$SOCK' && '$TG' block 198.51.100.9 -c '$T/tollgate.yaml' >/dev/null &&
	grep -q '\"src\":\"198.51.100.9/32\",\"ttl_ms\":null,\"uid\":0,\"prev\"' '$T/audit.log'"
check "stop --purge removes it" -- bash -c "'$TG' stop --purge -c '$T/tollgate.yaml' >/dev/null && test ! -e '$SOCK'"

# --- 5. beyond loopback ------------------------------------------------------------------
write_config 'api: {listen: "0.0.0.0:9477"}'
out=$(timeout 20 "$TG" run -c "$T/tollgate.yaml" 2>&1)
rc=$?
check "without api.token_file the agent refuses to start" -- test "$rc" -eq 1
check "and says why" -- grep -q "beyond loopback, without a token: set api.token_file" <<<"$out"
python3 -c 'import secrets; print(secrets.token_hex(24))' >"$T/token"
chmod 644 "$T/token"
write_config "api: {listen: \"0.0.0.0:9477\", token_file: \"$T/token\"}"
out=$(timeout 20 "$TG" run -c "$T/tollgate.yaml" 2>&1)
rc=$?
check "with a token file others can read it refuses too" -- test "$rc" -eq 1
check "and says why" -- grep -q "must be a regular file only its owner can read" <<<"$out"
check "nothing was loaded" -- test ! -e /sys/fs/bpf/tollgate/tg_state
chmod 600 "$T/token"
check "with the token file (mode 0600) it starts" -- agent_start || cat "$T/agent.log"
TOKEN=$(cat "$T/token")
codes=""
for addr in 127.0.0.1 192.0.2.1 10.1.0.1; do
	for p in /metrics /api/v1/status /api/v1/tenants /api/v1/rates /api/v1/flows \
		/api/v1/events /api/v1/bans / /nothing; do
		codes+=" $(code "http://$addr:9477$p")"
		codes+=" $(code -H "Authorization: Bearer wrong$TOKEN" "http://$addr:9477$p")"
	done
	codes+=" $(code -X POST -d '{"cidr": "203.0.113.9"}' "http://$addr:9477/api/v1/block")"
done
equal "every request without the token (or with a wrong one) is 401" \
	"$(xargs -n1 <<<"$codes" | sort | uniq -c | xargs)" "57 401"
equal "from the tenant's side too (10.1.0.1 from t-acme)" \
	"$(nsx t-acme curl -s -o /dev/null -w '%{http_code}' http://10.1.0.1:9477/metrics)" 401
equal "with the token: 200" \
	"$(code -H "Authorization: Bearer $TOKEN" http://192.0.2.1:9477/metrics)" 200
equal "from the tenant's side with it: 200" \
	"$(nsx t-acme curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		http://10.1.0.1:9477/api/v1/status)" 200
equal "the unix socket needs no token (mode 0600 is its guard)" \
	"$(code --unix-socket "$SOCK" http://x/metrics)" 200
equal "no block went through without the token" \
	"$(grep -c '203.0.113.9' "$T/audit.log")" 0
agent_stop
"$TG" stop --purge -c "$T/tollgate.yaml" >/dev/null
tap_done
