// SPDX-License-Identifier: GPL-2.0-only
/* The node agent's loop: bus events in, one thread applies them to the maps. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "agent_flows.h"
#include "agent_ident.h"
#include "agent_metrics.h"
#include "agent_priv.h"
#include "agent_sched_priv.h"
#include "agent_rootless.h"
#include "agent_sock.h"
#include "cli.h"
#include "dataplane.h"
#include "fwd.h"
#include "log.h"
#include "policy_model.h"

#define MAX_ACCEPT_PER_LOOP 16

/* Milliseconds on CLOCK_MONOTONIC. Cannot fail. */
uint64_t agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Microseconds on CLOCK_MONOTONIC. Cannot fail. */
uint64_t agent_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* See agent.h. */
void agent_sock_path(const char *state_dir, char *buf, size_t len)
{
	if (!strcmp(state_dir, CLI_DEFAULT_STATE_DIR))
		snprintf(buf, len, "%s", AGENT_DEFAULT_SOCKET);
	else
		snprintf(buf, len, "%s/agent.sock", state_dir);
}

static void wake(struct agent *a)
{
	uint64_t one = 1;

	if (write(a->wake_fd, &one, sizeof(one)) < 0)
		pr_debug("agent: wake: %s", strerror(errno));
}

static void push(struct agent *a, struct agent_ev *ev)
{
	pthread_mutex_lock(&a->lock);
	*a->queue_tail = ev;
	a->queue_tail = &ev->next;
	pthread_mutex_unlock(&a->lock);
	wake(a);
}

static struct agent_ev *new_ev(enum agent_ev_kind kind, const char *key, const void *data,
			       size_t len)
{
	struct agent_ev *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->kind = kind;
	ev->key = key ? strdup(key) : NULL;
	ev->data = malloc(len + 1);
	if ((key && !ev->key) || !ev->data) {
		free(ev->key);
		free(ev->data);
		free(ev);
		return NULL;
	}
	if (len)
		memcpy(ev->data, data, len);
	ev->data[len] = '\0';
	ev->len = len;
	return ev;
}

static void on_kv(void *ctx, const struct bus_kv_event *kv)
{
	struct agent_ev *ev = new_ev(AGENT_EV_KV, kv->key, kv->data, kv->data ? kv->len : 0);

	if (!ev) {
		pr_warn("agent: out of memory queueing a bus event");
		return;
	}
	ev->bucket = kv->bucket;
	ev->rev = kv->rev;
	ev->is_delete = kv->is_delete;
	ev->is_replay_done = !kv->key;
	push(ctx, ev);
}

static void on_msg(void *ctx, const char *subject, const void *data, size_t len)
{
	struct agent_ev *ev = new_ev(AGENT_EV_MSG, subject, data, data ? len : 0);

	if (ev)
		push(ctx, ev);
}

static void on_state(void *ctx, bool is_connected)
{
	struct agent_ev *ev =
		new_ev(is_connected ? AGENT_EV_CONNECTED : AGENT_EV_DISCONNECTED, NULL, NULL, 0);

	if (ev)
		push(ctx, ev);
}

static void free_ev(struct agent_ev *ev)
{
	free(ev->key);
	free(ev->data);
	free(ev);
}

static void drain(struct agent *a)
{
	struct agent_ev *list, *next;
	uint64_t n;

	if (read(a->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_debug("agent: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&a->lock);
	list = a->queue;
	a->queue = NULL;
	a->queue_tail = &a->queue;
	pthread_mutex_unlock(&a->lock);
	for (; list; list = next) {
		next = list->next;
		if (list->kind == AGENT_EV_CONNECTED || list->kind == AGENT_EV_DISCONNECTED) {
			a->is_connected = list->kind == AGENT_EV_CONNECTED;
			/* Watchers restart (and replay) on every reconnect: the server may be new.
			 */
			a->is_watching = false;
		} else {
			a->last_bus_msg_ms = agent_now_ms();
			agent_apply(a, list);
		}
		free_ev(list);
	}
}

static void serve_clients(struct agent *a)
{
	json_t *req, *reply;
	int i, fd;

	for (i = 0; i < MAX_ACCEPT_PER_LOOP; i++) {
		fd = accept4(a->sock_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		req = agent_sock_read(fd);
		reply = req ? agent_handle(a, req)
			    : json_pack("{s:b, s:s}", "ok", 0, "error", "malformed request");
		if (reply && agent_sock_write(fd, reply))
			pr_debug("agent: reply: write failed");
		json_decref(reply);
		json_decref(req);
		close(fd);
	}
}

static void ensure_watching(struct agent *a)
{
	char subject[128];

	if (a->is_watching || !bus_is_connected(a->bus))
		return;
	a->is_connected = true;
	if (bus_watch(a->bus, on_kv, a))
		return;
	a->is_watching = true;
	a->n_bus_connects++; /* once per (re)connection: watching restarts after each */
	if (!a->hb_seq) {
		snprintf(subject, sizeof(subject), AGENT_SUBJECT_PREFIX "%s.join", a->cfg->node);
		bus_publish(a->bus, subject, "{\"schema\":1}", 12);
	}
}

static int poll_timeout(const struct agent *a)
{
	uint64_t now = agent_now_ms();

	/* An event applied by the loop's last drain still waits for its install. */
	if (a->next_hb_ms <= now || a->sched.is_busy || agent_is_reconcile_due(a))
		return 0;
	return a->next_hb_ms - now < 100 ? (int)(a->next_hb_ms - now) : 100;
}

static void loop(struct agent *a, volatile sig_atomic_t *stop)
{
	struct pollfd pfd[3] = {{a->wake_fd, POLLIN, 0}, {a->sock_fd, POLLIN, 0}, {-1, POLLIN, 0}};

	while (!*stop) {
		ensure_watching(a);
		pfd[2].fd = agent_rl_fd(a->rl); /* rootless mode: the forwarder */
		if (poll(pfd, 3, poll_timeout(a)) < 0 && errno != EINTR)
			break;
		agent_rl_poll(a->rl);
		/*
		 * Peers are judged right after the queue is drained: judged after
		 * a long step (installing a policy, starting replicas), heartbeats
		 * that arrived meanwhile would still be queued and peers look dead.
		 */
		drain(a);
		agent_tick_members(a);
		agent_reconcile(a);
		drain(a);
		agent_sched_tick(a);
		agent_ident_tick(a);
		serve_clients(a);
		agent_metrics_update(a->metrics, a);
	}
}

/* Flow events on the bus and the metrics endpoint (agent_flows.c, agent_metrics.c). */
static int setup_observability(struct agent *a)
{
	struct agent_flows_config fc = {
		.pin_dir = a->cfg->pin_dir,
		.state_dir = a->cfg->state_dir,
		.node = a->cfg->node,
		.bus = a->bus,
		.max_rate = a->cfg->flow_rate,
	};
	struct agent_metrics_config mc = {
		.addr = a->cfg->metrics_addr,
		.is_public = a->cfg->is_metrics_public,
		.pin_dir = a->cfg->pin_dir,
		.state_dir = a->cfg->state_dir,
		.node = a->cfg->node,
	};
	char events_path[PATH_MAX];
	struct bm_config dc;
	__u32 zero = 0;
	int err;

	/* Rootless mode has no ring buffer: its forwarder writes an event file. */
	snprintf(events_path, sizeof(events_path), "%s/%s", a->cfg->state_dir, FWD_EVENTS_FILE);
	if (a->rl)
		fc.events_path = events_path;
	if (a->cfg->has_allow_sample && a->dp &&
	    (bpf_map_lookup_elem(dp_map_fd(a->dp, BM_MAP_CONFIG), &zero, &dc) ||
	     dp_configure(a->dp, dc.flags, a->cfg->allow_sample)))
		pr_warn("agent: could not set allow event sampling");
	if (a->cfg->has_deny_event_rate && a->dp &&
	    dp_set_deny_event_rate(a->dp, a->cfg->deny_event_rate))
		pr_warn("agent: could not set the deny event rate");
	err = fc.max_rate ? agent_flows_start(&fc, &a->flows) : 0;
	if (err)
		pr_warn("agent: flow events stay in the ring buffer: %s", strerror(-err));
	return mc.addr ? agent_metrics_start(&mc, &a->metrics) : 0;
}

static int setup(struct agent *a, const struct agent_config *cfg)
{
	struct bus_config bc = {
		.urls = cfg->bus_urls,
		.state_dir = cfg->state_dir,
		.name = cfg->node,
		.local_port = cfg->nats_port,
	};
	int err;

	err = policy_store_prepare_dir(cfg->state_dir);
	if (!err)
		err = agent_rl_open(cfg, a->mode, sizeof(a->mode), &a->rl);
	if (!err && !a->rl)
		err = dp_open(cfg->pin_dir, false, &a->dp);
	if (err)
		return err;
	a->generation = a->dp ? dp_generation(a->dp) : 0;
	/* Off the propagation path: the first installs into each slot would pay for it. */
	if (a->dp && (err = dp_prepare(a->dp)))
		pr_warn("agent: prepare generation slots: %s; installs will make them",
			strerror(-err));
	err = agent_sched_open(a);
	if (!err)
		err = agent_ident_open(a);
	if (err)
		return err;
	a->sock_fd = agent_sock_listen(cfg->sock_path);
	if (a->sock_fd < 0)
		return a->sock_fd;
	err = bus_open(&bc, on_state, a, &a->bus);
	if (!err)
		err = agent_wl_watch_keys(a);
	if (!err)
		err = bus_subscribe(a->bus, AGENT_SUBJECT_PREFIX "*.*", on_msg, a);
	if (err == -ETIMEDOUT) {
		/* The subscription stands; the server just has not confirmed it yet. */
		pr_warn("agent: bus: subscription to %s not yet confirmed",
			AGENT_SUBJECT_PREFIX "*.*");
		err = 0;
	}
	if (!err)
		err = setup_observability(a);
	return err;
}

static void teardown(struct agent *a)
{
	char subject[128];
	struct agent_ev *ev;

	if (a->bus && bus_is_connected(a->bus)) {
		snprintf(subject, sizeof(subject), AGENT_SUBJECT_PREFIX "%s.leave", a->cfg->node);
		bus_publish(a->bus, subject, "{\"schema\":1}", 12);
	}
	agent_metrics_stop(a->metrics);
	agent_flows_stop(a->flows);
	bus_close(a->bus);
	agent_ident_close(a); /* documents stay with the replicas */
	agent_sched_close(a); /* replicas keep running; the next agent adopts them */
	agent_items_clear(&a->workloads);
	if (a->sock_fd >= 0) {
		close(a->sock_fd);
		unlink(a->cfg->sock_path);
	}
	while ((ev = a->queue)) {
		a->queue = ev->next;
		free_ev(ev);
	}
	/* Maps, pins and attachments stay: enforcement outlives the agent. */
	dp_close(a->dp);
	agent_rl_close(a->rl); /* rootless: workloads and forwarder end with the agent */
	pm_model_free(a->model);
	pm_model_free(a->pending_model);
	policy_sources_free(&a->policy);
	free(a->policy_origin);
	agent_items_clear(&a->endpoints);
	agent_items_clear(&a->revoked);
	agent_peers_clear(a);
	close(a->wake_fd);
	pthread_mutex_destroy(&a->lock);
}

static void read_applied(struct agent *a)
{
	char path[4096];
	unsigned long long rev, sig;
	FILE *f;

	snprintf(path, sizeof(path), "%s/agent.applied", a->cfg->state_dir);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fscanf(f, "%llu %llu", &rev, &sig) == 2 && a->generation) {
		a->applied_rev = rev;
		a->applied_sig = sig;
	}
	fclose(f);
}

/* See agent.h. */
int agent_run(const struct agent_config *cfg, volatile sig_atomic_t *stop)
{
	struct agent a = {.cfg = cfg, .sock_fd = -1};
	int err;

	a.queue_tail = &a.queue;
	pthread_mutex_init(&a.lock, NULL);
	a.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a.wake_fd < 0) {
		pthread_mutex_destroy(&a.lock);
		return -errno;
	}
	err = setup(&a, cfg);
	if (err) {
		pr_warn("agent: start: %s", strerror(-err));
		goto out;
	}
	read_applied(&a);
	pr_info("agent: node %s started; bus %s; generation %u enforced; socket %s", cfg->node,
		bus_urls(a.bus), a.generation, cfg->sock_path);
	loop(&a, stop);
	pr_info("agent: node %s stopping; the kernel keeps enforcing generation %u", cfg->node,
		a.generation);
out:
	teardown(&a);
	return err;
}
