// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A helper of tests/e2e/seccomp.sh (compiled by it): prints a line, does what MODE says,
 * prints a line, exits 0.
 *   plain        nothing more
 *   personality  personality(0xffffffff) (a query that changes nothing), and what it gave:
 *                "ok" or the errno's name (EPERM under a profile that lacks it)
 *   compat       getppid as a 32-bit syscall (int 0x80, ia32 number 64), checked against
 *                the 64-bit one
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "plain";
	long r;

	printf("probe: start\n");
	if (!strcmp(mode, "personality")) {
		r = syscall(SYS_personality, 0xffffffffUL);
		printf("personality: %s\n", r == -1 ? strerrorname_np(errno) : "ok");
	} else if (!strcmp(mode, "compat")) {
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(64L) : "memory");
		printf("compat getppid: %s\n", r == (long)getppid() ? "ok" : "wrong");
	} else if (strcmp(mode, "plain")) {
		fprintf(stderr, "usage: sc_probe [plain|personality|compat]\n");
		return 2;
	}
	printf("probe: end\n");
	return 0;
}
