// SPDX-License-Identifier: GPL-2.0-only
/*
 * The atomic policy swap (bpf/abi/config.h): write one generation into the
 * inactive slot of every outer map, then publish it with one 32-bit store of
 * the generation. The inactive slot's inner maps are refilled in place once
 * no program reads them any more (an RCU grace period after the previous
 * store, which dp_grace waits for in the background), so an install costs
 * no grace period at all in the common case. Only a slot without inner maps,
 * a table that outgrew (or shrank far below) its inner map, or an inner map
 * too large to empty quickly gets a fresh inner map, whose outer update waits
 * for one grace period in the kernel.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "dataplane_priv.h"
#include "dp_grace.h"
#include "dp_inner.h"
#include "log.h"

/*
 * Room for growth in a fresh inner map: n + n/2 + INNER_SPARE entries, at
 * least INNER_FLOOR, so that small policies never outgrow their maps (a
 * fresh map costs a grace period on the install path). Hash maps are
 * preallocated: the floor costs tens of KiB per table and slot (about
 * 2.5 MB for the four hash tables of sixteen slots).
 */
#define INNER_SPARE 16
#define INNER_FLOOR 512
/* An inner map more than this many times the room n needs is replaced (memory). */
#define INNER_OVERSIZE 4
/*
 * From this many entries in all, or when some table needs a fresh inner map,
 * the tables are written by one thread each: fills run on every CPU and the
 * grace periods of the outer updates overlap (concurrent waits share one).
 * Below it, thread start-up would cost more than it saves.
 */
#define PARALLEL_MIN_ENTRIES 4096
/*
 * An inner map with room for more than this is replaced, not emptied: a
 * batch delete copies every old key and value out (about 0.5 us an entry,
 * ~190 ms for the six tables of a 100k-rule policy, more than creating
 * and filling fresh maps), while a fresh map costs one grace period
 * (8-16 ms, overlapped with the other tables' work) and the old map is
 * freed by the kernel off this path.
 */
#define INNER_CLEAR_MAX 32768

/* The inner map in one slot of one outer map, as last seen. */
struct inner {
	int fd; /* -1: unknown */
	__u32 id;
	__u32 max_entries;
};

struct dp_slots {
	struct dp_grace *grace;
	struct inner inner[TABLES_NR][BM_GEN_SLOTS];
};

struct inner_spec {
	enum bpf_map_type type;
	__u32 flags;
	const char *name;
};

/* Must match the inner templates in bpf/maps.h exactly (type and flags). */
static const struct inner_spec inner_specs[TABLES_NR] = {
	[TABLES_HOST4] = {BPF_MAP_TYPE_HASH, 0, "bm_host4"},
	[TABLES_HOST6] = {BPF_MAP_TYPE_HASH, 0, "bm_host6"},
	[TABLES_CIDR4] = {BPF_MAP_TYPE_LPM_TRIE, BPF_F_NO_PREALLOC, "bm_cidr4"},
	[TABLES_CIDR6] = {BPF_MAP_TYPE_LPM_TRIE, BPF_F_NO_PREALLOC, "bm_cidr6"},
	[TABLES_POLICY] = {BPF_MAP_TYPE_HASH, 0, "bm_policy"},
	[TABLES_PORTS] = {BPF_MAP_TYPE_HASH, 0, "bm_ports"},
	[TABLES_RANGES] = {BPF_MAP_TYPE_ARRAY, BPF_F_INNER_MAP, "bm_ranges"},
};

static int fill_one_by_one(int fd, const struct bm_tables *t, enum tables_kind kind)
{
	size_t i;

	for (i = 0; i < t->maps[kind].n; i++) {
		if (bpf_map_update_elem(fd, tables_key(t, kind, i), tables_value(t, kind, i),
					BPF_NOEXIST))
			return -errno;
	}
	return 0;
}

/*
 * The map is empty (fresh or cleared), so BPF_ANY writes exactly what
 * BPF_NOEXIST would. It must be BPF_ANY: batch updates accept no element
 * flag but BPF_F_LOCK and fail every batch with -EINVAL otherwise (which
 * used to send every table down the one-syscall-per-entry path).
 */
static int fill_inner(int fd, const struct bm_tables *t, enum tables_kind kind)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 count = (__u32)t->maps[kind].n;
	int err;

	if (count == 0)
		return 0;
	err = bpf_map_update_batch(fd, t->maps[kind].keys, t->maps[kind].values, &count, &opts);
	/* LPM tries have no batch operations on some kernels: fall back. */
	if (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -524)
		return fill_one_by_one(fd, t, kind);
	return err;
}

static __u32 room_for(size_t n)
{
	size_t room = n + n / 2 + INNER_SPARE;

	if (room < INNER_FLOOR)
		room = INNER_FLOOR;
	return room > UINT32_MAX ? UINT32_MAX : (__u32)room;
}

/* Can in take n entries in place, without wasting much memory? */
static bool is_fit(const struct inner *in, size_t n)
{
	return in->fd >= 0 && n <= in->max_entries &&
	       (__u64)in->max_entries <= (__u64)INNER_OVERSIZE * room_for(n);
}

/* Is refilling in in place cheaper than a fresh map for n entries? */
static bool is_refillable(const struct inner *in, size_t n)
{
	return is_fit(in, n) && in->max_entries <= INNER_CLEAR_MAX;
}

static void inner_forget(struct inner *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	in->id = 0;
	in->max_entries = 0;
}

/* Remember the inner map fd (we own it) with its id and capacity. */
static int inner_adopt(struct inner *in, int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -errno;
	}
	inner_forget(in);
	in->fd = fd;
	in->id = info.id;
	in->max_entries = info.max_entries;
	return 0;
}

/* Bring in up to date with what outer[slot] holds now (maybe nothing). */
static int inner_refresh(int outer, __u32 slot, struct inner *in)
{
	__u32 id;
	int fd;

	if (bpf_map_lookup_elem(outer, &slot, &id)) {
		if (errno != ENOENT)
			return -errno;
		inner_forget(in);
		return 0;
	}
	if (in->fd >= 0 && in->id == id)
		return 0;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0) {
		inner_forget(in);
		return errno == ENOENT ? 0 : -errno;
	}
	return inner_adopt(in, fd);
}

static int create_inner(const struct bm_tables *t, enum tables_kind kind)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = inner_specs[kind].flags);
	__u32 max_entries = room_for(t->maps[kind].n);
	int fd, err;

	fd = bpf_map_create(inner_specs[kind].type, inner_specs[kind].name,
			    (__u32)t->maps[kind].key_size, (__u32)t->maps[kind].value_size,
			    max_entries, &opts);
	if (fd < 0) {
		err = -errno;
		pr_warn("create map %s (%u entries): %s", inner_specs[kind].name, max_entries,
			strerror(errno));
		return err;
	}
	err = fill_inner(fd, t, kind);
	if (err) {
		pr_warn("fill map %s: %s", inner_specs[kind].name, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

/*
 * A fresh inner map into outer[slot]. The kernel waits for a grace period
 * before the update returns; nobody reads the inactive slot, so the wait is
 * latency only.
 */
static int inner_replace(int outer, __u32 slot, const struct bm_tables *t, enum tables_kind kind,
			 struct inner *in)
{
	int fd = create_inner(t, kind), err;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(outer, &slot, &fd, BPF_ANY)) {
		err = -errno;
		close(fd);
		return err;
	}
	return inner_adopt(in, fd);
}

/* Write one table into the inactive slot, in place when its inner map fits. */
static int install_table(struct dataplane *dp, struct dp_slots *st, const struct bm_tables *t,
			 enum tables_kind kind, __u32 slot)
{
	const struct tables_map *m = &t->maps[kind];
	struct inner *in = &st->inner[kind][slot];
	int outer = dp_map_fd(dp, tables_map_name(kind)), err;

	if (outer < 0)
		return outer;
	err = inner_refresh(outer, slot, in);
	if (!err && is_refillable(in, m->n)) {
		/*
		 * An array cannot be emptied; its indices beyond n keep stale
		 * ranges that no entry of this generation refers to.
		 */
		if (inner_specs[kind].type != BPF_MAP_TYPE_ARRAY)
			err = dp_inner_clear(in->fd, (__u32)m->key_size, (__u32)m->value_size,
					     in->max_entries);
		if (!err)
			err = fill_inner(in->fd, t, kind);
		if (!err)
			return 0;
		pr_debug("refill %s slot %u in place: %s; replacing the map", tables_map_name(kind),
			 slot, strerror(-err));
	}
	return inner_replace(outer, slot, t, kind, in);
}

/* One table's install, run by a thread of its own or inline. */
struct table_job {
	struct dataplane *dp;
	struct dp_slots *st;
	const struct bm_tables *t;
	enum tables_kind kind;
	__u32 slot;
	int err;
};

static void *table_job_run(void *arg)
{
	struct table_job *j = arg;

	j->err = install_table(j->dp, j->st, j->t, j->kind, j->slot);
	return NULL;
}

/* Will some table of t need a fresh inner map in slot (a grace period)? */
static bool needs_fresh(struct dataplane *dp, struct dp_slots *st, const struct bm_tables *t,
			__u32 slot)
{
	struct inner *in;
	int k, outer;

	for (k = 0; k < TABLES_NR; k++) {
		outer = dp_map_fd(dp, tables_map_name((enum tables_kind)k));
		in = &st->inner[k][slot];
		if (outer < 0 || inner_refresh(outer, slot, in) || !is_refillable(in, t->maps[k].n))
			return true;
	}
	return false;
}

/*
 * Write every table into the inactive slot; the caller publishes it only if
 * this returns 0 (on error some tables of the slot may be rewritten, which no
 * program reads). Large or fresh-map installs run one thread per table.
 */
static int install_tables(struct dataplane *dp, struct dp_slots *st, const struct bm_tables *t,
			  __u32 slot)
{
	struct table_job jobs[TABLES_NR];
	bool is_started[TABLES_NR] = {false};
	bool is_parallel;
	size_t total = 0;
	pthread_t tid[TABLES_NR];
	int k, err = 0;

	for (k = 0; k < TABLES_NR; k++) {
		jobs[k] = (struct table_job){dp, st, t, (enum tables_kind)k, slot, 0};
		total += t->maps[k].n;
	}
	is_parallel = total >= PARALLEL_MIN_ENTRIES || needs_fresh(dp, st, t, slot);
	for (k = 0; k < TABLES_NR && is_parallel; k++)
		is_started[k] = !pthread_create(&tid[k], NULL, table_job_run, &jobs[k]);
	for (k = 0; k < TABLES_NR; k++) {
		if (is_started[k])
			pthread_join(tid[k], NULL);
		else
			table_job_run(&jobs[k]);
	}
	for (k = 0; k < TABLES_NR; k++) {
		if (jobs[k].err) {
			pr_warn("install %s slot %u: %s", tables_map_name((enum tables_kind)k),
				slot, strerror(-jobs[k].err));
			if (!err)
				err = jobs[k].err;
		}
	}
	return err;
}

/* See dataplane_priv.h. */
void dp_slots_free(struct dp_slots *st)
{
	int k, s;

	if (!st)
		return;
	dp_grace_free(st->grace);
	for (k = 0; k < TABLES_NR; k++)
		for (s = 0; s < BM_GEN_SLOTS; s++)
			inner_forget(&st->inner[k][s]);
	free(st);
}

static struct dp_slots *slots_new(void)
{
	struct dp_slots *st = calloc(1, sizeof(*st));
	int k, s;

	if (!st)
		return NULL;
	for (k = 0; k < TABLES_NR; k++)
		for (s = 0; s < BM_GEN_SLOTS; s++)
			st->inner[k][s].fd = -1;
	st->grace = dp_grace_new();
	if (!st->grace) {
		free(st);
		return NULL;
	}
	return st;
}

/* See dataplane.h. */
int dp_prepare(struct dataplane *dp)
{
	volatile struct bm_config *cfg = dp_config(dp);
	struct dp_slots **st = dp_slots(dp);
	struct bm_tables empty;
	int k, outer, err = 0, n = 0;
	struct inner *in;
	__u32 cur, slot;

	if (!*st)
		*st = slots_new();
	if (!*st)
		return -ENOMEM;
	/* Generation 0 is "nothing loaded": no program reads any slot then. */
	cur = __atomic_load_n(&cfg->generation, __ATOMIC_ACQUIRE);
	tables_init(&empty);
	for (k = 0; k < TABLES_NR && !err; k++) {
		outer = dp_map_fd(dp, tables_map_name((enum tables_kind)k));
		if (outer < 0)
			return outer;
		for (slot = 0; slot < BM_GEN_SLOTS && !err; slot++) {
			if (cur && slot == BM_GEN_SLOT(cur))
				continue;
			in = &(*st)->inner[k][slot];
			err = inner_refresh(outer, slot, in);
			/* An empty slot is read by no program: a map there is invisible. */
			if (!err && in->fd < 0) {
				err = inner_replace(outer, slot, &empty, (enum tables_kind)k, in);
				n++;
			}
		}
	}
	if (n)
		pr_info("prepared %d inner maps for the generation slots", n);
	return err;
}

/* See dataplane.h. */
int dp_install(struct dataplane *dp, const struct bm_tables *t, uint32_t *generation)
{
	volatile struct bm_config *cfg = dp_config(dp);
	struct dp_slots **st = dp_slots(dp);
	struct timespec t0, t1;
	__u32 cur, next, slot, need;
	int err;

	if (!*st)
		*st = slots_new();
	if (!*st)
		return -errno;
	cur = __atomic_load_n(&cfg->generation, __ATOMIC_ACQUIRE);
	/* 0 means "nothing loaded": skip it, keep the slot order. */
	next = cur + 1 ? cur + 1 : BM_GEN_SLOTS;
	slot = BM_GEN_SLOT(next);
	/*
	 * Programs that read next - BM_GEN_SLOTS (this slot's last generation) are
	 * gone once a grace period begun after the store of the generation that
	 * followed it is over; before generation BM_GEN_SLOTS - 1 the slot was
	 * never read.
	 */
	need = cur >= BM_GEN_SLOTS - 1 ? cur - (BM_GEN_SLOTS - 2) : 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = dp_grace_settle((*st)->grace, need, cur);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pr_debug("grace period after generation %u: waited %.2f ms", need,
		 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	if (err) {
		pr_warn("wait for programs of generation %u: %s", need - 1, strerror(-err));
		return err;
	}
	err = install_tables(dp, *st, t, slot);
	if (err)
		return err;
	__atomic_store_n(&cfg->generation, next, __ATOMIC_RELEASE);
	if (dp_grace_stored((*st)->grace, next))
		pr_debug("no grace-period thread: the next install waits itself");
	*generation = next;
	pr_info("installed policy generation %u in slot %u", next, slot);
	return 0;
}
