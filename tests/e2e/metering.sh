#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: two tenants behind veths, a peer on the far side of a forwarding hop, known
# traffic both ways (UDP of varied sizes, ICMP, TCP transfers with TSO/GSO on at the
# tenants). What Tollgate bills must equal, to the byte and the packet, what a capture on
# the far link sees, where offloads are off and frames are their wire size.
#
# Scenario "restart": the agent is stopped (SIGTERM) between two traffic phases and
# started again: metering continues while it is down and the new agent adopts the pins.
# Scenario "sigkill": the agent is SIGKILLed in the middle of a TCP transfer and started
# again. After each, `tollgate stop --purge` must leave nothing Tollgate added.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in ip tc ethtool dumpcap tshark iperf3 ping bpftool; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"

T=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
cleanup() {
	local pids
	pids=$(jobs -p)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	pkill -9 -f "$T/" 2>/dev/null # the agent, wherever it was started from
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

write_config() {
	cat >"$T/tollgate.yaml" <<-YAML
	node: {name: e2e}
	tenants:
	  - name: acme
	    interfaces: [vt-acme-*]
	  - name: globex
	    interfaces: [vt-globex-*]
	billing: {interval: 2s, store: "sqlite:$T/$1.db"}
	YAML
}

agent_start() {
	"$TG" run -c "$T/tollgate.yaml" >>"$T/agent.log" 2>&1 &
	AGENT=$!
	wait_for 15 "$TG" status -c "$T/tollgate.yaml"
}

hooked() { # hooked IFACE: both meters attached according to status
	"$TG" status -c "$T/tollgate.yaml" --json |
		grep -q "\"interface\": \"$1\", [^}]*\"tc_ingress\": true, \"tc_egress\": true"
}

udp_burst() { # udp_burst NS DST: datagrams of varied sizes, some fragmented
	nsx "$1" bash -c "for s in 1 17 64 100 512 999 1400 1472 1473 3000 8000; do
		head -c \$s /dev/urandom >/dev/udp/$2/9; done"
}

traffic() { # traffic TENANT I
	local ns=t-$1 ip=10.$2.0.2
	udp_burst "$ns" 192.0.2.2
	udp_burst peer "$ip"
	nsx "$ns" ping -q -c 5 -i 0.02 -s 1000 192.0.2.2 >/dev/null
	nsx peer ping -q -c 5 -i 0.02 -s 56 "$ip" >/dev/null
	nsx peer ping -q -c 3 -i 0.02 -s 2000 "$ip" >/dev/null
}

tcp_transfer() { # tcp_transfer TENANT BYTES [-R]
	nsx "t-$1" iperf3 -c 192.0.2.2 -p 5201 -n "$2" ${3:-} >/dev/null
}

# The oracle: frames on the far link, attributed by the outer header's addresses.
oracle() { # prints "tenant direction packets bytes"
	tshark -r "$1" -T fields -E occurrence=f -e frame.len -e ip.src -e ip.dst 2>/dev/null |
		awk '{ split($2, s, "."); split($3, d, ".");
		       if (s[1] == 10) { p["egress " s[2]]++; b["egress " s[2]] += $1 }
		       if (d[1] == 10) { p["ingress " d[2]]++; b["ingress " d[2]] += $1 } }
		     END { for (k in p) { split(k, x, " ");
			   print (x[2] == 1 ? "acme" : "globex"), x[1], p[k], b[k] } }' | sort
}

billed() { # from `tollgate bill --format csv`: "tenant direction packets bytes", all classes
	"$TG" bill -c "$T/tollgate.yaml" --format csv |
		awk -F, 'NR > 1 { p[$2 " " $4] += $8; b[$2 " " $4] += $7 }
			 END { for (k in p) print k, p[k], b[k] }' | sort
}

live() { # from `tollgate tenants --json`
	"$TG" tenants -c "$T/tollgate.yaml" --json -i 0 |
		sed -n 's/.*"tenant": "\([a-z]*\)", "direction": "\([a-z]*\)", "bytes": \([0-9]*\), "packets": \([0-9]*\).*/\1 \2 \4 \3/p' |
		awk '$3 > 0' | sort
}

gso_packets() {
	"$TG" status -c "$T/tollgate.yaml" --json | sed -n 's/.*"gso_packets": \([0-9]*\).*/\1/p'
}

purge_checks() {
	check "stop --purge succeeds" -- "$TG" stop -c "$T/tollgate.yaml" --purge
	check "no pins left" -- test ! -e /sys/fs/bpf/tollgate
	check "the bpffs the agent mounted is gone" -- bash -c '! mountpoint -q /sys/fs/bpf'
	check "the tracefs the agent mounted is gone" -- bash -c '! mountpoint -q /sys/kernel/tracing'
	check "no clsact left where Tollgate created it" -- \
		bash -c '! tc qdisc show dev vt-globex-0 | grep -q clsact'
	check "the foreign clsact and its filter stay" -- \
		bash -c 'tc filter show dev vt-acme-0 egress | grep -q "pref 5 bpf .*bytecode"'
	check "no Tollgate filter left" -- bash -c '! tc filter show dev vt-acme-0 ingress | grep -q . &&
		! tc filter show dev vt-acme-0 egress | grep -q tg_meter'
	check "no Tollgate BPF program or link left" -- \
		wait_for 5 bash -c '! bpftool prog show | grep -q tg_meter_ && ! bpftool link show | grep -q tg_meter_'
}

scenario() { # scenario NAME
	local name=$1 o b l
	write_config "$name"
	: >"$T/agent.log"
	ip netns add _probe 2>/dev/null && ip netns del _probe # /run/netns is ours
	topo init && topo peer && topo tenant acme 1 || bail "cannot build the topology"
	# A clsact that is not Tollgate's, with a filter of its own: purge must keep both.
	tc qdisc add dev vt-acme-0 clsact
	# (Classic BPF bytecode: an object file would make tc mount bpffs itself.)
	tc filter add dev vt-acme-0 egress prio 5 bpf bytecode "1,6 0 0 0,"

	check "$name: agent starts and reports healthy" -- agent_start || { cat "$T/agent.log"; return; }
	check "$name: agent mounted bpffs" -- mountpoint -q /sys/fs/bpf
	equal "$name: pin directory mode" "$(stat -c %a /sys/fs/bpf/tollgate)" 700
	topo tenant globex 2 || bail "cannot add tenant globex" # after start: found by link events
	check "$name: interface created after start gets the meter" -- wait_for 10 hooked vt-globex-0
	check "$name: tenant interface present at start has the meter" -- hooked vt-acme-0

	ip netns exec peer iperf3 -s -p 5201 >/dev/null 2>&1 &
	local server=$!
	wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/127.0.0.1/5201' ||
		bail "iperf3 server did not start"
	capture_start peer eth0 "$T/$name.pcap" || bail "dumpcap did not start"

	traffic acme 1
	traffic globex 2
	if [ "$name" = sigkill ]; then
		tcp_transfer acme 6M "-b 60M" & # paced to last about 0.8 s
		local xfer=$!
		sleep 0.3
		check "$name: the transfer is in flight at the kill" -- kill -0 "$xfer"
		kill -9 "$AGENT"
		wait "$AGENT" 2>/dev/null
		check "$name: datapath meters while the agent is dead" -- \
			bash -c "$TG status -c $T/tollgate.yaml | grep -q 'agent:     not running'"
		check "$name: agent restarts after SIGKILL" -- agent_start
		wait "$xfer"
		check "$name: restarted agent adopted the pinned maps" -- \
			grep -q "adopted the datapath" "$T/agent.log"
	else
		tcp_transfer acme 4M
		check "$name: SIGTERM stops the agent" -- "$TG" stop -c "$T/tollgate.yaml"
		check "$name: meters stay attached while the agent is down" -- hooked vt-acme-0
		tcp_transfer acme 3M -R # billed while no agent runs
		traffic acme 1
		check "$name: agent restarts" -- agent_start
		check "$name: restarted agent adopted the pinned maps" -- \
			grep -q "adopted the datapath" "$T/agent.log"
	fi
	tcp_transfer globex 3M
	tcp_transfer globex 2M -R
	check "$name: capture complete, nothing dropped" -- capture_stop "$T/$name.pcap"

	o=$(oracle "$T/$name.pcap")
	diag "$name: far-side capture (tenant direction packets bytes):" $o
	[ "$(echo "$o" | wc -l)" -eq 4 ] || diag "expected 4 tenant/direction rows in the capture"
	l=$(live)
	equal "$name: live counters (tollgate tenants) equal the capture" "$(echo $l)" "$(echo $o)"
	check "$name: the meter saw GSO super-packets" -- test "$(gso_packets)" -gt 0
	check "$name: agent stops with a final harvest" -- "$TG" stop -c "$T/tollgate.yaml"
	b=$(billed)
	for row in "acme ingress" "acme egress" "globex ingress" "globex egress"; do
		equal "$name: billed $row (packets bytes) equals the capture" \
			"$(echo "$b" | grep "^$row " | cut -d' ' -f3-)" \
			"$(echo "$o" | grep "^$row " | cut -d' ' -f3-)"
	done
	purge_checks

	kill "$server"
	wait "$server" 2>/dev/null
	topo_cleanup
}

scenario restart
scenario sigkill
tap_done
