// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The JSON fields of exit, ptrace, setuid, module, mount, unshare and setns events
 * (rt_fields.h; the records are written by bpf/lib/rt_exit.h and bpf/lib/rt_sys.h).
 */
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "json.h"
#include "rt_fields.h"

/* The module event's kinds (bpf/lib/rt_sys.h, enum tg_rt_module_how). */
enum { MOD_INIT = 1, MOD_FINIT = 2, MOD_LOADED = 3 };

const char *tg_rt_exit_class_name(unsigned cls)
{
	static const char *const names[TG_EXIT_CLASSES] = {
		[TG_EXIT_NORMAL] = "normal",
		[TG_EXIT_CRASH] = "crash",
		[TG_EXIT_KILLED] = "killed",
		[TG_EXIT_OOM] = "oom",
	};

	return cls < TG_EXIT_CLASSES ? names[cls] : NULL;
}

/* Linux's numbers on x86 and arm64 (asm-generic). */
static const char *const sig_names[32] = {
	NULL,	     "SIGHUP",	"SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
	"SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
	"SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
	"SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS",
};

const char *tg_signal_name(int sig, char *buf, size_t len)
{
	if (sig <= 0 || sig > 64)
		return NULL;
	if (sig < 32)
		return sig_names[sig];
	/* Real-time signals, counted from the kernel's SIGRTMIN (32; glibc's is 34). */
	snprintf(buf, len, "SIGRTMIN+%d", sig - 32);
	return buf;
}

const char *tg_ptrace_request_name(long req)
{
	switch (req) {
	case 0:
		return "PTRACE_TRACEME";
	case 16:
		return "PTRACE_ATTACH";
	case 0x4206:
		return "PTRACE_SEIZE";
	}
	return NULL;
}

const char *tg_rt_id_op_name(unsigned op)
{
	static const char *const names[] = {
		[TG_RT_SETUID_OP] = "setuid",	    [TG_RT_SETGID_OP] = "setgid",
		[TG_RT_SETREUID_OP] = "setreuid",   [TG_RT_SETREGID_OP] = "setregid",
		[TG_RT_SETRESUID_OP] = "setresuid", [TG_RT_SETRESGID_OP] = "setresgid",
		[TG_RT_SETFSUID_OP] = "setfsuid",   [TG_RT_SETFSGID_OP] = "setfsgid",
	};

	return op < sizeof(names) / sizeof(names[0]) ? names[op] : NULL;
}

/* How many ids each call takes. */
static int id_op_count(unsigned op)
{
	switch (op) {
	case TG_RT_SETREUID_OP:
	case TG_RT_SETREGID_OP:
		return 2;
	case TG_RT_SETRESUID_OP:
	case TG_RT_SETRESGID_OP:
		return 3;
	}
	return 1;
}

struct flag_name {
	unsigned long bit;
	const char *name;
};

static void flags_json(FILE *out, unsigned long flags, const struct flag_name *names, size_t n)
{
	bool first = true;

	fputc('[', out);
	for (size_t i = 0; i < n; i++) {
		if (!(flags & names[i].bit))
			continue;
		fprintf(out, "%s\"%s\"", first ? "" : ", ", names[i].name);
		first = false;
		flags &= ~names[i].bit;
	}
	for (unsigned b = 0; b < 64; b++) {
		if (!(flags & (1ul << b)))
			continue;
		fprintf(out, "%s\"0x%lx\"", first ? "" : ", ", 1ul << b);
		first = false;
	}
	fputc(']', out);
}

/* <linux/sched.h>'s values, written out so old headers do not hide new ones. */
static const struct flag_name clone_names[] = {
	{ 0x00000080, "CLONE_NEWTIME" },
	{ 0x00000100, "CLONE_VM" },
	{ 0x00000200, "CLONE_FS" },
	{ 0x00000400, "CLONE_FILES" },
	{ 0x00000800, "CLONE_SIGHAND" },
	{ 0x00001000, "CLONE_PIDFD" },
	{ 0x00002000, "CLONE_PTRACE" },
	{ 0x00004000, "CLONE_VFORK" },
	{ 0x00008000, "CLONE_PARENT" },
	{ 0x00010000, "CLONE_THREAD" },
	{ 0x00020000, "CLONE_NEWNS" },
	{ 0x00040000, "CLONE_SYSVSEM" },
	{ 0x00080000, "CLONE_SETTLS" },
	{ 0x00100000, "CLONE_PARENT_SETTID" },
	{ 0x00200000, "CLONE_CHILD_CLEARTID" },
	{ 0x00400000, "CLONE_DETACHED" },
	{ 0x00800000, "CLONE_UNTRACED" },
	{ 0x01000000, "CLONE_CHILD_SETTID" },
	{ 0x02000000, "CLONE_NEWCGROUP" },
	{ 0x04000000, "CLONE_NEWUTS" },
	{ 0x08000000, "CLONE_NEWIPC" },
	{ 0x10000000, "CLONE_NEWUSER" },
	{ 0x20000000, "CLONE_NEWPID" },
	{ 0x40000000, "CLONE_NEWNET" },
	{ 0x80000000, "CLONE_IO" },
};

void tg_rt_clone_flags_json(FILE *out, unsigned long flags)
{
	flags_json(out, flags, clone_names, sizeof(clone_names) / sizeof(clone_names[0]));
}

/* <linux/mount.h>'s MS_* values. */
static const struct flag_name mount_names[] = {
	{ 1ul << 0, "MS_RDONLY" },	{ 1ul << 1, "MS_NOSUID" },
	{ 1ul << 2, "MS_NODEV" },	{ 1ul << 3, "MS_NOEXEC" },
	{ 1ul << 4, "MS_SYNCHRONOUS" }, { 1ul << 5, "MS_REMOUNT" },
	{ 1ul << 6, "MS_MANDLOCK" },	{ 1ul << 7, "MS_DIRSYNC" },
	{ 1ul << 8, "MS_NOSYMFOLLOW" }, { 1ul << 10, "MS_NOATIME" },
	{ 1ul << 11, "MS_NODIRATIME" }, { 1ul << 12, "MS_BIND" },
	{ 1ul << 13, "MS_MOVE" },	{ 1ul << 14, "MS_REC" },
	{ 1ul << 15, "MS_SILENT" },	{ 1ul << 16, "MS_POSIXACL" },
	{ 1ul << 17, "MS_UNBINDABLE" }, { 1ul << 18, "MS_PRIVATE" },
	{ 1ul << 19, "MS_SLAVE" },	{ 1ul << 20, "MS_SHARED" },
	{ 1ul << 21, "MS_RELATIME" },	{ 1ul << 22, "MS_KERNMOUNT" },
	{ 1ul << 23, "MS_I_VERSION" },	{ 1ul << 24, "MS_STRICTATIME" },
	{ 1ul << 25, "MS_LAZYTIME" },
};

#define MS_MGC_MSK 0xffff0000ul
#define MS_MGC_VAL 0xc0ed0000ul /* the old magic in the top half: not a flag */

void tg_rt_mount_flags_json(FILE *out, unsigned long flags)
{
	if ((flags & MS_MGC_MSK) == MS_MGC_VAL)
		flags &= ~MS_MGC_MSK;
	flags_json(out, flags, mount_names, sizeof(mount_names) / sizeof(mount_names[0]));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string of the first max bytes of s (up to a NUL): a path or name from the kernel
 * holds any bytes, and invalid UTF-8 becomes U+FFFD. */
static void json_bytes(FILE *out, const char *s, size_t max)
{
	char buf[TG_RT_PATH * 3 + 1];
	size_t n = strnlen(s, max), o = 0;

	for (size_t i = 0; i < n && o + 4 < sizeof(buf);) {
		size_t l = utf8_len((const unsigned char *)s + i, n - i);

		if (l) {
			memcpy(buf + o, s + i, l);
			o += l;
			i += l;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	buf[o] = '\0';
	tg_json_string(out, buf);
}

static void write_exit(FILE *out, const struct tg_rt_event *e)
{
	const char *cls = tg_rt_exit_class_name((unsigned)e->arg[0]);
	const char *sig;
	char sb[24];

	if (cls)
		fprintf(out, ", \"class\": \"%s\"", cls);
	else
		fprintf(out, ", \"class\": \"class-%lld\"", (long long)e->arg[0]);
	fprintf(out, ", \"code\": %lld, \"signal\": ", (long long)e->arg[1]);
	sig = tg_signal_name((int)e->arg[2], sb, sizeof(sb));
	if (sig)
		fprintf(out, "\"%s\"", sig);
	else
		fputs("null", out);
	fprintf(out, ", \"core_dumped\": %s, \"killer_pid\": %lld",
		e->flags & TG_RT_F_CORE ? "true" : "false", (long long)e->arg[3]);
}

static void write_setuid(FILE *out, const struct tg_rt_event *e)
{
	const char *op = tg_rt_id_op_name((unsigned)e->arg[0]);
	int n = id_op_count((unsigned)e->arg[0]);

	if (op)
		fprintf(out, ", \"op\": \"%s\"", op);
	else
		fprintf(out, ", \"op\": \"op-%lld\"", (long long)e->arg[0]);
	fputs(", \"ids\": [", out);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%lld", i ? ", " : "", (long long)e->arg[1 + i]);
	fputc(']', out);
}

static void write_module(FILE *out, const struct tg_rt_event *e)
{
	switch (e->arg[0]) {
	case MOD_INIT:
		fprintf(out, ", \"call\": \"init_module\", \"length\": %lld", (long long)e->arg[2]);
		break;
	case MOD_FINIT:
		fprintf(out, ", \"call\": \"finit_module\", \"fd\": %lld, \"module_flags\": %lld",
			(long long)e->arg[1], (long long)e->arg[2]);
		break;
	case MOD_LOADED:
		fputs(", \"call\": \"loaded\", \"name\": ", out);
		json_bytes(out, e->path, sizeof(e->path));
		fprintf(out, ", \"taints\": %lld", (long long)e->arg[2]);
		break;
	default:
		fprintf(out, ", \"call\": \"call-%lld\"", (long long)e->arg[0]);
	}
}

static void write_mount(FILE *out, const struct tg_rt_event *e)
{
	size_t n = e->args_len < sizeof(e->args) ? e->args_len : sizeof(e->args);
	size_t s = strnlen(e->args, n);

	fputs(", \"source\": ", out);
	json_bytes(out, e->args, n);
	fputs(", \"fstype\": ", out);
	json_bytes(out, s + 1 < n ? e->args + s + 1 : "", s + 1 < n ? n - s - 1 : 0);
	fputs(", \"target\": ", out);
	json_bytes(out, e->path, sizeof(e->path));
	fputs(", \"mount_flags\": ", out);
	tg_rt_mount_flags_json(out, (unsigned long)e->arg[0]);
}

bool tg_rt_fields_write(FILE *out, const struct tg_rt_event *e)
{
	const char *req;

	switch (e->type) {
	case TG_RT_EXIT:
		write_exit(out, e);
		break;
	case TG_RT_PTRACE:
		req = tg_ptrace_request_name(e->arg[0]);
		if (req)
			fprintf(out, ", \"request\": \"%s\"", req);
		else
			fprintf(out, ", \"request\": %lld", (long long)e->arg[0]);
		fprintf(out, ", \"target\": %lld", (long long)e->arg[1]);
		break;
	case TG_RT_SETUID:
		write_setuid(out, e);
		break;
	case TG_RT_MODULE:
		write_module(out, e);
		break;
	case TG_RT_MOUNT:
		write_mount(out, e);
		break;
	case TG_RT_UNSHARE:
		fputs(", \"clone_flags\": ", out);
		tg_rt_clone_flags_json(out, (unsigned long)e->arg[0]);
		break;
	case TG_RT_SETNS:
		fputs(", \"nstype\": ", out);
		tg_rt_clone_flags_json(out, (unsigned long)e->arg[0]);
		fprintf(out, ", \"fd\": %lld", (long long)e->arg[1]);
		break;
	default:
		return false;
	}
	return true;
}

int tg_rt_exits_read(const char *pin_path, uint32_t top, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	struct tg_rt_count *v;
	char path[512];

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (snprintf(path, sizeof(path), "%s/tg_rt_counts", pin_path) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	v = calloc(ncpu, sizeof(*v));
	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	memset(out, 0, (size_t)top * TG_EXIT_CLASSES * sizeof(*out));
	for (uint32_t id = 0; id < top && id < TG_MAX_TENANTS; id++) {
		uint32_t cell = id * TG_RT_TYPES + TG_RT_EXIT;

		if (bpf_map_lookup_elem(fd, &cell, v)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			for (int k = 0; k < TG_EXIT_CLASSES; k++)
				out[(size_t)id * TG_EXIT_CLASSES + k] += v[c].exits[k];
	}
	free(v);
	close(fd);
	return err;
}

void tg_rt_exits_json(FILE *out, const uint64_t *exits)
{
	fprintf(out, "{\"crash\": %llu, \"killed\": %llu, \"oom\": %llu, \"normal\": %llu}",
		(unsigned long long)exits[TG_EXIT_CRASH], (unsigned long long)exits[TG_EXIT_KILLED],
		(unsigned long long)exits[TG_EXIT_OOM], (unsigned long long)exits[TG_EXIT_NORMAL]);
}
