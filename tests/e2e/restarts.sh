#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: 20 SIGKILLs of the agent under steady mixed traffic (docs/lifecycle.md,
# "Crashes and restarts").
#
# Four tenants behind a forwarding host, a peer on the far side (offloads off there):
#   acme     interfaces, TCP upload                 (10.1.0.2)
#   globex   interfaces, TCP download, a deny list: 192.0.2.99/32 and tcp/7000 on the peer
#   initech  interfaces, a 10 Mbit/s egress cap, a 20 Mbit/s UDP flood up
#   hooli    by CIDR (10.4.0.0/24), metered on the uplink up0 (XDP and tc), TCP both ways
# and for every tenant, the whole time: UDP of 1 to 8000 bytes both ways (fragments
# included) and ICMP echo both ways. Billing interval 1 s, so harvests are frequent.
#
# The agent is SIGKILLed 20 times and restarted each time. The kill schedule comes from a
# fixed seed (SEED=N to change it) and is printed, with the facts of every kill. Kinds:
#   random         at a random moment of a running agent
#   harvest        once the agent says "harvesting" (the timer's, at an interval boundary),
#                  after a fraction of half a harvest's measured duration
#   reload         SIGHUP (acme's deny list changed in the file); once the agent says
#                  "reloading", SIGKILL after a fraction of 0.7 x a reload's duration
#   startup-early  while the BPF objects load
#   startup-late   0-40 ms after "adopted the datapath": during apply, the start-up
#                  harvest or the attach
# Under -v the agent brackets each harvest ("harvesting", "harvested") and each reload
# ("reloading", "reload (sighup): ..."); a SIGKILLed agent writes nothing more, so its log
# says, without any timing, whether the kill landed inside one.
# Some kills keep the agent down for 2.5 s. Then, with no agent: globex's TCP to
# 192.0.2.2:7000 and ping to 192.0.2.99 get nothing, the kernel counts them as deny drops,
# and initech's egress on the far link over that window stays within its cap (rate x T +
# burst + one frame, the guarantee in docs/isolation.md) while the cap drops.
#
# After the traffic and a final `tollgate stop`: per tenant and direction, billed bytes and
# packets (`tollgate bill --format json`) equal a capture on the far link exactly (the
# byte rule, docs/byte-rule.md); no (tenant, class, direction, interval) twice; every
# interval fully inside an agent's life has its rows; every row's interval had an agent;
# tg_drops(globex, deny) equals the frames a capture on globex's link saw going to the
# denied destinations, and the far capture has none of them. Last, traffic with no agent
# (as after a crash) and `tollgate stop --purge`: purge bills it to the frame first.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"

for tool in ip tc ethtool dumpcap tshark iperf3 ping bpftool python3 timeout; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"

SEED=${SEED:-20261122}
KILLS=${KILLS:-20}
INTERVAL=1
LONG_DOWN=2.5 # seconds an agent is kept down for the enforcement checks
CAP=10        # initech's egress cap, Mbit/s
FLOOD=20      # initech's UDP flood, Mbit/s
LIB=$TG_ROOT/tests/lib
KC="python3 $LIB/kcounters.py"

T=$(mktemp -d /tmp/tollgate-restarts.XXXXXX)
mkdir -p "$T/pid"
AGENT=
cleanup() {
	local pids
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	cat "$T"/pid/* 2>/dev/null | xargs -r kill -9 2>/dev/null
	pids=$(jobs -p)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	wait 2>/dev/null
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

# ---- configuration: acme's deny list alternates between two variants that concern no
# traffic of this test (198.51.100.0/24 is never a destination), so that a reload or a
# restart has something to apply
write_config() { # write_config VARIANT
	cat >"$T/tollgate.yaml.new" <<-YAML
	node: {name: e2e-restarts}
	tenants:
	  - name: acme
	    interfaces: [vt-acme-*]
	    deny: [198.51.100.$1/32]
	  - name: globex
	    interfaces: [vt-globex-*]
	    deny: [192.0.2.99/32, {cidr: 192.0.2.2/32, proto: tcp, ports: 7000}]
	  - name: initech
	    interfaces: [vt-initech-*]
	    limits: {egress_rate: ${CAP}mbit}
	  - name: hooli
	    cidrs: [10.4.0.0/24]
	uplink: {interfaces: [up0]}
	billing: {interval: ${INTERVAL}s, store: "sqlite:$T/tollgate.db"}
	outputs: {events: "$T/events.json", audit: "$T/audit.log"}
	YAML
	mv "$T/tollgate.yaml.new" "$T/tollgate.yaml" # whole, for a reload that reads it
}
write_config 1
CFG=$T/tollgate.yaml

now() { echo "$EPOCHREALTIME"; }
# fadd A B / fsub A B / fmul A B: arithmetic on seconds with fractions
fadd() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a + b }'; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'; }
fmul() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a * b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.1f", a * 1000 }'; }
frac() { awk -v r="$1" 'BEGIN { printf "%.3f", r / 1000 }'; } # thousandths
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
sleep_until() { local d; d=$(fsub "$1" "$(now)"); awk -v d="$d" 'BEGIN { exit !(d > 0) }' && sleep "$d"; }

# bg NAME NS COMMAND...: a background process in NS; its pid (not ip netns exec's, which
# may fork) in $T/pid/NAME
bg() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" bash -c 'echo $$ >"$0"; exec "$@"' "$T/pid/$name" "$@" \
		>"$T/$name.out" 2>&1 &
}

# ---- the agent: each one logs into its own file, every line stamped with the time it
# came (libbpf's debug lines under -v left out)
# STAMPER is the stamping process (it exits with the agent's status once the agent's
# output is all in the log), AGENT the agent itself.
N=0
declare -a SPAWN READY END
spawn() {
	N=$((N + 1))
	SPAWN[$N]=$(now)
	rm -f "$T/agent.pid"
	python3 "$LIB/stamp.py" --drop "libbpf: " --pidfile "$T/agent.pid" -- \
		"$TG" run -v -c "$CFG" >"$T/agent.$N.log" &
	STAMPER=$!
	wait_for 5 test -s "$T/agent.pid" || bail "agent $N did not start"
	AGENT=$(cat "$T/agent.pid")
}
log_of() { echo "$T/agent.$1.log"; }
stamp_of() { # stamp_of N TEXT: the stamp of agent N's first line containing TEXT
	awk -v t="$2" 'index($0, t) { print $1; exit }' "$(log_of "$1")"
}
is_ready() { grep -q "tollgate: running:" "$(log_of "$N")"; }
healthy() { "$TG" status -c "$CFG" >/dev/null 2>&1; }
hooked() { # hooked IFACE: both meters attached according to status
	"$TG" status -c "$CFG" --json |
		grep -q "\"interface\": \"$1\", [^}]*\"tc_ingress\": true, \"tc_egress\": true"
}

# ---- topology
ip netns add _probe 2>/dev/null && ip netns del _probe # /run/netns is ours
{ topo init && topo peer && topo tenant acme 1 && topo tenant globex 2 &&
	topo tenant initech 3 && topo tenant hooli 4; } || bail "cannot build the topology"
# The peer gives up on a datagram it got only some fragments of (initech's cap drops the
# others) after 1 s instead of 30, and says so to the sender (ICMP time exceeded): so none
# of these answers comes after the final harvest.
nsx peer sysctl -qw net.ipv4.ipfrag_time=1 &&
	nsx peer ip addr add 192.0.2.99/32 dev eth0 &&
	ip neigh replace 192.0.2.99 lladdr 02:00:00:00:ff:02 dev up0 nud permanent ||
	bail "cannot add the peer's denied address"
for p in 5201 5202 5203 5204; do
	bg "iperf3-s$p" peer iperf3 -s -p $p
done
bg deny-target peer python3 "$LIB/tcp_serve.py" 192.0.2.2 7000 deny-target
wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/127.0.0.1/5204' || bail "iperf3 servers did not start"
wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/192.0.2.2/7000' || bail "no listener on 7000"

probe_tcp() { nsx t-globex python3 "$LIB/tcp_burst.py" -t "$1" 192.0.2.2 7000 1 2>&1 | head -1; }
probe_ping() { nsx t-globex ping -q -c 3 -i 0.2 -W 1 192.0.2.99 >/dev/null 2>&1; }
check "control, no agent: globex connects to 192.0.2.2:7000" -- \
	bash -c "[[ '$(probe_tcp 2)' == ok=1* ]]"
check "control, no agent: globex pings 192.0.2.99" -- probe_ping

# ---- the kill schedule, from the seed
RANDOM=$SEED
kinds=(startup-early startup-late startup-late harvest harvest harvest harvest harvest
	reload reload reload reload random random random random random random random random)
for ((i = ${#kinds[@]} - 1; i > 0; i--)); do
	j=$((RANDOM % (i + 1)))
	t=${kinds[i]} && kinds[i]=${kinds[j]} && kinds[j]=$t
done
for ((i = 0; i < ${#kinds[@]}; i++)); do # the first kill needs a running agent
	[[ ${kinds[i]} != startup-* ]] && { t=${kinds[0]} && kinds[0]=${kinds[i]} && kinds[i]=$t; break; }
done
declare -a KIND R1 R2 DOWN LONG
declare -A seen_kind
for ((k = 1; k <= KILLS; k++)); do
	KIND[$k]=${kinds[(k - 1) % ${#kinds[@]}]}
	R1[$k]=$((RANDOM % 1000)) # the kind's moment, in thousandths of its range
	R2[$k]=$((RANDOM % 1000)) # reload: SIGHUP to SIGKILL, thousandths of its duration
	DOWN[$k]=$(awk -v r=$((RANDOM % 1000)) 'BEGIN { printf "%.3f", 0.1 + 0.5 * r / 1000 }')
	# the first kill of each kind but startup-early keeps the agent down for the checks
	LONG[$k]=0
	if [ -z "${seen_kind[${KIND[$k]}]:-}" ] && [ "${KIND[$k]}" != startup-early ]; then
		LONG[$k]=1
		DOWN[$k]=$LONG_DOWN
	fi
	seen_kind[${KIND[$k]}]=1
done
diag "kill schedule (seed $SEED): kill kind moment down"
for ((k = 1; k <= KILLS; k++)); do
	case ${KIND[$k]} in
	random) m="ready + $((100 + R1[k] * 9 / 10)) ms" ;;
	harvest) m="'harvesting' + $(frac "${R1[k]}") x half a harvest" ;;
	reload) m="ready + $((200 + R1[k] * 8 / 10)) ms SIGHUP, 'reloading' + $(frac "${R2[k]}") x 0.7 reload" ;;
	startup-early) m="spawn + $(frac "${R1[k]}") x the objects' load time" ;;
	startup-late) m="'adopted the datapath' + $((R1[k] * 40 / 1000)) ms" ;;
	esac
	diag "  #$k ${KIND[$k]}: $m; down ${DOWN[$k]} s$([ "${LONG[$k]}" = 1 ] && echo ' (enforcement checks)')"
done

# ---- the first agent, the captures (started while it loads: no traffic yet), the traffic
spawn
CAPTURE_SNAPLEN=128 capture_start peer eth0 "$T/far.pcap" || bail "dumpcap did not start (far link)"
FAR_PID=$CAPTURE_PID
capture_start - vt-globex-0 "$T/deny.pcap" \
	"src host 10.2.0.2 and (dst host 192.0.2.99 or (dst host 192.0.2.2 and tcp dst port 7000))" ||
	bail "dumpcap did not start (globex's link)"
DENY_PID=$CAPTURE_PID
check "the first agent starts" -- wait_for 60 is_ready || { cat "$(log_of $N)"; bail "no agent"; }
READY[$N]=$(stamp_of $N "tollgate: running:")
check "the first agent created the datapath" -- grep -q "created the datapath" "$(log_of $N)"
diag "the first agent started in $(ms "$(fsub "${READY[1]}" "${SPAWN[1]}")") ms"
for i in vt-acme-0 vt-globex-0 vt-initech-0 up0; do
	check "$i carries the meter" -- wait_for 10 hooked $i
done
check "the caps are enforced, not only validated" -- bash -c "! grep -q 'not enforced' $T/agent.1.log"

declare -A IP=([acme]=10.1.0.2 [globex]=10.2.0.2 [initech]=10.3.0.2 [hooli]=10.4.0.2)
for t in acme globex initech hooli; do
	bg "udp-$t-out" "t-$t" python3 "$LIB/udpmix.py" 192.0.2.2 9 20
	bg "udp-$t-in" peer python3 "$LIB/udpmix.py" "${IP[$t]}" 9 20
	bg "ping-$t-out" "t-$t" ping -q -i 0.05 -s 1000 192.0.2.2
	bg "ping-$t-in" peer ping -q -i 0.05 -s 56 "${IP[$t]}"
done
bg ping-acme-frag peer ping -q -i 0.2 -s 2000 10.1.0.2 # fragmented echo both ways
bg tcp-acme t-acme iperf3 -c 192.0.2.2 -p 5201 -t 600 -b 4M
bg tcp-globex t-globex iperf3 -c 192.0.2.2 -p 5202 -t 600 -b 4M -R
bg udp-initech-flood t-initech iperf3 -c 192.0.2.2 -p 5203 -t 600 -u -b ${FLOOD}M -l 1400
bg tcp-hooli t-hooli iperf3 -c 192.0.2.2 -p 5204 -t 600 -b 2M --bidir
TRAFFIC_AT=$(now)

# Durations so far, medians over the logs (the stamps of the lines that bracket them):
# harvests ("harvesting" to "harvested", the commit included) and reloads ("reloading" to
# "reload (sighup): ...").
bracketed() { # bracketed START_TEXT END_TEXT DEFAULT
	local f
	for f in "$T"/agent.*.log; do
		awk -v a="$1" -v b="$2" 'index($0, a) { s = $1 } s && index($0, b) { print $1 - s; s = 0 }' "$f"
	done | median | grep . || echo "$3"
}
harvest_time() { bracketed "tollgate: harvesting into" "tollgate: harvested" 0.002; }
reload_time() { bracketed "tollgate: reloading " "tollgate: reload (sighup)" 0.010; }
sleep 2.5
write_config 2
kill -HUP "$AGENT"
check "the first agent reloads on SIGHUP (acme's deny list changed)" -- \
	wait_for 10 grep -q "reload (sighup): generation 1," "$(log_of 1)" ||
	grep reload "$(log_of 1)"
diag "measured: a harvest takes $(ms "$(harvest_time)") ms, a reload $(ms "$(reload_time)") ms (its own count: $(sed -n 's/.*reload (sighup): generation 1, .*, \([0-9.]* ms\)$/\1/p' "$(log_of 1)"))"
# The objects' load time (spawn to "the datapath"): the median of the restarts so far (the
# first agent creates the maps, and takes longer), else the first agent's.
load_time() {
	local n
	for ((n = 2; n <= N; n++)); do
		[ -n "$(stamp_of "$n" "adopted the datapath")" ] &&
			fsub "$(stamp_of "$n" "adopted the datapath")" "${SPAWN[$n]}" && echo
	done | median | grep . || fsub "$(stamp_of 1 "the datapath under")" "${SPAWN[1]}"
}

# ---- the kills
declare -a KILLED WINDOW_A WINDOW_B
MID_HARVEST=0
MID_RELOAD=0
IN_STARTUP=0
for ((k = 1; k <= KILLS; k++)); do
	kind=${KIND[$k]}
	n=$N
	if [[ $kind != startup-* ]]; then
		if ! wait_for 30 is_ready; then
			ok 1 "kill #$k: agent $n became ready"
			cat "$(log_of $n)"
			bail "agent $n did not start"
		fi
		READY[$n]=$(stamp_of "$n" "tollgate: running:")
	fi
	args=()
	case $kind in
	random) args=(--at "$(fadd "${READY[$n]}" "$(awk -v r="${R1[k]}" 'BEGIN { print 0.1 + 0.9 * r / 1000 }')")") ;;
	reload)
		write_config $((k % 2 + 1)) # a reload would have something to change
		delay=$(awk -v r="${R2[k]}" -v d="$(reload_time)" 'BEGIN { printf "%.3f", 0.7 * d * r }')
		# the first one at once: a kill the moment the reload begins lands inside it
		[ "${FIRST_RELOAD:-1}" = 1 ] && delay=0 && FIRST_RELOAD=0
		args=(--at "$(fadd "${READY[$n]}" "$(awk -v r="${R1[k]}" 'BEGIN { print 0.2 + 0.8 * r / 1000 }')")"
			--hup --after-line "$(log_of "$n")" "tollgate: reloading " --delay "$delay")
		;;
	harvest)
		delay=$(awk -v r="${R1[k]}" -v d="$(harvest_time)" 'BEGIN { printf "%.3f", 0.5 * d * r }')
		[ "${FIRST_HARVEST:-1}" = 1 ] && delay=0 && FIRST_HARVEST=0
		args=(--after-line "$(log_of "$n")" "tollgate: harvesting into" --delay "$delay")
		;;
	startup-early)
		LOAD=$(load_time)
		args=(--at "$(fadd "${SPAWN[$n]}" "$(fmul "$LOAD" "$(frac "${R1[k]}")")")")
		;;
	startup-late) args=(--after-line "$(log_of "$n")" "the datapath under" --whole-file --delay "$((R1[k] * 40 / 1000))") ;;
	esac
	out=$(python3 "$LIB/killat.py" "$AGENT" "${args[@]}")
	wait "$STAMPER"
	rc=$?
	dead=$(now)
	KILLED[$n]=$(echo "$out" | awk '$1 == "kill" { print $2 }')
	END[$n]=${KILLED[$n]:-$dead}
	check "kill #$k ($kind): agent $n died of SIGKILL" -- test "$rc" = 137 -a -n "${KILLED[$n]}" ||
		diag "killat: $out"
	log=$(log_of "$n")
	last=$(awk -v k="${END[$n]}" '$1 < k { l = $0 } END { sub(/^[0-9.]+ tollgate: /, "", l); print l }' "$log")
	fact="up $(ms "$(fsub "${END[$n]}" "${SPAWN[$n]}")") ms"
	if grep -q "tollgate: running:" "$log"; then
		fact+=", ready"
	else
		fact+=", during start-up"
		IN_STARTUP=$((IN_STARTUP + 1))
	fi
	case $kind in
	harvest)
		line=$(echo "$out" | awk '$1 == "line" { print $2 }')
		fact+=", 'harvesting' seen + $(ms "$(fsub "${END[$n]}" "$line")") ms (aimed at +$delay)"
		# The log's last harvest line: "harvesting" with no "harvested" after it is a
		# kill inside that harvest (a killed agent writes nothing more).
		last_h=$(grep -E "tollgate: (harvesting into|harvested)" "$log" | tail -1)
		if [[ $last_h == *"harvesting into"* ]]; then
			fact+=", killed mid-harvest (of interval ${last_h##* })"
			MID_HARVEST=$((MID_HARVEST + 1))
		else
			fact+=", after that harvest had finished"
		fi
		;;
	reload)
		hup=$(echo "$out" | awk '$1 == "hup" { print $2 }')
		fact+=", SIGHUP + $(ms "$(fsub "${END[$n]}" "$hup")") ms ('reloading' + aimed $delay ms)"
		last_r=$(grep -E "tollgate: (reloading |reload \(sighup\))" "$log" | tail -1)
		if [[ $last_r == *"tollgate: reloading "* ]] && awk -v t="${last_r%% *}" -v h="$hup" 'BEGIN { exit !(t >= h) }'; then
			fact+=", killed mid-reload ($(ms "$(fsub "${END[$n]}" "${last_r%% *}")") ms after it began)"
			MID_RELOAD=$((MID_RELOAD + 1))
		elif [[ $last_r == *"reload (sighup)"* ]] && awk -v t="${last_r%% *}" -v h="$hup" 'BEGIN { exit !(t >= h) }'; then
			fact+=", after that reload had finished"
		else
			fact+=", before that reload began"
		fi
		;;
	startup-early)
		fact+=" (the restarts load the objects in $(ms "$LOAD") ms)"
		;;
	startup-late)
		line=$(echo "$out" | awk '$1 == "line" { print $2 }')
		[ -n "$line" ] && fact+=", 'the datapath' + $(ms "$(fsub "${END[$n]}" "$line")") ms"
		;;
	esac
	fact+="; last line: $last"
	diag "kill #$k ($kind) of agent $n: $fact"

	if [ "${LONG[$k]}" = 1 ]; then
		# No agent for LONG_DOWN seconds: the kernel alone enforces.
		WINDOW_A[$k]=$dead
		check "kill #$k: no agent runs (status fails)" -- bash -c "! $TG status -c $CFG >/dev/null 2>&1"
		r0=$($KC drops initech rate | cut -d' ' -f1)
		d0=$($KC drops globex deny | cut -d' ' -f1)
		probe_ping &
		pp=$!
		p=$(probe_tcp 1)
		wait $pp
		prc=$?
		equal "kill #$k, agent down: globex's TCP to 192.0.2.2:7000 gets no connection" \
			"$(echo "$p" | cut -d' ' -f1-2)" "ok=0 failed=1"
		check "kill #$k, agent down: globex's ping to 192.0.2.99 gets no reply" -- test "$prc" != 0
		sleep_until "$(fadd "$dead" "$LONG_DOWN")"
		r1=$($KC drops initech rate | cut -d' ' -f1)
		d1=$($KC drops globex deny | cut -d' ' -f1)
		WINDOW_B[$k]=$(now)
		check "kill #$k, agent down: the kernel counted globex's probes as deny drops (+$((d1 - d0)))" -- \
			test "$((d1 - d0))" -gt 0
		check "kill #$k, agent down: initech's cap dropped its flood's excess (+$((r1 - r0)) packets)" -- \
			test "$((r1 - r0))" -gt 0
	else
		sleep "${DOWN[$k]}"
	fi
	spawn
done
check "the last agent starts" -- wait_for 30 is_ready || cat "$(log_of $N)"
READY[$N]=$(stamp_of $N "tollgate: running:")
equal "every restarted agent that got as far as the datapath adopted it (created: agent 1 only)" \
	"$(grep -l "created the datapath" "$T"/agent.*.log | xargs -n1 basename)" agent.1.log
check "the restarted agents adopted the datapath ($(grep -l "adopted the datapath" "$T"/agent.*.log | wc -l) of $((N - 1)))" -- \
	test "$(grep -l "adopted the datapath" "$T"/agent.*.log | wc -l)" -ge $((N - 1 - IN_STARTUP))
check "at least one kill landed during start-up ($IN_STARTUP)" -- test "$IN_STARTUP" -ge 1
check "at least one kill landed mid-harvest ($MID_HARVEST)" -- test "$MID_HARVEST" -ge 1
check "at least one kill landed mid-reload ($MID_RELOAD)" -- test "$MID_RELOAD" -ge 1
check "no reload was refused" -- bash -c "! grep -h 'reload (sighup) refused' $T/agent.*.log"
check "the last agent is healthy" -- healthy
sleep 4 # a few whole intervals for the last agent

# ---- the end: traffic stops, the agent stops with a final harvest, the captures stop
for f in "$T"/pid/*; do
	case $f in */iperf3-s* | */deny-target) ;; *) kill "$(cat "$f")" 2>/dev/null ;; esac
done
TRAFFIC_END=$(now)
sleep 0.5
for f in "$T"/pid/iperf3-s* "$T/pid/deny-target"; do kill "$(cat "$f")" 2>/dev/null; done
gone() { local f; for f in "$T"/pid/*; do kill -0 "$(cat "$f")" 2>/dev/null && return 1; done; return 0; }
check "the traffic is gone" -- wait_for 5 gone
sleep 2 # the last fragments' reassembly timeouts (1 s, above)
check "the last agent stops with a final harvest" -- "$TG" stop -c "$CFG"
wait "$STAMPER"
equal "the last agent exited 0" "$?" 0
END[$N]=$(now)
AGENT=
check "far capture complete, nothing dropped" -- capture_stop "$T/far.pcap" "$FAR_PID"
check "globex's link capture complete, nothing dropped" -- capture_stop "$T/deny.pcap" "$DENY_PID"
diag "traffic ran $(awk -v a="$TRAFFIC_AT" -v b="${END[$N]}" 'BEGIN { printf "%.0f", b - a }') s; $N agents"

# ---- the oracle: frames on the far link, by the tenant's address (10.N.0.2)
tshark -r "$T/far.pcap" -T fields -E separator=, -E occurrence=f -e frame.time_epoch -e frame.len \
	-e ip.src -e ip.dst -e tcp.dstport >"$T/far.txt" 2>/dev/null || bail "tshark cannot read the capture"
oracle=$(awk -F, 'BEGIN { n[1] = "acme"; n[2] = "globex"; n[3] = "initech"; n[4] = "hooli" }
	{ split($3, s, "."); split($4, d, ".");
	  if (s[1] == 10) { p[n[s[2]] " egress"]++; b[n[s[2]] " egress"] += $2 }
	  if (d[1] == 10) { p[n[d[2]] " ingress"]++; b[n[d[2]] " ingress"] += $2 } }
	END { for (k in p) print k, p[k], b[k] }' "$T/far.txt" | sort)
diag "far capture ($(wc -l <"$T/far.txt") frames; tenant direction packets bytes):" $oracle

"$TG" bill -c "$CFG" --format json >"$T/bill.json" || bail "tollgate bill failed"
billed=$(python3 -c 'import json, sys
rows = json.load(open(sys.argv[1]))
tot = {}
for r in rows:
    k = (r["tenant"], r["direction"])
    p, b = tot.get(k, (0, 0))
    tot[k] = (p + r["packets"], b + r["bytes"])
for (t, d), (p, b) in sorted(tot.items()):
    print(t, d, p, b)' "$T/bill.json")
equal "8 tenant/direction totals in the capture" "$(echo "$oracle" | wc -l)" 8
for t in acme globex initech hooli; do
	for d in ingress egress; do
		equal "$t $d: billed packets and bytes equal the capture" \
			"$(echo "$billed" | grep "^$t $d " | cut -d' ' -f3-)" \
			"$(echo "$oracle" | grep "^$t $d " | cut -d' ' -f3-)"
	done
done
live=$("$TG" tenants -c "$CFG" --json -i 0 | python3 -c 'import json, sys
for r in json.load(sys.stdin):
    if r["packets"]:
        print(r["tenant"], r["direction"], r["packets"], r["bytes"])' | sort)
equal "the kernel's counters (tollgate tenants) equal the capture too" "$(echo $live)" "$(echo $oracle)"

# ---- the store: no interval twice, none missing while an agent ran, none without one
windows=""
for ((n = 1; n <= N; n++)); do
	windows+="${SPAWN[$n]} ${READY[$n]:--} ${END[$n]} "
done
python3 - "$T/bill.json" "$INTERVAL" "$TRAFFIC_AT" "$TRAFFIC_END" $windows >"$T/store.txt" <<-'EOF'
	import datetime, json, sys
	rows = json.load(open(sys.argv[1]))
	iv = int(sys.argv[2])
	traffic = (float(sys.argv[3]) + 1, float(sys.argv[4]))
	w = sys.argv[5:]
	agents = [(float(w[i]), None if w[i + 1] == "-" else float(w[i + 1]), float(w[i + 2]))
	          for i in range(0, len(w), 3)]
	def ts(s):
	    return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
	               .replace(tzinfo=datetime.timezone.utc).timestamp())
	keys = [(r["node"], r["tenant"], r["class"], r["direction"], r["start"]) for r in rows]
	print("duplicates", len(keys) - len(set(keys)))
	have = {}
	for r in rows:
	    have.setdefault(ts(r["start"]), set()).add((r["tenant"], r["direction"]))
	print("misaligned", sum(1 for r in rows if ts(r["start"]) % iv or ts(r["end"]) - ts(r["start"]) != iv))
	# An interval wholly inside an agent's life (from ready to 0.5 s before its end, time
	# for the harvest at the interval's end) was harvested at its end: while the traffic
	# runs, every tenant and direction has some in every interval, so each has a row.
	want = {(t, d) for t in ("acme", "globex", "initech", "hooli") for d in ("ingress", "egress")}
	expected = missing = 0
	for spawn, ready, end in agents:
	    if ready is None:
	        continue
	    first = max(ready, traffic[0])
	    s = int(first) + (1 if first % 1 else 0)
	    s += (iv - s % iv) % iv
	    while s + iv <= min(end - 0.5, traffic[1]):
	        expected += 1
	        lack = want - have.get(s, set())
	        if lack:
	            missing += 1
	            print("missing", s, sorted(lack))
	        s += iv
	print("expected", expected)
	print("missing_intervals", missing)
	# A row's interval must have had an agent alive at some moment of it (or at its end,
	# when the timer harvests it).
	orphans = [s for s in have if not any(a <= s + iv + 0.01 and e >= s - 0.01 for a, _, e in agents)]
	print("orphans", len(orphans), *sorted(orphans))
	print("intervals", len(have))
EOF
diag "store: $(tr '\n' ' ' <"$T/store.txt")"
equal "no (tenant, class, direction, interval) billed twice" "$(awk '$1 == "duplicates" { print $2 }' "$T/store.txt")" 0
equal "every row is one aligned interval" "$(awk '$1 == "misaligned" { print $2 }' "$T/store.txt")" 0
check "some intervals lie wholly inside an agent's life ($(awk '$1 == "expected" { print $2 }' "$T/store.txt"))" -- \
	test "$(awk '$1 == "expected" { print $2 }' "$T/store.txt")" -ge 2
equal "every interval inside an agent's life has rows for all 8 tenant/directions" \
	"$(awk '$1 == "missing_intervals" { print $2 }' "$T/store.txt")" 0
equal "every billed interval had an agent to harvest it" "$(awk '$1 == "orphans" { print $2 }' "$T/store.txt")" 0

# ---- enforcement while down, from the captures
deny_far=$(awk -F, '$3 == "10.2.0.2" && ($4 == "192.0.2.99" || ($4 == "192.0.2.2" && $5 == "7000"))' \
	"$T/far.txt" | wc -l)
equal "no frame from globex to a denied destination on the far link" "$deny_far" 0
deny_sent=$(tshark -r "$T/deny.pcap" -T fields -e frame.len 2>/dev/null |
	awk '{ p++; b += $1 } END { print p + 0, b + 0 }')
check "globex sent probes to the denied destinations ($deny_sent)" -- test "${deny_sent%% *}" -gt 0
equal "tg_drops(globex, deny) equals the frames globex sent there (packets bytes)" \
	"$($KC drops globex deny)" "$deny_sent"
burst=$(awk -v c=$CAP 'BEGIN { b = c * 1e6 / 8 * 0.25; print (b > 163840 ? b : 163840) }')
for ((k = 1; k <= KILLS; k++)); do
	[ "${LONG[$k]}" = 1 ] || continue
	a=${WINDOW_A[$k]} b=${WINDOW_B[$k]}
	got=$(awk -F, -v a="$a" -v b="$b" '$3 == "10.3.0.2" && $1 >= a && $1 <= b { s += $2 } END { print s + 0 }' "$T/far.txt")
	max=$(awk -v a="$a" -v b="$b" -v c=$CAP -v u="$burst" 'BEGIN { printf "%.0f", c * 1e6 / 8 * (b - a) + u + 1514 }')
	rate=$(awk -v g="$got" -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", g * 8 / (b - a) / 1e6 }')
	check "kill #$k, agent down $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }') s: initech's egress $got bytes ($rate Mbit/s), more than 0, <= cap x T + burst + one frame ($max)" -- \
		test "$got" -gt 0 -a "$got" -le "$max"
done

# ---- traffic after the last harvest, with no agent (as after a crash), then a purge:
# purge bills it before the counters go. 20 echo requests of 1000 bytes and their
# replies: 20 frames of 1042 bytes each way (1000 + ICMP 8 + IPv4 20 + Ethernet 14).
before=$(echo "$billed" | grep "^acme " | sort)
out=$(nsx t-acme ping -q -c 20 -i 0.05 -s 1000 192.0.2.2 2>&1)
equal "no agent: 20 echo requests from acme, 20 replies" \
	"$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p')" "20 20"
check "stop --purge succeeds" -- "$TG" stop -c "$CFG" --purge
check "no pins left" -- test ! -e /sys/fs/bpf/tollgate
after=$("$TG" bill -c "$CFG" --tenant acme --format json | python3 -c 'import json, sys
tot = {}
for r in json.load(sys.stdin):
    p, b = tot.get(r["direction"], (0, 0))
    tot[r["direction"]] = (p + r["packets"], b + r["bytes"])
for d, (p, b) in sorted(tot.items()):
    print("acme", d, p, b)')
equal "purge billed what the kernel counted with no agent (acme: 20 frames, 20840 bytes each way)" \
	"$(echo "$after" | awk '{ printf "%s%s %s %s", (NR > 1 ? ", " : ""), $2, $3, $4 }')" \
	"$(echo "$before" | awk '{ printf "%s%s %s %s", (NR > 1 ? ", " : ""), $2, $3 + 20, $4 + 20840 }')"
tap_done
