#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: deny lists and segmentation on real traffic. Two interface tenants (acme
# 10.1.0.0/24, beta 10.2.0.0/24) and a peer (192.0.2.2, plus 192.0.2.99 and 10.2.0.77).
#
#   the default list denies 192.0.2.99/32: unreachable from both tenants (ping, TCP),
#     while 192.0.2.2 stays reachable;
#   acme's own list denies tcp/22 to 192.0.2.2: connect fails, tcp/80 connects, and
#     beta (whose list it is not) still reaches port 22;
#   segmentation: acme and beta cannot reach each other, and a packet from the peer with
#     a source in beta's CIDR never reaches acme (the check on the source, ingress);
#   a second agent run with `allow_tenants: [beta]` on acme only: both ways pass.
#
# Reachability is checked against a control run before any agent starts (everything
# reachable), and the drop counters (tg_drops, read with bpftool) against a capture on the
# host: every frame that entered a tenant's interface (or the uplink, for the spoofed
# source) towards a denied destination is one drop, and none of them left the host.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in ip ethtool dumpcap tshark ping bpftool python3 timeout; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"

T=$(mktemp -d /tmp/tollgate-iso.XXXXXX)
AGENT=
LISTENER=
cleanup() {
	local p
	for p in "$AGENT" "$LISTENER" "${CAPTURE_PID:-}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

PIN=/sys/fs/bpf/tollgate
DENY=3    # TG_REASON_DENY
SEGMENT=4 # TG_REASON_SEGMENT
SLOTS=16  # TG_REASON_SLOTS

write_config() { # write_config ALLOW_LINE
	cat >"$T/tollgate.yaml" <<-YAML
	node: {name: e2e-isolation}
	tenants:
	  - name: acme
	    interfaces: [vt-acme-*]
	    cidrs: [10.1.0.0/24]
	    deny: [{cidr: 192.0.2.2/32, proto: tcp, ports: 22}]
	$1
	  - name: beta
	    interfaces: [vt-beta-*]
	    cidrs: [10.2.0.0/24]
	isolation: {segmentation: true, deny: [192.0.2.99/32]}
	billing: {interval: 2s, store: "sqlite:$T/tollgate.db"}
	YAML
}

agent_start() {
	"$TG" run -c "$T/tollgate.yaml" >>"$T/agent.log" 2>&1 &
	AGENT=$!
	wait_for 15 "$TG" status -c "$T/tollgate.yaml" && wait_for 10 hooked vt-acme-0 &&
		wait_for 10 hooked vt-beta-0
}

agent_stop() {
	"$TG" stop -c "$T/tollgate.yaml" && wait "$AGENT" 2>/dev/null
	AGENT=
}

hooked() { # hooked IFACE: both meters attached according to status
	"$TG" status -c "$T/tollgate.yaml" --json |
		grep -q "\"interface\": \"$1\", [^}]*\"tc_ingress\": true, \"tc_egress\": true"
}

pings() { # pings NS DST [ping options]: succeeds when an echo reply came back
	local ns=$1 dst=$2
	shift 2
	nsx "$ns" ping -q -c 2 -i 0.2 -W 1 "$@" "$dst" >/dev/null 2>&1
}

fails() { ! "$@"; }

refused() { # refused NS ADDR PORT: the far stack answered with a reset
	nsx "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>&1 | grep -q "Connection refused"
}

connects() { # connects NS ADDR PORT: a TCP connection is established within 2 s
	nsx "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

# The tenant id of NAME, from the pinned tg_tenant_meta (names are in the pins).
tenant_id() {
	local id
	for id in 1 2 3 4 5 6 7 8; do
		bpftool -j map lookup pinned "$PIN/tg_tenant_meta" key $((id & 255)) $((id >> 8)) 0 0 |
			python3 -c 'import json, sys
v = json.load(sys.stdin)
f = v.get("formatted", v)["value"]
sys.exit(0 if f["name"] == sys.argv[1] else 1)' "$1" && { echo "$id"; return 0; }
	done
	return 1
}

drops() { # drops TENANT_ID REASON: "packets bytes" summed over CPUs
	local cell=$(($1 * SLOTS + $2))
	bpftool -j map lookup pinned "$PIN/tg_drops" key $((cell & 255)) $(((cell >> 8) & 255)) \
		$(((cell >> 16) & 255)) 0 |
		python3 -c 'import json, sys
v = json.load(sys.stdin)
vals = v.get("formatted", v)["values"]
print(sum(c["value"]["packets"] for c in vals), sum(c["value"]["bytes"] for c in vals))'
}

# The oracle, from the host capture (-i any: cooked frames with their direction): frames
# matching FILTER that came into the host, and how many went out again. Prints "packets
# bytes left"; bytes are Ethernet frame bytes (IP length + 14, no VLANs here), the byte
# rule the drop counters use. Each filter below names sources that can only arrive
# through one interface (a tenant's, or the uplink for 10.2.0.77).
seen() { # seen PCAP FILTER
	tshark -r "$1" -Y "$2" -T fields -E occurrence=f -e sll.pkttype -e ip.len 2>/dev/null |
		awk '$1 == 0 { p++; b += $2 + 14 } $1 == 4 { out++ } END { print p + 0, b + 0, out + 0 }'
}

listener() { # TCP listeners in the peer: accept and close, forever
	ip netns exec peer python3 -c '
import selectors, socket, sys
sel = selectors.DefaultSelector()
for a in sys.argv[1:]:
    host, port = a.rsplit(":", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(64)
    sel.register(s, selectors.EVENT_READ)
print("listening", flush=True)
while True:
    for k, _ in sel.select():
        c, _ = k.fileobj.accept()
        c.close()
' 192.0.2.2:22 192.0.2.2:80 192.0.2.99:80 >"$T/listener.log" 2>&1 &
	LISTENER=$!
	wait_for 10 grep -q listening "$T/listener.log"
}

ip netns add _probe 2>/dev/null && ip netns del _probe # /run/netns is ours
{ topo init && topo peer && topo tenant acme 1 && topo tenant beta 2; } ||
	bail "cannot build the topology"
# Extra peer addresses: a denied one, and one inside beta's CIDR (a spoofed source that
# reaches acme through the uplink). No reverse-path filter on the host for the latter.
nsx peer ip addr add 192.0.2.99/32 dev eth0 &&
	nsx peer ip addr add 10.2.0.77/32 dev eth0 &&
	ip neigh replace 192.0.2.99 lladdr 02:00:00:00:ff:02 dev up0 nud permanent &&
	ip route add 10.2.0.77/32 via 192.0.2.2 dev up0 &&
	sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.up0.rp_filter=0 ||
	bail "cannot add the peer's extra addresses"
listener || bail "the TCP listeners in the peer did not start"

# Control: without Tollgate everything in this test is reachable.
check "control: acme pings 192.0.2.99" -- pings t-acme 192.0.2.99
check "control: acme connects to 192.0.2.99:80" -- connects t-acme 192.0.2.99 80
check "control: acme connects to 192.0.2.2:22" -- connects t-acme 192.0.2.2 22
check "control: acme pings beta" -- pings t-acme 10.2.0.2
check "control: beta pings acme" -- pings t-beta 10.1.0.2
check "control: beta's TCP to acme:80 is refused by acme's stack" -- refused t-beta 10.1.0.2 80
check "control: the peer pings acme from 10.2.0.77" -- pings peer 10.1.0.2 -I 10.2.0.77

# ---- run 1: segmentation, no pair ----
write_config ""
check "the configuration is valid" -- "$TG" check -c "$T/tollgate.yaml" ||
	{ "$TG" check -c "$T/tollgate.yaml"; bail "the configuration does not parse"; }
check "run 1: agent starts with both tenants hooked" -- agent_start ||
	{ cat "$T/agent.log"; bail "the agent did not start"; }
ACME=$(tenant_id acme) && BETA=$(tenant_id beta) || bail "tenant ids not found in the pins"
d0_acme_deny=$(drops "$ACME" $DENY)
d0_acme_seg=$(drops "$ACME" $SEGMENT)
d0_beta_deny=$(drops "$BETA" $DENY)
d0_beta_seg=$(drops "$BETA" $SEGMENT)
capture_start - any "$T/run1.pcap" "ip" || bail "dumpcap did not start"

check "default list: acme cannot ping 192.0.2.99" -- fails pings t-acme 192.0.2.99
check "default list: acme cannot connect to 192.0.2.99:80" -- \
	fails connects t-acme 192.0.2.99 80
check "default list: beta cannot ping 192.0.2.99" -- fails pings t-beta 192.0.2.99
check "default list: 192.0.2.2 stays reachable (ping)" -- pings t-acme 192.0.2.2
check "tenant list: acme cannot connect to 192.0.2.2:22" -- \
	fails connects t-acme 192.0.2.2 22
check "tenant list: acme connects to 192.0.2.2:80" -- connects t-acme 192.0.2.2 80
check "tenant list: beta (not its list) connects to 192.0.2.2:22" -- connects t-beta 192.0.2.2 22
check "segmentation: acme cannot ping beta" -- fails pings t-acme 10.2.0.2
check "segmentation: beta cannot ping acme" -- fails pings t-beta 10.1.0.2
check "segmentation: beta's TCP to acme gets no answer (not even a reset)" -- \
	fails refused t-beta 10.1.0.2 80
check "segmentation on the source: the peer cannot ping acme from beta's 10.2.0.77" -- \
	fails pings peer 10.1.0.2 -I 10.2.0.77
check "segmentation: the peer's own address still pings acme" -- pings peer 10.1.0.2
check "run 1: capture complete, nothing dropped" -- capture_stop "$T/run1.pcap"

# Oracle: frames that entered towards a denied destination, per tenant and reason.
o_acme_deny=$(seen "$T/run1.pcap" \
	'ip.src == 10.1.0.2 && (ip.dst == 192.0.2.99 || (ip.dst == 192.0.2.2 && tcp.dstport == 22))')
o_beta_deny=$(seen "$T/run1.pcap" 'ip.src == 10.2.0.2 && ip.dst == 192.0.2.99')
o_acme_seg_out=$(seen "$T/run1.pcap" 'ip.src == 10.1.0.2 && ip.dst == 10.2.0.0/24')
o_acme_seg_in=$(seen "$T/run1.pcap" 'ip.src == 10.2.0.77 && ip.dst == 10.1.0.2')
o_beta_seg=$(seen "$T/run1.pcap" 'ip.src == 10.2.0.2 && ip.dst == 10.1.0.0/24')
diag "capture (packets bytes forwarded): acme deny $o_acme_deny; beta deny $o_beta_deny;" \
	"acme segment out $o_acme_seg_out, in $o_acme_seg_in; beta segment $o_beta_seg"

delta() { # delta "P0 B0" "P1 B1" -> "P B"
	echo "$1 $2" | awk '{ print $3 - $1, $4 - $2 }'
}
sum() { # sum "P B X" "P B X" -> "P B"
	echo "$1 $2" | awk '{ print $1 + $4, $2 + $5 }'
}
check "the capture saw frames for every row below (none is trivially 0 = 0)" -- \
	test "$(echo "$o_acme_deny $o_beta_deny $o_acme_seg_out $o_acme_seg_in $o_beta_seg" |
		awk '{ print ($1 > 0) + ($4 > 0) + ($7 > 0) + ($10 > 0) + ($13 > 0) }')" = 5
equal "no denied or segmented frame left the host (capture)" \
	"$(echo "$o_acme_deny $o_beta_deny $o_acme_seg_out $o_acme_seg_in $o_beta_seg" |
		awk '{ print $3 + $6 + $9 + $12 + $15 }')" 0
equal "tg_drops acme/deny equals the frames acme sent to denied destinations" \
	"$(delta "$d0_acme_deny" "$(drops "$ACME" $DENY)")" "$(echo "$o_acme_deny" | cut -d' ' -f1-2)"
equal "tg_drops beta/deny equals the frames beta sent to 192.0.2.99" \
	"$(delta "$d0_beta_deny" "$(drops "$BETA" $DENY)")" "$(echo "$o_beta_deny" | cut -d' ' -f1-2)"
equal "tg_drops acme/segment equals acme's frames to beta plus 10.2.0.77's to acme" \
	"$(delta "$d0_acme_seg" "$(drops "$ACME" $SEGMENT)")" "$(sum "$o_acme_seg_out" "$o_acme_seg_in")"
equal "tg_drops beta/segment equals beta's frames to acme" \
	"$(delta "$d0_beta_seg" "$(drops "$BETA" $SEGMENT)")" "$(echo "$o_beta_seg" | cut -d' ' -f1-2)"
check "run 1: agent stops" -- agent_stop

# ---- run 2: acme lists beta; the pair passes both ways ----
write_config "    allow_tenants: [beta]"
check "run 2: the configuration with allow_tenants is valid" -- "$TG" check -c "$T/tollgate.yaml"
check "run 2: agent starts" -- agent_start || { cat "$T/agent.log"; bail "the agent did not start"; }
check "allow_tenants: acme pings beta" -- pings t-acme 10.2.0.2
check "allow_tenants: beta pings acme (the pair is symmetric)" -- pings t-beta 10.1.0.2
check "allow_tenants: beta's TCP reaches acme (refused by acme's stack, not dropped)" -- \
	refused t-beta 10.1.0.2 80
check "allow_tenants: the default list still applies" -- \
	fails pings t-acme 192.0.2.99
check "allow_tenants: acme's own list still applies" -- \
	fails connects t-acme 192.0.2.2 22
check "run 2: agent stops" -- agent_stop
check "stop --purge leaves no pins" -- bash -c "$TG stop -c $T/tollgate.yaml --purge && test ! -e $PIN"
check "with Tollgate gone, acme pings 192.0.2.99 again" -- pings t-acme 192.0.2.99
tap_done
