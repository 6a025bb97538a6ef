/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Seccomp learning (docs/seccomp.md): bpf/seccomp.bpf.c records the syscall numbers each
 * learning tenant issues (runtime.seccomp_learn); `tollgate seccomp-profile` reads them
 * from the pins tg_sc_learn and tg_sc_sets.
 */
#ifndef TG_SECCOMP_LEARN_H
#define TG_SECCOMP_LEARN_H

#include <stdbool.h>
#include <stdint.h>

#include "apply.h"
#include "config.h"
#include "datapath.h"

#define TG_SC_LEARN_PIN "tg_sc_learn"
#define TG_SC_SETS_PIN "tg_sc_sets"

struct tg_sc_learner;

/* Loads the learning program on the datapath's maps m (tg_cgroups tells tenants apart);
 * its own maps are pinned under pin_path (an older agent's pins are adopted), or private
 * when pin_path is NULL. Nothing is attached yet. */
int tg_sc_load(const struct tg_maps *m, const char *pin_path, struct tg_sc_learner **out);
/* Attaches to raw_tp/sys_enter (once: a second call does nothing), or detaches. */
int tg_sc_attach(struct tg_sc_learner *l);
void tg_sc_detach(struct tg_sc_learner *l);
bool tg_sc_attached(const struct tg_sc_learner *l);
int tg_sc_learn_fd(const struct tg_sc_learner *l);
int tg_sc_sets_fd(const struct tg_sc_learner *l);
void tg_sc_close(struct tg_sc_learner *l);

/* Turns a tenant's learning on or off. A tenant that starts learning starts from an
 * empty set; one that stops keeps what it learned (seccomp-profile still prints it). */
int tg_sc_set_learning(int learn_fd, int sets_fd, uint32_t tenant, bool on);

/* The agent, at start and on reload: learning as cfg->runtime.seccomp_learn says. Loads
 * the program when some tenant learns (or pins of an earlier learning exist: their flags
 * are brought to the configuration too), attaches it while some tenant learns and
 * detaches it when none does, so that no syscall pays for it then. *l starts NULL. */
int tg_sc_apply(struct tg_sc_learner **l, const struct tg_maps *m, const char *pin_path,
		const struct tg_config *cfg, const struct tg_applied *ap);

/* The pins, for the command line: -ENOENT when there are none. */
int tg_sc_open_pinned(const char *pin_path, int *learn_fd, int *sets_fd);
int tg_sc_read(int learn_fd, int sets_fd, uint32_t tenant, bool *learning, struct tg_sc_set *set);
/* Removes the pins (stop --purge). */
int tg_sc_purge(const char *pin_path);

#endif /* TG_SECCOMP_LEARN_H */
