// SPDX-License-Identifier: GPL-2.0-only
/* Ring buffer to bus: batched, rate-bounded flow events (see agent_flows.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent_flows.h"
#include "bus.h"
#include "flow_json.h"
#include "log.h"
#include "pinned.h"

#define POLL_MS 100
#define NAMES_RELOAD_MS 1000

struct agent_flows {
	struct agent_flows_config cfg;
	char subject[128];
	char events_path[PATH_MAX]; /* cfg.events_path points here (the caller's may go) */
	pthread_t thread;
	atomic_bool is_stopping;
	int fd;
	struct ring_buffer *rb;
	int file_fd; /* events_path open; -1: not (yet) */
	bool is_file_seen; /* events_path existed once: a new one is read from its start */
	bool is_started_with_file; /* events_path existed when the publisher started */
	struct id_names *names;
	uint32_t names_gen; /* the generation names were loaded for */
	uint64_t names_ms;
	json_t *batch; /* events not yet sent */
	uint64_t batch_ms; /* when the first of them arrived */
	double tokens;
	uint64_t tokens_ms;
	uint64_t dropped_unsent; /* dropped since the last message */
	int64_t boot_to_real_ns;
	_Atomic uint64_t published, dropped, messages;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Token bucket: max_rate tokens per second, at most one second's worth saved. */
static bool take_token(struct agent_flows *f, uint64_t now)
{
	f->tokens += (double)(now - f->tokens_ms) * f->cfg.max_rate / 1000.0;
	f->tokens_ms = now;
	if (f->tokens > f->cfg.max_rate)
		f->tokens = f->cfg.max_rate;
	if (f->tokens < 1.0)
		return false;
	f->tokens -= 1.0;
	return true;
}

/*
 * Reload identity names for an event of a newer generation than they were
 * loaded for (the agent writes them before it installs a generation);
 * forwarder records carry no generation: at most once a second.
 */
static void refresh_names(struct agent_flows *f, uint32_t generation, uint64_t now)
{
	if (f->names && (int32_t)(generation - f->names_gen) <= 0)
		return;
	if (f->names && f->cfg.events_path && now - f->names_ms < NAMES_RELOAD_MS)
		return;
	id_names_free(f->names);
	f->names = id_names_load(f->cfg.state_dir);
	f->names_gen = generation;
	f->names_ms = now;
}

static void drop(struct agent_flows *f)
{
	f->dropped_unsent++;
	atomic_fetch_add(&f->dropped, 1);
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct bm_flow_event *e = data;
	struct agent_flows *f = ctx;
	uint64_t now = now_ms();
	json_t *j;

	if (size < sizeof(*e))
		return 0;
	if (!bus_is_connected(f->cfg.bus) || !take_token(f, now)) {
		drop(f);
		return 0;
	}
	/* Forwarder records carry no generation: names at most once a second. */
	refresh_names(f, f->cfg.events_path ? f->names_gen + 1 : e->generation, now);
	j = flow_json_event(e, f->cfg.node, f->names, f->boot_to_real_ns);
	if (!j || json_array_append_new(f->batch, j)) {
		drop(f);
		return 0;
	}
	if (json_array_size(f->batch) == 1)
		f->batch_ms = now;
	/* A full batch stops this poll round so that it is sent at once. */
	return json_array_size(f->batch) >= AGENT_FLOWS_BATCH ? 1 : 0;
}

static void flush(struct agent_flows *f)
{
	size_t n = json_array_size(f->batch);
	json_t *msg;
	char *text;

	if (!n && !f->dropped_unsent)
		return;
	msg = json_pack("{s:i, s:s, s:I, s:I, s:O}", "schema", BUS_SCHEMA, "node", f->cfg.node,
			"dropped", (json_int_t)f->dropped_unsent, "dropped_total",
			(json_int_t)atomic_load(&f->dropped), "events", f->batch);
	text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (text && !bus_publish(f->cfg.bus, f->subject, text, strlen(text))) {
		atomic_fetch_add(&f->published, n);
		atomic_fetch_add(&f->messages, 1);
		f->dropped_unsent = 0;
	} else {
		f->dropped_unsent += n;
		atomic_fetch_add(&f->dropped, n);
	}
	free(text);
	json_array_clear(f->batch);
}

/* (Re)open events_path when it is new or was rotated (another inode). */
static void follow_file(struct agent_flows *f)
{
	struct stat a, b;
	bool is_first = !f->is_file_seen;

	if (f->file_fd >= 0 && !stat(f->cfg.events_path, &a) && !fstat(f->file_fd, &b) &&
	    a.st_ino == b.st_ino)
		return;
	if (f->file_fd >= 0)
		close(f->file_fd);
	f->file_fd = open(f->cfg.events_path, O_RDONLY | O_CLOEXEC);
	if (f->file_fd < 0)
		return;
	f->is_file_seen = true;
	/* Already there when the agent started: what it holds was published before. */
	if (is_first && f->is_started_with_file)
		lseek(f->file_fd, 0, SEEK_END);
}

/*
 * The file's whole new records through on_event(), up to a full batch; a
 * record still being written is read again later. Returns how many. The
 * forwarder appends each record with one write(), so records never tear.
 */
static int poll_file(struct agent_flows *f)
{
	struct bm_flow_event e;
	ssize_t n;
	int seen = 0;

	follow_file(f);
	while (f->file_fd >= 0) {
		n = read(f->file_fd, &e, sizeof(e));
		if (n > 0 && n < (ssize_t)sizeof(e))
			lseek(f->file_fd, -n, SEEK_CUR);
		if (n != (ssize_t)sizeof(e))
			break;
		seen++;
		if (on_event(f, &e, sizeof(e)))
			break;
	}
	if (!seen)
		usleep(POLL_MS * 1000);
	return seen;
}

static void *run(void *arg)
{
	struct agent_flows *f = arg;
	uint64_t now;
	int err;

	while (!atomic_load(&f->is_stopping)) {
		err = f->cfg.events_path ? poll_file(f) : ring_buffer__poll(f->rb, POLL_MS);
		if (err < 0 && err != -EINTR) {
			pr_warn("agent: flow events: poll: %s", strerror(-err));
			usleep(POLL_MS * 1000);
		}
		now = now_ms();
		if (json_array_size(f->batch) >= AGENT_FLOWS_BATCH ||
		    (json_array_size(f->batch) && now - f->batch_ms >= AGENT_FLOWS_FLUSH_MS) ||
		    (f->dropped_unsent && bus_is_connected(f->cfg.bus))) {
			f->boot_to_real_ns = flow_json_boot_to_real_ns();
			flush(f);
		}
	}
	return NULL;
}

/* The pinned ring buffer and its reader. 0 or -errno (-ENOENT: not pinned). */
static int open_ring(struct agent_flows *f)
{
	f->fd = pinned_map_fd(f->cfg.pin_dir, BM_MAP_EVENTS);
	if (f->fd < 0)
		return f->fd;
	f->rb = ring_buffer__new(f->fd, on_event, f, NULL);
	return f->rb ? 0 : -errno;
}

/* See agent_flows.h. */
int agent_flows_start(const struct agent_flows_config *cfg, struct agent_flows **out)
{
	struct agent_flows *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	f->cfg = *cfg;
	snprintf(f->subject, sizeof(f->subject), FLOW_SUBJECT_PREFIX "%s", cfg->node);
	f->tokens = cfg->max_rate;
	f->tokens_ms = now_ms();
	f->boot_to_real_ns = flow_json_boot_to_real_ns();
	f->batch = json_array();
	f->fd = f->file_fd = -1;
	err = f->batch ? 0 : -ENOMEM;
	if (!err && cfg->events_path &&
	    snprintf(f->events_path, sizeof(f->events_path), "%s", cfg->events_path) >=
		    (int)sizeof(f->events_path))
		err = -ENAMETOOLONG;
	if (!err && cfg->events_path) {
		f->cfg.events_path = f->events_path;
		f->is_started_with_file = !access(f->events_path, F_OK);
	} else if (!err) {
		err = open_ring(f);
	}
	if (err)
		goto err_free;
	err = -pthread_create(&f->thread, NULL, run, f);
	if (err)
		goto err_free;
	*out = f;
	return 0;
err_free:
	ring_buffer__free(f->rb);
	if (f->fd >= 0)
		close(f->fd);
	json_decref(f->batch);
	free(f);
	return err;
}

/* See agent_flows.h. */
void agent_flows_stop(struct agent_flows *f)
{
	if (!f)
		return;
	atomic_store(&f->is_stopping, true);
	pthread_join(f->thread, NULL);
	ring_buffer__free(f->rb);
	if (f->fd >= 0)
		close(f->fd);
	if (f->file_fd >= 0)
		close(f->file_fd);
	json_decref(f->batch);
	id_names_free(f->names);
	free(f);
}

/* See agent_flows.h. */
void agent_flows_get_stats(const struct agent_flows *f, struct agent_flows_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!f)
		return;
	st->published = atomic_load(&f->published);
	st->dropped = atomic_load(&f->dropped);
	st->messages = atomic_load(&f->messages);
}
