#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: traffic classes, the live flow table and IPFIX export.
#
# One tenant (acme) behind a veth; on the far side a peer holding two addresses, one in
# the configured class `peering` (192.0.2.0/25) and one in no class (198.51.100.2, so
# `internet`). Known traffic goes to both. The oracle is a capture on the far link with
# offloads off: billing rows split by class must equal the capture split by address,
# and the IPFIX records the agent exports to a collector on 127.0.0.1 (captured and
# decoded by tshark) must add up to the same frames and bytes, with continuous
# sequence numbers.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in ip ethtool dumpcap tshark iperf3 ping; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"

T=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
cleanup() {
	local pids
	pids=$(jobs -p)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	pkill -9 -f "$T/" 2>/dev/null
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/tollgate.yaml" <<YAML
node: {name: e2e}
tenants:
  - name: acme
    interfaces: [vt-acme-*]
classes:
  - name: peering
    cidrs: [192.0.2.0/25]
flows: {capacity: 4096, idle_timeout: 30s}
billing: {interval: 2s, store: "sqlite:$T/tollgate.db"}
outputs:
  ipfix: {collector: "127.0.0.1:4739", interval: 1s, observation_domain: 7}
YAML

ip link set lo up
topo init && topo peer && topo tenant acme 1 || bail "cannot build the topology"
nsx peer ip addr add 198.51.100.2/24 dev eth0
ip route add 198.51.100.0/24 via 192.0.2.2

# The collector: a socket that takes the datagrams (without one, the kernel answers port
# unreachable and the exporter's next sends fail), and a capture of them on lo.
python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 4739))
while True: s.recv(65535)' &
capture_start - lo "$T/ipfix.pcap" "udp port 4739" || bail "dumpcap did not start on lo"
IPFIX_CAPTURE=$CAPTURE_PID
capture_start peer eth0 "$T/far.pcap" || bail "dumpcap did not start on the far link"
FAR_CAPTURE=$CAPTURE_PID

"$TG" run -c "$T/tollgate.yaml" >"$T/agent.log" 2>&1 &
check "agent starts with classes, flows and IPFIX configured" -- \
	wait_for 15 "$TG" status -c "$T/tollgate.yaml" || { cat "$T/agent.log"; bail "no agent"; }

ip netns exec peer iperf3 -s -p 5201 >/dev/null 2>&1 &
wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/127.0.0.1/5201' || bail "iperf3 server did not start"

# Known traffic to both classes: pings of two sizes, UDP datagrams, a paced TCP transfer
# (long enough for `tollgate flows` to measure its rate).
nsx t-acme ping -q -c 10 -i 0.02 -s 1000 192.0.2.2 >/dev/null
nsx t-acme ping -q -c 7 -i 0.02 -s 200 198.51.100.2 >/dev/null
nsx t-acme bash -c 'for s in 10 100 1000 1400; do head -c $s /dev/zero >/dev/udp/198.51.100.2/9; done'
nsx t-acme iperf3 -c 198.51.100.2 -p 5201 -t 3 -b 20M >/dev/null &
XFER=$!
sleep 1
"$TG" flows -c "$T/tollgate.yaml" --tenant acme --json -i 1 >"$T/flows.json" 2>"$T/flows.err"
check "tollgate flows --tenant acme --json runs" -- test -s "$T/flows.json"
check "the running transfer is a flow towards 198.51.100.2:5201 with a rate" -- \
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
f = [x for x in d["flows"] if x["dst"] == "198.51.100.2" and x["dport"] == 5201 and x["proto"] == "tcp"]
sys.exit(0 if f and f[0]["bps"] > 1e6 and f[0]["tenant"] == "acme" and f[0]["class"] == "internet" else 1)' "$T/flows.json"
equal "flows --top 1 prints one flow" \
	"$("$TG" flows -c "$T/tollgate.yaml" --top 1 -i 0 | tail -n +2 | wc -l)" 1
check "flows --tenant of an unknown tenant fails" -- \
	bash -c "! $TG flows -c $T/tollgate.yaml --tenant nobody -i 0"
check "flows --top with a bad count fails" -- bash -c "! $TG flows -c $T/tollgate.yaml --top -3"
wait "$XFER"

check "agent stops (final harvest and final flow export)" -- "$TG" stop -c "$T/tollgate.yaml"
check "far-side capture complete" -- capture_stop "$T/far.pcap" "$FAR_CAPTURE"
check "collector capture complete" -- capture_stop "$T/ipfix.pcap" "$IPFIX_CAPTURE"

# Oracle: the far capture, tenant acme's frames by class of the remote address.
far() { # prints "class direction packets bytes ip_bytes"
	tshark -r "$T/far.pcap" -T fields -E occurrence=f -e frame.len -e ip.src -e ip.dst -e ip.len 2>/dev/null |
		awk '$2 ~ /^10\.1\./ { k = ($3 ~ /^192\.0\.2\./ ? "peering" : "internet") " egress" }
		     $3 ~ /^10\.1\./ { k = ($2 ~ /^192\.0\.2\./ ? "peering" : "internet") " ingress" }
		     $2 ~ /^10\.1\./ || $3 ~ /^10\.1\./ { p[k]++; b[k] += $1; ib[k] += $4 }
		     END { for (k in p) print k, p[k], b[k], ib[k] }' | sort
}
billed() { # from `tollgate bill --format csv`: "class direction packets bytes"
	"$TG" bill -c "$T/tollgate.yaml" --tenant acme --format csv |
		awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			 { k = $col["class"] " " $col["direction"]; p[k] += $col["packets"]; b[k] += $col["bytes"] }
			 END { for (k in p) print k, p[k], b[k] }' | sort
}
o=$(far)
diag "far-side capture (class direction packets bytes ip_bytes):" $o
equal "the capture has both classes in both directions" "$(echo "$o" | wc -l)" 4
b=$(billed)
for row in "peering ingress" "peering egress" "internet ingress" "internet egress"; do
	equal "billed acme $row (packets bytes) equals the capture" \
		"$(echo "$b" | grep "^$row " | cut -d' ' -f3-)" \
		"$(echo "$o" | grep "^$row " | cut -d' ' -f3,4)"
done

# IPFIX: every record of every message, decoded by tshark.
tshark -r "$T/ipfix.pcap" -d udp.port==4739,cflow -T fields -E occurrence=a -E separator=';' \
	-e cflow.od_id -e cflow.sequence -e cflow.packets -e cflow.octets \
	-e cflow.layer2_octet_delta_count -e cflow.srcaddr -e cflow.dstaddr 2>/dev/null >"$T/ipfix.txt"
diag "IPFIX messages captured: $(wc -l <"$T/ipfix.txt")"
check "IPFIX messages were captured and decoded" -- test -s "$T/ipfix.txt"
check "every message carries observation domain 7" -- \
	awk -F';' '$1 != 7 { exit 1 }' "$T/ipfix.txt"
# Sequence: each message's number = data records sent before it (RFC 7011 3.1).
check "sequence numbers are continuous" -- awk -F';' '
	{ n = ($3 == "" ? 0 : split($3, x, ",")) }
	NR > 1 && $2 != expect { print "message " NR ": sequence " $2 ", expected " expect; bad = 1 }
	{ expect = $2 + n }
	END { exit bad }' "$T/ipfix.txt"
# Totals of acme's records against the far capture (10.1.0.0/16 is acme here).
sum_ipfix() { # sum_ipfix FIELD_INDEX: the sum over records of acme's addresses
	awk -F';' -v f="$1" '{ n = split($f, v, ","); split($6, s, ","); split($7, d, ",")
		for (i = 1; i <= n; i++) if (s[i] ~ /^10\.1\./ || d[i] ~ /^10\.1\./) t += v[i] }
		END { print t + 0 }' "$T/ipfix.txt"
}
want_packets=$(echo "$o" | awk '{ t += $3 } END { print t + 0 }')
want_bytes=$(echo "$o" | awk '{ t += $4 } END { print t + 0 }')
want_ip=$(echo "$o" | awk '{ t += $5 } END { print t + 0 }')
equal "IPFIX packetDeltaCount total equals the frames captured" "$(sum_ipfix 3)" "$want_packets"
equal "IPFIX layer2OctetDeltaCount total equals the bytes captured" "$(sum_ipfix 5)" "$want_bytes"
equal "IPFIX octetDeltaCount total equals the IP bytes captured" "$(sum_ipfix 4)" "$want_ip"

check "stop --purge leaves nothing" -- "$TG" stop -c "$T/tollgate.yaml" --purge
tap_done
