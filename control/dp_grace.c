// SPDX-License-Identifier: GPL-2.0-only
/* Background RCU grace periods after each generation store (see dp_grace.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "dp_grace.h"
#include "log.h"

struct dp_grace {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool has_thread, is_stopping;
	bool is_pending; /* a grace period for pending_gen is wanted or under way */
	bool has_quiet; /* quiet_gen is valid */
	uint32_t pending_gen; /* the newest generation stored */
	uint32_t quiet_gen; /* no reader of a generation stored before it remains */
	int outer_fd, inner_fd;
};

/* Is generation a at or after b? (Serial number arithmetic: they wrap.) */
static bool is_at_or_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

/* Record that readers of generations stored before gen are gone. Locked. */
static void set_quiet(struct dp_grace *g, uint32_t gen)
{
	if (!g->has_quiet || is_at_or_after(gen, g->quiet_gen))
		g->quiet_gen = gen;
	g->has_quiet = true;
}

/* One grace period: the kernel waits for it after a map-in-map update. */
static int grace_period(const struct dp_grace *g)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(g->outer_fd, &zero, &g->inner_fd, BPF_ANY))
		return -errno;
	return 0;
}

static void *grace_thread(void *arg)
{
	struct dp_grace *g = arg;
	uint32_t gen;
	int err;

	pthread_mutex_lock(&g->lock);
	while (!g->is_stopping) {
		if (!g->is_pending) {
			pthread_cond_wait(&g->cond, &g->lock);
			continue;
		}
		gen = g->pending_gen;
		pthread_mutex_unlock(&g->lock);
		err = grace_period(g);
		pthread_mutex_lock(&g->lock);
		if (!err)
			set_quiet(g, gen);
		else
			pr_debug("grace period after generation %u: %s", gen, strerror(-err));
		if (g->pending_gen == gen)
			g->is_pending = false;
		pthread_cond_broadcast(&g->cond);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* See dp_grace.h. */
struct dp_grace *dp_grace_new(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	struct dp_grace *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return NULL;
	g->outer_fd = -1;
	g->inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bm_grace_i", 4, 4, 1, NULL);
	if (g->inner_fd < 0)
		goto err_free;
	opts.inner_map_fd = g->inner_fd;
	g->outer_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "bm_grace", 4, 4, 1, &opts);
	if (g->outer_fd < 0)
		goto err_free;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	return g;
err_free:
	err = errno;
	pr_warn("create grace-period maps: %s", strerror(err));
	if (g->inner_fd >= 0)
		close(g->inner_fd);
	free(g);
	errno = err;
	return NULL;
}

/* See dp_grace.h. */
void dp_grace_free(struct dp_grace *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->is_stopping = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	if (g->has_thread)
		pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	close(g->outer_fd);
	close(g->inner_fd);
	free(g);
}

/* See dp_grace.h. */
int dp_grace_stored(struct dp_grace *g, uint32_t gen)
{
	int err = 0;

	pthread_mutex_lock(&g->lock);
	g->pending_gen = gen;
	g->is_pending = true;
	if (!g->has_thread) {
		err = -pthread_create(&g->thread, NULL, grace_thread, g);
		g->has_thread = !err;
		g->is_pending = !err;
	}
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return err;
}

/* Are readers of generations stored before need known to be gone? Locked. */
static bool is_quiet(const struct dp_grace *g, uint32_t need)
{
	return g->has_quiet && is_at_or_after(g->quiet_gen, need);
}

/* See dp_grace.h. */
int dp_grace_settle(struct dp_grace *g, uint32_t need, uint32_t cur)
{
	bool is_covered;
	int err;

	if (!need)
		return 0;
	pthread_mutex_lock(&g->lock);
	while (!is_quiet(g, need) && g->is_pending && is_at_or_after(g->pending_gen, need) &&
	       !g->is_stopping)
		pthread_cond_wait(&g->cond, &g->lock);
	is_covered = is_quiet(g, need);
	pthread_mutex_unlock(&g->lock);
	if (is_covered)
		return 0;
	/* Stored by someone else (another process, an earlier run): wait here. */
	err = grace_period(g);
	if (err)
		return err;
	pthread_mutex_lock(&g->lock);
	set_quiet(g, cur);
	pthread_mutex_unlock(&g->lock);
	return 0;
}
