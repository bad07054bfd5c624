/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The data plane as userland sees it: the XDP program and its pinned maps.
 * Implemented by xdp_loader.c (the only file that includes the skeleton) and
 * tables_install.c (the atomic generational swap).
 */
#ifndef BM_DATAPLANE_H
#define BM_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <abi/abi.h>

#include "tables.h"

struct dataplane;

enum dp_mode {
	DP_MODE_NATIVE,
	DP_MODE_GENERIC,
};

/*
 * Open the data plane pinned under pin_dir: mount bpffs there if it is not
 * one, load bm_xdp_ingress with every LIBBPF_PIN_BY_NAME map reused from its
 * pin or created and pinned. With is_dry_run, load a private instance that
 * shares the pinned maps but changes no state and records its verdict in
 * bm_last (see bm_verdict_record). Returns 0 and *out, or a negative errno.
 */
int dp_open(const char *pin_dir, bool is_dry_run, struct dataplane **out);

/*
 * As dp_open() with is_dry_run, for `policy check --bpf`: the instance also
 * ignores the flow cache and fragment records, so its verdict is the policy's
 * verdict for a new flow, whatever traffic the node carries.
 */
int dp_open_policy_check(const char *pin_dir, struct dataplane **out);

/* Unload our references (pins and attachments stay). NULL-safe. */
void dp_close(struct dataplane *dp);

/* The program fd, for BPF_PROG_TEST_RUN. */
int dp_prog_fd(const struct dataplane *dp);

/* The fd of a map by ABI name (BM_MAP_*), or -ENOENT. */
int dp_map_fd(const struct dataplane *dp, const char *name);

/*
 * Install one compiled generation atomically: make sure no program still
 * reads the inactive slot (a grace period after the previous store, usually
 * already over: it is waited for in the background), refill that slot's
 * inner maps in place with batch updates (fresh maps only where a table
 * outgrew its map or the slot has none), then publish generation + 1 with
 * one 32-bit store. Traffic sees the old tables or the new ones, never a
 * mix; on error nothing visible changes. Returns 0 and the new generation,
 * or -errno. Not for concurrent use on the same pins.
 */
int dp_install(struct dataplane *dp, const struct bm_tables *t, uint32_t *generation);

/*
 * Give every generation slot that has none its inner maps (empty, room for
 * small policies), so that later installs refill in place instead of
 * creating maps, whose insertion waits for a grace period each. Slow (a
 * grace period per map made) and meant for start-up; touches only slots no
 * program reads. Returns 0 or -errno.
 */
int dp_prepare(struct dataplane *dp);

/* Current generation (0: nothing installed). */
uint32_t dp_generation(const struct dataplane *dp);

/* Set config flags (BM_CFG_F_*) and allow sampling (1 in N, 0 none). */
int dp_configure(struct dataplane *dp, uint32_t flags, uint32_t allow_sample);

/*
 * Deny events each CPU may emit per second (0: no limit; the default is
 * BM_DENY_EVENT_RATE_DEFAULT); the rest are counted in bm_event_budget.
 * -EPERM on a dry-run instance.
 */
int dp_set_deny_event_rate(struct dataplane *dp, uint32_t per_cpu_per_sec);

/*
 * Attach the program to ifindex through libxdp (multi-program dispatcher),
 * native mode first unless mode is DP_MODE_GENERIC; *got tells the mode in
 * effect. The link is pinned under pin_dir so it outlives the process.
 */
int dp_attach(struct dataplane *dp, int ifindex, enum dp_mode mode, enum dp_mode *got);

/* Is our program attached to ifindex? If so and mode is not NULL, in which mode. */
bool dp_is_attached(int ifindex, enum dp_mode *mode);

/* Detach our program from ifindex (other programs in the dispatcher stay). */
int dp_detach(const char *pin_dir, int ifindex);

/*
 * Run one frame through the program with BPF_PROG_TEST_RUN. For a dry-run
 * instance, *rec receives the verdict record; otherwise only xdp_action is
 * filled. Returns 0 or -errno.
 */
int dp_test_run(struct dataplane *dp, const void *frame, size_t len, struct bm_verdict_record *rec);

/*
 * Anti-spoofing (bpf/abi/guard.h): from now on, an IPv4/IPv6 packet entering
 * ifindex is dropped with BM_REASON_DENY_SPOOFED unless its source is one of
 * addrs[0..n) (up to BM_GUARD_MAX_V4 IPv4 and BM_GUARD_MAX_V6 IPv6
 * addresses; n = 0 admits no IP source at all). Replaces any earlier guard of
 * ifindex in one step. Works whether or not the program is attached there
 * yet and whether or not a policy is loaded. Returns 0, -EINVAL (ifindex <= 0,
 * unknown family), -E2BIG (too many addresses of a family; nothing changed),
 * or another -errno from the map update.
 */
int dp_guard_set(struct dataplane *dp, int ifindex, const struct bm_addr *addrs, size_t n);

/*
 * Remove ifindex's guard: its packets are no longer checked. Returns 0,
 * -ENOENT when it had none, -EINVAL for ifindex <= 0, or -errno.
 */
int dp_guard_del(struct dataplane *dp, int ifindex);

/* Read ifindex's guard into *out. Returns 0, -ENOENT when it has none, or -errno. */
int dp_guard_get(struct dataplane *dp, int ifindex, struct bm_ifguard *out);

#endif /* BM_DATAPLANE_H */
