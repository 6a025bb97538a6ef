#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: cgroup tenants (docs/isolation.md, "Cgroup tenants"). Test cgroups are made
# under the host's cgroup2 mount (cgroups are global; the names are unique to this run and
# removed on exit, also on failure); the network is the sandbox's own: its loopback holds
# every address the tenants' processes talk to, and a server in the root cgroup
# listens on them. The tenants' processes are tests/lib/cg_client.py, started inside their
# cgroups, reporting every result as the errno the process saw. Counters are read from
# the pinned maps with bpftool (tests/lib/kcounters.py).
#
#   acme   max_connections 50, raw sockets denied, its own deny list
#   beta   no caps; gamma may talk to it (allow_tenants)
#   gamma  a cgroup inside beta's; egress_pps 100
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
export LC_ALL=C

for tool in ip bpftool python3; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CGROOT" ] || bail "no cgroup2 mount in /proc/self/mounts"

T=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
TOP=tollgate-e2e-$$
CG=$CGROOT/$TOP
PIN=/sys/fs/bpf/tollgate
MAP="env TG_PIN=$PIN python3 $TG_ROOT/tests/lib/kcounters.py"
CLIENTS=()
stress=()
AGENT=

cleanup() {
	local pid d
	for pid in "${CLIENTS[@]}" $AGENT $SERVER; do
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# A cgroup can only go once it is empty: move anything left to the root first.
	for d in "$CG/beta/gamma" "$CG/beta" "$CG/acme" "$CG"; do
		[ -d "$d" ] || continue
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
			echo "$pid" >"$CGROOT/cgroup.procs" 2>/dev/null
		done
		rmdir "$d" 2>/dev/null || echo "# cannot remove $d" >&2
	done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$CG/acme" "$CG/beta/gamma" || bail "cannot create test cgroups under $CGROOT"

# The addresses: acme, beta and gamma own 10.1/24, 10.2/24 and 10.3/24; 198.51.100.1 is on
# acme's deny list (tcp 22, udp 1000-2000); 203.0.113.10 is on the default list.
for a in 10.1.0.1 10.2.0.1 10.3.0.1 198.51.100.1 203.0.113.10; do
	ip addr add "$a/32" dev lo || bail "cannot add $a to the sandbox's loopback"
done

cat >"$T/tollgate.yaml" <<YAML
node: {name: e2e}
tenants:
  - name: acme
    cidrs: [10.1.0.0/24]
    cgroups: [/$TOP/acme, /$TOP/missing]
    limits: {max_connections: 50}
    deny: [{cidr: 198.51.100.0/24, proto: tcp, ports: 22},
           {cidr: 198.51.100.0/24, proto: udp, ports: 1000-2000}]
    raw_sockets: deny
  - name: beta
    cidrs: [10.2.0.0/24]
    cgroups: [/$TOP/beta]
  - name: gamma
    cidrs: [10.3.0.0/24]
    cgroups: [/$TOP/beta/gamma]
    allow_tenants: [beta]
    limits: {egress_pps: 100}
isolation: {segmentation: true, deny: [203.0.113.10/32]}
billing: {interval: 60s, store: "sqlite:$T/tollgate.db"}
outputs: {events: $T/events.json}
YAML

# The far side, in the root cgroup: accepts and holds every connection.
python3 - >"$T/server.log" 2>&1 <<'PY' &
import select, socket
ls = []
for fam, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for port in (22, 80, 5000):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port))
        s.listen(4096)
        ls.append(s)
for port in (1500, 3000):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", port))
    ls.append(u)
print("listening", flush=True)
held = []
while True:
    for s in select.select(ls, [], [])[0]:
        if s.type == socket.SOCK_STREAM:
            held.append(s.accept()[0])
        else:
            s.recv(65536)
PY
SERVER=$!
wait_for 10 grep -q listening "$T/server.log" || bail "the server did not start"

# client NAME CGROUP: a tenant process in CGROUP, driven through two FIFOs.
client() {
	local in=$T/$1.in out=$T/$1.out fd
	mkfifo "$in" "$out"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec python3 "$2"' sh "$2" \
		"$TG_ROOT/tests/lib/cg_client.py" <"$in" >"$out" &
	CLIENTS+=($!)
	exec {fd}>"$in"
	eval "IN_$1=$fd"
	exec {fd}<"$out"
	eval "OUT_$1=$fd"
}

ask() { # ask NAME COMMAND...: prints the answer
	local i o line
	eval "i=\$IN_$1 o=\$OUT_$1"
	echo "${*:2}" >&"$i"
	read -r -t 60 line <&"$o" || line="(no answer)"
	echo "$line"
}

STARTS=0
agent_start() { # each run logs to its own file: $T/agent.N.log, LOG the last
	STARTS=$((STARTS + 1))
	LOG=$T/agent.$STARTS.log
	"$TG" run -c "$T/tollgate.yaml" >"$LOG" 2>&1 &
	AGENT=$!
	wait_for 15 grep -q "tollgate: running" "$LOG"
}

agent_stop() {
	kill -TERM "$AGENT" && wait "$AGENT"
	local rc=$?
	AGENT=
	return $rc
}

tg_progs() { # tg_progs DIR: Tollgate's programs attached to DIR itself, "type name id"
	bpftool cgroup show "$1" 2>/dev/null | awk '$NF ~ /^tg_/ { print $2, $NF, $1 }' | sort
}

errno_of() { # the number after NAME= in a client's answer, 0 when absent
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | grep . || echo 0
}

check "agent starts" -- agent_start || { cat "$LOG"; bail "the agent did not start"; }
check "a missing tenant cgroup is reported with tenant and path" -- \
	grep -q "tenant acme: cgroup /$TOP/missing: does not exist" "$LOG"
ACME=$($MAP id acme) && BETA=$($MAP id beta) && GAMMA=$($MAP id gamma) ||
	bail "cannot read the tenant ids"

# tg_cgroups: each directory's id is its kernfs node id (name_to_handle_at's handle, the
# value the BPF cgroup-id helpers return) and its depth below the root.
kernfs_id() {
	python3 - "$1" <<'PY'
import ctypes, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(struct.pack("II", 8, 0) + b"\0" * 8)
mnt = ctypes.c_int()
if libc.name_to_handle_at(-100, sys.argv[1].encode(), buf, ctypes.byref(mnt), 0):
    sys.exit("name_to_handle_at: errno %d" % ctypes.get_errno())
print(struct.unpack("Q", buf.raw[8:16])[0])
PY
}
want=$(printf '%s %s 2\n%s %s 2\n%s %s 3\n' "$(kernfs_id "$CG/acme")" "$ACME" \
	"$(kernfs_id "$CG/beta")" "$BETA" "$(kernfs_id "$CG/beta/gamma")" "$GAMMA" | sort)
equal "tg_cgroups holds each cgroup's kernfs id, tenant and level" "$($MAP cgroups | sort | tr '\n' ' ')" \
	"$(echo "$want" | tr '\n' ' ')"

all9="tg_connect4 tg_connect6 tg_sendmsg4 tg_sendmsg6 tg_skb_egress tg_skb_ingress tg_sock_create tg_sock_release tg_sockops"
names() { tg_progs "$1" | awk '{ print $2 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
equal "the nine programs are attached to acme's cgroup" "$(names "$CG/acme")" "$all9"
equal "and to beta's" "$(names "$CG/beta")" "$all9"
equal "not to gamma's, inside beta's: it inherits them (each runs once)" "$(names "$CG/beta/gamma")" ""

client acme "$CG/acme"
client beta "$CG/beta"
client gamma "$CG/beta/gamma"

# Connection cap: 50 for acme, over IPv4 and IPv6.
r=$(ask acme open 30 127.0.0.1 5000)
equal "acme: 30 connects over IPv4 succeed" "$r" "ok=30"
r=$(ask acme open 20 ::1 5000)
equal "acme: 20 more over IPv6 succeed" "$r" "ok=20"
equal "tg_conns counts acme's 50 connections" "$($MAP conns "$ACME")" 50
r=$(ask acme open 1 127.0.0.1 5000)
equal "acme: the 51st connect fails with ECONNREFUSED" "$r" "ECONNREFUSED=1"
r=$(ask acme open 1 ::1 5000)
equal "acme: over IPv6 too" "$r" "ECONNREFUSED=1"
refused=2
ask acme close 10 >/dev/null
equal "closing 10 gives their slots back" "$($MAP conns "$ACME")" 40
r=$(ask acme open 11 127.0.0.1 5000)
equal "acme: 10 more succeed, the 11th is refused" "$r" "ECONNREFUSED=1 ok=10"
refused=$((refused + 1))
equal "tg_conns counts 50 again" "$($MAP conns "$ACME")" 50
equal "acme: 40 connections stay open (for the restart, below)" "$(ask acme close 10)" "held=40"
equal "acme: a port nobody listens on refuses by itself (ECONNREFUSED)" \
	"$(ask acme connect tcp 127.0.0.1 5999)" ECONNREFUSED
equal "that refusal gives its slot back and is not a cap refusal" \
	"$($MAP conns "$ACME") $($MAP drops "$ACME" conn_cap | cut -d' ' -f1)" "40 $refused"
sh -c 'echo $$ >"$1/cgroup.procs" && exec python3 -c "
import socket, time
cs = [socket.create_connection((\"127.0.0.1\", 5000)) for _ in range(5)]
print(\"ready\", flush=True)
time.sleep(600)"' sh "$CG/acme" >"$T/killed.out" 2>&1 &
killed=$!
CLIENTS+=("$killed")
wait_for 10 grep -q ready "$T/killed.out" || diag "the process to kill did not start"
equal "another acme process holds 5 connections" "$($MAP conns "$ACME")" 45
kill -9 "$killed"
wait "$killed" 2>/dev/null
equal "SIGKILL of that process gives their slots back" "$($MAP conns "$ACME")" 40
# Four acme processes at once, 300 connect/close cycles each, IPv4 and IPv6, every third
# connection ended by a reset, every fifth connect to a port that refuses: the count is
# back where it was.
for i in 1 2 3 4; do
	sh -c 'echo $$ >"$1/cgroup.procs" && exec python3 -c "
import socket, struct
for i in range(300):
    host = (\"127.0.0.1\", \"::1\")[i % 2]
    s = socket.socket(socket.AF_INET6 if i % 2 else socket.AF_INET)
    try:
        s.connect((host, 5999 if i % 5 == 0 else 5000))
        if i % 3 == 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack(\"ii\", 1, 0))
    except OSError:
        pass
    s.close()"' sh "$CG/acme" &
	stress+=($!)
done
CLIENTS+=("${stress[@]}")
wait "${stress[@]}"
equal "after 1200 concurrent connect/close cycles acme's count is exact" "$($MAP conns "$ACME")" 40
r=$(ask beta open 60 127.0.0.1 5000)
equal "beta (no cap): 60 connects succeed" "$r" "ok=60"
equal "tg_conns counts beta's 60" "$($MAP conns "$BETA")" 60
ask beta close 60 >/dev/null
equal "beta's count returns to 0" "$($MAP conns "$BETA")" 0
equal "every cap refusal is counted in tg_drops (conn_cap)" \
	"$($MAP drops "$ACME" conn_cap | cut -d' ' -f1)" "$refused"

# Raw sockets.
equal "acme: raw IPv4 socket refused with EPERM" "$(ask acme raw 4)" EPERM
equal "acme: raw IPv6 socket refused with EPERM" "$(ask acme raw 6)" EPERM
equal "beta: raw IPv4 socket allowed" "$(ask beta raw 4)" OK
equal "tg_drops counts the raw sockets refused" "$($MAP drops "$ACME" raw_socket | cut -d' ' -f1)" 2

# Deny lists: the default one and acme's own; EPERM at connect() and sendto().
equal "acme: tcp to the default deny list refused (EPERM)" \
	"$(ask acme connect tcp 203.0.113.10 5000)" EPERM
equal "acme: the same through an IPv4-mapped IPv6 address" \
	"$(ask acme connect tcp ::ffff:203.0.113.10 5000)" EPERM
equal "beta: the default deny list applies to beta too" \
	"$(ask beta connect tcp 203.0.113.10 5000)" EPERM
equal "acme: tcp port 22 on its deny list refused" "$(ask acme connect tcp 198.51.100.1 22)" EPERM
equal "acme: tcp port 80 at the same address allowed" "$(ask acme connect tcp 198.51.100.1 80)" OK
equal "beta: port 22 there allowed (acme's list only)" "$(ask beta connect tcp 198.51.100.1 22)" OK
equal "acme: udp connect to a denied port refused" "$(ask acme connect udp 198.51.100.1 1500)" EPERM
r=$(ask acme sendto 198.51.100.1 1500 3 100)
equal "acme: unconnected udp to a denied port refused" "$r" "EPERM=3"
r=$(ask acme sendto 198.51.100.1 3000 3 100)
equal "acme: unconnected udp to an allowed port sent" "$r" "ok=3"
equal "tg_drops counts acme's deny refusals (tcp 3, udp 1 + 3)" \
	"$($MAP drops "$ACME" deny | cut -d' ' -f1)" 7
equal "and beta's (1)" "$($MAP drops "$BETA" deny | cut -d' ' -f1)" 1

# Segmentation: another tenant's address is refused unless allow_tenants pairs them.
equal "acme: beta's address refused (EPERM)" "$(ask acme connect tcp 10.2.0.1 5000)" EPERM
equal "acme: its own address allowed" "$(ask acme connect tcp 10.1.0.1 5000)" OK
equal "beta: acme's address refused" "$(ask beta connect tcp 10.1.0.1 5000)" EPERM
equal "gamma: beta's address allowed (allow_tenants)" "$(ask gamma connect tcp 10.2.0.1 5000)" OK
equal "beta: gamma's address allowed (the pair works both ways)" \
	"$(ask beta connect tcp 10.3.0.1 5000)" OK
equal "gamma: acme's address refused" "$(ask gamma connect tcp 10.1.0.1 5000)" EPERM
r=$(ask gamma open 3 10.2.0.1 5000)
equal "gamma: 3 connections to beta held" "$r" "ok=3"
equal "they count for gamma (the inner cgroup's tenant), not for beta" \
	"$($MAP conns "$GAMMA") $($MAP conns "$BETA")" "3 0"
ask gamma close 3 >/dev/null
equal "tg_drops counts gamma's segmentation refusal" "$($MAP drops "$GAMMA" segment | cut -d' ' -f1)" 1
equal "tg_drops counts acme's segmentation refusal" "$($MAP drops "$ACME" segment | cut -d' ' -f1)" 1

# Ingress: datagrams to beta from acme's address are dropped before beta reads them.
ask beta udp_bind 10.2.0.1 6000 >/dev/null
python3 -c '
import socket
for src in ("10.1.0.1", "127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    for _ in range(5):
        s.sendto(b"y" * 200, ("10.2.0.1", 6000))' || diag "sending to beta failed"
equal "beta receives the 5 datagrams from an address no tenant owns, not acme's 5" \
	"$(ask beta udp_drain)" 5
equal "tg_drops counts beta's 5 dropped at ingress, and its refused connect" \
	"$($MAP drops "$BETA" segment)" "6 $((5 * (200 + 28 + 14)))"

# A cap on the cgroup's packets: gamma may send 100 packets a second (burst 32). A
# refused datagram is EPERM to the sender and counted with its wire size (IP + UDP +
# 100 bytes, plus an Ethernet header).
r=$(ask gamma sendto 10.2.0.1 3000 500 100)
eperm=$(errno_of EPERM "$r")
diag "gamma, 500 datagrams at once: $r"
check "gamma: datagrams over the packet cap are refused" -- test "$eperm" -gt 0
equal "tg_drops (pps) counts exactly those, at their wire size" \
	"$($MAP drops "$GAMMA" pps)" "$eperm $((eperm * (100 + 28 + 14)))"

# Restart: the slots taken before stay counted, and are given back by the new programs.
before=$(tg_progs "$CG/acme" | awk '{ print $3 }' | sort | tr '\n' ' ')
diag "programs on acme's cgroup before the restart:" $before
check "SIGTERM stops the agent" -- agent_stop
r=$(ask acme open 11 127.0.0.1 5000)
equal "acme: the cap holds while no agent runs" "$r" "ECONNREFUSED=1 ok=10"
ask acme close 10 >/dev/null
check "agent starts again" -- agent_start || cat "$LOG"
after=$(tg_progs "$CG/acme" | awk '{ print $3 }' | sort | tr '\n' ' ')
diag "after:" $after
equal "the new agent's nine programs replaced the old ones" \
	"$(names "$CG/acme") $([ "$before" != "$after" ] && echo replaced)" "$all9 replaced"
equal "tg_conns still counts acme's 40" "$($MAP conns "$ACME")" 40
r=$(ask acme open 11 ::1 5000)
equal "acme: 10 more succeed, the 51st is refused" "$r" "ECONNREFUSED=1 ok=10"
ask acme close 40 >/dev/null
equal "closing the 40 opened before the restart gives their slots back" "$($MAP conns "$ACME")" 10
equal "acme: closing the rest" "$(ask acme close 10)" "held=0"
equal "acme's count returns to 0" "$($MAP conns "$ACME")" 0
r=$(ask acme open 50 127.0.0.1 5000)
equal "acme: 50 connects succeed again" "$r" "ok=50"
ask acme close 50 >/dev/null
equal "and their count returns to 0" "$($MAP conns "$ACME")" 0

# A new configuration without beta's cgroup: its programs go, and gamma's cgroup, no
# longer inside a configured one, gets its own.
check "SIGTERM stops the agent" -- agent_stop
sed -i "/cgroups: \[\/$TOP\/beta\]/d" "$T/tollgate.yaml"
check "agent starts with beta's cgroup gone from the configuration" -- agent_start
equal "beta's cgroup: no Tollgate program left" "$(names "$CG/beta")" ""
equal "gamma's cgroup has the nine programs now" "$(names "$CG/beta/gamma")" "$all9"
equal "tg_cgroups lost beta's entry" "$($MAP cgroups | sort | tr '\n' ' ')" \
	"$(echo "$want" | grep -v " $BETA 2\$" | tr '\n' ' ')"
equal "beta's process is no tenant's now: the deny list no longer applies" \
	"$(ask beta connect tcp 203.0.113.10 5000)" OK
equal "gamma's still does" "$(ask gamma connect tcp 203.0.113.10 5000)" EPERM

# Purge takes every program off the cgroups, then the pins.
check "stop --purge succeeds" -- "$TG" stop -c "$T/tollgate.yaml" --purge
AGENT=
equal "no Tollgate program left on the cgroups" \
	"$(tg_progs "$CG/acme")$(tg_progs "$CG/beta")$(tg_progs "$CG/beta/gamma")" ""
check "no pins left" -- test ! -e "$PIN"
equal "acme: raw sockets allowed again" "$(ask acme raw 4)" OK

tap_done
