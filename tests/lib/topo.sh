# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Namespaced test topologies. Everything lives in a private network and mount namespace
# (the script re-executes itself under `unshare -n -m`), so nothing touches the host's
# interfaces, pins or mounts, and it all disappears with the process, also on failure.
#
#   t-NAME (10.I.0.2) --veth-- [vt-NAME-0  "host"  up0] --veth-- peer (192.0.2.2)
#
# The host forwards between tenants and the peer. The peer link has every offload off,
# so a capture there sees frames as they would be on a wire. IPv6 is off and neighbours
# are static: every frame a tenant link carries is a frame the peer link carries too.

TG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TG=${TG:-$TG_ROOT/build/tollgate}

# tg_sandbox "$0" "$@": re-executes the calling script in private namespaces.
tg_sandbox() {
	if [ -z "${TG_SANDBOX:-}" ]; then
		exec env TG_SANDBOX=1 unshare -n -m --propagation private "$@"
	fi
	mount -t tmpfs tg-run /run || return 1 # private /run/netns, /run/tollgate
	mount -t tmpfs tg-log /var/log || return 1 # the agent's default events file
	# Start from a machine without bpffs and tracefs, as a fresh host is: the agent
	# must mount them itself. (Only this mount namespace loses them.)
	while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || return 1; done
	while mountpoint -q /sys/kernel/tracing; do umount -l /sys/kernel/tracing || return 1; done
	ip link set lo up
}

nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

_quiet_ns() {
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	nsx "$1" ip link set lo up
}

topo_init() {
	sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	sysctl -qw net.ipv4.ip_forward=1
}

# topo_peer: the far side, with offloads off on both ends of its link.
topo_peer() {
	ip netns add peer && _quiet_ns peer
	ip link add up0 address 02:00:00:00:ff:01 type veth peer name eth0 \
		address 02:00:00:00:ff:02 netns peer
	ip addr add 192.0.2.1/24 dev up0
	nsx peer ip addr add 192.0.2.2/24 dev eth0
	ethtool -K up0 tso off gso off gro off >/dev/null 2>&1
	nsx peer ethtool -K eth0 tso off gso off gro off >/dev/null 2>&1
	ip link set up0 up
	nsx peer ip link set eth0 up
	ip neigh replace 192.0.2.2 lladdr 02:00:00:00:ff:02 dev up0 nud permanent
	nsx peer ip neigh replace 192.0.2.1 lladdr 02:00:00:00:ff:01 dev eth0 nud permanent
	nsx peer ip route add 10.0.0.0/8 via 192.0.2.1
}

# topo_tenant NAME I: tenant namespace t-NAME behind vt-NAME-0, address 10.I.0.2.
# Offloads stay on at the tenant's link: the meter sees GSO super-packets there.
topo_tenant() {
	local name=$1 i=$2 hx
	hx=$(printf '%02x' "$i")
	ip netns add "t-$name" && _quiet_ns "t-$name"
	ip link add "vt-$name-0" address "02:00:00:00:$hx:01" type veth peer name eth0 \
		address "02:00:00:00:$hx:02" netns "t-$name"
	ip addr add "10.$i.0.1/24" dev "vt-$name-0"
	nsx "t-$name" ip addr add "10.$i.0.2/24" dev eth0
	ip link set "vt-$name-0" up
	nsx "t-$name" ip link set eth0 up
	nsx "t-$name" ip route add default via "10.$i.0.1"
	ip neigh replace "10.$i.0.2" lladdr "02:00:00:00:$hx:02" dev "vt-$name-0" nud permanent
	nsx "t-$name" ip neigh replace "10.$i.0.1" lladdr "02:00:00:00:$hx:01" dev eth0 \
		nud permanent
}

# topo_tenant_if NAME I K: a further interface of tenant NAME: namespace t-NAME-K behind
# vt-NAME-K (matched by the same vt-NAME-* glob), address 10.I.0.2 with its own I.
topo_tenant_if() {
	local name=$1 i=$2 k=$3 hx ns=t-$1-$3 dev=vt-$1-$3
	hx=$(printf '%02x' "$i")
	ip netns add "$ns" && _quiet_ns "$ns"
	ip link add "$dev" address "02:00:00:00:$hx:01" type veth peer name eth0 \
		address "02:00:00:00:$hx:02" netns "$ns"
	ip addr add "10.$i.0.1/24" dev "$dev"
	nsx "$ns" ip addr add "10.$i.0.2/24" dev eth0
	ip link set "$dev" up
	nsx "$ns" ip link set eth0 up
	nsx "$ns" ip route add default via "10.$i.0.1"
	ip neigh replace "10.$i.0.2" lladdr "02:00:00:00:$hx:02" dev "$dev" nud permanent
	nsx "$ns" ip neigh replace "10.$i.0.1" lladdr "02:00:00:00:$hx:01" dev eth0 \
		nud permanent
}

# topo NAME ARGS...: builds one piece with errexit, failing as a whole.
topo() {
	(
		set -e
		"topo_$@"
	)
}

# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
	local t=$(($1 * 10))
	shift
	while [ "$t" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}

# capture_start NS IFACE FILE [FILTER]: dumpcap in NS ("-": the sandbox's own namespace);
# returns once it is capturing. CAPTURE_PID is dumpcap's pid. With CAPTURE_SNAPLEN set,
# only that many bytes of each frame are kept (frame.len stays the frame's length).
capture_start() {
	local log=$3.log
	local filter=()
	[ -n "${4:-}" ] && filter=(-f "$4")
	[ -n "${CAPTURE_SNAPLEN:-}" ] && filter+=(-s "$CAPTURE_SNAPLEN")
	# Not through nsx: `ip netns exec` execs dumpcap, so $! is dumpcap itself.
	if [ "$1" = - ]; then
		dumpcap -q -i "$2" -B 64 "${filter[@]}" -w "$3" >"$log" 2>&1 &
	else
		ip netns exec "$1" dumpcap -q -i "$2" -B 64 "${filter[@]}" -w "$3" >"$log" 2>&1 &
	fi
	CAPTURE_PID=$!
	# dumpcap announces itself on stderr once the capture is open.
	wait_for 15 grep -q "Capturing on" "$log" || return 1
	sleep 0.5
}

# capture_stop FILE [PID]: stops dumpcap (CAPTURE_PID unless given) and fails when it
# dropped anything.
capture_stop() {
	local log=$1.log pid=${2:-$CAPTURE_PID}
	sleep 0.5
	# SIGTERM: background jobs of a script ignore SIGINT.
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if grep -Eq 'dropped on interface.*: [0-9]+/[1-9]' "$log"; then
		cat "$log" >&2
		return 1
	fi
	return 0
}

# topo_cleanup: kills whatever still runs in the namespaces this script made, then
# deletes them. (/run/netns is private to the sandbox, so only ours are listed.)
topo_cleanup() {
	local ns dev
	# Deleting one end of a veth removes the pair at once; a deleted namespace takes
	# its links only later, which would make the next topology's names collide.
	for dev in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
		ip link del "$dev" 2>/dev/null
	done
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
}
