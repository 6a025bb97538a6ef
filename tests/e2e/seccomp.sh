#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: seccomp learning, profiles and exec (docs/seccomp.md). Test cgroups are made
# under the host's cgroup2 mount (unique names, removed on exit, also on failure); the
# agent and its pins live in the sandbox's own mount namespace.
#
#   acme   learns from a workload (a pipeline and tests/lib/sc_probe.c), which then runs
#          again under the learned profile with the same output; a syscall it never made
#          (personality) fails with EPERM there, and the rest runs
#   beta   learns from the same workload run by strace -f -c: the oracle. strace runs
#          inside beta's cgroup before the workload starts, so every syscall strace sees
#          is issued in the cgroup and must be learned. (What `tollgate exec` does before
#          it joins the cgroup, reading the configuration and opening cgroup.procs, is not
#          the workload's and is not learned.)
#   gamma  learns a 32-bit syscall (int 0x80): its profile covers SCMP_ARCH_X86
#   delta  does not learn
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
export LC_ALL=C

for tool in gcc strace python3; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CGROOT" ] || bail "no cgroup2 mount in /proc/self/mounts"

T=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
TOP=tollgate-e2e-sc-$$
CG=$CGROOT/$TOP
PIN=/sys/fs/bpf/tollgate
AGENT=

cleanup() {
	local pid d
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	for d in "$CG"/* "$CG"; do
		[ -d "$d" ] || continue
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
			echo "$pid" >"$CGROOT/cgroup.procs" 2>/dev/null
		done
		rmdir "$d" 2>/dev/null || echo "# cannot remove $d" >&2
	done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$CG/acme" "$CG/beta" "$CG/gamma" "$CG/delta" ||
	bail "cannot create test cgroups under $CGROOT"
gcc -O2 -Wall -Wextra -Werror -o "$T/sc_probe" "$TG_ROOT/tests/lib/sc_probe.c" ||
	bail "cannot build tests/lib/sc_probe.c"

cat >"$T/tollgate.yaml" <<YAML
node: {name: e2e}
tenants:
  - {name: acme, cgroups: [/$TOP/acme]}
  - {name: beta, cgroups: [/$TOP/beta]}
  - {name: gamma, cgroups: [/$TOP/gamma]}
  - {name: delta, cgroups: [/$TOP/delta]}
billing: {interval: 60s, store: "sqlite:$T/tollgate.db"}
outputs: {events: $T/events.json}
runtime: {seccomp_learn: [acme, beta, gamma]}
YAML
printf '%s\n' pear apple fig apple kiwi pear apple >"$T/in"
WORK="sort $T/in | uniq -c | sort -rn | head -n 3; $T/sc_probe"

# names FILE: the syscall names of an OCI profile's rules, one per line, sorted.
names() {
	python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))
print("\n".join(sorted({n for r in p["syscalls"] for n in r["names"]})))' "$1"
}
arches() {
	python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["architectures"]))' "$1"
}
E() { "$TG" exec -c "$T/tollgate.yaml" "$@"; }
P() { "$TG" seccomp-profile -c "$T/tollgate.yaml" "$@"; }

# Before the agent: no pins, a clear error.
P --tenant acme >/dev/null 2>"$T/err"
rc=$?
ok $((rc == 1 ? 0 : 1)) "seccomp-profile without an agent fails (rc $rc)"
check "... saying the agent is not started" -- grep -q "start the agent" "$T/err"

"$TG" run -c "$T/tollgate.yaml" >"$T/agent.log" 2>&1 &
AGENT=$!
wait_for 15 "$TG" status -c "$T/tollgate.yaml" || { cat "$T/agent.log"; bail "the agent did not start"; }
check "the agent learns for three tenants" -- grep -q "seccomp learning for 3 tenants" "$T/agent.log"
# on_sys_enter: is Tollgate's learning program attached to raw_tp/sys_enter (bpftool)?
on_sys_enter() {
	python3 -c 'import json, subprocess as sp
progs = {p["id"] for p in json.loads(sp.check_output(["bpftool", "-j", "prog", "show"]))
         if p.get("name") == "tg_sc_sys_enter"}
links = json.loads(sp.check_output(["bpftool", "-j", "link", "show"]))
raise SystemExit(not any(l.get("type") == "raw_tracepoint" and l.get("tp_name") == "sys_enter"
                         and l.get("prog_id") in progs for l in links))'
}
check "its learning program is on raw_tp/sys_enter" -- on_sys_enter

P --tenant acme >/dev/null 2>"$T/err"
equal "nothing learned yet: seccomp-profile fails" "$?" 1
check "... saying nothing was learned yet" -- grep -q "nothing was learned yet" "$T/err"

# The learning run.
E --tenant acme -- sh -c "$WORK plain" >"$T/out.learn" 2>&1
equal "the workload runs in acme" "$?" 0
P --tenant acme >"$T/p.json" 2>"$T/err"
equal "seccomp-profile prints acme's profile" "$?" 0
check "... as JSON with the OCI keys" -- python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))
assert p["defaultAction"] == "SCMP_ACT_ERRNO" and p["defaultErrnoRet"] == 1, p
assert p["syscalls"][0]["action"] == "SCMP_ACT_ALLOW", p
n = p["syscalls"][0]["names"]
assert n == sorted(n) and len(n) == len(set(n)), n' "$T/p.json"
equal "acme's profile is for x86_64 only" "$(arches "$T/p.json")" "SCMP_ARCH_X86_64"
names "$T/p.json" >"$T/acme.names"
E --tenant acme -- cat /proc/self/cgroup >"$T/cgroup" # (after the profile: cat is no workload)
check "exec runs in acme's cgroup" -- grep -qx "0::/$TOP/acme" "$T/cgroup"
diag "acme learned $(wc -l <"$T/acme.names") syscalls: $(tr '\n' ' ' <"$T/acme.names")"
check "acme learned execve, openat, read, write, exit_group" -- \
	sh -c "for s in execve openat read write exit_group; do grep -qx \$s '$T/acme.names' || exit 1; done"
check "acme did not learn personality" -- sh -c "! grep -qx personality '$T/acme.names'"

# The same workload under the profile.
E --tenant acme --seccomp "$T/p.json" -- sh -c "$WORK plain" >"$T/out.again" 2>&1
equal "the workload runs again under its profile" "$?" 0
check "... with the same output" -- cmp "$T/out.learn" "$T/out.again"
diag "output: $(tr '\n' '|' <"$T/out.again")"

E --tenant delta -- "$T/sc_probe" personality >"$T/out.free" 2>&1
equal "personality works without a profile" "$(sed -n 2p "$T/out.free")" "personality: ok"
E --tenant acme --seccomp "$T/p.json" -- sh -c "$WORK personality" >"$T/out.deny" 2>&1
equal "under the profile the probe still exits 0" "$?" 0
equal "personality fails with EPERM under the profile" "$(grep '^personality' "$T/out.deny")" \
	"personality: EPERM"
check "and the rest runs" -- cmp <(grep -v '^personality' "$T/out.deny") "$T/out.learn"

# The exit status passes through; a command the profile cannot start says why.
E --tenant acme --seccomp "$T/p.json" -- sh -c 'exit 7'
equal "the command's exit status passes through" "$?" 7
# (exit_group and write in it: a process that cannot exit_group cannot even exit.)
printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}' >"$T/noexec.json"
E --tenant acme --seccomp "$T/noexec.json" -- true 2>"$T/err"
equal "a profile without execve: exit 126" "$?" 126
check "... saying execve is refused" -- grep -q "does the profile allow execve" "$T/err"

# Bad profiles change nothing: the command never starts.
printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "nosuchcall", "alsonot"], "action": "SCMP_ACT_ALLOW"}]}' >"$T/bad.json"
E --tenant acme --seccomp "$T/bad.json" -- touch "$T/marker" 2>"$T/err"
equal "an unknown syscall name is refused" "$?" 1
check "... naming every unknown name" -- grep -q "nosuchcall, alsonot" "$T/err"
check "... and the command did not run" -- test ! -e "$T/marker"
printf '{"defaultAction": "SCMP_ACT_NOTIFY"}' >"$T/bad2.json"
E --tenant acme --seccomp "$T/bad2.json" -- touch "$T/marker" 2>"$T/err"
equal "SCMP_ACT_NOTIFY is refused" "$?" 1
check "... clearly" -- grep -q "SCMP_ACT_NOTIFY needs a seccomp agent" "$T/err"
E --tenant nosuch -- true 2>"$T/err"
equal "exec: an unknown tenant is refused" "$?" 1
check "... by name" -- grep -q "unknown tenant 'nosuch'" "$T/err"
check "exec: the process stayed out of acme's cgroup on refusal" -- test ! -e "$T/marker"

# The oracle: strace -f -c inside beta's cgroup sees the workload's syscalls.
E --tenant beta -- strace -f -qq -c -o "$T/strace.txt" sh -c "$WORK plain" >"$T/out.strace" 2>&1
equal "the workload runs under strace in beta" "$?" 0
awk 'NF >= 5 && $NF ~ /^[a-z0-9_]+$/ && $NF != "total" && $NF != "syscall" { print $NF }' \
	"$T/strace.txt" | sort -u >"$T/strace.names"
P --tenant beta >"$T/beta.json" 2>"$T/err"
equal "beta's profile" "$?" 0
names "$T/beta.json" >"$T/beta.names"
missing=$(comm -23 "$T/strace.names" "$T/beta.names" | tr '\n' ' ')
diag "strace saw $(wc -l <"$T/strace.names") syscalls; beta learned $(wc -l <"$T/beta.names")"
equal "beta learned every syscall strace saw" "$missing" ""
check "strace saw a real workload (execve, openat, clone or fork)" -- \
	sh -c "grep -qx execve '$T/strace.names' && grep -qx openat '$T/strace.names'"
check "beta learned ptrace (strace's own), acme did not: sets are per tenant" -- \
	sh -c "grep -qx ptrace '$T/beta.names' && ! grep -qx ptrace '$T/acme.names'"

# gamma: a 32-bit syscall.
E --tenant gamma -- "$T/sc_probe" compat >"$T/out.compat" 2>&1
equal "the probe makes a 32-bit getppid" "$(sed -n 2p "$T/out.compat")" "compat getppid: ok"
P --tenant gamma >"$T/gamma.json" 2>"$T/err"
equal "gamma's profile covers the 32-bit ABI too" "$(arches "$T/gamma.json")" \
	"SCMP_ARCH_X86_64 SCMP_ARCH_X86"
check "... with getppid" -- grep -qx getppid <(names "$T/gamma.json")

# Clear errors.
P --tenant delta >/dev/null 2>"$T/err"
equal "a tenant that does not learn: seccomp-profile fails" "$?" 1
check "... saying it is not learning" -- grep -q "is not learning" "$T/err"
P --tenant nosuch >/dev/null 2>"$T/err"
equal "an unknown tenant: seccomp-profile fails" "$?" 1
check "... by name" -- grep -q "unknown tenant 'nosuch'" "$T/err"

# The agent stops: learning stops (no program left on sys_enter), what was learned stays.
P --tenant acme >"$T/p1.json"
kill -TERM "$AGENT" && wait "$AGENT"
AGENT=
not_on_sys_enter() { ! on_sys_enter; }
check "no Tollgate program is left on raw_tp/sys_enter" -- wait_for 5 not_on_sys_enter
P --tenant acme >"$T/p2.json" 2>"$T/err"
equal "acme's profile is still there after the agent stopped" "$?" 0
check "... the same syscalls" -- cmp <(names "$T/p1.json") <(names "$T/p2.json")
check "... said to be no longer learned" -- grep -q "the agent is not running" "$T/err"
check "stop --purge" -- "$TG" stop -c "$T/tollgate.yaml" --purge
check "... removes the seccomp pins" -- sh -c "! ls $PIN/tg_sc_learn $PIN/tg_sc_sets 2>/dev/null"
tap_done
