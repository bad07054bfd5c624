// SPDX-License-Identifier: GPL-2.0-only
/* The NATS bus: connection with backoff, supervised local server, KV watchers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "bus.h"
#include "log.h"
#include "natsbin.h"

#define SERVER_START_TIMEOUT_MS 10000
#define WATCH_POLL_MS 50 /* how soon a watcher notices it must stop */
#define WATCH_HEARTBEAT_NS 5000000000LL /* the server's idle heartbeat to a watcher */
#define BUS_MAX_SUBS 8
#define DIR_MAX 4096 /* the server's data directory, STATE_DIR/nats */

static const char *const bucket_names[BUS_BUCKET_ALL] = {
	[BUS_BUCKET_POLICY] = "bpfmesh-policy",	  [BUS_BUCKET_ENDPOINTS] = "bpfmesh-endpoints",
	[BUS_BUCKET_REVOKED] = "bpfmesh-revoked", [BUS_BUCKET_WORKLOADS] = "bpfmesh-workloads",
	[BUS_BUCKET_CLAIMS] = "bpfmesh-claims",	  [BUS_BUCKET_BLOBS] = "bpfmesh-blobs",
};

/* Revisions kept per key: policy keeps a short history for operators. */
static const uint8_t bucket_history[BUS_BUCKET_ALL] = {16, 1, 1, 1, 1, 1};

struct sub_ctx {
	bus_msg_fn fn;
	void *ctx;
};

/*
 * A bucket watcher: our own push consumer on the bucket's stream, last value
 * per key then every change, no acks. Not libnats' kvWatcher: that one is an
 * ordered consumer whose missed-heartbeat reset (a libnats thread) frees and
 * replaces the consumer name while kvWatcher_Stop() reads it without the
 * lock (libnats 3.4.1, jsSub_deleteConsumer), a use-after-free each time we
 * restart watchers after the server came back.
 */
struct watch {
	struct bus *bus;
	enum bus_bucket bucket;
	char *keys; /* the key pattern this watcher follows (">": all) */
	natsSubscription *sub;
	size_t prefix_len; /* strlen("$KV.<bucket>.") */
	pthread_t thread;
	atomic_bool is_stopping;
	bool is_running;
	bool is_replayed; /* the end-of-replay marker was delivered */
	bool is_empty; /* nothing to replay: deliver the marker first */
	uint64_t next_seq; /* the consumer sequence the next message must carry */
};

struct bus {
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv[BUS_BUCKET_ALL];
	struct watch watch[BUS_MAX_WATCHES];
	unsigned int n_watches;
	/* per watched bucket: its key patterns (NULL: all keys), watchers, replayed ones */
	char *keys[BUS_BUCKET_NR][BUS_MAX_KEY_PATTERNS];
	unsigned int n_keys[BUS_BUCKET_NR];
	unsigned int n_watch_of[BUS_BUCKET_NR];
	atomic_uint n_replayed[BUS_BUCKET_NR];
	bus_kv_fn kv_fn;
	void *kv_ctx;
	bus_state_fn state_fn;
	void *state_ctx;
	natsSubscription *subs[BUS_MAX_SUBS];
	struct sub_ctx sub_ctx[BUS_MAX_SUBS];
	unsigned int n_subs;
	unsigned int max_backoff_ms;
	pid_t server_pid;
	char urls[1024];
};

/* libnats status to a negative errno, at the one place they enter. */
static int nats_err(natsStatus s)
{
	switch (s) {
	case NATS_OK:
		return 0;
	case NATS_TIMEOUT:
		return -ETIMEDOUT;
	case NATS_NO_MEMORY:
		return -ENOMEM;
	case NATS_NOT_FOUND:
		return -ENOENT;
	case NATS_INVALID_ARG:
		return -EINVAL;
	case NATS_NO_SERVER:
		return -ECONNREFUSED;
	case NATS_NOT_YET_CONNECTED:
	case NATS_CONNECTION_CLOSED:
	case NATS_CONNECTION_DISCONNECTED:
		return -ENOTCONN;
	default:
		return -EIO;
	}
}

/* See bus.h. */
const char *bus_bucket_name(enum bus_bucket bucket)
{
	return (unsigned int)bucket < BUS_BUCKET_ALL ? bucket_names[bucket] : NULL;
}

/* See bus.h. */
bool bus_is_valid_key(const char *text)
{
	const char *p;

	if (!text || !*text || strlen(text) > 200)
		return false;
	for (p = text; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-_=.", *p)))
			return false;
	return text[0] != '.' && p[-1] != '.' && !strstr(text, "..");
}

/* In the child: die with the agent, log to STATE/nats/server.log, exec. */
static void exec_server(const char *dir, unsigned int port)
{
	char port_s[16], log_path[DIR_MAX + 16], conf[DIR_MAX + 16];
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	snprintf(port_s, sizeof(port_s), "%u", port);
	snprintf(log_path, sizeof(log_path), "%s/server.log", dir);
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	snprintf(conf, sizeof(conf), "%s/server.conf", dir);
	execl(natsbin_path(), "nats-server", "-c", conf, "-js", "-a", "127.0.0.1", "-p", port_s,
	      "-sd", dir, (char *)NULL);
	execlp("nats-server", "nats-server", "-c", conf, "-js", "-a", "127.0.0.1", "-p", port_s,
	       "-sd", dir, (char *)NULL);
	_exit(127);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/*
 * Large policy revisions travel as blobs in 512 KiB parts (bus_blob.h), which
 * any server accepts; the supervised server still takes large single
 * messages (a big workload manifest is one KV value, docs/topics.md).
 */
static int write_server_conf(const char *dir)
{
	char path[DIR_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/server.conf", dir);
	f = fopen(path, "we");
	if (f) {
		fprintf(f, "max_payload: %u\n", BUS_MAX_PAYLOAD);
		if (!fclose(f))
			return 0;
	}
	pr_warn("write %s: %s", path, strerror(errno));
	return -EIO;
}

/* Start nats-server with JetStream on 127.0.0.1 and wait until it accepts. */
static int start_server(struct bus *b, const struct bus_config *cfg)
{
	unsigned int port = cfg->local_port ? cfg->local_port : natsbin_free_port();
	char dir[DIR_MAX];
	int status, i, err;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/nats", cfg->state_dir) >= sizeof(dir))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		pr_warn("create %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!port)
		return -EADDRINUSE;
	err = write_server_conf(dir);
	if (err)
		return err;
	b->server_pid = fork();
	if (b->server_pid < 0)
		return -errno;
	if (b->server_pid == 0)
		exec_server(dir, port);
	for (i = 0; i < SERVER_START_TIMEOUT_MS / 20; i++) {
		if (natsbin_port_accepts(port)) {
			snprintf(b->urls, sizeof(b->urls), "nats://127.0.0.1:%u", port);
			pr_info("bus: local nats-server pid %d on 127.0.0.1:%u, data in %s",
				(int)b->server_pid, port, dir);
			return 0;
		}
		if (waitpid(b->server_pid, &status, WNOHANG) == b->server_pid) {
			b->server_pid = 0;
			pr_warn("bus: nats-server exited (status %d); see %s/server.log", status,
				dir);
			return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
		}
		sleep_ms(20);
	}
	pr_warn("bus: nats-server did not accept on port %u within %d ms", port,
		SERVER_START_TIMEOUT_MS);
	return -ETIMEDOUT;
}

static void stop_server(struct bus *b)
{
	int i;

	if (b->server_pid <= 0)
		return;
	kill(b->server_pid, SIGTERM);
	for (i = 0; i < 250; i++) {
		if (waitpid(b->server_pid, NULL, WNOHANG) == b->server_pid)
			goto out;
		sleep_ms(20);
	}
	kill(b->server_pid, SIGKILL);
	waitpid(b->server_pid, NULL, 0);
out:
	b->server_pid = 0;
}

static int64_t backoff_ms(natsConnection *nc, int attempts, void *closure)
{
	struct bus *b = closure;
	int64_t ms = 50;

	(void)nc;
	while (attempts-- > 0 && ms < b->max_backoff_ms)
		ms *= 2;
	return ms < b->max_backoff_ms ? ms : b->max_backoff_ms;
}

static void on_connected(natsConnection *nc, void *closure)
{
	struct bus *b = closure;

	(void)nc;
	pr_info("bus: connected");
	if (b->state_fn)
		b->state_fn(b->state_ctx, true);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	struct bus *b = closure;

	(void)nc;
	pr_warn("bus: disconnected; enforcing the last known state, reconnecting");
	if (b->state_fn)
		b->state_fn(b->state_ctx, false);
}

static int make_options(struct bus *b, const struct bus_config *cfg, natsOptions **out)
{
	natsOptions *o = NULL;
	natsStatus s;

	s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetURL(o, b->urls);
	if (s == NATS_OK && cfg->name)
		s = natsOptions_SetName(o, cfg->name);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK)
		s = natsOptions_SetCustomReconnectDelay(o, backoff_ms, b);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(o, on_disconnected, b);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(o, on_connected, b);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, b);
	if (s != NATS_OK) {
		natsOptions_Destroy(o);
		return nats_err(s);
	}
	*out = o;
	return 0;
}

/* See bus.h. */
int bus_open(const struct bus_config *cfg, bus_state_fn state_fn, void *ctx, struct bus **out)
{
	natsOptions *opts = NULL;
	jsOptions jo;
	struct bus *b;
	natsStatus s;
	int err;

	if (nats_Open(-1) != NATS_OK)
		return -ENOMEM;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->state_fn = state_fn;
	b->state_ctx = ctx;
	b->max_backoff_ms = cfg->max_backoff_ms ? cfg->max_backoff_ms : 2000;
	if (cfg->urls)
		snprintf(b->urls, sizeof(b->urls), "%s", cfg->urls);
	err = cfg->urls ? 0 : start_server(b, cfg);
	if (!err)
		err = make_options(b, cfg, &opts);
	if (err)
		goto err_free;
	s = natsConnection_Connect(&b->nc, opts);
	natsOptions_Destroy(opts);
	if (s == NATS_NOT_YET_CONNECTED) {
		pr_warn("bus: %s unreachable; retrying in the background", b->urls);
		s = NATS_OK;
	}
	if (s == NATS_OK)
		s = jsOptions_Init(&jo);
	jo.Wait = 2000;
	if (s == NATS_OK)
		s = natsConnection_JetStream(&b->js, b->nc, &jo);
	err = nats_err(s);
	if (err) {
		pr_warn("bus: connect %s: %s", b->urls, nats_GetLastError(NULL));
		goto err_free;
	}
	*out = b;
	return 0;
err_free:
	bus_close(b);
	return err;
}

/*
 * Destroy only: it withdraws our interest but, unlike Unsubscribe, sends no
 * consumer-delete request (which would block the agent's loop while the
 * server is slow or away); the server drops an ephemeral consumer nobody
 * listens to by itself.
 */
static void drop_sub(struct watch *w)
{
	natsSubscription_Destroy(w->sub);
	w->sub = NULL;
}

/*
 * Stop every watcher: flag all threads first so that their polls run out
 * together, then join each and only then drop its subscription, which thus
 * has no reader left.
 */
static void stop_watches(struct bus *b)
{
	struct watch *w;
	int i;

	for (i = 0; i < (int)b->n_watches; i++)
		atomic_store(&b->watch[i].is_stopping, true);
	for (i = 0; i < (int)b->n_watches; i++) {
		w = &b->watch[i];
		if (w->is_running) {
			pthread_join(w->thread, NULL);
			w->is_running = false;
		}
		drop_sub(w);
		free(w->keys);
		w->keys = NULL;
	}
	b->n_watches = 0;
}

/* See bus.h. */
void bus_close(struct bus *b)
{
	int i;

	if (!b)
		return;
	/*
	 * Close first: stopping a watcher on a live connection deletes its
	 * consumer with a request that, while the server is away, blocks for
	 * the JetStream timeout. The server drops ephemeral consumers itself.
	 */
	if (b->nc) {
		if (bus_is_connected(b))
			natsConnection_FlushTimeout(b->nc, 500);
		natsConnection_Close(b->nc);
	}
	for (i = 0; i < (int)b->n_subs; i++)
		natsSubscription_Destroy(b->subs[i]);
	stop_watches(b);
	for (i = 0; i < BUS_BUCKET_NR; i++)
		bus_set_watch_keys(b, (enum bus_bucket)i, NULL, 0);
	for (i = 0; i < BUS_BUCKET_ALL; i++)
		kvStore_Destroy(b->kv[i]);
	jsCtx_Destroy(b->js);
	natsConnection_Destroy(b->nc);
	/* Waits for libnats' threads: no callback can still see b after this. */
	nats_CloseAndWait(2000);
	stop_server(b);
	free(b);
}

/* See bus.h. */
unsigned int bus_max_backoff_ms(const struct bus *b)
{
	return b ? b->max_backoff_ms : 0;
}

/* See bus.h. */
bool bus_is_connected(struct bus *b)
{
	return b && b->nc && natsConnection_Status(b->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* See bus.h. */
const char *bus_urls(const struct bus *b)
{
	return b->urls;
}

static int open_bucket(struct bus *b, enum bus_bucket bucket)
{
	kvConfig cfg;
	natsStatus s;

	if (b->kv[bucket])
		return 0;
	s = js_KeyValue(&b->kv[bucket], b->js, bucket_names[bucket]);
	if (s != NATS_NOT_FOUND)
		return nats_err(s);
	kvConfig_Init(&cfg);
	cfg.Bucket = bucket_names[bucket];
	cfg.History = bucket_history[bucket];
	cfg.StorageType = js_FileStorage;
	s = js_CreateKeyValue(&b->kv[bucket], b->js, &cfg);
	/* Another agent may have created it first. */
	if (s != NATS_OK)
		s = js_KeyValue(&b->kv[bucket], b->js, bucket_names[bucket]);
	return nats_err(s);
}

/*
 * The end of this watcher's replay; the bucket's marker goes out once every
 * watcher of the bucket has replayed (a later one, after a re-replay, too).
 */
static void deliver_marker(struct watch *w)
{
	struct bus_kv_event ev = {.bucket = w->bucket};
	struct bus *b = w->bus;

	if (!w->is_replayed) {
		w->is_replayed = true;
		atomic_fetch_add(&b->n_replayed[w->bucket], 1);
	}
	if (atomic_load(&b->n_replayed[w->bucket]) >= b->n_watch_of[w->bucket])
		b->kv_fn(b->kv_ctx, &ev);
}

/*
 * One stored message of the bucket's stream as a KV event; then the marker
 * once caught up. Returns false, delivering nothing, when messages were lost
 * before it (the consumer sequence jumped: the server dropped them for a
 * slow consumer; without acks they never come again).
 */
static bool deliver(struct watch *w, natsMsg *msg)
{
	struct bus_kv_event ev = {.bucket = w->bucket};
	jsMsgMetaData *meta = NULL;
	const char *subject = natsMsg_GetSubject(msg), *op = NULL;
	bool is_in_order = true;

	if (natsMsg_GetMetaData(&meta, msg) != NATS_OK || strlen(subject) <= w->prefix_len) {
		pr_warn("bus: bucket %s: skipping a message without KV metadata",
			bucket_names[w->bucket]);
		goto out;
	}
	is_in_order = meta->Sequence.Consumer == w->next_seq;
	if (!is_in_order)
		goto out;
	w->next_seq++;
	ev.key = subject + w->prefix_len;
	ev.rev = meta->Sequence.Stream;
	/* KV-Operation: DEL or PURGE; absent on a put. */
	ev.is_delete = natsMsgHeader_Get(msg, "KV-Operation", &op) == NATS_OK && op &&
		       (!strcmp(op, "DEL") || !strcmp(op, "PURGE"));
	ev.data = natsMsg_GetData(msg);
	ev.len = (size_t)natsMsg_GetDataLength(msg);
	w->bus->kv_fn(w->bus->kv_ctx, &ev);
	if (!w->is_replayed && meta->NumPending == 0)
		deliver_marker(w);
out:
	jsMsgMetaData_Destroy(meta);
	return is_in_order;
}

static int subscribe_bucket(struct bus *b, struct watch *w);

/* After lost messages: a new consumer replays the bucket (consumers are idempotent). */
static void resubscribe(struct watch *w)
{
	pr_warn("bus: bucket %s: messages lost; replaying it", bucket_names[w->bucket]);
	drop_sub(w);
	while (!atomic_load(&w->is_stopping) && subscribe_bucket(w->bus, w))
		sleep_ms(WATCH_POLL_MS);
	if (w->sub && w->is_empty)
		deliver_marker(w);
}

static void *watch_thread(void *arg)
{
	struct watch *w = arg;
	natsMsg *msg;
	natsStatus s;

	if (w->is_empty)
		deliver_marker(w);
	while (!atomic_load(&w->is_stopping) && w->sub) {
		msg = NULL;
		s = natsSubscription_NextMsg(&msg, w->sub, WATCH_POLL_MS);
		if (s == NATS_TIMEOUT)
			continue;
		if (s == NATS_SLOW_CONSUMER) {
			resubscribe(w);
			continue;
		}
		/* Closed connection or subscription: bus_watch() starts a new one. */
		if (s != NATS_OK)
			break;
		if (!deliver(w, msg))
			resubscribe(w);
		natsMsg_Destroy(msg);
	}
	return NULL;
}

/*
 * Subscribe to the bucket's stream: last value per key, then changes. The
 * replay is complete after the message with no more pending, or at once when
 * the consumer had nothing to deliver when it was created.
 */
static int subscribe_bucket(struct bus *b, struct watch *w)
{
	char subject[256], stream[256];
	jsConsumerInfo *ci = NULL;
	jsSubOptions so;
	natsStatus s;

	w->next_seq = 1;
	w->is_empty = false;
	snprintf(subject, sizeof(subject), "$KV.%s.%s", bucket_names[w->bucket], w->keys);
	snprintf(stream, sizeof(stream), "KV_%s", bucket_names[w->bucket]);
	w->prefix_len = strlen("$KV.") + strlen(bucket_names[w->bucket]) + 1;
	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Config.DeliverPolicy = js_DeliverLastPerSubject;
	/*
	 * What the server saw of kvWatcher's ordered consumer, without libnats'
	 * reset thread: flow control and idle heartbeats keep the server from
	 * pushing without bound to a client that stopped reading (or vanished).
	 */
	so.Config.AckPolicy = js_AckNone;
	so.Config.MaxDeliver = 1;
	so.Config.FlowControl = true;
	so.Config.Heartbeat = WATCH_HEARTBEAT_NS;
	so.Config.MemoryStorage = true;
	so.Config.Replicas = 1;
	s = js_SubscribeSync(&w->sub, b->js, subject, NULL, &so, NULL);
	/* A replay can be large: never drop it as a slow consumer. */
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(w->sub, -1, -1);
	if (s == NATS_OK)
		s = natsSubscription_GetConsumerInfo(&ci, w->sub, NULL, NULL);
	if (s == NATS_OK)
		w->is_empty = ci->NumPending == 0 && ci->Delivered.Consumer == 0;
	jsConsumerInfo_Destroy(ci);
	if (s != NATS_OK)
		drop_sub(w);
	return nats_err(s);
}

static int start_watch(struct bus *b, enum bus_bucket bucket, const char *keys)
{
	struct watch *w;
	int err;

	if (b->n_watches == BUS_MAX_WATCHES)
		return -ENOSPC;
	w = &b->watch[b->n_watches];
	memset(w, 0, sizeof(*w));
	w->keys = strdup(keys);
	if (!w->keys)
		return -ENOMEM;
	b->n_watches++; /* stop_watches() frees it, running or not */
	w->bus = b;
	w->bucket = bucket;
	w->is_replayed = false;
	atomic_store(&w->is_stopping, false);
	err = subscribe_bucket(b, w);
	if (err)
		return err;
	err = -pthread_create(&w->thread, NULL, watch_thread, w);
	if (err) {
		drop_sub(w);
		return err;
	}
	w->is_running = true;
	return 0;
}

/* See bus.h. */
int bus_watch(struct bus *b, bus_kv_fn fn, void *ctx)
{
	unsigned int k;
	int i, err = 0;

	if (!bus_is_connected(b))
		return -ENOTCONN;
	stop_watches(b);
	b->kv_fn = fn;
	b->kv_ctx = ctx;
	/* every watcher counted before any starts, so no marker goes out early */
	for (i = 0; i < BUS_BUCKET_NR; i++) {
		b->n_watch_of[i] = 0;
		atomic_store(&b->n_replayed[i], 0);
	}
	for (i = 0; i < BUS_BUCKET_NR && !err; i++)
		err = open_bucket(b, (enum bus_bucket)i);
	for (i = 0; i < BUS_BUCKET_NR && !err; i++)
		b->n_watch_of[i] = b->n_keys[i] ? b->n_keys[i] : 1;
	for (i = 0; i < BUS_BUCKET_NR && !err; i++) {
		for (k = 0; !err && k < (b->n_keys[i] ? b->n_keys[i] : 1); k++)
			err = start_watch(b, (enum bus_bucket)i, b->n_keys[i] ? b->keys[i][k] : ">");
		if (err)
			pr_warn("bus: watch bucket %s: %s", bucket_names[i], strerror(-err));
	}
	return err;
}

/* See bus.h. */
int bus_set_watch_keys(struct bus *b, enum bus_bucket bucket, const char *const *patterns,
		       size_t n)
{
	char *copy[BUS_MAX_KEY_PATTERNS] = {0};
	size_t i;

	if ((unsigned int)bucket >= BUS_BUCKET_NR || n > BUS_MAX_KEY_PATTERNS)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		copy[i] = strdup(patterns[i]);
		if (!copy[i]) {
			for (i = 0; i < n; i++)
				free(copy[i]);
			return -ENOMEM;
		}
	}
	for (i = 0; i < b->n_keys[bucket]; i++)
		free(b->keys[bucket][i]);
	memcpy(b->keys[bucket], copy, sizeof(copy));
	b->n_keys[bucket] = (unsigned int)n;
	return 0;
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct sub_ctx *sc = closure;

	(void)nc;
	(void)sub;
	sc->fn(sc->ctx, natsMsg_GetSubject(msg), natsMsg_GetData(msg),
	       (size_t)natsMsg_GetDataLength(msg));
	natsMsg_Destroy(msg);
}

/* See bus.h. */
int bus_subscribe(struct bus *b, const char *subject, bus_msg_fn fn, void *ctx)
{
	natsSubscription *sub = NULL;
	struct sub_ctx *sc;
	natsStatus s;

	if (b->n_subs == BUS_MAX_SUBS)
		return -ENOSPC;
	sc = &b->sub_ctx[b->n_subs];
	sc->fn = fn;
	sc->ctx = ctx;
	s = natsConnection_Subscribe(&sub, b->nc, subject, on_msg, sc);
	if (s != NATS_OK)
		return nats_err(s);
	/* Kept until bus_close: destroying it would remove the interest. */
	b->subs[b->n_subs++] = sub;
	/* A PING/PONG after the SUB: the server has the interest once it answers. */
	return nats_err(natsConnection_FlushTimeout(b->nc, 2000));
}

/* See bus.h. */
int bus_publish(struct bus *b, const char *subject, const void *data, size_t len)
{
	return nats_err(natsConnection_Publish(b->nc, subject, data, (int)len));
}

/* The checks every KV call starts with, then the bucket opened: 0 or -errno. */
static int kv_ready(struct bus *b, enum bus_bucket bucket, const char *key)
{
	if ((unsigned int)bucket >= BUS_BUCKET_ALL || !bus_is_valid_key(key))
		return -EINVAL;
	if (!bus_is_connected(b))
		return -ENOTCONN;
	return open_bucket(b, bucket);
}

/* See bus.h. */
int bus_kv_put(struct bus *b, enum bus_bucket bucket, const char *key, const void *data, size_t len,
	       uint64_t *rev)
{
	int err = len > INT32_MAX ? -EINVAL : kv_ready(b, bucket, key);

	if (err)
		return err;
	if (!data)
		return nats_err(kvStore_Delete(b->kv[bucket], key));
	return nats_err(kvStore_Put(rev, b->kv[bucket], key, data, (int)len));
}

/* See bus.h. */
int bus_kv_get(struct bus *b, enum bus_bucket bucket, const char *key, char **data, size_t *len,
	       uint64_t *rev)
{
	int err = kv_ready(b, bucket, key);
	kvEntry *e = NULL;
	natsStatus s;
	size_t n;

	if (err)
		return err;
	s = kvStore_Get(&e, b->kv[bucket], key);
	if (s != NATS_OK)
		return nats_err(s);
	n = (size_t)kvEntry_ValueLen(e);
	*data = malloc(n + 1);
	if (!*data) {
		kvEntry_Destroy(e);
		return -ENOMEM;
	}
	if (n)
		memcpy(*data, kvEntry_Value(e), n);
	(*data)[n] = '\0';
	*len = n;
	if (rev)
		*rev = kvEntry_Revision(e);
	kvEntry_Destroy(e);
	return 0;
}

/* See bus.h. */
int bus_kv_keys(struct bus *b, enum bus_bucket bucket, const char *pattern, char ***keys,
		size_t *n)
{
	char filter[512], stream[128];
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	kvEntry *e = NULL;
	const char *key;
	size_t prefix;
	char **out;
	jsOptions o;
	natsStatus s;
	int i, err;

	*keys = NULL;
	*n = 0;
	if ((unsigned int)bucket >= BUS_BUCKET_ALL || !pattern || !*pattern ||
	    strlen(pattern) > 400)
		return -EINVAL;
	if (!bus_is_connected(b))
		return -ENOTCONN;
	err = open_bucket(b, bucket);
	if (err)
		return err;
	jsOptions_Init(&o);
	snprintf(filter, sizeof(filter), "$KV.%s.%s", bucket_names[bucket], pattern);
	snprintf(stream, sizeof(stream), "KV_%s", bucket_names[bucket]);
	prefix = strlen("$KV.") + strlen(bucket_names[bucket]) + 1;
	o.Stream.Info.SubjectsFilter = filter;
	s = js_GetStreamInfo(&si, b->js, stream, &o, &jerr);
	if (s != NATS_OK)
		return nats_err(s);
	out = si->State.Subjects ? calloc((size_t)si->State.Subjects->Count + 1, sizeof(*out))
				 : calloc(1, sizeof(*out));
	err = out ? 0 : -ENOMEM;
	for (i = 0; !err && si->State.Subjects && i < si->State.Subjects->Count; i++) {
		key = si->State.Subjects->List[i].Subject;
		if (strlen(key) <= prefix)
			continue;
		key += prefix;
		/* the stream keeps a deleted key's marker: only live keys count */
		s = kvStore_Get(&e, b->kv[bucket], key);
		kvEntry_Destroy(e);
		e = NULL;
		if (s == NATS_NOT_FOUND)
			continue;
		if (s != NATS_OK) {
			err = nats_err(s);
			break;
		}
		out[*n] = strdup(key);
		if (!out[*n])
			err = -ENOMEM;
		else
			(*n)++;
	}
	jsStreamInfo_Destroy(si);
	if (err) {
		bus_kv_keys_free(out, *n);
		*n = 0;
		return err;
	}
	*keys = out;
	return 0;
}

/* See bus.h. */
void bus_kv_keys_free(char **keys, size_t n)
{
	size_t i;

	for (i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
}

/* See bus.h. */
int bus_kv_purge(struct bus *b, enum bus_bucket bucket, const char *key)
{
	int err = kv_ready(b, bucket, key);

	return err ? err : nats_err(kvStore_Purge(b->kv[bucket], key, NULL));
}

/* See bus.h. */
int bus_kv_cas(struct bus *b, enum bus_bucket bucket, const char *key, const void *data, size_t len,
	       uint64_t last_rev, uint64_t *rev)
{
	int err = !data || len > INT32_MAX ? -EINVAL : kv_ready(b, bucket, key);
	natsStatus s;

	if (err)
		return err;
	/* Both send the expected last subject sequence: the server decides, atomically. */
	if (last_rev)
		s = kvStore_Update(rev, b->kv[bucket], key, data, (int)len, last_rev);
	else
		s = kvStore_Create(rev, b->kv[bucket], key, data, (int)len);
	if (s == NATS_OK)
		return 0;
	/* The server's "wrong last sequence" (10071) or "key exists". */
	return s == NATS_ERR ? -ESTALE : nats_err(s);
}
