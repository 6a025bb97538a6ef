#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: `tollgate top` (docs/top.md). Two tenants behind veths (tests/lib/topo.sh),
# acme sending a steady paced UDP stream to the peer, globex idle. `tollgate top` runs on a
# pseudo-terminal (tests/lib/top_pty.py: TERM=xterm, 100x30, the screen read back through
# a small xterm model) as it would over ssh:
#   1. the busy tenant shows a rate near the sender's; 's' moves the sort indicator; 'q'
#      exits 0 within a second and gives the terminal back (alternate screen left, termios
#      as before, cursor visible);
#      a resize to 80x24 lays the view out again;
#   2. SIGHUP exits promptly with 129 and restores the terminal; so does a hang-up (the
#      pty's master closed, as when ssh drops);
#   3. `--once` agrees with `tollgate tenants --json` sampled over the same interval, and
#      to the byte on the totals once the traffic has stopped;
#   4. without a datapath, without a terminal, and as a user that is not root: a clear
#      error and exit 1, and curses never starts.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
export LC_ALL=C

for tool in ip iperf3 python3 setpriv awk; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"
PTY="python3 $TG_ROOT/tests/lib/top_pty.py"

T=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
SENDER=
cleanup() {
	local pids
	pids=$(jobs -p)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	pkill -9 -f "$T/" 2>/dev/null # the agent, wherever it was started from
	topo_cleanup
	rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/tollgate.yaml" <<YAML
node: {name: e2e-top}
tenants:
  - name: acme
    interfaces: [vt-acme-*]
    quota: {bytes: 1GB, period: monthly, action: alert}
  - name: globex
    interfaces: [vt-globex-*]
billing: {interval: 2s, store: "sqlite:$T/top.db"}
YAML
CFG=$T/tollgate.yaml

fact() { # fact KEY FILE: a value top_pty.py printed
	sed -n "s/^$1=//p" "$2" | tail -1
}

show() { # show FILE: a file as TAP diagnostics
	sed 's/^/#   /' "$1"
}

ip netns add _probe 2>/dev/null && ip netns del _probe # /run/netns is ours
topo init && topo peer && topo tenant acme 1 && topo tenant globex 2 ||
	bail "cannot build the topology"

# 4 (first half). No datapath yet.
out=$("$TG" top -c "$CFG" --once 2>&1)
equal "no datapath: --once exits 1" "$?" 1
check "no datapath: the message says so ($out)" -- grep -q "no datapath under /sys/fs/bpf/tollgate: is the agent started" <<<"$out"
$PTY plain "$T/nodp.raw" -- "$TG" top -c "$CFG" >"$T/nodp.facts" 2>&1
equal "no datapath, on a terminal: exits 1" "$(fact rc "$T/nodp.facts")" 1
equal "no datapath, on a terminal: curses never started" "$(fact alt_screen "$T/nodp.facts")" 0
check "no datapath, on a terminal: the message is on the terminal" -- \
	grep -q "no datapath under" "$T/nodp.raw"

"$TG" run -c "$CFG" >"$T/agent.log" 2>&1 &
check "agent starts and reports healthy" -- wait_for 15 "$TG" status -c "$CFG" ||
	{ cat "$T/agent.log"; bail "the agent did not start"; }

# 4 (second half). The datapath is there, but no terminal, or not root.
err=$("$TG" top -c "$CFG" </dev/null 2>&1 >/dev/null)
rc=$?
equal "not a terminal: exits 1" "$rc" 1
check "not a terminal: the message suggests --once ($err)" -- grep -q -- "--once" <<<"$err"
chmod 711 "$T"
install -m 755 "$TG" "$T/tollgate-copy" # a path the unprivileged user can reach
err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$T/tollgate-copy" top --once 2>&1)
rc=$?
equal "not root: exits 1" "$rc" 1
check "not root: the message says root is needed ($err)" -- grep -q "needs root" <<<"$err"

# Steady traffic: acme sends paced UDP to the peer for the rest of the test's traffic part.
RATE=20000000 # bits/s of UDP payload
ip netns exec peer iperf3 -s -p 5201 >/dev/null 2>&1 &
SERVER=$!
wait_for 10 nsx peer bash -c 'exec 3<>/dev/tcp/127.0.0.1/5201' || bail "iperf3 server did not start"
# Not through nsx: `ip netns exec` execs iperf3, so $! is iperf3 itself.
ip netns exec t-acme iperf3 -c 192.0.2.2 -p 5201 -u -b "$RATE" -l 1200 -t 60 >"$T/iperf.log" 2>&1 &
SENDER=$!
sleep 1
kill -0 "$SENDER" 2>/dev/null || { cat "$T/iperf.log"; bail "iperf3 did not start"; }

# 1. Keys on a terminal.
$PTY keys "$T/keys.screen" -- "$TG" top -c "$CFG" >"$T/keys.facts" 2>&1
diag "screen after 's':"
show "$T/keys.screen"
equal "top: acme's row shows a rate" "$(fact rate_seen "$T/keys.facts")" 1
diag "acme's row: $(fact row "$T/keys.facts")"
# Wire bits of the UDP payload rate: each 1200-byte datagram is a 1242-byte frame.
bps=$(fact out_bps "$T/keys.facts")
check "top: acme's OUT bps ($bps) is the sender's rate on the wire ($RATE x 1242/1200) within 25%" -- \
	awk -v v="$bps" -v r="$RATE" 'BEGIN { w = r * 1242 / 1200; exit !(v > 0.75 * w && v < 1.25 * w) }'
equal "top: the tenants pane starts sorted by IN bps, descending" \
	"$(fact sort_before "$T/keys.facts")" "IN bpsv"
equal "top: 's' moves the sort indicator to the next column" \
	"$(fact sort_after "$T/keys.facts")" "IN ppsv"
equal "top: the status line names the new sort" "$(fact status_after "$T/keys.facts")" \
	"sort: IN pps (descending)"
equal "top: 'q' exits 0" "$(fact rc "$T/keys.facts")" 0
check "top: 'q' exits within a second ($(fact secs "$T/keys.facts") s)" -- \
	awk -v s="$(fact secs "$T/keys.facts")" 'BEGIN { exit !(s < 1) }'
equal "top: 'q' leaves the alternate screen last (rmcup, \\e[?1049l)" \
	"$(fact alt_screen_left "$T/keys.facts")" 1
equal "top: 'q' gives the terminal its modes back (termios as before)" \
	"$(fact termios_restored "$T/keys.facts")" 1
equal "top: 'q' leaves the cursor visible" "$(fact cursor_visible "$T/keys.facts")" 1
diag "output tail: $(fact tail "$T/keys.facts")"

# A window resized from 100x30 to 80x24 (SIGWINCH): the view is laid out again.
$PTY resize "$T/resize.screen" -- "$TG" top -c "$CFG" >"$T/resize.facts" 2>&1
diag "screen at 80x24:"
show "$T/resize.screen"
check "resize: at 100 columns the flows pane shows pps and BYTES" -- \
	grep -q "^flows_header_100=.* pps .*BYTES" "$T/resize.facts"
check "resize: at 80 columns it leaves them out" -- \
	bash -c "grep '^flows_header_80=' '$T/resize.facts' | grep -q bpsv &&
		! grep '^flows_header_80=' '$T/resize.facts' | grep -q -e ' pps' -e BYTES"
equal "resize: the status line moved to the new last row" "$(fact status_row_80 "$T/resize.facts")" 1
check "resize: no line is wider than 80 ($(fact widest_80 "$T/resize.facts"))" -- \
	test "$(fact widest_80 "$T/resize.facts")" -le 80
equal "resize: then 'q' exits 0" "$(fact rc "$T/resize.facts")" 0

# 2. SIGHUP, and a hang-up.
$PTY hup "$T/hup.screen" -- "$TG" top -c "$CFG" >"$T/hup.facts" 2>&1
equal "SIGHUP: the screen was up first" "$(fact screen_seen "$T/hup.facts")" 1
equal "SIGHUP: exits 129" "$(fact rc "$T/hup.facts")" 129
check "SIGHUP: exits within a second ($(fact secs "$T/hup.facts") s)" -- \
	awk -v s="$(fact secs "$T/hup.facts")" 'BEGIN { exit !(s < 1) }'
equal "SIGHUP: leaves the alternate screen last" "$(fact alt_screen_left "$T/hup.facts")" 1
equal "SIGHUP: termios as before" "$(fact termios_restored "$T/hup.facts")" 1
$PTY hangup "$T/hangup.screen" -- "$TG" top -c "$CFG" >"$T/hangup.facts" 2>&1
equal "hang-up (pty master closed): exits 129" "$(fact rc "$T/hangup.facts")" 129
check "hang-up: exits within a second ($(fact secs "$T/hangup.facts") s)" -- \
	awk -v s="$(fact secs "$T/hangup.facts")" 'BEGIN { exit !(s < 1) }'

# 3. --once against `tollgate tenants --json`, both sampling 2 s started together. The
# windows start within a few milliseconds of each other (measured below); allowing 0.1 s
# at each end of a 2 s window under a steady rate bounds the difference by 10%, plus one
# 1242-byte frame (and one packet) per window for the iperf3 control connection.
INTERVAL=2
t0=$(date +%s.%N)
"$TG" top -c "$CFG" --once -i "$INTERVAL" >"$T/once.txt" 2>"$T/once.err" &
once=$!
t1=$(date +%s.%N)
"$TG" tenants -c "$CFG" --json -i "$INTERVAL" >"$T/tenants.json" 2>"$T/tenants.err" &
tenants=$!
wait "$once"
rc_once=$?
wait "$tenants"
rc_tenants=$?
diag "the two samplers started $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') s apart"
equal "--once exits 0" "$rc_once" 0
equal "tenants --json exits 0" "$rc_tenants" 0
diag "--once:"
show "$T/once.txt"
# --once, tenants pane: TENANT IN_bps IN_pps OUT_bps OUT_pps DROPS QUOTA IN_BYTES OUT_BYTES
once_col() { # once_col TENANT FIELD [FILE]
	awk -v t="$1" -v f="$2" '/^tenants:/ { on = 1; next } on && /^$/ { exit }
		on && $1 == t { print $f }' "${3:-$T/once.txt}"
}
json_val() { # json_val TENANT DIRECTION KEY
	python3 -c 'import json, sys
for r in json.load(open(sys.argv[1])):
    if r["tenant"] == sys.argv[2] and r["direction"] == sys.argv[3]:
        print(r[sys.argv[4]])' "$T/tenants.json" "$1" "$2" "$3"
}
agree() { # agree DESC GOT WANT SLACK
	check "$1: top $2, tenants $3 (within 10% + $4)" -- \
		awk -v a="$2" -v b="$3" -v s="$4" 'BEGIN { m = a > b ? a : b; d = a - b;
			if (d < 0) d = -d; exit !(a != "" && b != "" && d <= 0.1 * m + s) }'
}
for t in acme globex; do
	agree "--once: $t IN bps" "$(once_col $t 2)" "$(json_val $t ingress bits_per_second)" \
		$((1242 * 8 / INTERVAL))
	agree "--once: $t IN pps" "$(once_col $t 3)" "$(json_val $t ingress packets_per_second)" 1
	agree "--once: $t OUT bps" "$(once_col $t 4)" "$(json_val $t egress bits_per_second)" \
		$((1242 * 8 / INTERVAL))
	agree "--once: $t OUT pps" "$(once_col $t 5)" "$(json_val $t egress packets_per_second)" 1
done
check "--once: acme's OUT bps is not zero" -- test "$(once_col acme 4)" -gt 1000000
equal "--once: globex is idle" "$(once_col globex 4) $(once_col globex 2)" "0 0"
check "--once: acme's quota shows a share" -- bash -c "[[ '$(once_col acme 7)' =~ ^[0-9]+%$ ]]"
equal "--once: globex has no quota" "$(once_col globex 7)" "-"
check "--once: the flows pane lists acme's UDP flow to the peer" -- \
	awk '/^flows:/ { on = 1; next } on && $1 == "acme" && $2 == "out" && $3 == "udp" &&
		$4 == "10.1.0.2" && $6 == "192.0.2.2" && $7 == 5201 && $8 > 1000000 { f = 1 }
		END { exit !f }' "$T/once.txt"

# Totals, once the traffic has stopped: equal to the byte.
kill -INT "$SENDER" 2>/dev/null
wait "$SENDER" 2>/dev/null
check "the sender has stopped" -- bash -c "! kill -0 $SENDER 2>/dev/null"
sleep 1
"$TG" top -c "$CFG" --once -i 0.1 >"$T/once2.txt" 2>&1
"$TG" tenants -c "$CFG" --json -i 0 >"$T/tenants.json" 2>&1
for t in acme globex; do
	equal "totals: $t IN BYTES equals tenants' ingress bytes" \
		"$(once_col $t 8 "$T/once2.txt")" "$(json_val $t ingress bytes)"
	equal "totals: $t OUT BYTES equals tenants' egress bytes" \
		"$(once_col $t 9 "$T/once2.txt")" "$(json_val $t egress bytes)"
done

# The datapath removed under a running view: it ends with a clear error.
check "stop --purge succeeds" -- "$TG" stop -c "$CFG" --purge
out=$("$TG" top -c "$CFG" --once 2>&1)
equal "after purge: --once exits 1" "$?" 1
check "after purge: no datapath ($out)" -- grep -q "no datapath under" <<<"$out"
kill "$SERVER" 2>/dev/null
wait "$SERVER" 2>/dev/null

tap_done
