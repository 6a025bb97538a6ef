// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The JSON fields of exit, ptrace, setuid, module, mount, unshare and setns events
 * (src/rt_fields.c). Names are checked against independent oracles: glibc's
 * sigabbrev_np(3) for signals, the CLONE_* constants of <sched.h> and the MS_* ones of
 * <sys/mount.h>, <sys/ptrace.h>'s requests. Each record is formatted and the result is
 * compared with the whole expected text, and must parse as JSON (python3 -c json.loads).
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>

#include "rt_fields.h"
#include "tap.h"

static char *fmt(const struct tg_rt_event *e, bool *known)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fputc('{', f);
	fputs("\"x\": 0", f);
	*known = tg_rt_fields_write(f, e);
	fputc('}', f);
	fclose(f);
	return buf;
}

/* json.loads accepts it, run through python3 (an independent parser). */
static bool valid_json(const char *s)
{
	FILE *p = popen("python3 -c 'import json,sys; json.loads(sys.stdin.read())'", "w");

	if (!p)
		return false;
	fputs(s, p);
	return pclose(p) == 0;
}

static void expect(const char *what, const struct tg_rt_event *e, const char *want)
{
	bool known;
	char *got = fmt(e, &known);

	if (!tap_check(known && !strcmp(got, want), "%s", what))
		tap_diag("  got  %s\n#   want %s", got, want);
	tap_check(valid_json(got), "%s: valid JSON", what);
	free(got);
}

int main(void)
{
	struct tg_rt_event e;
	char buf[32], want[64];
	bool known;
	int bad = 0;

	/* Signal names against sigabbrev_np, 1..31. */
	for (int s = 1; s < 32; s++) {
		const char *mine = tg_signal_name(s, buf, sizeof(buf)), *ref = sigabbrev_np(s);

		snprintf(want, sizeof(want), "SIG%s", ref ? ref : "?");
		if (s == SIGIO && mine && !strcmp(mine, "SIGIO") && !strcmp(want, "SIGPOLL"))
			continue; /* one signal, two names: SIGIO is the one Linux documents */
		if (!mine || strcmp(mine, want)) {
			tap_diag("signal %d: %s, glibc says %s", s, mine ? mine : "(null)", want);
			bad++;
		}
	}
	tap_check(!bad, "signal names 1..31 are glibc's (sigabbrev_np)");
	tap_check(!tg_signal_name(0, buf, sizeof(buf)) && !tg_signal_name(65, buf, sizeof(buf)),
		  "no name for signal 0 or 65");
	tap_check(!strcmp(tg_signal_name(34, buf, sizeof(buf)), "SIGRTMIN+2"),
		  "real-time signals count from the kernel's SIGRTMIN (32)");

	memset(&e, 0, sizeof(e));
	e.type = TG_RT_EXIT;
	e.arg[0] = TG_EXIT_CRASH;
	e.arg[2] = SIGSEGV;
	e.flags = TG_RT_F_CORE;
	expect("exit: crash by SIGSEGV with a core", &e,
	       "{\"x\": 0, \"class\": \"crash\", \"code\": 0, \"signal\": \"SIGSEGV\", "
	       "\"core_dumped\": true, \"killer_pid\": 0}");
	e.arg[0] = TG_EXIT_KILLED;
	e.arg[2] = SIGTERM;
	e.arg[3] = 4242;
	e.flags = 0;
	expect("exit: killed by SIGTERM from pid 4242", &e,
	       "{\"x\": 0, \"class\": \"killed\", \"code\": 0, \"signal\": \"SIGTERM\", "
	       "\"core_dumped\": false, \"killer_pid\": 4242}");
	e.arg[0] = TG_EXIT_OOM;
	e.arg[2] = SIGKILL;
	e.arg[3] = 0;
	expect("exit: oom", &e,
	       "{\"x\": 0, \"class\": \"oom\", \"code\": 0, \"signal\": \"SIGKILL\", "
	       "\"core_dumped\": false, \"killer_pid\": 0}");
	e.arg[0] = TG_EXIT_NORMAL;
	e.arg[1] = 3;
	e.arg[2] = 0;
	expect("exit: normal, status 3, no signal", &e,
	       "{\"x\": 0, \"class\": \"normal\", \"code\": 3, \"signal\": null, "
	       "\"core_dumped\": false, \"killer_pid\": 0}");

	memset(&e, 0, sizeof(e));
	e.type = TG_RT_PTRACE;
	e.arg[0] = PTRACE_ATTACH;
	e.arg[1] = 77;
	expect("ptrace: PTRACE_ATTACH (sys/ptrace.h's value)", &e,
	       "{\"x\": 0, \"request\": \"PTRACE_ATTACH\", \"target\": 77}");
	e.arg[0] = PTRACE_SEIZE;
	expect("ptrace: PTRACE_SEIZE", &e,
	       "{\"x\": 0, \"request\": \"PTRACE_SEIZE\", \"target\": 77}");
	e.arg[0] = PTRACE_TRACEME;
	e.arg[1] = 0;
	expect("ptrace: PTRACE_TRACEME", &e,
	       "{\"x\": 0, \"request\": \"PTRACE_TRACEME\", \"target\": 0}");

	memset(&e, 0, sizeof(e));
	e.type = TG_RT_SETUID;
	e.arg[0] = TG_RT_SETRESUID_OP;
	e.arg[1] = -1;
	e.arg[2] = 0;
	e.arg[3] = -1;
	expect("setuid: setresuid(-1, 0, -1)", &e,
	       "{\"x\": 0, \"op\": \"setresuid\", \"ids\": [-1, 0, -1]}");
	e.arg[0] = TG_RT_SETGID_OP;
	e.arg[1] = 1000;
	expect("setuid: setgid(1000) has one id", &e,
	       "{\"x\": 0, \"op\": \"setgid\", \"ids\": [1000]}");
	e.arg[0] = TG_RT_SETREGID_OP;
	e.arg[2] = 5;
	expect("setuid: setregid has two", &e,
	       "{\"x\": 0, \"op\": \"setregid\", \"ids\": [1000, 5]}");

	memset(&e, 0, sizeof(e));
	e.type = TG_RT_MOUNT;
	strcpy(e.path, "/mnt");
	memcpy(e.args, "srcx\0tmpfs", 11);
	e.args_len = 11;
	e.arg[0] = MS_RDONLY | MS_NOSUID | MS_REC | MS_PRIVATE;
	expect("mount: source, type, target, MS_* names", &e,
	       "{\"x\": 0, \"source\": \"srcx\", \"fstype\": \"tmpfs\", \"target\": \"/mnt\", "
	       "\"mount_flags\": [\"MS_RDONLY\", \"MS_NOSUID\", \"MS_REC\", \"MS_PRIVATE\"]}");
	/* The old magic in the top half goes as the kernel drops it (path_mount). */
	e.arg[0] = MS_MGC_VAL | MS_RDONLY;
	expect("mount: MS_MGC_VAL is not a flag", &e,
	       "{\"x\": 0, \"source\": \"srcx\", \"fstype\": \"tmpfs\", \"target\": \"/mnt\", "
	       "\"mount_flags\": [\"MS_RDONLY\"]}");
	memset(e.args, 0, sizeof(e.args));
	e.args[1] = 0;
	e.args_len = 1;
	strcpy(e.path, "/a\xff");
	e.arg[0] = MS_BIND;
	expect("mount: no source nor type; invalid UTF-8 in the target becomes U+FFFD", &e,
	       "{\"x\": 0, \"source\": \"\", \"fstype\": \"\", \"target\": \"/a\xef\xbf\xbd\", "
	       "\"mount_flags\": [\"MS_BIND\"]}");

	memset(&e, 0, sizeof(e));
	e.type = TG_RT_UNSHARE;
	e.arg[0] = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWUTS |
		   CLONE_NEWIPC | CLONE_NEWCGROUP;
	expect("unshare: CLONE_NEW* names in bit order", &e,
	       "{\"x\": 0, \"clone_flags\": [\"CLONE_NEWNS\", \"CLONE_NEWCGROUP\", "
	       "\"CLONE_NEWUTS\", "
	       "\"CLONE_NEWIPC\", \"CLONE_NEWUSER\", \"CLONE_NEWPID\", \"CLONE_NEWNET\"]}");
	e.arg[0] = CLONE_FILES | (1ul << 40);
	expect("unshare: a bit without a name is its hex value", &e,
	       "{\"x\": 0, \"clone_flags\": [\"CLONE_FILES\", \"0x10000000000\"]}");
	memset(&e, 0, sizeof(e));
	e.type = TG_RT_SETNS;
	e.arg[0] = CLONE_NEWNET;
	e.arg[1] = 5;
	expect("setns: nstype and fd", &e, "{\"x\": 0, \"nstype\": [\"CLONE_NEWNET\"], \"fd\": 5}");
	e.arg[0] = 0;
	expect("setns: nstype 0 (any) is an empty list", &e,
	       "{\"x\": 0, \"nstype\": [], \"fd\": 5}");

	memset(&e, 0, sizeof(e));
	e.type = TG_RT_MODULE;
	e.arg[0] = 3;
	e.arg[1] = -1;
	strcpy(e.path, "dummy");
	expect("module: loaded, named", &e,
	       "{\"x\": 0, \"call\": \"loaded\", \"name\": \"dummy\", \"taints\": 0}");
	e.arg[0] = 2;
	e.arg[1] = 4;
	e.arg[2] = 0;
	expect("module: finit_module with its fd", &e,
	       "{\"x\": 0, \"call\": \"finit_module\", \"fd\": 4, \"module_flags\": 0}");

	memset(&e, 0, sizeof(e));
	e.type = TG_RT_EXEC;
	free(fmt(&e, &known));
	tap_check(!known, "other types are not written here");
	return tap_done();
}
