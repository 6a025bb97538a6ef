// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A helper of tests/e2e/runtime_exits.sh (not a suite): a process that ends or calls
 * what the test asks, so the runtime's exit and syscall events have a known cause.
 *
 *	rt_victim segv			dereferences NULL (SIGSEGV)
 *	rt_victim exit N		exit(N)
 *	rt_victim sleep S		sleeps S seconds (a target for kill and ptrace)
 *	rt_victim alloc MB		allocates and touches MB MiB (under memory.max: OOM)
 *	rt_victim attach PID		PTRACE_ATTACH to PID, waits for its stop, detaches
 *	rt_victim traceme		PTRACE_TRACEME
 *	rt_victim setresuid R E S	setresuid(R, E, S) (-1 = unchanged)
 *	rt_victim setgid G		setgid(G)
 * Prints the syscall's result as "ok" or "errno=N" and exits 0, except segv and exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int result(long rc)
{
	if (rc < 0)
		printf("errno=%d\n", errno);
	else
		printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "segv")) {
		volatile int *p = NULL;

		/* the fault is the point: the kernel sends SIGSEGV */
		// cppcheck-suppress nullPointer
		return *p;
	}
	if (!strcmp(cmd, "exit") && argc > 2)
		exit(atoi(argv[2]));
	if (!strcmp(cmd, "sleep") && argc > 2) {
		sleep(atoi(argv[2]));
		return 0;
	}
	if (!strcmp(cmd, "alloc") && argc > 2) {
		size_t len = strtoul(argv[2], NULL, 10) << 20;
		char *p =
			mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return result(-1);
		for (size_t i = 0; i < len; i += 4096)
			p[i] = 1;
		return result(0);
	}
	if (!strcmp(cmd, "attach") && argc > 2) {
		pid_t pid = atoi(argv[2]);
		int st;

		if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0)
			return result(-1);
		waitpid(pid, &st, 0);
		return result(ptrace(PTRACE_DETACH, pid, NULL, NULL));
	}
	if (!strcmp(cmd, "traceme"))
		return result(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	if (!strcmp(cmd, "setresuid") && argc > 4)
		return result(setresuid(atoi(argv[2]), atoi(argv[3]), atoi(argv[4])));
	if (!strcmp(cmd, "setgid") && argc > 2)
		return result(setgid(atoi(argv[2])));
	fprintf(stderr, "usage: rt_victim segv|exit N|sleep S|alloc MB|attach PID|traceme|"
			"setresuid R E S|setgid G\n");
	return 2;
}
