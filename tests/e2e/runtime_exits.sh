#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: exits and sensitive syscalls of tenants' processes (docs/runtime.md, "Exits
# and sensitive syscalls"). Two tenants with cgroups of their own under the host's cgroup2
# mount (names unique to this run, removed on exit, also on failure); the network and
# mounts are the sandbox's. Every process is started by a small Python runner that moves
# itself into the cgroups, then execs the program, and reports what waitpid(2) said: the
# kernel's own account of the exit is the oracle for the event's class, signal and core
# flag. The OOM kill's oracle is the memory cgroup's oom_kill counter; mount's is the
# mount table the kernel shows (/proc/self/mountinfo). Process helpers: build/tests/rt_victim.
. "$(dirname "$0")/../lib/topo.sh"
tg_sandbox "$0" "$@" || { echo "not ok 1 - cannot enter a private namespace"; exit 1; }
. "$TG_ROOT/tests/lib/tap.sh"
export LC_ALL=C

for tool in python3 unshare nsenter mount; do
	command -v "$tool" >/dev/null || bail "$tool is not installed (make deps installs it)"
done
[ -x "$TG" ] || bail "$TG is not built"
VICTIM=$TG_ROOT/build/tests/rt_victim
[ -x "$VICTIM" ] || bail "$VICTIM is not built (make build-tests)"
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CGROOT" ] || bail "no cgroup2 mount in /proc/self/mounts"

T=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
TOP=tollgate-rtexit-$$
CG=$CGROOT/$TOP
EV=$T/events.json
AGENT=
BG=()
MEMCG=

cleanup() {
	local pid d
	for pid in "${BG[@]}" $AGENT; do
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for d in "$CG/acme" "$CG/beta" "$CG" $MEMCG; do
		[ -d "$d" ] || continue
		for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$d" 2>/dev/null && break
			sleep 0.1
		done
		[ -d "$d" ] && echo "# cannot remove $d" >&2
	done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$CG/acme" "$CG/beta" || bail "cannot create test cgroups under $CGROOT"

# The memory limit for the OOM case: cgroup v2's memory controller where the cgroup2
# hierarchy has it, else (a hybrid layout) a cgroup of the v1 memory hierarchy beside the
# tenant's. Both end in the same OOM killer.
if grep -qw memory "$CGROOT/cgroup.controllers"; then
	echo +memory >"$CGROOT/cgroup.subtree_control" &&
		echo +memory >"$CG/cgroup.subtree_control" && mkdir "$CG/acme/oom" ||
		bail "cannot enable the memory controller under $CG"
	MEMCG=
	OOMCG=$CG/acme/oom
	echo 16M >"$OOMCG/memory.max" && echo 0 >"$OOMCG/memory.swap.max" ||
		bail "cannot set memory.max on $OOMCG"
	oom_kills() { awk '$1 == "oom_kill" { print $2 }' "$OOMCG/memory.events"; }
	OOM_PROCS=$OOMCG/cgroup.procs
else
	MEMROOT=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/self/mounts)
	[ -n "$MEMROOT" ] || bail "no memory controller in cgroup2 nor a cgroup v1 memory mount"
	MEMCG=$MEMROOT$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)/$TOP
	mkdir "$MEMCG" && echo 16M >"$MEMCG/memory.limit_in_bytes" ||
		bail "cannot make a 16M memory cgroup at $MEMCG"
	echo 16M >"$MEMCG/memory.memsw.limit_in_bytes" 2>/dev/null
	oom_kills() { awk '$1 == "oom_kill" { print $2 }' "$MEMCG/memory.oom_control"; }
	OOM_PROCS="$CG/acme/cgroup.procs $MEMCG/cgroup.procs"
fi

cat >"$T/tollgate.yaml" <<YAML
node: {name: e2e}
tenants:
  - name: acme
    cidrs: [10.1.0.0/24]
    cgroups: [/$TOP/acme]
  - name: beta
    cidrs: [10.2.0.0/24]
    cgroups: [/$TOP/beta]
billing: {interval: 60s, store: "sqlite:$T/tollgate.db"}
outputs: {events: $EV}
runtime:
  monitor: [ptrace, setuid, module, mount, unshare, setns]
  rules:
    - {name: no-netns, type: unshare, tenant: beta, action: kill}
    - {name: victim-exits, type: exit, tenant: beta, comm: "rt_vic*"}
YAML

# spawn PROCS_FILES -- CMD...: runs CMD as a process of its own that first joins every
# cgroup.procs file listed (space-separated), with core dumps allowed and $T as its
# directory. Prints "pid=N" at once, then "pid=N code=C signal=S core=0|1" from waitpid.
spawn() {
	local procs=$1
	shift 2
	python3 - "$procs" "$T" "$@" <<'PY'
import os, resource, sys
procs, wd, argv = sys.argv[1].split(), sys.argv[2], sys.argv[3:]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    for p in procs:
        with open(p, "w") as f:
            f.write(str(os.getpid()))
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)
    os.chdir(wd)
    os.close(w)
    os.execv(argv[0], argv)
os.close(w)
os.read(r, 1)  # the child has joined its cgroups (or failed)
print("pid=%d" % pid, flush=True)
_, st = os.waitpid(pid, 0)
print("pid=%d code=%d signal=%d core=%d" % (pid,
      os.WEXITSTATUS(st) if os.WIFEXITED(st) else 0,
      os.WTERMSIG(st) if os.WIFSIGNALED(st) else 0,
      1 if os.WIFSIGNALED(st) and os.WCOREDUMP(st) else 0), flush=True)
PY
}
field() { echo "$2" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; } # from the last line

# event TYPE PID [SECONDS]: the first event of TYPE from PID in the events file, compact
# JSON with sorted keys, waiting for it up to SECONDS (default 10).
event() {
	python3 - "$EV" "$1" "$2" "${3:-10}" <<'PY'
import json, sys, time
path, typ, pid, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
end = time.time() + secs
while True:
    try:
        for line in open(path):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("type") == typ and e.get("pid") == pid:
                print(json.dumps(e, sort_keys=True))
                sys.exit(0)
    except FileNotFoundError:
        pass
    if time.time() > end:
        sys.exit(1)
    time.sleep(0.2)
PY
}
# jget JSON KEY: one key of an event, as JSON.
jget() { python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1]).get(sys.argv[2])))' "$1" "$2"; }

agent_start() {
	LOG=$T/agent.log
	"$TG" run -c "$T/tollgate.yaml" >"$LOG" 2>&1 &
	AGENT=$!
	wait_for 20 grep -q "tollgate: running" "$LOG"
}
check "agent starts with runtime security" -- agent_start || { cat "$LOG"; bail "the agent did not start"; }
ACME_PROCS=$CG/acme/cgroup.procs
# module is monitored by default; without CONFIG_MODULES its tracepoints do not exist
# (tracefs is mounted by the agent by now), and the agent must say so.
if [ -d /sys/kernel/tracing/events/syscalls ] && [ ! -d /sys/kernel/tracing/events/module ]; then
	check "no module tracepoints on this kernel: the agent says module loads are not watched" -- \
		grep -q "module loads are not watched" "$LOG"
fi
NORMAL=0 # normal exits of acme's processes started here

# 1. A segfault: crash, SIGSEGV, the core flag as waitpid reports it.
out=$(spawn "$ACME_PROCS" -- "$VICTIM" segv | tail -1)
pid=$(field pid "$out")
equal "oracle: the segfaulting program died of SIGSEGV" "$(field signal "$out")" 11
e=$(event exit "$pid") || { ok 1 "an exit event for the segfault (pid $pid)"; e='{}'; }
equal "segfault: class crash" "$(jget "$e" class)" '"crash"'
equal "segfault: signal SIGSEGV" "$(jget "$e" signal)" '"SIGSEGV"'
want=$([ "$(field core "$out")" = 1 ] && echo true || echo false)
equal "segfault: core_dumped as waitpid says ($want)" "$(jget "$e" core_dumped)" "$want"
equal "segfault: tenant acme" "$(jget "$e" tenant)" '"acme"'

# 2. OOM: 64 MiB touched under a 16 MiB limit.
before=$(oom_kills)
out=$(spawn "$OOM_PROCS" -- "$VICTIM" alloc 64 | tail -1)
pid=$(field pid "$out")
equal "oracle: the allocating program died of SIGKILL" "$(field signal "$out")" 9
equal "oracle: the memory cgroup's oom_kill counter went up by one" "$(($(oom_kills) - before))" 1
e=$(event exit "$pid") || { ok 1 "an exit event for the OOM kill (pid $pid)"; e='{}'; }
equal "OOM: class oom" "$(jget "$e" class)" '"oom"'
equal "OOM: signal SIGKILL" "$(jget "$e" signal)" '"SIGKILL"'
equal "OOM: no killer process (the kernel)" "$(jget "$e" killer_pid)" 0

# 3. Killed with SIGTERM by another process whose pid we know.
spawn "$ACME_PROCS" -- "$VICTIM" sleep 30 >"$T/term.out" &
BG+=($!)
wait_for 10 grep -q '^pid=' "$T/term.out" || bail "the sleeping victim did not start"
vpid=$(field pid "$(head -1 "$T/term.out")")
killer=$(sh -c 'echo $$; kill -TERM "$1"' sh "$vpid")
wait_for 10 grep -q 'signal=' "$T/term.out"
out=$(tail -1 "$T/term.out")
equal "oracle: the victim died of SIGTERM" "$(field signal "$out")" 15
e=$(event exit "$vpid") || { ok 1 "an exit event for the killed process (pid $vpid)"; e='{}'; }
equal "killed: class killed" "$(jget "$e" class)" '"killed"'
equal "killed: signal SIGTERM" "$(jget "$e" signal)" '"SIGTERM"'
equal "killed: killer_pid is the sender ($killer)" "$(jget "$e" killer_pid)" "$killer"

# 4. exit(3): counted, not reported (exit is not in runtime.monitor).
out=$(spawn "$ACME_PROCS" -- "$VICTIM" exit 3 | tail -1)
pid=$(field pid "$out")
NORMAL=$((NORMAL + 1))
equal "oracle: exit status 3" "$(field code "$out")" 3

# 5. ptrace: PTRACE_ATTACH to a sleeping tenant process, and PTRACE_TRACEME.
spawn "$ACME_PROCS" -- "$VICTIM" sleep 2 >"$T/traced.out" &
BG+=($!)
wait_for 10 grep -q '^pid=' "$T/traced.out" || bail "the ptrace target did not start"
target=$(field pid "$(head -1 "$T/traced.out")")
out=$(spawn "$ACME_PROCS" -- "$VICTIM" attach "$target")
pid=$(field pid "$out")
NORMAL=$((NORMAL + 2))
equal "oracle: PTRACE_ATTACH succeeded" "$(echo "$out" | grep -x ok)" ok
e=$(event ptrace "$pid") || { ok 1 "a ptrace event (pid $pid)"; e='{}'; }
equal "ptrace: request PTRACE_ATTACH" "$(jget "$e" request)" '"PTRACE_ATTACH"'
equal "ptrace: the target pid" "$(jget "$e" target)" "$target"
out=$(spawn "$ACME_PROCS" -- "$VICTIM" traceme)
pid=$(field pid "$out")
NORMAL=$((NORMAL + 1))
e=$(event ptrace "$pid") || { ok 1 "a PTRACE_TRACEME event (pid $pid)"; e='{}'; }
equal "ptrace: request PTRACE_TRACEME" "$(jget "$e" request)" '"PTRACE_TRACEME"'

# 6. setresuid(-1, 0, -1) as root: allowed, and reported with its ids.
out=$(spawn "$ACME_PROCS" -- "$VICTIM" setresuid -1 0 -1)
pid=$(field pid "$out")
NORMAL=$((NORMAL + 1))
equal "oracle: setresuid succeeded" "$(echo "$out" | grep -x ok)" ok
e=$(event setuid "$pid") || { ok 1 "a setuid event (pid $pid)"; e='{}'; }
equal "setuid: op setresuid" "$(jget "$e" op)" '"setresuid"'
equal "setuid: ids -1, 0, -1" "$(jget "$e" ids)" "[-1, 0, -1]"

# 7. unshare -n: a new network namespace.
out=$(spawn "$ACME_PROCS" -- "$(command -v unshare)" -n true)
pid=$(field pid "$out")
NORMAL=$((NORMAL + 1))
e=$(event unshare "$pid") || { ok 1 "an unshare event (pid $pid)"; e='{}'; }
equal "unshare: clone_flags CLONE_NEWNET" "$(jget "$e" clone_flags)" '["CLONE_NEWNET"]'

# 8. setns into the sandbox's own network namespace.
out=$(spawn "$ACME_PROCS" -- "$(command -v nsenter)" --net=/proc/$$/ns/net true)
pid=$(field pid "$out")
NORMAL=$((NORMAL + 1))
e=$(event setns "$pid") || { ok 1 "a setns event (pid $pid)"; e='{}'; }
equal "setns: nstype CLONE_NEWNET" "$(jget "$e" nstype)" '["CLONE_NEWNET"]'

# 9. A mount inside the tenant (in a mount namespace of its own). The oracle is the
# mount table of that namespace as the kernel shows it.
out=$(spawn "$ACME_PROCS" -- "$(command -v unshare)" -m --propagation unchanged \
	sh -c 'mount -t tmpfs -o ro,nosuid tg-src /mnt && grep " /mnt " /proc/self/mountinfo')
NORMAL=$((NORMAL + 3)) # unshare's sh, mount(8) and grep
minfo=$(echo "$out" | grep ' /mnt ')
check "oracle: mountinfo shows tg-src on /mnt as tmpfs, ro and nosuid" -- \
	sh -c 'echo "$1" | grep -q " /mnt ro,nosuid.* - tmpfs tg-src "' sh "$minfo"
e=$(python3 - "$EV" <<'PY'
import json, sys, time
for _ in range(50):
    for line in open(sys.argv[1]):
        e = json.loads(line)
        if e.get("type") == "mount" and e.get("source") == "tg-src":
            print(json.dumps(e, sort_keys=True)); sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PY
) || { ok 1 "a mount event for tg-src"; e='{}'; }
equal "mount: target /mnt" "$(jget "$e" target)" '"/mnt"'
equal "mount: fstype tmpfs" "$(jget "$e" fstype)" '"tmpfs"'
equal "mount: mount_flags MS_RDONLY, MS_NOSUID" "$(jget "$e" mount_flags)" '["MS_RDONLY", "MS_NOSUID"]'
equal "mount: tenant acme" "$(jget "$e" tenant)" '"acme"'

# 10. Rules in beta: a kill rule on unshare, and an exit rule that reports normal exits.
out=$(spawn "$CG/beta/cgroup.procs" -- "$(command -v unshare)" -n true)
pid=$(field pid "$out")
equal "oracle: beta's unshare died of SIGKILL" "$(field signal "$out")" 9
e=$(event unshare "$pid") || { ok 1 "an unshare event in beta (pid $pid)"; e='{}'; }
equal "kill rule: the event names the rule" "$(jget "$e" rule)" '"no-netns"'
equal "kill rule: killed" "$(jget "$e" killed)" true
out=$(spawn "$CG/beta/cgroup.procs" -- "$VICTIM" exit 5)
pid=$(field pid "$out")
e=$(event exit "$pid") || { ok 1 "an exit event for beta's exit(5) (pid $pid)"; e='{}'; }
equal "exit rule: beta's normal exit is reported, code 5" "$(jget "$e" class) $(jget "$e" code)" '"normal" 5'
equal "exit rule: named, alert only" "$(jget "$e" rule) $(jget "$e" action)" '"victim-exits" "alert"'

# 11. Not reported: a host process's segfault, and acme's normal exits.
out=$(spawn "" -- "$VICTIM" segv | tail -1)
hostpid=$(field pid "$out")
wait "${BG[@]}" 2>/dev/null
BG=()
sleep 1
check "a host process's segfault raises no event" -- sh -c '! grep -q "\"pid\": *$1[,}]" "$2"' \
	sh "$hostpid" "$EV"
n=$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("type") == "exit"
          and json.loads(l).get("class") == "normal"))' "$EV")
equal "no other normal exit is reported (exit not monitored)" "$n" 1

# 12. Counters: exits by class for acme, from `tollgate tenants --json`.
x=$("$TG" tenants -c "$T/tollgate.yaml" --json | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r["tenant"] == "acme":
        x = r["exits"]; print(x["crash"], x["killed"], x["oom"], x["normal"]); break')
equal "tenants --json: acme's exits crash, killed, oom, normal" "$x" "1 1 1 $NORMAL"
x=$("$TG" tenants -c "$T/tollgate.yaml" --json | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r["tenant"] == "beta":
        x = r["exits"]; print(x["crash"], x["killed"], x["oom"], x["normal"]); break')
equal "tenants --json: beta's: one killed, one normal" "$x" "0 1 0 1"

# 13. Loss accounting: for each of these types, status's produced = delivered + dropped,
# and delivered is the number of lines of that type in the events file.
loss() {
	python3 - "$EV" "$1" <<'PY'
import json, subprocess, sys, time
ev, tg = sys.argv[1], sys.argv[2]
types = ["exit", "ptrace", "setuid", "mount", "unshare", "setns"]
for _ in range(25):
    st = json.loads(subprocess.run(tg, shell=True, capture_output=True, text=True).stdout)
    rt = st["runtime"]
    lines = {}
    for l in open(ev):
        t = json.loads(l).get("type")
        lines[t] = lines.get(t, 0) + 1
    got = ["%s %d=%d+%d file %d" % (t, rt[t]["produced"], rt[t]["delivered"], rt[t]["dropped"],
                                   lines.get(t, 0)) for t in types]
    if all(rt[t]["produced"] == rt[t]["delivered"] + rt[t]["dropped"] > 0 and
           rt[t]["delivered"] == lines.get(t, 0) for t in types):
        print("ok"); sys.exit(0)
    time.sleep(0.2)
print("; ".join(got)); sys.exit(1)
PY
}
r=$(loss "$TG status -c $T/tollgate.yaml --json")
equal "status: produced = delivered + dropped, delivered = lines in the file (exit ptrace setuid mount unshare setns)" "$r" ok

agent_stop() {
	kill -TERM "$AGENT" && wait "$AGENT"
	local rc=$?
	AGENT=
	return $rc
}
check "agent stops cleanly" -- agent_stop
tap_done
