// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * OCI seccomp profiles (src/seccomp_profile.c). Bad profiles first: each is refused with
 * its reason and leaves nothing behind. Then the names of learned numbers are checked
 * against the kernel's own headers (linux-libc-dev: asm/unistd_64.h and unistd_32.h,
 * `#define __NR_name number`), for every syscall they list; a learned set goes to a
 * profile and back through the printer and the parser unchanged; and the filters the
 * profiles compile to are judged by the kernel: a child loads one and reports what its
 * syscalls returned.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp_profile.h"
#include "tap.h"

#define HDR64 "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
#define HDR32 "/usr/include/x86_64-linux-gnu/asm/unistd_32.h"

static const struct {
	const char *json, *want;
} bad[] = {
	{ "", "not JSON" },
	{ "{", "not JSON" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\"} x", "data after the profile" },
	{ "[]", "a profile is a JSON object" },
	{ "{}", "defaultAction is missing" },
	{ "{\"defaultAction\": 1}", "an action (a string such as SCMP_ACT_ERRNO) is needed" },
	{ "{\"defaultAction\": \"SCMP_ACT_FOO\"}", "unknown action 'SCMP_ACT_FOO'" },
	{ "{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "SCMP_ACT_NOTIFY needs a seccomp agent" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}", "is negative" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1.5}",
	  "an integer is needed" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 4096}",
	  "errnoRet 4096 is out of range" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}",
	  "SCMP_ACT_ALLOW takes no errnoRet" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]}",
	  "unknown architecture 'SCMP_ARCH_Z80'" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": \"SCMP_ARCH_X86\"}",
	  "architectures: a list is needed" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_NEW\"]}",
	  "unsupported flag 'SECCOMP_FILTER_FLAG_NEW'" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"foo\": 1}", "unknown key 'foo'" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/x\"}",
	  "listenerPath: a seccomp agent is not supported" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
	  "syscalls: a list is needed" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"action\": "
	  "\"SCMP_ACT_ERRNO\"}]}",
	  "syscalls[0]: names: at least one syscall is needed" },
	{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"]}]}",
	  "syscalls[0]: an action" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", "
	  "\"nosuch1\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"nosuch2\"], "
	  "\"action\": \"SCMP_ACT_ALLOW\"}]}",
	  "unknown syscall names (libseccomp" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	  "\"action\": \"SCMP_ACT_ALLOW\", \"bogus\": 1}]}",
	  "syscalls[0]: unknown key 'bogus'" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	  "\"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}",
	  "includes: Docker's conditions" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	  "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
	  "\"SCMP_CMP_FOO\"}]}]}",
	  "unknown op 'SCMP_CMP_FOO'" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	  "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": "
	  "\"SCMP_CMP_EQ\"}]}]}",
	  "index 6 is not 0..5" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	  "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
	  "\"SCMP_CMP_EQ\"}, {\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	  "two conditions on argument 0" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	  "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1e3, \"op\": "
	  "\"SCMP_CMP_EQ\"}]}]}",
	  "a value (an integer) is needed" },
	{ "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	  "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
	  "\"SCMP_CMP_EQ\", \"x\": 0}]}]}",
	  "args: unknown key 'x'" },
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tg_sc_profile p;
		char err[2048] = "";
		int rc;

		memset(&p, 0xa5, sizeof(p));
		rc = tg_sc_profile_parse(bad[i].json, strlen(bad[i].json), &p, err, sizeof(err));
		if (!tap_check(rc == -EINVAL && strstr(err, bad[i].want) && !p.rules && !p.n_rules,
			       "bad profile %zu refused: %s", i, bad[i].want))
			tap_diag("  rc %d, message: %s", rc, err);
	}
	{
		const char *j = bad[20].json; /* unknown names: all of them, in order */
		struct tg_sc_profile p;
		char err[2048] = "";

		tg_sc_profile_parse(j, strlen(j), &p, err, sizeof(err));
		tap_check(strstr(err, ": nosuch1, nosuch2") && !strstr(err, "read"),
			  "every unknown name is named, and only those: %s", err);
	}
	{
		struct tg_sc_profile p;
		char err[256] = "";
		int rc = tg_sc_profile_read("/nonexistent/p.json", &p, err, sizeof(err));

		tap_check(rc == -ENOENT && strstr(err, "cannot read /nonexistent/p.json"),
			  "a missing file: %s", err);
	}
}

/* A profile as Docker's and runc's users write them: every accepted key at once. */
static void test_accept(void)
{
	const char *j =
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,\n"
		" \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", "
		"\"SCMP_ARCH_X32\"],\n"
		" \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"],\n"
		" \"syscalls\": [\n"
		"  {\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\", \"comment\": "
		"\"io\",\n"
		"   \"includes\": {}, \"excludes\": {}},\n"
		"  {\"name\": \"socketcall\", \"action\": \"SCMP_ACT_LOG\"},\n"
		"  {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [\n"
		"    {\"index\": 0, \"value\": 18446744073709551615, \"valueTwo\": 8, \"op\": "
		"\"SCMP_CMP_MASKED_EQ\"}]},\n"
		"  {\"names\": [\"kill\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 65535}\n"
		" ]}\n";
	struct tg_sc_profile p;
	scmp_filter_ctx ctx = NULL;
	char err[512] = "";
	int rc;

	rc = tg_sc_profile_parse(j, strlen(j), &p, err, sizeof(err));
	if (!tap_check(rc == 0, "a profile with every accepted key parses"))
		tap_diag("  %s", err);
	if (rc)
		return;
	tap_check(p.default_action == SCMP_ACT_ERRNO(38) && p.n_arches == 3 &&
			  p.arches[1] == SCMP_ARCH_X86 && p.arches[2] == SCMP_ARCH_X32 &&
			  p.flag_log && p.n_rules == 4,
		  "default ERRNO(38), three architectures, the log flag, four rules");
	tap_check(p.rules[1].n_names == 1 && !strcmp(p.rules[1].names[0], "socketcall") &&
			  p.rules[1].action == SCMP_ACT_LOG,
		  "\"name\" (the older single form) and SCMP_ACT_LOG");
	tap_check(p.rules[2].n_args == 1 && p.rules[2].args[0].value == UINT64_MAX &&
			  p.rules[2].args[0].value_two == 8 &&
			  p.rules[2].args[0].op == SCMP_CMP_MASKED_EQ,
		  "a 64-bit argument value is carried exactly (%" PRIu64 ")",
		  p.rules[2].args[0].value);
	tap_check(p.rules[3].action == SCMP_ACT_TRACE(65535), "SCMP_ACT_TRACE with its data");
	rc = tg_sc_profile_filter(&p, &ctx, err, sizeof(err));
	if (!tap_check(rc == 0, "libseccomp takes it"))
		tap_diag("  %s", err);
	seccomp_release(ctx);
	{
		struct tg_sc_profile q;
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		bool same;

		tg_sc_profile_print(f, &p);
		fclose(f);
		rc = tg_sc_profile_parse(buf, len, &q, err, sizeof(err));
		same = !rc && q.default_action == p.default_action && q.n_arches == p.n_arches &&
		       !memcmp(q.arches, p.arches, sizeof(p.arches)) && q.flag_log &&
		       !q.flag_tsync && !q.flag_spec_allow && q.n_rules == p.n_rules;
		for (size_t i = 0; same && i < p.n_rules; i++) {
			same = q.rules[i].action == p.rules[i].action &&
			       q.rules[i].n_names == p.rules[i].n_names &&
			       q.rules[i].n_args == p.rules[i].n_args &&
			       !memcmp(q.rules[i].args, p.rules[i].args,
				       p.rules[i].n_args * sizeof(p.rules[i].args[0]));
			for (size_t k = 0; same && k < p.rules[i].n_names; k++)
				same = !strcmp(q.rules[i].names[k], p.rules[i].names[k]);
		}
		if (!tap_check(same, "printed and parsed again: the same profile, arguments and "
				     "flags included"))
			tap_diag("  %s\n%s", err, buf);
		if (!rc)
			tg_sc_profile_free(&q);
		free(buf);
	}
	tg_sc_profile_free(&p);
}

struct hdr_entry {
	char name[64];
	int nr;
};

/* `#define __NR_name number` lines of a kernel header. */
static size_t read_header(const char *path, struct hdr_entry *out, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "#define __NR_%63s %d", out[n].name, &out[n].nr) == 2 &&
		    out[n].nr >= 0 && out[n].nr < TG_SC_NR_MAX)
			n++;
	}
	fclose(f);
	return n;
}

/* Every number of the header, alone in a set, gives the header's name (or none, for a
 * syscall newer than libseccomp: counted, never a wrong name); all of them at once give
 * every name once, sorted. */
static void test_names(const char *hdr, bool compat)
{
	static struct hdr_entry e[TG_SC_NR_MAX];
	struct tg_sc_set all = {};
	size_t n = read_header(hdr, e, TG_SC_NR_MAX), wrong = 0, unnamed_total = 0, named = 0;
	struct tg_sc_profile p;

	if (!tap_check(n > 300, "%s lists %zu syscalls (linux-libc-dev)", hdr, n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct tg_sc_set s = {};
		__u64 *w = compat ? s.compat : s.native;
		size_t unnamed;

		w[e[i].nr / 64] |= 1ULL << (e[i].nr % 64);
		(compat ? all.compat : all.native)[e[i].nr / 64] |= 1ULL << (e[i].nr % 64);
		if (tg_sc_profile_from_set(&s, &p, &unnamed, NULL)) {
			wrong++;
			continue;
		}
		if (unnamed) {
			unnamed_total++;
			tap_diag("  %s (%d): no name in libseccomp", e[i].name, e[i].nr);
		} else if (p.n_rules != 1 || p.rules[0].n_names != 1 ||
			   strcmp(p.rules[0].names[0], e[i].name)) {
			wrong++;
			tap_diag("  %d: header %s, got %s", e[i].nr, e[i].name,
				 p.n_rules ? p.rules[0].names[0] : "(none)");
		} else {
			named++;
		}
		tg_sc_profile_free(&p);
	}
	tap_check(!wrong && named + unnamed_total == n,
		  "%s: %zu numbers named as the header names them, %zu unknown to libseccomp, "
		  "%zu wrong",
		  compat ? "ia32" : "x86_64", named, unnamed_total, wrong);
	tap_check(unnamed_total * 20 < n, "libseccomp knows nearly all of them");
	{
		size_t unnamed;
		bool sorted = true;

		if (tg_sc_profile_from_set(&all, &p, &unnamed, NULL) || p.n_rules != 1) {
			tap_check(0, "the whole header as one set");
			return;
		}
		for (size_t i = 1; i < p.rules[0].n_names; i++)
			sorted &= strcmp(p.rules[0].names[i - 1], p.rules[0].names[i]) < 0;
		tap_check(sorted && p.rules[0].n_names == named && unnamed == unnamed_total,
			  "the whole header as one set: %zu names, sorted, each once",
			  p.rules[0].n_names);
		tap_check(p.n_arches == (compat ? 2u : 1u) && p.arches[0] == SCMP_ARCH_X86_64 &&
				  (!compat || p.arches[1] == SCMP_ARCH_X86),
			  "architectures: x86_64%s",
			  compat ? " and x86 (32-bit numbers learned)" : "");
		tap_check(p.default_action == SCMP_ACT_ERRNO(EPERM) &&
				  p.rules[0].action == SCMP_ACT_ALLOW,
			  "default ERRNO(EPERM), the learned names allowed");
		tg_sc_profile_free(&p);
	}
}

/* A learned set -> profile -> JSON -> profile: the same profile. */
static void test_round_trip(void)
{
	struct tg_sc_set s = {};
	struct tg_sc_profile a, b;
	char *buf = NULL, err[512] = "";
	size_t len = 0, unnamed;
	FILE *f;
	bool same;
	int rc;

	for (int nr = 0; nr < 335; nr += 3) /* a third of the x86_64 table, below the gaps */
		s.native[nr / 64] |= 1ULL << (nr % 64);
	s.compat[20 / 64] |= 1ULL << 20;	/* getpid (ia32), also a native name: once */
	s.compat[64 / 64] |= 1ULL << (64 % 64); /* getppid (ia32) */
	rc = tg_sc_profile_from_set(&s, &a, &unnamed, NULL);
	tap_check(rc == 0 && unnamed == 0, "a learned set makes a profile");
	f = open_memstream(&buf, &len);
	tg_sc_profile_print(f, &a);
	fclose(f);
	rc = tg_sc_profile_parse(buf, len, &b, err, sizeof(err));
	if (!tap_check(rc == 0, "the printed profile parses back"))
		tap_diag("  %s\n%s", err, buf);
	same = !rc && a.default_action == b.default_action && a.n_arches == b.n_arches &&
	       !memcmp(a.arches, b.arches, sizeof(a.arches)) && a.n_rules == b.n_rules &&
	       b.n_rules == 1 && a.rules[0].action == b.rules[0].action &&
	       a.rules[0].n_names == b.rules[0].n_names;
	for (size_t i = 0; same && i < a.rules[0].n_names; i++)
		same = !strcmp(a.rules[0].names[i], b.rules[0].names[i]);
	tap_check(same, "... unchanged (%zu names, %zu architectures)",
		  a.n_rules ? a.rules[0].n_names : 0, a.n_arches);
	{
		size_t getpid = 0;

		for (size_t i = 0; i < a.rules[0].n_names; i++)
			getpid += !strcmp(a.rules[0].names[i], "getpid");
		tap_check(getpid == 1, "a name learned in both ABIs is listed once");
	}
	if (!rc)
		tg_sc_profile_free(&b);
	tg_sc_profile_free(&a);
	free(buf);
}

/* The kernel judges the filter: a child loads it and reports errnos through its pipe. */
static void test_kernel(void)
{
	const char *j = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			" {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", "
			"\"errnoRet\": 95},\n"
			" {\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", "
			"\"errnoRet\": 13,\n"
			"  \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},\n"
			" {\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", "
			"\"errnoRet\": 13,\n"
			"  \"args\": [{\"index\": 0, \"value\": 2, \"valueTwo\": 2, \"op\": "
			"\"SCMP_CMP_MASKED_EQ\"}]},\n"
			" {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"}\n"
			"]}";
	struct tg_sc_profile p;
	scmp_filter_ctx ctx = NULL;
	char err[512] = "";
	int fds[2], res[5] = { -1, -1, -1, -1, -1 }, status = 0;
	pid_t pid;

	if (tg_sc_profile_parse(j, strlen(j), &p, err, sizeof(err)) ||
	    tg_sc_profile_filter(&p, &ctx, err, sizeof(err))) {
		tap_check(0, "the kernel test's profile: %s", err);
		return;
	}
	tg_sc_profile_free(&p);
	if (pipe(fds)) {
		tap_check(0, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		int r[5];

		close(fds[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || seccomp_load(ctx))
			_exit(3);
		errno = 0;
		r[0] = syscall(SYS_personality, 0xffffffffUL) == -1 ? errno : 0;
		errno = 0;
		r[1] = syscall(SYS_getpriority, 0, 0) == -1 ? errno : 0; /* PRIO_PROCESS */
		errno = 0;
		r[2] = syscall(SYS_getpriority, 1, 0) == -1 ? errno : 0; /* PRIO_PGRP: EQ 1 */
		errno = 0;
		r[3] = syscall(SYS_getpriority, 2, 0) == -1 ? errno : 0; /* PRIO_USER: 2 & 2 */
		r[4] = syscall(SYS_getpid) == getpid() ? 0 : 1;
		_exit(write(fds[1], r, sizeof(r)) == sizeof(r) ? 0 : 4);
	}
	close(fds[1]);
	seccomp_release(ctx);
	if (read(fds[0], res, sizeof(res)) != sizeof(res))
		tap_diag("  the child sent nothing");
	close(fds[0]);
	waitpid(pid, &status, 0);
	tap_check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child loaded the filter");
	tap_equal_u64(res[0], EOPNOTSUPP, "personality: ERRNO(95) as the rule says");
	tap_equal_u64(res[1], 0, "getpriority(PRIO_PROCESS): no condition matches, allowed");
	tap_equal_u64(res[2], EACCES, "getpriority(PRIO_PGRP): SCMP_CMP_EQ 1 matches, EACCES");
	tap_equal_u64(res[3], EACCES, "getpriority(PRIO_USER): SCMP_CMP_MASKED_EQ 2/2, EACCES");
	tap_equal_u64(res[4], 0, "getpid: allowed");
}

static void test_actions(void)
{
	static const uint32_t acts[] = { SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP,
					 SCMP_ACT_ERRNO(1),	SCMP_ACT_TRACE(7),    SCMP_ACT_LOG,
					 SCMP_ACT_ALLOW };
	static const char *const names[] = { "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
					     "SCMP_ACT_TRAP",	      "SCMP_ACT_ERRNO",
					     "SCMP_ACT_TRACE",	      "SCMP_ACT_LOG",
					     "SCMP_ACT_ALLOW" };
	bool good = true;

	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		const char *n = tg_sc_action_name(acts[i]);

		good &= n && !strcmp(n, names[i]);
	}
	tap_check(good && !tg_sc_action_name(SCMP_ACT_NOTIFY), "action names");
}

int main(void)
{
	test_bad();
	test_accept();
	test_names(HDR64, false);
	test_names(HDR32, true);
	test_round_trip();
	test_kernel();
	test_actions();
	return tap_done();
}
