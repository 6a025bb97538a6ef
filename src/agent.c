// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tollgate run`: the agent. It loads or adopts the datapath, gives every tenant a
 * stable id, attaches the meter to matching interfaces (now and whenever one appears),
 * and harvests into the billing store at every interval boundary.
 *
 * Stopping it (SIGTERM, SIGINT) harvests once more and leaves the datapath in place: the
 * kernel keeps metering, and the next agent adopts the pins and bills what accrued.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "apply.h"
#include "audit.h"
#include "bpf_inventory.h"
#include "bans.h"
#include "cgroups.h"
#include "cli.h"
#include "config.h"
#include "datapath.h"
#include "denylist.h"
#include "events.h"
#include "flow_export.h"
#include "guard.h"
#include "harvest.h"
#include "http.h"
#include "identity.h"
#include "json.h"
#include "mounts.h"
#include "netlink.h"
#include "policy.h"
#include "runtime.h"
#include "seccomp_learn.h"
#include "store.h"

struct agent {
	struct tg_config cfg;
	struct tg_datapath *dp;
	const struct tg_maps *maps;
	struct tg_store *store;
	struct tg_applied ap; /* ids and names as programmed */
	char node[64];
	struct tg_flow_export *fx;
	struct tg_events *ev;
	struct tg_runtime *rt;		/* runtime security, NULL without a runtime section */
	struct tg_bpf_watch *bpf_watch; /* runtime: unknown BPF program loads */
	struct tg_sc_learner *sc;	/* seccomp learning, loaded while some tenant learns */
	struct tg_http *http;		/* the API and metrics server (docs/api.md) */
	int lock_fd, nl_fd, timer_fd, sig_fd, flow_fd, tick_fd;
	int audit_err;		/* last audit write error, reported once */
	struct tg_identity *id; /* identity history (docs/identity.md) */
	int64_t id_scanned;	/* last scan of tenant interfaces' addresses */
	int id_err;		/* last scan error, reported once */
	bool reloading;		/* the link dump of a reload: unchanged interfaces stay */
	struct tg_reload_stats reloads;
};

/* Operator-visible actions go to the audit log (docs/audit.md); a failing write is
 * reported once, and never stops the agent. */
static void audit(struct agent *a, const char *type, const char *members)
{
	const char *path = a->cfg.audit_path ? a->cfg.audit_path : TG_DEFAULT_AUDIT;
	int err = tg_audit_append(path, type, members);

	if (err && err != a->audit_err)
		fprintf(stderr, "tollgate: cannot write the audit log %s: %s\n", path,
			strerror(-err));
	a->audit_err = err;
}

/* One agent per pin path: the pid file doubles as the lock. */
static int take_lock(struct agent *a)
{
	char path[512], buf[32];
	int n;

	snprintf(path, sizeof(path), "%s/tollgate.pid", a->cfg.run_dir);
	a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (a->lock_fd < 0)
		return -errno;
	if (flock(a->lock_fd, LOCK_EX | LOCK_NB)) {
		n = pread(a->lock_fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "tollgate: another agent is running (pid %s)\n",
			buf[0] ? strtok(buf, "\n") : "unknown");
		close(a->lock_fd);
		a->lock_fd = -1; /* the pid file is the other agent's: leave it */
		return -EBUSY;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (ftruncate(a->lock_fd, 0) || pwrite(a->lock_fd, buf, n, 0) != n)
		return -errno;
	return 0;
}

/* The uplink guard (XDP) beside the tc meter; tc goes on metering if XDP cannot go on. */
static void attach_guard(struct agent *a, int ifindex, const char *name)
{
	static const char *const modes[] = { "auto", "native", "generic" };
	bool native = false;
	int err;

	err = tg_datapath_attach_xdp(a->dp, ifindex, a->cfg.guard.xdp_mode, &native);
	if (err == -EALREADY)
		return;
	if (err == -EBUSY)
		fprintf(stderr,
			"tollgate: %s has another XDP program attached: the uplink guard is not "
			"attached there (it is never replaced); tc goes on metering\n",
			name);
	else if (err && err != -ENODEV)
		fprintf(stderr,
			"tollgate: cannot attach the uplink guard to %s in %s mode: %s; tc goes on "
			"metering\n",
			name, modes[a->cfg.guard.xdp_mode % 3], strerror(-err));
	else if (!err)
		fprintf(stderr, "tollgate: uplink guard on %s (XDP, %s mode)\n", name,
			native ? "native" : "generic");
}

static void on_link(int ifindex, const char *name, bool added, void *ctx)
{
	struct agent *a = ctx;
	const struct tg_tenant_conf *tc;
	uint32_t key = ifindex, id = 0;
	uint8_t role;
	int err;

	if (!added) {
		bpf_map_delete_elem(a->maps->ifaces, &key);
		return;
	}
	tc = tg_config_tenant_for_iface(&a->cfg, name);
	if (tc) {
		role = TG_ROLE_TENANT;
		id = a->ap.tenant_ids[tc - a->cfg.tenants];
	} else if (tg_config_is_uplink(&a->cfg, name)) {
		role = TG_ROLE_UPLINK;
	} else {
		return;
	}
	if (a->reloading) {
		struct tg_iface cur;

		if (!bpf_map_lookup_elem(a->maps->ifaces, &key, &cur) && cur.role == role &&
		    cur.tenant_id == id && !strncmp(cur.name, name, sizeof(cur.name)))
			return; /* attached as the new configuration wants it */
	}
	err = tg_datapath_attach(a->dp, ifindex, name, role, id);
	if (err && err != -ENODEV)
		fprintf(stderr, "tollgate: cannot attach the meter to %s: %s\n", name,
			strerror(-err));
	else if (!err && tg_verbose)
		fprintf(stderr, "tollgate: metering %s (%s%s)\n", name,
			role == TG_ROLE_TENANT ? "tenant " : "uplink",
			role == TG_ROLE_TENANT ? tc->name : "");
	if (!err && role == TG_ROLE_UPLINK)
		attach_guard(a, ifindex, name);
}

/* Entries whose interface is gone, or whose ifindex now names another interface, are
 * dropped before the link dump re-adds what matches. */
static void prune_ifaces(struct agent *a)
{
	uint32_t key, next, *prev = NULL;
	struct tg_iface ifc;
	char name[IF_NAMESIZE];

	while (bpf_map_get_next_key(a->maps->ifaces, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(a->maps->ifaces, &key, &ifc))
			continue;
		if (!if_indextoname(key, name) || strncmp(name, ifc.name, sizeof(ifc.name))) {
			bpf_map_delete_elem(a->maps->ifaces, &key);
			prev = NULL;
		}
	}
}

/* CLOCK_REALTIME, as the interval timer: time() reads a coarser clock that can still show
 * the second before the boundary when the timer fires, which billed an interval to the
 * one before it (and re-armed the timer for a boundary already passed). */
static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static int harvest(struct agent *a, int64_t interval_start)
{
	struct tg_state st;
	uint64_t billed = 0;
	int err;

	if (tg_verbose) /* with "harvested" below, it brackets the harvest (e2e/restarts) */
		fprintf(stderr, "tollgate: harvesting into the interval at %lld\n",
			(long long)interval_start);
	err = tg_harvest(a->maps, a->ap.meta, a->store, a->node, interval_start, a->cfg.interval,
			 &billed);
	if (tg_state_read(a->maps, &st) == 0) {
		if (err)
			st.harvest_errors++;
		else
			st.last_harvest = now_s();
		st.harvests++;
		tg_state_write(a->maps, &st);
	}
	if (err)
		fprintf(stderr, "tollgate: harvest failed (kept for the next one): %s\n",
			strerror(-err));
	else if (tg_verbose)
		fprintf(stderr, "tollgate: harvested %llu bytes\n", (unsigned long long)billed);
	return err;
}

static int64_t interval_of(const struct agent *a, int64_t t)
{
	return t - t % a->cfg.interval;
}

static int arm_timer(struct agent *a)
{
	struct itimerspec its = {};

	its.it_value.tv_sec = interval_of(a, now_s()) + a->cfg.interval;
	return timerfd_settime(a->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) ? -errno : 0;
}

static int arm_flow_timer(struct agent *a)
{
	struct itimerspec its = {};

	a->flow_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (a->flow_fd < 0)
		return -errno;
	its.it_value.tv_sec = tg_flow_export_period(a->fx);
	its.it_interval.tv_sec = its.it_value.tv_sec;
	return timerfd_settime(a->flow_fd, 0, &its, NULL) ? -errno : 0;
}

/* A ban that ran out, swept from the tries: one audit record each. */
static void on_unban(const struct tg_ban_entry *e, void *ctx)
{
	struct agent *a = ctx;
	char cidr[64], members[160];

	tg_format_cidr(&e->cidr, cidr, sizeof(cidr));
	snprintf(members, sizeof(members),
		 "\"src\":\"%s\",\"origin\":\"%s\",\"reason\":\"expired\"", cidr,
		 tg_ban_origin_name(e->ban.origin));
	audit(a, "unban", members);
}

/* Once a second: quota periods. */
static int arm_tick(struct agent *a)
{
	struct itimerspec its = { .it_value.tv_sec = 1, .it_interval.tv_sec = 1 };

	a->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (a->tick_fd < 0)
		return -errno;
	return timerfd_settime(a->tick_fd, 0, &its, NULL) ? -errno : 0;
}

/* Isolation: policy, deny lists and cgroups, after ids are settled (docs/isolation.md).
 * *step names what failed. */
static int apply_isolation(struct agent *a, const struct tg_config *cfg,
			   const struct tg_applied *ap, const char **step)
{
	int err;

	*step = "the tenant policy";
	err = tg_policy_apply(a->maps, cfg, ap);
	if (err) {
		fprintf(stderr, "tollgate: cannot program the tenant policy: %s\n", strerror(-err));
		return err;
	}
	*step = "the deny lists";
	err = tg_denylist_apply(a->maps, cfg, ap);
	if (err) {
		fprintf(stderr, "tollgate: cannot program the deny lists: %s\n", strerror(-err));
		return err;
	}
	*step = "the uplink guard";
	err = tg_guard_apply(a->maps, cfg, ap, false);
	if (err) {
		fprintf(stderr, "tollgate: cannot program the uplink guard: %s\n", strerror(-err));
		return err;
	}
	*step = "the tenant cgroups";
	err = tg_cgroups_apply(a->dp, cfg, ap);
	if (err) {
		fprintf(stderr, "tollgate: cannot attach to the tenant cgroups: %s\n",
			strerror(-err));
		return err;
	}
	*step = "seccomp learning";
	err = tg_sc_apply(&a->sc, a->maps, cfg->pin_path, cfg, ap);
	if (err)
		return err; /* said by tg_sc_apply */
	tg_quota_tick(a->maps, cfg, ap, now_s(), a->ev);
	return 0;
}

static int init_state(struct agent *a)
{
	struct tg_state st = {};
	int err;

	err = tg_state_read(a->maps, &st);
	if (err)
		return err;
	/* New counters (a fresh load, or a stats pin someone removed) start a new epoch, so
	 * that the store's cursors of the old counters are never applied to them. */
	if (tg_datapath_fresh(a->dp) || (!st.epoch[0] && !st.epoch[1])) {
		if (getrandom(st.epoch, sizeof(st.epoch), 0) != sizeof(st.epoch))
			return -errno;
		st.created = now_s();
	}
	st.agent_pid = getpid();
	st.agent_started = 0; /* set once start-up is done (ready()): status waits for it */
	st.interval = a->cfg.interval;
	return tg_state_write(a->maps, &st);
}

/* Start-up is over (interfaces attached, timers armed): status may call it healthy. */
static int ready(struct agent *a)
{
	struct tg_state st;
	int err = tg_state_read(a->maps, &st);

	if (err)
		return err;
	st.agent_started = now_s();
	return tg_state_write(a->maps, &st);
}

static int setup_fds(struct agent *a)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	a->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	a->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	if (a->sig_fd < 0 || a->timer_fd < 0)
		return -errno;
	a->nl_fd = tg_nl_link_events_open();
	return a->nl_fd < 0 ? a->nl_fd : 0;
}

/* Interface addresses, every TG_IDENTITY_SCAN_PERIOD seconds; an error is said once. */
static void identity_scan(struct agent *a)
{
	struct tg_id_changes ch;
	int64_t now = now_s();
	int err;

	if (a->id_scanned && now - a->id_scanned < TG_IDENTITY_SCAN_PERIOD && now >= a->id_scanned)
		return;
	a->id_scanned = now;
	err = tg_identity_scan_interfaces(a->id, &a->cfg, now, &ch);
	if (err && err != a->id_err)
		fprintf(stderr,
			"tollgate: identity history: cannot record interface addresses: %s\n",
			strerror(-err));
	else if (!err && tg_verbose && (ch.opened || ch.closed))
		fprintf(stderr, "tollgate: identity history: interfaces: %zu opened, %zu closed\n",
			ch.opened, ch.closed);
	a->id_err = err;
}

/* The configuration's CIDRs as of this apply, then what the interfaces carry. */
static int identity_start(struct agent *a)
{
	const char *path = tg_identity_path(a->cfg.store_path);
	struct tg_id_changes ch;
	int err;

	err = tg_identity_open(path, false, &a->id);
	if (!err)
		err = tg_identity_sync_config(a->id, &a->cfg, now_s(), &ch);
	if (err) {
		fprintf(stderr, "tollgate: cannot record the identity history in %s: %s\n", path,
			strerror(-err));
		return err;
	}
	fprintf(stderr,
		"tollgate: identity history in %s: %zu prefixes opened, %zu closed, %zu kept\n",
		path, ch.opened, ch.closed, ch.kept);
	identity_scan(a);
	return 0;
}

/*
 * Reload (docs/lifecycle.md#reload): SIGHUP or POST /api/v1/reload. The file the agent
 * started with is read and validated whole; a file with an error, or one that changes a
 * key only a restart can change, is refused before anything is touched. A valid one is
 * programmed in start-up's order, each step bringing the maps to it entry by entry (what
 * both configurations want is never removed, so traffic both allow is never dropped); if
 * a step fails, the previous configuration is programmed again.
 */

/* Everything a configuration programs into the maps and hooks; *step names a failure. */
static int program(struct agent *a, const struct tg_config *cfg, struct tg_applied *ap,
		   const char **step)
{
	int err;

	*step = "the tenant and class ids and prefixes";
	err = tg_apply(a->maps, cfg, ap);
	if (err)
		return err;
	if (a->rt) {
		*step = "the runtime rules";
		err = tg_runtime_apply(a->rt, cfg, ap);
		if (err)
			return err;
	}
	return apply_isolation(a, cfg, ap, step);
}

/* Interfaces the new configuration no longer wants lose the meter (and the guard); those
 * it wants otherwise are attached again; the rest are left as they are. */
static void sync_ifaces(struct agent *a)
{
	uint32_t key, next, *prev = NULL, *gone = NULL;
	size_t n_gone = 0, cap = 0;
	struct tg_iface ifc;
	int err;

	while (bpf_map_get_next_key(a->maps->ifaces, prev, &next) == 0) {
		const struct tg_tenant_conf *tc;
		bool uplink;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(a->maps->ifaces, &key, &ifc) ||
		    (ifc.role != TG_ROLE_TENANT && ifc.role != TG_ROLE_UPLINK))
			continue;
		ifc.name[sizeof(ifc.name) - 1] = '\0';
		tc = tg_config_tenant_for_iface(&a->cfg, ifc.name);
		uplink = !tc && tg_config_is_uplink(&a->cfg, ifc.name);
		if (ifc.role == TG_ROLE_UPLINK && !uplink) {
			err = tg_xdp_detach((int)key);
			if (err && err != -ENODEV)
				fprintf(stderr,
					"tollgate: cannot detach the uplink guard from %s: %s\n",
					ifc.name, strerror(-err));
		}
		if (tc || uplink)
			continue;
		err = tg_tc_detach((int)key, ifc.flags & TG_IFACE_CREATED_CLSACT);
		if (err && err != -ENODEV) {
			fprintf(stderr, "tollgate: cannot detach the meter from %s: %s\n", ifc.name,
				strerror(-err));
			continue; /* still metered: its entry stays */
		}
		if (n_gone == cap) {
			uint32_t *v = realloc(gone, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!v)
				break;
			gone = v;
		}
		gone[n_gone++] = key;
		fprintf(stderr, "tollgate: %s is no longer metered\n", ifc.name);
	}
	/* deleted after the walk: a deletion during it would restart it */
	for (size_t i = 0; i < n_gone; i++)
		bpf_map_delete_elem(a->maps->ifaces, &gone[i]);
	free(gone);
	a->reloading = true;
	err = tg_nl_dump_links(on_link, a);
	a->reloading = false;
	if (err)
		fprintf(stderr, "tollgate: cannot list interfaces: %s\n", strerror(-err));
}

/* The answer's JSON: {"reloaded": true, ...} or {"reloaded": false, "error": ...}. */
static char *reload_json(const struct agent *a, bool ok, const char *msg, const char *diags,
			 double ms)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (ok) {
		fprintf(f, "{\"reloaded\": true, \"generation\": %llu, \"config\": ",
			(unsigned long long)a->reloads.generation);
		tg_json_string(f, a->cfg.path);
		fprintf(f, ", \"tenants\": %zu, \"classes\": %zu, \"duration_ms\": %.1f}\n",
			a->cfg.n_tenants, a->cfg.n_classes, ms);
	} else {
		fputs("{\"reloaded\": false, \"generation\": ", f);
		fprintf(f, "%llu, \"error\": ", (unsigned long long)a->reloads.generation);
		tg_json_string(f, msg);
		fputs(", \"diagnostics\": [", f);
		for (const char *p = diags; p && *p;) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			char *line = strndup(p, n);

			if (line) {
				fputs(p == diags ? "" : ", ", f);
				tg_json_string(f, line);
				free(line);
			}
			p += n + (nl ? 1 : 0);
		}
		fputs("]}\n", f);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One reload; via is "sighup" or "api". Returns the answer's JSON (NULL: no memory);
 * *ok tells whether the new configuration is the agent's now. */
static char *reload(struct agent *a, const char *via, bool *ok)
{
	struct tg_config next, old;
	struct tg_applied nap = {}, back = {};
	struct tg_diags d = {};
	char *diags = NULL, *json, *members = NULL, key[64], msg[512] = "";
	const char *step = "", *bstep = "";
	double t0 = mono_ms();
	size_t dlen = 0, mlen = 0;
	FILE *f;
	int err, berr;

	*ok = false;
	if (tg_verbose) /* with the result's line below, it brackets the reload */
		fprintf(stderr, "tollgate: reloading %s (%s)\n", a->cfg.path, via);
	err = tg_config_load(a->cfg.path, &next, &d);
	f = open_memstream(&diags, &dlen);
	if (f) {
		tg_diags_print(&d, a->cfg.path, f);
		fclose(f);
	}
	if (err == -EINVAL)
		snprintf(msg, sizeof(msg), "%s has %zu error%s: nothing was changed", a->cfg.path,
			 d.errors, d.errors == 1 ? "" : "s");
	else if (err)
		snprintf(msg, sizeof(msg), "cannot read %s: %s: nothing was changed", a->cfg.path,
			 strerror(-err));
	tg_diags_free(&d);
	if (!err && tg_config_restart_only(&a->cfg, &next, key, sizeof(key))) {
		snprintf(msg, sizeof(msg),
			 "%s changed, which takes a restart of the agent: nothing was changed",
			 key);
		tg_config_free(&next);
		err = -EINVAL;
	}
	if (!err) {
		/* What the kernel counted so far is billed under the ids it was counted with
		 * (a class id may pass to another class). */
		harvest(a, interval_of(a, now_s()));
		err = program(a, &next, &nap, &step);
		if (err) {
			tg_applied_free(&nap);
			berr = program(a, &a->cfg, &back, &bstep);
			snprintf(msg, sizeof(msg), "cannot program %s: %s; %s", step,
				 strerror(-err),
				 berr ? "the previous configuration could not be restored either "
					"(restart the agent)"
				      : "the previous configuration was programmed again");
			tg_config_free(&next);
			if (!berr) {
				tg_applied_free(&a->ap);
				a->ap = back;
			} else {
				fprintf(stderr, "tollgate: reload: restoring %s failed: %s\n",
					bstep, strerror(-berr));
				tg_applied_free(&back);
			}
		}
	}
	if (!err) {
		old = a->cfg;
		a->cfg = next;
		tg_bpf_watch_set_allowlist(a->bpf_watch, &a->cfg);
		tg_config_free(&old);
		tg_applied_free(&a->ap);
		a->ap = nap;
		sync_ifaces(a);
		if (a->id) {
			struct tg_id_changes ch;
			int e = tg_identity_sync_config(a->id, &a->cfg, now_s(), &ch);

			if (e)
				fprintf(stderr, "tollgate: identity history: %s\n", strerror(-e));
		}
		a->reloads.ok++;
		a->reloads.generation++;
		*ok = true;
	} else {
		a->reloads.failed++;
	}
	tg_runtime_set_applied(a->rt, &a->ap);
	a->reloads.last = now_s();
	a->reloads.last_ok = *ok;
	tg_http_reload_stats(a->http, &a->reloads);
	json = reload_json(a, *ok, msg, diags, mono_ms() - t0);
	if (*ok)
		fprintf(stderr, "tollgate: reload (%s): generation %llu, %zu tenants, %.1f ms\n",
			via, (unsigned long long)a->reloads.generation, a->cfg.n_tenants,
			mono_ms() - t0);
	else
		fprintf(stderr, "tollgate: reload (%s) refused: %s\n%s", via, msg,
			diags ? diags : "");
	f = open_memstream(&members, &mlen);
	if (f) {
		fprintf(f, "\"via\":\"%s\",\"config\":", via);
		tg_json_string(f, a->cfg.path);
		fprintf(f, ",\"generation\":%llu", (unsigned long long)a->reloads.generation);
		if (!*ok) {
			fputs(",\"error\":", f);
			tg_json_string(f, msg);
		}
		fclose(f);
		audit(a, *ok ? "reload" : "reload_failed", members);
	}
	free(members);
	free(diags);
	return json;
}

static int start(struct agent *a)
{
	int err;

	if (!a->node[0] && gethostname(a->node, sizeof(a->node) - 1))
		return -errno;
	err = tg_mounts_ensure(a->cfg.run_dir);
	if (err)
		return err;
	err = take_lock(a);
	if (err)
		return err;
	err = setup_fds(a);
	if (err)
		return err;
	{
		/* The API's sockets (and its token) before anything changes: served at the end. */
		struct tg_http_conf hc = { .listen = a->cfg.api_listen,
					   .token_file = a->cfg.api_token_file,
					   .run_dir = a->cfg.run_dir,
					   .pin_path = a->cfg.pin_path,
					   .events_path = a->cfg.events_path,
					   .audit_path = a->cfg.audit_path ? a->cfg.audit_path
									   : TG_DEFAULT_AUDIT };

		err = tg_http_bind(&hc, &a->http);
		if (err)
			return err;
	}
	struct tg_datapath_opts dopts = { .flow_capacity = a->cfg.flows.capacity };

	err = tg_datapath_load(a->cfg.pin_path, &dopts, &a->dp);
	if (err)
		return err;
	a->maps = tg_datapath_maps(a->dp);
	fprintf(stderr, "tollgate: %s the datapath under %s\n",
		tg_datapath_fresh(a->dp) ? "created" : "adopted", a->cfg.pin_path);
	err = init_state(a);
	if (!err)
		err = tg_apply(a->maps, &a->cfg, &a->ap);
	if (err) {
		fprintf(stderr, "tollgate: cannot program the maps: %s\n", strerror(-err));
		return err;
	}
	err = tg_events_open(a->maps, a->cfg.events_path, &a->ev);
	if (err) {
		fprintf(stderr, "tollgate: cannot open the events output %s: %s\n",
			a->cfg.events_path, strerror(-err));
		return err;
	}
	tg_events_set_audit(a->ev, a->cfg.audit_path ? a->cfg.audit_path : TG_DEFAULT_AUDIT);
	if (a->cfg.runtime.enabled) {
		err = tg_bpf_watch_open(&a->cfg, a->ev, &a->bpf_watch);
		if (err) {
			fprintf(stderr, "tollgate: cannot watch BPF program loads: %s\n",
				strerror(-err));
			return err;
		}
		err = tg_runtime_open(a->dp, &a->rt);
		if (!err)
			err = tg_runtime_apply(a->rt, &a->cfg, &a->ap);
		if (err) {
			fprintf(stderr, "tollgate: cannot start runtime security: %s\n",
				strerror(-err));
			return err;
		}
		tg_runtime_set_output(a->rt, a->ev,
				      a->cfg.audit_path ? a->cfg.audit_path : TG_DEFAULT_AUDIT);
		tg_runtime_set_bpf_watch(a->rt, a->bpf_watch);
		tg_runtime_describe(a->rt, stderr);
	}
	{
		const char *step;

		err = apply_isolation(a, &a->cfg, &a->ap, &step);
		if (err)
			return err;
	}
	{
		char *members = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&members, &len);

		if (f) {
			fprintf(f, "\"pid\":%d,\"config\":", getpid());
			tg_json_string(f, a->cfg.path ? a->cfg.path : "");
			fprintf(f, ",\"tenants\":%zu,\"guard\":%s", a->cfg.n_tenants,
				a->cfg.guard.enabled ? "true" : "false");
			fclose(f);
			audit(a, "agent_start", members);
		}
		free(members);
	}
	{
		/* PostgreSQL: harvests go through a local spool, so billing never waits for
		 * the database (docs/billing.md); SQLite ignores it */
		char spool[PATH_MAX];

		snprintf(spool, sizeof(spool), "%s/spool-%s.log",
			 a->cfg.spool_dir ? a->cfg.spool_dir : TG_DEFAULT_SPOOL_DIR, a->node);
		err = tg_store_open_spooled(a->cfg.store_path, spool, &a->store);
		if (err)
			return err;
	}
	/* What the kernel counted while no agent ran is billed now. */
	harvest(a, interval_of(a, now_s()));
	prune_ifaces(a);
	err = tg_nl_dump_links(on_link, a);
	if (err) {
		fprintf(stderr, "tollgate: cannot list interfaces: %s\n", strerror(-err));
		return err;
	}
	err = identity_start(a);
	if (err)
		return err;
	err = tg_flow_export_open(&a->cfg, a->maps, &a->fx);
	if (err)
		return err;
	err = arm_flow_timer(a);
	if (!err)
		err = arm_tick(a);
	if (!err)
		err = arm_timer(a);
	if (!err)
		err = ready(a);
	if (!err) {
		tg_http_sample(a->http, a->maps);
		err = tg_http_start(a->http);
	}
	return err;
}

static int loop(struct agent *a)
{
	struct pollfd pfd[8] = {
		{ .fd = a->sig_fd, .events = POLLIN },
		{ .fd = a->timer_fd, .events = POLLIN },
		{ .fd = a->nl_fd, .events = POLLIN },
		{ .fd = a->flow_fd, .events = POLLIN },
		{ .fd = a->tick_fd, .events = POLLIN },
		{ .fd = tg_events_fd(a->ev), .events = POLLIN },
		{ .fd = tg_runtime_fd(a->rt), .events = POLLIN }, /* -1: ignored by poll */
		{ .fd = tg_http_reload_fd(a->http), .events = POLLIN },
	};
	struct signalfd_siginfo si;
	uint64_t ticks;
	int err;

	for (;;) {
		if (poll(pfd, 8, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[1].revents & POLLIN) {
			if (read(a->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				return -errno;
			/* The timer fires at a boundary: bill the interval that just ended. */
			harvest(a, interval_of(a, now_s()) - a->cfg.interval);
			err = arm_timer(a);
			if (err)
				return err;
		}
		if (pfd[4].revents & POLLIN) {
			if (read(a->tick_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				return -errno;
			tg_quota_tick(a->maps, &a->cfg, &a->ap, now_s(), a->ev);
			tg_bans_sweep(a->maps, tg_mono_ns(), on_unban, a);
			tg_events_drain(a->ev, &a->ap); /* also when the ring never woke us */
			tg_runtime_drain(a->rt);
			tg_bpf_watch_tick(a->bpf_watch);
			identity_scan(a);
			tg_store_tick(a->store); /* drains a spool the database refused */
			tg_http_sample(a->http, a->maps);
		}
		if (pfd[5].revents & POLLIN)
			tg_events_drain(a->ev, &a->ap);
		if (pfd[6].revents & POLLIN)
			tg_runtime_drain(a->rt);
		if (pfd[7].revents & POLLIN) {
			uint64_t seq = tg_http_reload_begin(a->http);
			bool ok;
			char *json = reload(a, "api", &ok);

			tg_http_reload_end(a->http, seq, ok,
					   json ? json
						: "{\"reloaded\": false, \"error\": \"out of "
						  "memory\"}\n");
			free(json);
		}
		if (pfd[3].revents & POLLIN) {
			if (read(a->flow_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				return -errno;
			err = tg_flow_export_cycle(a->fx, &a->ap, false);
			if (err)
				fprintf(stderr, "tollgate: flow cycle: %s\n", strerror(-err));
		}
		if (pfd[2].revents & POLLIN) {
			err = tg_nl_link_events_read(a->nl_fd, on_link, a);
			if (err == -ENOBUFS)
				err = tg_nl_dump_links(on_link, a); /* events were lost: rescan */
			if (err)
				fprintf(stderr, "tollgate: link events: %s\n", strerror(-err));
		}
		if (pfd[0].revents & POLLIN) {
			if (read(a->sig_fd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				bool ok;

				free(reload(a, "sighup", &ok));
				continue;
			}
			fprintf(stderr, "tollgate: %s: final harvest, datapath left in place\n",
				strsignal(si.ssi_signo));
			tg_flow_export_cycle(a->fx, &a->ap, true);
			tg_runtime_drain(a->rt);
			tg_events_drain(a->ev, &a->ap);
			{
				char members[64];

				snprintf(members, sizeof(members), "\"pid\":%d,\"signal\":\"%s\"",
					 getpid(), sigabbrev_np(si.ssi_signo));
				audit(a, "agent_stop", members);
			}
			return harvest(a, interval_of(a, now_s()));
		}
	}
}

static void agent_close(struct agent *a)
{
	struct tg_state st;

	if (a->maps && tg_state_read(a->maps, &st) == 0 && st.agent_pid == (uint32_t)getpid()) {
		st.agent_pid = 0;
		st.agent_started = 0;
		tg_state_write(a->maps, &st);
	}
	tg_http_stop(a->http); /* first: its handlers read the pins and the events file */
	tg_flow_export_close(a->fx);
	tg_runtime_close(a->rt); /* its last lines go through the events output */
	tg_bpf_watch_close(a->bpf_watch);
	tg_events_close(a->ev);
	tg_store_close(a->store);
	tg_identity_close(a->id);
	tg_sc_close(a->sc);
	tg_datapath_close(a->dp);
	tg_applied_free(&a->ap);
	if (a->lock_fd >= 0) {
		char path[512];

		snprintf(path, sizeof(path), "%s/tollgate.pid", a->cfg.run_dir);
		unlink(path);
		close(a->lock_fd);
	}
	if (a->nl_fd >= 0)
		close(a->nl_fd);
	if (a->timer_fd >= 0)
		close(a->timer_fd);
	if (a->flow_fd >= 0)
		close(a->flow_fd);
	if (a->tick_fd >= 0)
		close(a->tick_fd);
	if (a->sig_fd >= 0)
		close(a->sig_fd);
	tg_config_free(&a->cfg);
}

static void usage_run(FILE *out)
{
	fprintf(out, "usage: tollgate run [-c FILE] [-v]\n"
		     "  -c, --config FILE  configuration (default " TG_DEFAULT_CONFIG ")\n"
		     "  -v, --verbose      say more, libbpf included\n");
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "verbose", no_argument, NULL, 'v' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	struct agent a = {
		.lock_fd = -1,
		.nl_fd = -1,
		.timer_fd = -1,
		.sig_fd = -1,
		.flow_fd = -1,
		.tick_fd = -1,
	};
	const char *file = TG_DEFAULT_CONFIG;
	struct tg_diags d = {};
	int c, err;

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'v':
			tg_verbose = true;
			break;
		case 'h':
			usage_run(stdout);
			return 0;
		default:
			usage_run(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage_run(stderr);
		return 2;
	}
	tg_libbpf_quiet();
	err = tg_config_load(file, &a.cfg, &d);
	tg_diags_print(&d, file, stderr);
	tg_diags_free(&d);
	if (err) {
		if (err != -EINVAL)
			fprintf(stderr, "tollgate: cannot read %s: %s\n", file, strerror(-err));
		return 1;
	}
	snprintf(a.node, sizeof(a.node), "%s", a.cfg.node);
	err = start(&a);
	if (!err) {
		char shown[512];

		tg_store_display(a.cfg.store_path, shown, sizeof(shown)); /* no password */
		fprintf(stderr, "tollgate: running: %zu tenants, billing every %us into %s\n",
			a.cfg.n_tenants, a.cfg.interval, shown);
		err = loop(&a);
	}
	if (err && err != -EBUSY)
		fprintf(stderr, "tollgate: agent stopped: %s\n", strerror(-err));
	agent_close(&a);
	return err ? 1 : 0;
}
