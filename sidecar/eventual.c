// SPDX-License-Identifier: GPL-2.0-only
/* Eventual mode: HLC last-writer-wins replication over NATS; see eventual.h. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eventual.h"
#include "hlc.h"
#include "../control/log.h"

#define EV_BATCH_BYTES (256u << 10) /* one anti-entropy message, well under max_payload */
#define EV_ORIGIN_MAX 128
#define EV_MAX_PEERS 64
#define EV_STRONG_WAIT_MS 2000 /* a strong write waits this long for every live peer */

struct ev_peer {
	char name[EV_ORIGIN_MAX];
	uint64_t seen_ms;
};

struct ev_entry {
	struct ev_entry *next;
	char *key;
	char *value; /* NULL: tombstone */
	size_t len;
	uint64_t ts;
	char origin[EV_ORIGIN_MAX];
};

struct ev_map {
	struct ev_entry **slots;
	size_t nr_slots;
	size_t nr;
};

struct eventual {
	struct ev_map *map;
	pthread_mutex_t lock; /* map */
	struct hlc clock;
	struct ev_peer peers[EV_MAX_PEERS]; /* under lock */
	unsigned int nr_peers;
	natsConnection *nc;
	natsSubscription *sub_put, *sub_sync, *sub_dump;
	pthread_t syncer;
	atomic_bool is_stopping;
	atomic_bool is_dirty; /* changed since the last snapshot */
	bool has_syncer;
	char snap_path[2048]; /* "" when there is no state directory */
	unsigned int sync_ms;
	char replica[EV_ORIGIN_MAX];
	char subj_put[200], subj_sync[200], subj_dump[400];
};

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static struct ev_entry **find_slot(struct ev_map *m, const char *key)
{
	struct ev_entry **pp =
		&m->slots[fnv1a(key, strlen(key), 0xcbf29ce484222325ULL) % m->nr_slots];

	while (*pp && strcmp((*pp)->key, key))
		pp = &(*pp)->next;
	return pp;
}

/* Allocate an empty map. Returns NULL when out of memory. */
struct ev_map *ev_map_new(void)
{
	struct ev_map *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->nr_slots = 1024;
	m->slots = calloc(m->nr_slots, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

/* Free the map and every entry. NULL-safe. */
void ev_map_free(struct ev_map *m)
{
	struct ev_entry *e, *next;
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr_slots; i++) {
		for (e = m->slots[i]; e; e = next) {
			next = e->next;
			free(e->key);
			free(e->value);
			free(e);
		}
	}
	free(m->slots);
	free(m);
}

static void grow(struct ev_map *m)
{
	size_t n = m->nr_slots * 2, i, h;
	struct ev_entry **slots = calloc(n, sizeof(*slots)), *e, *next;

	if (!slots)
		return; /* keep the longer chains */
	for (i = 0; i < m->nr_slots; i++) {
		for (e = m->slots[i]; e; e = next) {
			next = e->next;
			h = fnv1a(e->key, strlen(e->key), 0xcbf29ce484222325ULL) % n;
			e->next = slots[h];
			slots[h] = e;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->nr_slots = n;
}

static int set_entry(struct ev_entry *e, const char *value, size_t len, uint64_t ts,
		     const char *origin)
{
	char *copy = NULL;

	if (value) {
		copy = malloc(len + 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, value, len);
		copy[len] = '\0';
	}
	free(e->value);
	e->value = copy;
	e->len = value ? len : 0;
	e->ts = ts;
	snprintf(e->origin, sizeof(e->origin), "%s", origin);
	return 0;
}

/* Keep the LWW-greater version; see eventual.h. */
int ev_map_merge(struct ev_map *m, const char *key, const char *value, size_t len, uint64_t ts,
		 const char *origin)
{
	struct ev_entry **pp = find_slot(m, key), *e = *pp;
	int err;

	if (e)
		return lww_compare(ts, origin, e->ts, e->origin) > 0
			       ? (set_entry(e, value, len, ts, origin) ?: 1)
			       : 0;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key)))
		goto err_free;
	err = set_entry(e, value, len, ts, origin);
	if (err)
		goto err_free;
	*pp = e;
	if (++m->nr > m->nr_slots)
		grow(m);
	return 1;
err_free:
	if (e)
		free(e->key);
	free(e);
	return -ENOMEM;
}

/* A copy of the live value; see eventual.h. */
int ev_map_get(struct ev_map *m, const char *key, char **value, size_t *len, uint64_t *ts)
{
	struct ev_entry *e = *find_slot(m, key);

	if (!e || !e->value)
		return -ENOENT;
	*value = malloc(e->len + 1);
	if (!*value)
		return -ENOMEM;
	memcpy(*value, e->value, e->len + 1);
	*len = e->len;
	*ts = e->ts;
	return 0;
}

/* XOR of per-entry hashes: the same set gives the same digest in any order. */
uint64_t ev_map_digest(struct ev_map *m)
{
	struct ev_entry *e;
	uint64_t d = 0, h;
	size_t i;

	for (i = 0; i < m->nr_slots; i++) {
		for (e = m->slots[i]; e; e = e->next) {
			h = fnv1a(e->key, strlen(e->key) + 1, 0xcbf29ce484222325ULL);
			h = fnv1a(&e->ts, sizeof(e->ts), h);
			d ^= fnv1a(e->origin, strlen(e->origin), h);
		}
	}
	return d;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Remember that replica origin is alive (called with ev->lock held). */
static void note_peer(struct eventual *ev, const char *origin)
{
	unsigned int i, oldest = 0;

	if (!strcmp(origin, ev->replica))
		return;
	for (i = 0; i < ev->nr_peers; i++) {
		if (!strcmp(ev->peers[i].name, origin))
			goto seen;
		if (ev->peers[i].seen_ms < ev->peers[oldest].seen_ms)
			oldest = i;
	}
	i = ev->nr_peers < EV_MAX_PEERS ? ev->nr_peers++ : oldest;
	snprintf(ev->peers[i].name, sizeof(ev->peers[i].name), "%s", origin);
seen:
	ev->peers[i].seen_ms = mono_ms();
}

/* Peers heard from within three anti-entropy periods. */
static unsigned int live_peers(struct eventual *ev)
{
	uint64_t now = mono_ms();
	unsigned int i, n = 0;

	pthread_mutex_lock(&ev->lock);
	for (i = 0; i < ev->nr_peers; i++)
		n += now - ev->peers[i].seen_ms <= 3ULL * ev->sync_ms;
	pthread_mutex_unlock(&ev->lock);
	return n;
}

static json_t *entry_json(const char *key, const char *value, size_t len, uint64_t ts,
			  const char *origin)
{
	json_t *o = json_pack("{s:s,s:I,s:s}", "k", key, "t", (json_int_t)ts, "o", origin);

	if (o && value)
		json_object_set_new(o, "v", json_stringn(value, len));
	return o;
}

/* Merge one {"k","t","o","v"?} and advance the clock; the caller holds ev->lock. */
static void merge_json_locked(struct eventual *ev, json_t *o)
{
	const char *key = NULL, *origin = NULL, *value = NULL;
	json_int_t ts = 0;
	size_t len = 0;
	json_t *v;

	if (json_unpack(o, "{s:s,s:I,s:s}", "k", &key, "t", &ts, "o", &origin) || ts <= 0)
		return;
	v = json_object_get(o, "v");
	if (json_is_string(v)) {
		value = json_string_value(v);
		len = json_string_length(v);
	}
	hlc_observe(&ev->clock, (uint64_t)ts);
	if (ev_map_merge(ev->map, key, value, len, (uint64_t)ts, origin) == 1)
		atomic_store(&ev->is_dirty, true);
	note_peer(ev, origin);
}

static void on_put(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	json_t *o = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL);
	struct eventual *ev = closure;
	size_t i;
	json_t *e;

	(void)nc;
	(void)sub;
	/* One lock for a whole array: a transaction becomes visible at once. */
	pthread_mutex_lock(&ev->lock);
	if (json_is_array(o))
		json_array_foreach (o, i, e)
			merge_json_locked(ev, e);
	else if (o)
		merge_json_locked(ev, o);
	pthread_mutex_unlock(&ev->lock);
	/* A strong write asks every replica to confirm it has merged it. */
	if (o && natsMsg_GetReply(msg))
		natsConnection_PublishString(ev->nc, natsMsg_GetReply(msg), ev->replica);
	json_decref(o);
	natsMsg_Destroy(msg);
}

static void send_batch(struct eventual *ev, const char *subj, json_t *batch)
{
	char *s = json_dumps(batch, JSON_COMPACT);

	if (s)
		natsConnection_PublishString(ev->nc, subj, s);
	free(s);
	json_array_clear(batch);
}

/* Send our whole state to subj in batches of about EV_BATCH_BYTES. */
static void dump_state(struct eventual *ev, const char *subj)
{
	json_t *batch = json_array();
	struct ev_entry *e;
	size_t i, bytes = 0;

	pthread_mutex_lock(&ev->lock);
	for (i = 0; batch && i < ev->map->nr_slots; i++) {
		for (e = ev->map->slots[i]; e; e = e->next) {
			json_array_append_new(
				batch, entry_json(e->key, e->value, e->len, e->ts, e->origin));
			bytes += strlen(e->key) + e->len + 64;
			if (bytes >= EV_BATCH_BYTES) {
				send_batch(ev, subj, batch);
				bytes = 0;
			}
		}
	}
	pthread_mutex_unlock(&ev->lock);
	if (batch && json_array_size(batch))
		send_batch(ev, subj, batch);
	json_decref(batch);
}

/* A sync request {"o": asker, "d": digest, "r": reply subject}: answer if we differ. */
static void on_sync(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	json_t *o = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL);
	struct eventual *ev = closure;
	const char *origin = NULL, *reply = NULL;
	json_int_t digest = 0;
	uint64_t mine;

	(void)nc;
	(void)sub;
	if (o && !json_unpack(o, "{s:s,s:I,s:s}", "o", &origin, "d", &digest, "r", &reply) &&
	    strcmp(origin, ev->replica)) {
		pthread_mutex_lock(&ev->lock);
		note_peer(ev, origin);
		mine = ev_map_digest(ev->map);
		pthread_mutex_unlock(&ev->lock);
		if (mine != (uint64_t)digest)
			dump_state(ev, reply);
	}
	json_decref(o);
	natsMsg_Destroy(msg);
}

static void ask_sync(struct eventual *ev)
{
	json_t *o;
	char *s;
	uint64_t d;

	pthread_mutex_lock(&ev->lock);
	d = ev_map_digest(ev->map);
	pthread_mutex_unlock(&ev->lock);
	o = json_pack("{s:s,s:I,s:s}", "o", ev->replica, "d", (json_int_t)d, "r", ev->subj_dump);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s)
		natsConnection_PublishString(ev->nc, ev->subj_sync, s);
	free(s);
	json_decref(o);
}

/*
 * Write the whole map to snap_path (temporary file, fsync, rename), so a
 * replica that restarts, or the only replica of a standalone sidecar, starts
 * from what it had; anti-entropy brings it the rest.
 */
static void save_snapshot(struct eventual *ev)
{
	char tmp[2100];
	json_t *all = json_array();
	struct ev_entry *e;
	FILE *f;
	size_t i;

	if (!ev->snap_path[0] || !all || !atomic_exchange(&ev->is_dirty, false))
		goto out;
	pthread_mutex_lock(&ev->lock);
	for (i = 0; i < ev->map->nr_slots; i++)
		for (e = ev->map->slots[i]; e; e = e->next)
			json_array_append_new(
				all, entry_json(e->key, e->value, e->len, e->ts, e->origin));
	pthread_mutex_unlock(&ev->lock);
	snprintf(tmp, sizeof(tmp), "%s.tmp", ev->snap_path);
	f = fopen(tmp, "w");
	if (!f || json_dumpf(all, f, JSON_COMPACT) || fflush(f) || fsync(fileno(f))) {
		pr_warn("sidecar: snapshot %s: %s", tmp, strerror(errno));
		atomic_store(&ev->is_dirty, true);
	}
	if (f && !fclose(f) && rename(tmp, ev->snap_path))
		pr_warn("sidecar: rename %s: %s", tmp, strerror(errno));
out:
	json_decref(all);
}

static void load_snapshot(struct eventual *ev)
{
	const char *key = NULL, *origin = NULL;
	json_t *all = json_load_file(ev->snap_path, 0, NULL), *o, *v;
	json_int_t ts = 0;
	size_t i;

	json_array_foreach (all, i, o) {
		if (json_unpack(o, "{s:s,s:I,s:s}", "k", &key, "t", &ts, "o", &origin) || ts <= 0)
			continue;
		v = json_object_get(o, "v");
		ev_map_merge(ev->map, key, json_string_value(v), json_string_length(v),
			     (uint64_t)ts, origin);
		hlc_observe(&ev->clock, (uint64_t)ts);
	}
	json_decref(all);
}

static void *syncer_main(void *arg)
{
	struct eventual *ev = arg;
	unsigned int waited = 0;

	ask_sync(ev);
	while (!atomic_load(&ev->is_stopping)) {
		usleep(50000);
		waited += 50;
		if (waited >= ev->sync_ms) {
			ask_sync(ev);
			save_snapshot(ev);
			waited = 0;
		}
	}
	return NULL;
}

static int ev_get(void *impl, const char *key, bool is_strong, char **val, size_t *len,
		  char etag[STORE_ETAG_MAX])
{
	struct eventual *ev = impl;
	uint64_t ts = 0;
	int err;

	(void)is_strong; /* reads are local; see docs/sidecar.md */
	pthread_mutex_lock(&ev->lock);
	err = ev_map_get(ev->map, key, val, len, &ts);
	pthread_mutex_unlock(&ev->lock);
	if (!err)
		snprintf(etag, STORE_ETAG_MAX, "%" PRIu64, ts);
	return err;
}

/* The local precondition of a conditional write (checked on this replica only). */
static int check_local(struct eventual *ev, const struct store_write *w)
{
	unsigned long long want = 0;
	struct ev_entry *e = *find_slot(ev->map, w->key);
	bool is_live = e && e->value;

	if (w->etag && *w->etag) {
		if (store_etag_parse(w->etag, &want))
			return -EINVAL;
		return is_live && e->ts == want ? 0 : -ECANCELED;
	}
	if (w->is_first_write && w->value && is_live)
		return -ECANCELED;
	return 0;
}

/*
 * Publish a write and wait until every live peer confirmed it merged it
 * (Dapr's strong consistency for a replicated store: all replicas ack).
 * Returns 0, or -ETIMEDOUT when some peer did not confirm in time (the
 * write stays applied here and still converges).
 */
static int publish_confirmed(struct eventual *ev, const char *s)
{
	unsigned int want = live_peers(ev), got = 0;
	uint64_t deadline = mono_ms() + EV_STRONG_WAIT_MS, now;
	natsSubscription *sub = NULL;
	natsInbox *inbox = NULL;
	natsMsg *m = NULL;
	int err = -ENOTCONN;

	if (natsInbox_Create(&inbox) != NATS_OK)
		return -ENOMEM;
	if (natsConnection_SubscribeSync(&sub, ev->nc, inbox) != NATS_OK ||
	    natsConnection_PublishRequestString(ev->nc, ev->subj_put, inbox, s) != NATS_OK)
		goto out;
	while (got < want && (now = mono_ms()) < deadline) {
		if (natsSubscription_NextMsg(&m, sub, (int64_t)(deadline - now)) != NATS_OK)
			break;
		/* Our own subscription answers too; count the others. */
		got += strcmp(natsMsg_GetData(m), ev->replica) != 0;
		natsMsg_Destroy(m);
	}
	err = got >= want ? 0 : -ETIMEDOUT;
out:
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	return err;
}

static int ev_write(void *impl, const struct store_write *w, char etag[STORE_ETAG_MAX])
{
	struct eventual *ev = impl;
	json_t *o = NULL;
	char *s = NULL;
	uint64_t ts;
	int err;

	pthread_mutex_lock(&ev->lock);
	err = check_local(ev, w);
	if (!err) {
		ts = hlc_now(&ev->clock);
		err = ev_map_merge(ev->map, w->key, w->value, w->len, ts, ev->replica);
		err = err < 0 ? err : 0;
		atomic_store(&ev->is_dirty, true);
	}
	pthread_mutex_unlock(&ev->lock);
	if (err)
		return err;
	o = entry_json(w->key, w->value, w->len, ts, ev->replica);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s && w->is_strong)
		err = publish_confirmed(ev, s);
	else if (!s || natsConnection_PublishString(ev->nc, ev->subj_put, s) != NATS_OK)
		pr_debug("sidecar: publish %s failed; anti-entropy will carry it", ev->subj_put);
	free(s);
	json_decref(o);
	if (etag && !err)
		snprintf(etag, STORE_ETAG_MAX, "%" PRIu64, ts);
	return err;
}

/* Check every condition, then apply all under one lock; (*out) the published entries. */
static int txn_apply(struct eventual *ev, const struct store_write *ws, size_t n, size_t *bad,
		     json_t *out)
{
	size_t i;
	uint64_t ts;
	int err = 0;

	pthread_mutex_lock(&ev->lock);
	for (i = 0; i < n && !err; i++) {
		*bad = i;
		err = check_local(ev, &ws[i]);
	}
	for (i = 0; i < n && !err; i++) {
		ts = hlc_now(&ev->clock); /* increasing: a later operation on a key wins */
		err = ev_map_merge(ev->map, ws[i].key, ws[i].value, ws[i].len, ts, ev->replica);
		err = err < 0 ? err : 0;
		if (!err && json_array_append_new(out, entry_json(ws[i].key, ws[i].value, ws[i].len,
								  ts, ev->replica)))
			err = -ENOMEM;
	}
	if (n && !err)
		atomic_store(&ev->is_dirty, true);
	pthread_mutex_unlock(&ev->lock);
	return err;
}

/*
 * A transaction on this replica: conditions checked against its copy, all
 * operations applied under one lock and published as one message that
 * every replica merges under one lock (atomic visibility per replica).
 */
static int ev_txn(void *impl, const struct store_write *ws, size_t n, size_t *bad)
{
	struct eventual *ev = impl;
	json_t *batch = json_array();
	bool is_strong = false;
	size_t i, bytes = 0;
	char *s = NULL;
	int err;

	*bad = 0;
	for (i = 0; i < n; i++) {
		bytes += strlen(ws[i].key) + ws[i].len + 64;
		is_strong |= ws[i].is_strong;
	}
	if (!batch)
		return -ENOMEM;
	err = bytes > STORE_VALUE_MAX ? -E2BIG : txn_apply(ev, ws, n, bad, batch);
	s = err ? NULL : json_dumps(batch, JSON_COMPACT);
	if (s && is_strong)
		err = publish_confirmed(ev, s);
	else if (!err && (!s || natsConnection_PublishString(ev->nc, ev->subj_put, s) != NATS_OK))
		pr_debug("sidecar: publish %s failed; anti-entropy will carry it", ev->subj_put);
	free(s);
	json_decref(batch);
	return err;
}

static void ev_close(void *impl)
{
	struct eventual *ev = impl;

	if (!ev)
		return;
	atomic_store(&ev->is_stopping, true);
	if (ev->has_syncer)
		pthread_join(ev->syncer, NULL);
	save_snapshot(ev);
	natsSubscription_Unsubscribe(ev->sub_put);
	natsSubscription_Unsubscribe(ev->sub_sync);
	natsSubscription_Unsubscribe(ev->sub_dump);
	natsSubscription_Destroy(ev->sub_put);
	natsSubscription_Destroy(ev->sub_sync);
	natsSubscription_Destroy(ev->sub_dump);
	ev_map_free(ev->map);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

static const struct store_ops eventual_ops = {
	.get = ev_get,
	.write = ev_write,
	.txn = ev_txn,
	.close = ev_close,
	.mode = "eventual",
};

/* Subscribe, then ask peers for their state; see eventual.h. */
int eventual_open(natsConnection *nc, const char *bucket, const char *replica, unsigned int sync_ms,
		  const char *state_dir, struct store *out)
{
	struct eventual *ev = calloc(1, sizeof(*ev));
	char safe[EV_ORIGIN_MAX];
	natsStatus s;

	if (!ev || !(ev->map = ev_map_new())) {
		free(ev);
		return -ENOMEM;
	}
	pthread_mutex_init(&ev->lock, NULL);
	hlc_init(&ev->clock);
	ev->nc = nc;
	ev->sync_ms = sync_ms ? sync_ms : 2000;
	snprintf(ev->replica, sizeof(ev->replica), "%s", replica);
	store_safe_name(replica, safe, sizeof(safe));
	snprintf(ev->subj_put, sizeof(ev->subj_put), "bm.ev.%s.put", bucket);
	snprintf(ev->subj_sync, sizeof(ev->subj_sync), "bm.ev.%s.sync", bucket);
	snprintf(ev->subj_dump, sizeof(ev->subj_dump), "bm.ev.%s.dump.%s", bucket, safe);
	if (state_dir) {
		snprintf(ev->snap_path, sizeof(ev->snap_path), "%s/eventual-%s.json", state_dir,
			 bucket);
		load_snapshot(ev);
	}
	s = natsConnection_Subscribe(&ev->sub_put, nc, ev->subj_put, on_put, ev);
	if (s == NATS_OK)
		s = natsConnection_Subscribe(&ev->sub_dump, nc, ev->subj_dump, on_put, ev);
	if (s == NATS_OK)
		s = natsConnection_Subscribe(&ev->sub_sync, nc, ev->subj_sync, on_sync, ev);
	if (s == NATS_OK)
		natsConnection_FlushTimeout(nc, 2000);
	if (s != NATS_OK) {
		pr_warn("sidecar: subscribe %s: %s", ev->subj_put, natsStatus_GetText(s));
		ev_close(ev);
		return -ENOTCONN;
	}
	ev->has_syncer = !pthread_create(&ev->syncer, NULL, syncer_main, ev);
	out->ops = &eventual_ops;
	out->impl = ev;
	return 0;
}
