// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Seccomp learning, the user side (docs/seccomp.md). The object (bpf/seccomp.bpf.c)
 * declares every datapath map through lib/maps.h; it gets the datapath's own by fd, and
 * pins only its two maps, tg_sc_learn and tg_sc_sets, beside them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "seccomp.skel.h"
#include "seccomp_learn.h"

struct tg_sc_learner {
	struct seccomp_bpf *skel;
	struct bpf_link *link;
};

static const struct {
	const char *name;
	size_t off;
} dp_maps[] = {
#define X(n) { "tg_" #n, offsetof(struct tg_maps, n) },
	TG_MAP_NAMES
#undef X
};

static int dp_map_fd(const struct tg_maps *m, const char *name)
{
	for (size_t i = 0; i < sizeof(dp_maps) / sizeof(dp_maps[0]); i++) {
		if (!strcmp(dp_maps[i].name, name))
			return *(const int *)((const char *)m + dp_maps[i].off);
	}
	return -2; /* not a datapath map */
}

int tg_sc_load(const struct tg_maps *m, const char *pin_path, struct tg_sc_learner **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_path);
	struct tg_sc_learner *l;
	struct bpf_map *map;
	int err = 0;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->skel = seccomp_bpf__open_opts(&opts);
	if (!l->skel) {
		err = -errno;
		goto fail;
	}
	bpf_object__for_each_map (map, l->skel->obj) {
		const char *name = bpf_map__name(map);
		int fd = dp_map_fd(m, name);

		if (fd == -2 && !strncmp(name, "tg_sc_", 6)) {
			if (!pin_path) /* private, like the datapath's maps then */
				err = bpf_map__set_pin_path(map, NULL);
		} else if (fd == -2) {
			fprintf(stderr,
				"tollgate: seccomp: the object declares %s, which the "
				"datapath does not know\n",
				name);
			err = -EINVAL;
		} else if (fd < 0) {
			fprintf(stderr, "tollgate: seccomp: the datapath's %s is not open\n", name);
			err = -EBADF;
		} else {
			err = bpf_map__set_pin_path(map, NULL);
			if (!err)
				err = bpf_map__reuse_fd(map, fd);
		}
		if (err)
			goto fail;
	}
	err = seccomp_bpf__load(l->skel);
	if (err)
		goto fail;
	*out = l;
	return 0;
fail:
	tg_sc_close(l);
	return err;
}

int tg_sc_attach(struct tg_sc_learner *l)
{
	if (l->link)
		return 0;
	l->link = bpf_program__attach(l->skel->progs.tg_sc_sys_enter);
	if (!l->link) {
		int err = -errno;

		return err ? err : -EINVAL;
	}
	return 0;
}

void tg_sc_detach(struct tg_sc_learner *l)
{
	bpf_link__destroy(l->link);
	l->link = NULL;
}

bool tg_sc_attached(const struct tg_sc_learner *l)
{
	return l->link != NULL;
}

int tg_sc_learn_fd(const struct tg_sc_learner *l)
{
	return bpf_map__fd(l->skel->maps.tg_sc_learn);
}

int tg_sc_sets_fd(const struct tg_sc_learner *l)
{
	return bpf_map__fd(l->skel->maps.tg_sc_sets);
}

void tg_sc_close(struct tg_sc_learner *l)
{
	if (!l)
		return;
	bpf_link__destroy(l->link);
	seccomp_bpf__destroy(l->skel);
	free(l);
}

int tg_sc_set_learning(int learn_fd, int sets_fd, uint32_t tenant, bool on)
{
	struct tg_sc_set empty = {};
	uint8_t cur = 0, want = on;

	if (tenant == TG_TENANT_UNATTRIBUTED || tenant >= TG_MAX_TENANTS)
		return -EINVAL;
	if (bpf_map_lookup_elem(learn_fd, &tenant, &cur))
		return -errno;
	if (cur == want)
		return 0;
	/* A fresh start: the set is emptied before the flag lets the kernel fill it. */
	if (on && bpf_map_update_elem(sets_fd, &tenant, &empty, BPF_ANY))
		return -errno;
	return bpf_map_update_elem(learn_fd, &tenant, &want, BPF_ANY) ? -errno : 0;
}

static bool listed(const struct tg_runtime_config *rt, const char *name)
{
	if (rt->seccomp_learn_all)
		return true;
	for (size_t i = 0; i < rt->n_seccomp_learn; i++) {
		if (!strcmp(rt->seccomp_learn[i], name))
			return true;
	}
	return false;
}

static bool pins_exist(const char *pin_path)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/" TG_SC_LEARN_PIN, pin_path);
	return access(path, F_OK) == 0;
}

int tg_sc_apply(struct tg_sc_learner **lp, const struct tg_maps *m, const char *pin_path,
		const struct tg_config *cfg, const struct tg_applied *ap)
{
	uint8_t *want;
	size_t n = 0;
	int err = 0;

	want = calloc(TG_MAX_TENANTS, sizeof(*want));
	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		uint32_t id = ap->tenant_ids[i];

		if (id && id < TG_MAX_TENANTS && listed(&cfg->runtime, cfg->tenants[i].name)) {
			want[id] = 1;
			n++;
		}
	}
	if (!*lp && !n && !(pin_path && pins_exist(pin_path)))
		goto out; /* never learned: nothing to load, nothing to clear */
	if (!*lp) {
		err = tg_sc_load(m, pin_path, lp);
		if (err) {
			fprintf(stderr, "tollgate: cannot load the seccomp learning program: %s\n",
				strerror(-err));
			goto out;
		}
	}
	for (uint32_t id = 1; id < TG_MAX_TENANTS && !err; id++)
		err = tg_sc_set_learning(tg_sc_learn_fd(*lp), tg_sc_sets_fd(*lp), id, want[id]);
	if (err) {
		fprintf(stderr, "tollgate: cannot set the seccomp learning flags: %s\n",
			strerror(-err));
		goto out;
	}
	if (n) {
		err = tg_sc_attach(*lp);
		if (err)
			fprintf(stderr,
				"tollgate: cannot attach seccomp learning to raw_tp/sys_enter: "
				"%s\n",
				strerror(-err));
		else
			fprintf(stderr, "tollgate: seccomp learning for %zu tenant%s\n", n,
				n == 1 ? "" : "s");
	} else {
		tg_sc_detach(*lp);
	}
out:
	free(want);
	return err;
}

int tg_sc_open_pinned(const char *pin_path, int *learn_fd, int *sets_fd)
{
	char path[512];
	int err;

	snprintf(path, sizeof(path), "%s/" TG_SC_LEARN_PIN, pin_path);
	*learn_fd = bpf_obj_get(path);
	if (*learn_fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/" TG_SC_SETS_PIN, pin_path);
	*sets_fd = bpf_obj_get(path);
	if (*sets_fd < 0) {
		err = -errno;
		close(*learn_fd);
		*learn_fd = -1;
		return err;
	}
	return 0;
}

int tg_sc_read(int learn_fd, int sets_fd, uint32_t tenant, bool *learning, struct tg_sc_set *set)
{
	uint8_t on = 0;

	if (tenant >= TG_MAX_TENANTS)
		return -EINVAL;
	if (bpf_map_lookup_elem(learn_fd, &tenant, &on) ||
	    bpf_map_lookup_elem(sets_fd, &tenant, set))
		return -errno;
	*learning = on;
	return 0;
}

int tg_sc_purge(const char *pin_path)
{
	static const char *const pins[] = { TG_SC_LEARN_PIN, TG_SC_SETS_PIN };
	char path[512];

	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_path, pins[i]);
		if (unlink(path) && errno != ENOENT) {
			int err = -errno;

			fprintf(stderr, "tollgate: cannot remove %s: %s\n", path, strerror(-err));
			return err;
		}
	}
	return 0;
}
