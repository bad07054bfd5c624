/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RCU grace periods for the policy swap (tables_install.c). Right after a
 * generation store, programs that read the previous generation may still
 * run; the slot they read may be rewritten only once they are gone, i.e.
 * after a grace period that began after the store. A tracker waits for that
 * grace period on its own thread right after each store, so that the next
 * install (usually much later) finds it over and pays nothing.
 *
 * A grace period is what the kernel waits for after any userland update of
 * a map-in-map (maybe_wait_bpf_programs: synchronize_rcu, which covers XDP,
 * tc, cgroup and sockops programs and BPF_PROG_TEST_RUN); the tracker
 * updates a private one-slot ARRAY_OF_MAPS of its own to get one.
 */
#ifndef BM_DP_GRACE_H
#define BM_DP_GRACE_H

#include <stdint.h>

struct dp_grace;

/*
 * New tracker: creates its private maps (needs CAP_BPF), no thread yet.
 * Returns the tracker (free with dp_grace_free) or NULL with errno set.
 */
struct dp_grace *dp_grace_new(void);

/* Join the thread (after the grace period it may be waiting for), close, free. NULL-safe. */
void dp_grace_free(struct dp_grace *g);

/*
 * Generation gen was just stored: wait for a grace period in the background.
 * Returns 0, or -errno when no thread could be started (then the next
 * dp_grace_settle waits in the caller: slower, still correct).
 */
int dp_grace_stored(struct dp_grace *g, uint32_t gen);

/*
 * Return once no program can still be running with a generation read before
 * need was stored (0: nothing to wait for); cur is the generation in force
 * (need <= cur). Waits for a background grace period begun after the store
 * of need or later if one is under way or over, else does one grace period
 * here (which then vouches for cur) when this tracker cannot vouch for need:
 * another process stored it, or our thread failed. Returns 0 or -errno from
 * the map update.
 */
int dp_grace_settle(struct dp_grace *g, uint32_t need, uint32_t cur);

#endif /* BM_DP_GRACE_H */
