#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end, BPF inventory: with runtime security on, `tollgate bpf-inventory --json`
# lists every program the agent holds as known, with the kernel's tag; a program loaded
# by another process (bpftool, whose pid the test knows) that is not Tollgate's, though
# it takes the name of Tollgate's uplink program, raises a bpf_load event naming that pid,
# its comm and the program's tag, and a security_event in the audit log; a program whose
# tag is in runtime.bpf_allowlist raises none.
#
# Oracles: the kernel's /proc/PID/fdinfo of the agent (prog_id and prog_tag of every BPF
# program the agent holds a descriptor of), `bpftool prog show -j` (ids, names and tags),
# and the pid of the process the test itself started.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
B=$TG_ROOT/${OUT:-build}
UNKNOWN_OBJ=$B/bpfinv_unknown.bpf.o
ALLOWED_OBJ=$B/bpfinv_allowed.bpf.o
[ -x "$TG" ] || bail "$TG is not built"
[ -f "$UNKNOWN_OBJ" ] && [ -f "$ALLOWED_OBJ" ] || bail "the test programs are not built (make build-tests)"
command -v bpftool >/dev/null || bail "bpftool is missing (make deps)"

T=$(mktemp -d /tmp/tollgate-bpfinv.XXXXXX)
AGENT=
cleanup() {
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	wait 2>/dev/null
	rm -f "$T"/bpffs/* 2>/dev/null
	umount "$T/bpffs" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
EV=/var/log/tollgate/events.json
AUDIT=$T/audit.log
mkdir -p "$T/bpffs" && mount -t bpf tg-e2e-bpffs "$T/bpffs" || bail "cannot mount a private bpffs"

# prog_of PIN EXPR: EXPR over bpftool's view (p) of the program pinned at PIN
prog_of() {
	bpftool prog show pinned "$1" -j | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}

# The allowlisted program's tag, from the kernel, loaded once before the agent runs.
bpftool prog load "$ALLOWED_OBJ" "$T/bpffs/probe" || bail "bpftool cannot load $ALLOWED_OBJ"
ALLOWED_TAG=$(prog_of "$T/bpffs/probe" "p['tag']")
rm -f "$T/bpffs/probe"
[ ${#ALLOWED_TAG} -eq 16 ] || bail "no tag for the allowlisted program ($ALLOWED_TAG)"
diag "allowlisted tag $ALLOWED_TAG"

cat >"$T/tollgate.yaml" <<YAML
tenants:
  - {name: acme, interfaces: [vt-acme-*]}
billing: {interval: 1s, store: "sqlite:$T/tollgate.db"}
runtime:
  monitor: [bpf]
  inventory: false
  bpf_allowlist: ["$ALLOWED_TAG"]
outputs: {audit: "$AUDIT"}
YAML

"$TG" run -c "$T/tollgate.yaml" >>"$T/agent.log" 2>&1 &
AGENT=$!
check "agent starts with runtime security" -- wait_for 30 "$TG" status -c "$T/tollgate.yaml" ||
	{ cat "$T/agent.log"; bail "no agent"; }

# --- the agent's own programs are known -------------------------------------------
# The kernel's list of the programs the agent holds: its fds' fdinfo.
agent_progs() {
	for f in /proc/"$AGENT"/fdinfo/*; do
		awk '/^prog_id:/ {id=$2} /^prog_tag:/ {tag=$2} END {if (id) print id, tag}' "$f"
	done 2>/dev/null | sort -u
}
agent_progs >"$T/agent_progs"
N_AGENT=$(wc -l <"$T/agent_progs")
check "the agent holds programs (fdinfo: $N_AGENT)" -- test "$N_AGENT" -ge 3
check "one of them is a tracepoint program of the runtime object (bpftool)" -- \
	bash -c "bpftool prog show -j | python3 -c \"import json,sys
ids={int(l.split()[0]) for l in open('$T/agent_progs')}
assert any(p['id'] in ids and p['type']=='tracepoint' for p in json.load(sys.stdin))\""

"$TG" bpf-inventory -c "$T/tollgate.yaml" --json --sample 0 >"$T/inv0.json" 2>"$T/inv0.err"
check "bpf-inventory --json exits 0" -- test $? -eq 0
equal "every program the agent holds is listed, known, with the kernel's tag" \
	"$(python3 -c "import json
inv={p['id']: p for p in json.load(open('$T/inv0.json'))['programs']}
bad=[]
for l in open('$T/agent_progs'):
    i, tag = l.split(); i = int(i)
    p = inv.get(i)
    if not p or p['tag'] != tag or not p['known'] or p['status'] != 'known':
        bad.append((i, tag, p and p['status']))
print(bad)")" "[]"
equal "the reference came from the running agent, no load of its own" \
	"$(python3 -c "import json; print(json.load(open('$T/inv0.json'))['reference'])")" agent
# (bpftool prints the full name from BTF where the kernel's is cut at 15 characters)
equal "bpftool and bpf-inventory agree on every program's id, name and tag" \
	"$(bpftool prog show -j | python3 -c "import json,sys
bt={p['id']: (p.get('name', ''), p['tag']) for p in json.load(sys.stdin)}
inv={p['id']: (p['name'], p['tag']) for p in json.load(open('$T/inv0.json'))['programs']}
print([i for i in inv if i in bt and (bt[i][1] != inv[i][1] or not bt[i][0].startswith(inv[i][0]))])")" "[]"

# --- an unknown program: a bpf_load event naming its loader ----------------------
bash -c 'echo $$ >"$1"; exec bpftool prog load "$2" "$3"' - "$T/unknown.pid" "$UNKNOWN_OBJ" \
	"$T/bpffs/unknown"
check "bpftool loaded the unknown program" -- test -e "$T/bpffs/unknown"
LOADER=$(cat "$T/unknown.pid")
U_ID=$(prog_of "$T/bpffs/unknown" "p['id']")
U_TAG=$(prog_of "$T/bpffs/unknown" "p['tag']")
diag "unknown program: id $U_ID tag $U_TAG, loaded by pid $LOADER"

# bpf_load_of ID: the bpf_load events of program ID, as "pid comm tag known"
bpf_load_of() {
	[ -f "$EV" ] || return 0
	python3 -c "import json,sys
for l in open('$EV'):
    e=json.loads(l)
    if e.get('type')=='bpf_load' and e['prog'].get('id')==$1:
        print(e['loader'].get('pid'), e['loader'].get('comm'), e['prog']['tag'], e['known'])"
}
has_bpf_load() { [ -n "$(bpf_load_of "$1")" ]; }
check "a bpf_load event is written" -- wait_for 10 has_bpf_load "$U_ID"
equal "it names the loader (pid, comm) and the program's tag, known: false" \
	"$(bpf_load_of "$U_ID")" "$LOADER bpftool $U_TAG False"
equal "the event has the program's name and type" \
	"$(python3 -c "import json
for l in open('$EV'):
    e=json.loads(l)
    if e.get('type')=='bpf_load' and e['prog'].get('id')==$U_ID: print(e['prog']['name'], e['prog']['type'], e['loader']['uid'])")" \
	"tg_uplink xdp 0"
check "the audit log has it as a security_event" -- \
	python3 -c "import json
assert any(r['type']=='security_event' and r['event']['type']=='bpf_load'
           and r['event']['prog']['id']==$U_ID and r['event']['loader']['pid']==$LOADER
           for r in map(json.loads, open('$AUDIT')))"
check "the audit chain verifies" -- "$TG" audit verify "$AUDIT"

# --- an allowlisted program: no event --------------------------------------------
bash -c 'echo $$ >"$1"; exec bpftool prog load "$2" "$3"' - "$T/allowed.pid" "$ALLOWED_OBJ" \
	"$T/bpffs/allowed"
check "bpftool loaded the allowlisted program" -- test -e "$T/bpffs/allowed"
A_ID=$(prog_of "$T/bpffs/allowed" "p['id']")
equal "it has the allowlisted tag" "$(prog_of "$T/bpffs/allowed" "p['tag']")" "$ALLOWED_TAG"
sleep 5 # beyond the watch's grace period (3 s) and a tick
equal "no bpf_load event for the allowlisted program" "$(bpf_load_of "$A_ID")" ""
equal "nor any event naming its tag" "$(grep -c "$ALLOWED_TAG" "$EV")" 0

# --- the inventory afterwards -------------------------------------------------------
"$TG" bpf-inventory -c "$T/tollgate.yaml" --json --sample 0 >"$T/inv1.json"
equal "bpf-inventory: the impostor is unknown, with its loader's pid and comm" \
	"$(python3 -c "import json
p=[p for p in json.load(open('$T/inv1.json'))['programs'] if p['id']==$U_ID][0]
print(p['status'], p['known'], p.get('loader_pid'), p.get('loader_comm'), p['name'])")" \
	"unknown False $LOADER bpftool tg_uplink"
equal "bpf-inventory: the allowlisted program is allowlisted" \
	"$(python3 -c "import json
p=[p for p in json.load(open('$T/inv1.json'))['programs'] if p['id']==$A_ID][0]
print(p['status'], p['known'])")" "allowlisted False"
"$TG" bpf-inventory -c "$T/tollgate.yaml" --json --sample 300 >"$T/inv2.json"
equal "with --sample, run statistics are on for the command" \
	"$(python3 -c "import json; s=json.load(open('$T/inv2.json'))['stats']; print(s['enabled'], s['by'] if s['by']=='sysctl' else s['window_ms'])")" \
	"$( [ "$(cat /proc/sys/kernel/bpf_stats_enabled)" = 1 ] && echo "True sysctl" || echo "True 300")"
check "the table form prints" -- bash -c "$TG bpf-inventory -c $T/tollgate.yaml --sample 0 | grep -q '^PROGRAMS'"

kill -TERM "$AGENT" && wait "$AGENT"
AGENT=
tap_done
