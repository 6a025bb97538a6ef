#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: the PostgreSQL billing store. A real PostgreSQL 15 server started here (initdb
# and pg_ctl as the postgres user, in a temporary directory, on 127.0.0.1 of this test's
# private network namespace), two agents with different node names (own pin paths and run
# directories, own tenant interfaces) billing into one database every 2s, continuous traffic
# to four tenants. The database is stopped for about a minute of traffic and started again;
# node-b's agent is SIGKILLed and restarted while it spools. Then, per node, tenant and
# direction, the database holds exactly what a capture on the far link saw (packets and
# bytes), interval starts are contiguous (none lost), no key appears twice, intervals of the
# outage are there (they came from the spools), and the spools are empty.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] || bail "PostgreSQL server binaries not found (make deps installs postgresql)"
for tool in ip tc ethtool dumpcap tshark iperf3 ping psql runuser; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
id postgres >/dev/null 2>&1 || bail "no postgres user (make deps installs postgresql)"
[ -x "$TG" ] || bail "$TG is not built"

T=$(mktemp -d /tmp/tollgate-pg.XXXXXX)
chmod 755 "$T" # the postgres user reaches its data directory below
PGDATA=$T/pgdata
PGPORT=55432
PGPW=s3cr3t-pw
URL="postgresql://tollgate:$PGPW@127.0.0.1:$PGPORT/billing"
export PGHOST=127.0.0.1 PGPORT PGUSER=tollgate PGDATABASE=billing PGPASSWORD=$PGPW

pg() { runuser -u postgres -- "$@"; }
pg_start() {
	pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/../pglog/pg.log" -w -t 30 start \
		-o "-p $PGPORT -k $T/pgsock -c listen_addresses=127.0.0.1" >/dev/null
}
pg_stop() { pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null; }
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

cleanup() {
	local pids
	pids=$(jobs -p)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	pkill -9 -f "$T/" 2>/dev/null # agents, pings, iperf3 started with our paths
	[ -f "$PGDATA/postmaster.pid" ] && pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

# --- the database
mkdir -p "$PGDATA" "$T/pgsock" "$T/pglog" && chown postgres: "$PGDATA" "$T/pgsock" "$T/pglog"
pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
	>"$T/initdb.log" 2>&1 || { cat "$T/initdb.log"; bail "initdb failed"; }
pg_start || { cat "$T/pglog/pg.log"; bail "PostgreSQL did not start"; }
pg psql -X -q -h "$T/pgsock" -p $PGPORT -U postgres -d postgres -v ON_ERROR_STOP=1 \
	-c "CREATE ROLE tollgate LOGIN PASSWORD '$PGPW'" -c "CREATE DATABASE billing OWNER tollgate" ||
	bail "cannot create the role and database"
check "PostgreSQL $("$PGBIN/postgres" --version | awk '{ print $3 }') runs, password login works" -- \
	q "SELECT 1"

# --- two nodes: node-a bills acme (10.1) and globex (10.2), node-b acme (10.3) and hooli (10.4)
write_config() { # write_config NODE TENANT1 GLOB1 TENANT2 GLOB2 API_PORT (one host: two ports)
	mkdir -p "$T/$1"
	cat >"$T/$1/tollgate.yaml" <<-YAML
	node: {name: $1}
	tenants:
	  - name: $2
	    interfaces: [$3]
	  - name: $4
	    interfaces: [$5]
	billing: {interval: 2s, store: "$URL", spool_dir: "$T/spool"}
	agent: {pin_path: /sys/fs/bpf/$1, run_dir: /run/$1}
	outputs: {events: "$T/$1/events.json", audit: "$T/$1/audit.log"}
	api: {listen: "127.0.0.1:$6"}
	YAML
}
write_config node-a acme 'vt-acme-*' globex 'vt-globex-*' 9477
write_config node-b acme 'vt-acmeb-*' hooli 'vt-hooli-*' 9478

declare -A AGENT
agent_start() { # agent_start NODE
	"$TG" run -c "$T/$1/tollgate.yaml" >>"$T/$1/agent.log" 2>&1 &
	AGENT[$1]=$!
	wait_for 20 "$TG" status -c "$T/$1/tollgate.yaml"
}
hooked() { # hooked NODE IFACE
	"$TG" status -c "$T/$1/tollgate.yaml" --json |
		grep -q "\"interface\": \"$2\", [^}]*\"tc_ingress\": true, \"tc_egress\": true"
}
spool_size() { stat -c %s "$T/spool/spool-$1.log" 2>/dev/null || echo missing; }

ip netns add _probe 2>/dev/null && ip netns del _probe # /run/netns is ours
topo init && topo peer || bail "cannot build the topology"
for t in "acme 1" "globex 2" "acmeb 3" "hooli 4"; do
	topo tenant $t || bail "cannot add tenant $t"
done
check "node-a's agent starts" -- agent_start node-a || cat "$T/node-a/agent.log"
check "node-b's agent starts" -- agent_start node-b || cat "$T/node-b/agent.log"
for x in "node-a acme" "node-a globex" "node-b acmeb" "node-b hooli"; do
	set -- $x
	check "$1 meters vt-$2-0" -- wait_for 10 hooked "$1" "vt-$2-0"
done
check "the URL's password is not in the agents' logs" -- \
	bash -c "! grep -q '$PGPW' $T/node-a/agent.log $T/node-b/agent.log"
check "the schema was created once, by whichever agent came first" -- \
	test "$(q "SELECT count(*) FROM tollgate_schema")" = 1

ip netns exec peer iperf3 -s -p 5201 >/dev/null 2>&1 &
wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/127.0.0.1/5201' || bail "iperf3 server did not start"
capture_start peer eth0 "$T/far.pcap" || bail "dumpcap did not start"

# Continuous traffic: every tenant pings the peer 5 times a second, so every 2s interval of
# every tenant and direction has traffic, and a missing interval shows as a gap.
# (Each ping writes its own pid: `ip netns exec` may fork, and its pid is not ping's.)
for i in 1 2 3 4; do
	nsx "t-$(echo acme globex acmeb hooli | cut -d' ' -f$i)" bash -c \
		"echo \$\$ >$T/ping$i.pid; exec ping -q -i 0.2 -s $((100 * i)) 192.0.2.2" \
		>/dev/null 2>&1 &
done
wait_for 5 test -s "$T/ping4.pid"
PINGS=$(cat "$T"/ping[1-4].pid | tr '\n' ' ')
burst() { # varied traffic for all four tenants
	local t i=0
	for t in acme globex acmeb hooli; do
		i=$((i + 1))
		nsx "t-$t" bash -c "for s in 1 64 999 1472 1473 3000; do
			head -c \$s /dev/urandom >/dev/udp/192.0.2.2/9; done" 2>/dev/null
		nsx peer bash -c "for s in 17 512 1400 8000; do
			head -c \$s /dev/urandom >/dev/udp/10.$i.0.2/9; done" 2>/dev/null
		nsx "t-$t" iperf3 -c 192.0.2.2 -p 5201 -n 300K ${1:-} >/dev/null
	done
}

burst
sleep 4
check "while the database is up, nothing waits in the spools" -- \
	test "$(spool_size node-a):$(spool_size node-b)" = "0:0"

# --- the outage: about a minute of traffic with the database stopped
check "the database stops" -- pg_stop
DOWN_AT=$(date +%s)
for r in $(seq 1 6); do
	burst
	[ "$r" = 2 ] && burst -R
	sleep 4
	if [ "$r" = 3 ]; then
		check "node-b spools while the database is down" -- test "$(spool_size node-b)" -gt 0
		KILL_AT=$(date +%s)
		kill -9 "${AGENT[node-b]}"
		wait "${AGENT[node-b]}" 2>/dev/null
		burst # counted by the datapath while no agent runs
		check "node-b's agent restarts after SIGKILL, the database still down" -- \
			agent_start node-b
		BACK_AT=$(date +%s)
		check "the restarted agent adopted the datapath" -- \
			grep -q "adopted the datapath" "$T/node-b/agent.log"
	fi
done
sleep $((DOWN_AT + 62 - $(date +%s))) 2>/dev/null
check "node-a spooled for the whole outage" -- test "$(spool_size node-a)" -gt 0
check "the agents said where they spool" -- \
	grep -q "unavailable, harvests are spooled to $T/spool/spool-node-a.log" "$T/node-a/agent.log"
check "the spool files are mode 0600" -- \
	test "$(stat -c %a "$T/spool/spool-node-a.log" "$T/spool/spool-node-b.log" | sort -u)" = 600
UP_AT=$(date +%s)
check "the database starts again" -- pg_start
spools_empty() { test "$(spool_size node-a):$(spool_size node-b)" = "0:0"; }
check "both spools drain within 30s" -- wait_for 30 spools_empty
check "the drain was reported" -- grep -q "available again" "$T/node-a/agent.log"
burst
sleep 3
kill $PINGS
check "the pings are gone before the final harvests" -- \
	wait_for 5 bash -c "for p in $PINGS; do kill -0 \$p 2>/dev/null && exit 1; done; exit 0"
sleep 1
check "node-a stops with a final harvest" -- "$TG" stop -c "$T/node-a/tollgate.yaml"
check "node-b stops with a final harvest" -- "$TG" stop -c "$T/node-b/tollgate.yaml"
check "capture complete, nothing dropped" -- capture_stop "$T/far.pcap"
equal "the spools are empty at the end" "$(spool_size node-a):$(spool_size node-b)" "0:0"

# --- the oracle: frames on the far link, by the tenant's address (10.N.0.2)
oracle=$(tshark -r "$T/far.pcap" -T fields -E occurrence=f -e frame.len -e ip.src -e ip.dst 2>/dev/null |
	awk 'BEGIN { n[1] = "node-a acme"; n[2] = "node-a globex"; n[3] = "node-b acme"; n[4] = "node-b hooli" }
	     { split($2, s, "."); split($3, d, ".");
	       if (s[1] == 10) { p[n[s[2]] " egress"]++; b[n[s[2]] " egress"] += $1 }
	       if (d[1] == 10) { p[n[d[2]] " ingress"]++; b[n[d[2]] " ingress"] += $1 } }
	     END { for (k in p) print k, p[k], b[k] }' | sort)
diag "far-side capture (node tenant direction packets bytes):" $oracle
db=$(q "SELECT node, tenant, direction, sum(packets), sum(bytes) FROM tollgate_usage
	GROUP BY 1, 2, 3 ORDER BY 1, 2, 3" | tr '|' ' ' | sort)
equal "8 node/tenant/direction totals in the capture" "$(echo "$oracle" | wc -l)" 8
for k in "node-a acme" "node-a globex" "node-b acme" "node-b hooli"; do
	for d in ingress egress; do
		equal "$k $d: the database's packets and bytes equal the capture" \
			"$(echo "$db" | grep "^$k $d " | cut -d' ' -f4-)" \
			"$(echo "$oracle" | grep "^$k $d " | cut -d' ' -f4-)"
	done
done

equal "no key twice (node, boot epoch, tenant, class, direction, interval start)" \
	"$(q "SELECT count(*) - count(DISTINCT (node, boot_epoch, tenant, class, direction, interval_start)) FROM tollgate_usage")" 0
# Contiguity: node-a never stopped; node-b had no agent from the kill to the restart, and
# the restart billed that time to one interval. Intervals are 2s: count = span/2 + 1.
gaps() { # gaps NODE [FROM TO]: tenant/direction series with a missing interval
	q "SELECT count(*) FROM (SELECT tenant, direction,
		(max(interval_start) - min(interval_start)) / 2 + 1 - count(DISTINCT interval_start) AS gap
		FROM tollgate_usage WHERE node = '$1' AND interval_start >= ${2:-0} AND interval_start < ${3:-9999999999}
		GROUP BY 1, 2) g WHERE gap <> 0"
}
equal "node-a: interval starts contiguous for every tenant and direction" "$(gaps node-a)" 0
equal "node-b: contiguous before the SIGKILL" "$(gaps node-b 0 $((KILL_AT - 2)))" 0
equal "node-b: contiguous after the restart" "$(gaps node-b $((BACK_AT + 2)))" 0
check "intervals of the outage are in the database (from the spools)" -- test \
	"$(q "SELECT count(DISTINCT interval_start) FROM tollgate_usage WHERE node = 'node-a'
		AND interval_start >= $((DOWN_AT + 2)) AND interval_start < $((UP_AT - 2))")" -ge 25
check "node-b has two boot epochs? no: one, the datapath was adopted" -- \
	test "$(q "SELECT count(DISTINCT boot_epoch) FROM tollgate_usage WHERE node = 'node-b'")" = 1

# --- tollgate bill reads the database
bill_sum() { # bill_sum ARGS...: "node tenant direction packets bytes" from the CSV
	"$TG" bill --store "$URL" --format csv "$@" |
		awk -F, 'NR > 1 { p[$1 " " $2 " " $4] += $8; b[$1 " " $2 " " $4] += $7 }
			 END { for (k in p) print k, p[k], b[k] }' | sort
}
equal "bill --node node-a equals the capture of node-a" \
	"$(bill_sum --node node-a)" "$(echo "$oracle" | grep '^node-a ')"
equal "bill --by-node equals the capture of both nodes" "$(bill_sum --by-node)" "$oracle"
sum_acme=$(echo "$oracle" | awk '$2 == "acme" { p[$3] += $4; b[$3] += $5 }
	END { for (d in p) print "* acme", d, p[d], b[d] }' | sort)
equal "bill (default) sums acme over both nodes, node \"*\"" \
	"$(bill_sum --tenant acme)" "$sum_acme"
check "bill -c reads the store named in the configuration" -- \
	bash -c "$TG bill -c $T/node-a/tollgate.yaml --format json | grep -q '\"node\":\"\\*\"'"
OUT=$(PGPASSWORD= "$TG" bill --store "postgresql://tollgate:wrong@127.0.0.1:$PGPORT/billing" 2>&1)
export OUT
check "a wrong password: bill fails with libpq's reason, the password not shown" -- \
	bash -c '[[ $OUT == *"password authentication failed"* && $OUT != *wrong* ]]' || diag "$OUT"
check "a bad URL is refused by check" -- bash -c "! $TG bill --store 'postgresql://x/y?bogus=1' 2>/dev/null"
if [ -n "${TG_PG_DEBUG:-}" ]; then # a directory to keep the logs and the rows in
	mkdir -p "$TG_PG_DEBUG"
	for n in node-a node-b; do cp "$T/$n/agent.log" "$TG_PG_DEBUG/$n.log"; done
	cp "$T/pglog/pg.log" "$TG_PG_DEBUG/"
	q "SELECT * FROM tollgate_cursor ORDER BY 1, 2, 3, 4, 5" >"$TG_PG_DEBUG/cursor.txt"
	for n in node-a node-b; do
		"$TG" tenants -c "$T/$n/tollgate.yaml" --json -i 0 >"$TG_PG_DEBUG/$n.tenants"
	done
	q "SELECT * FROM tollgate_usage ORDER BY node, tenant, direction, interval_start" \
		>"$TG_PG_DEBUG/usage.txt"
	echo "down $DOWN_AT up $UP_AT kill $KILL_AT back $BACK_AT" >"$TG_PG_DEBUG/times.txt"
fi
tap_done
