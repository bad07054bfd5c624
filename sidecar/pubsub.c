// SPDX-License-Identifier: GPL-2.0-only
/* Dapr pub-sub over JetStream, at least once; see pubsub.h. */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../control/log.h"
#include "appclient.h"
#include "pubsub.h"
#include "store.h"

#define PS_MAX_SUBS 32
#define PS_WAIT_MS 5000 /* JetStream API and publish acknowledgement */
#define PS_FETCH_MS 500 /* one pull; also how fast a delivery thread notices stop */
#define PS_FETCH_BATCH 16
#define PS_MAX_AGE_NS (24LL * 3600 * 1000 * 1000 * 1000)
#define PS_MAX_MSGS 1000000
#define PS_DUP_WINDOW_NS (120LL * 1000 * 1000 * 1000)

struct ps_sub {
	struct pubsub *ps;
	natsSubscription *sub;
	pthread_t thread;
	bool has_thread;
	char name[64], topic[128], route[256], dead_letter[128];
	char durable[200];
};

struct pubsub {
	struct pubsub_config cfg;
	natsConnection *nc;
	jsCtx *js;
	pthread_mutex_t lock; /* subs, nr_subs */
	struct ps_sub subs[PS_MAX_SUBS];
	unsigned int nr_subs;
	char names[256];
	char ns[64];
	pthread_t discover;
	bool has_discover;
	atomic_bool is_stopping;
};

static bool has_name(const struct pubsub *ps, const char *name)
{
	size_t n = strlen(name);
	const char *p = ps->names;

	while (*p) {
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	return false;
}

static int subject_of(const struct pubsub *ps, const char *name, const char *topic, char *out,
		      size_t size)
{
	char enc[256], safe[64];
	int n;

	store_safe_name(name, safe, sizeof(safe));
	if (store_key_encode(topic, enc, sizeof(enc)))
		return -EINVAL;
	n = snprintf(out, size, "bm.ps.%s.%s.%s", ps->ns, safe, enc);
	return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}

static void stream_of(const struct pubsub *ps, const char *name, char *out, size_t size)
{
	char raw[160];

	snprintf(raw, sizeof(raw), "BMPS_%s_%s", ps->ns, name);
	store_safe_name(raw, out, size);
}

/*
 * Create (or find) the component's stream: every topic of the namespace's
 * component, file storage, kept 24 h (at most PS_MAX_MSGS messages), so
 * an event waits for subscribers that are down. Replicas as configured,
 * falling back to 1 on a server that is not clustered (or too small).
 */
static int ensure_stream(struct pubsub *ps, const char *name)
{
	char stream[160], safe[64], subj[200];
	const char *subjects[1] = {subj};
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	jsErrCode jerr = 0;
	natsStatus s;

	stream_of(ps, name, stream, sizeof(stream));
	store_safe_name(name, safe, sizeof(safe));
	snprintf(subj, sizeof(subj), "bm.ps.%s.%s.>", ps->ns, safe);
	jsStreamConfig_Init(&sc);
	sc.Name = stream;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.MaxAge = PS_MAX_AGE_NS;
	sc.MaxMsgs = PS_MAX_MSGS;
	sc.Duplicates = PS_DUP_WINDOW_NS;
	sc.Replicas = ps->cfg.replicas > 0 ? ps->cfg.replicas : 1;
	if (js_GetStreamInfo(&si, ps->js, stream, NULL, &jerr) == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0; /* made earlier, by us or another sidecar */
	}
	si = NULL;
	jerr = 0;
	s = js_AddStream(&si, ps->js, &sc, NULL, &jerr);
	if (s != NATS_OK && sc.Replicas > 1 &&
	    (jerr == JSStreamReplicasNotSupportedErr || jerr == JSClusterNoPeersErr ||
	     jerr == JSInsufficientResourcesErr)) {
		pr_warn("sidecar: pub-sub stream %s: R%d not possible here, using R1", stream,
			(int)sc.Replicas);
		sc.Replicas = 1;
		jerr = 0;
		s = js_AddStream(&si, ps->js, &sc, NULL, &jerr);
	}
	jsStreamInfo_Destroy(si);
	if (s == NATS_OK || jerr == JSStreamNameExistErr)
		return 0;
	pr_warn("sidecar: create pub-sub stream %s: %s (%d)", stream, natsStatus_GetText(s),
		(int)jerr);
	return -ENOTCONN;
}

/* RFC 3339 UTC time with milliseconds, as Dapr stamps CloudEvents. */
static void now_rfc3339(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char day[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%.20s.%03dZ", day, (int)(ts.tv_nsec / 1000000) % 1000);
}

static void set_default(json_t *ev, const char *field, json_t *v)
{
	if (!json_object_get(ev, field))
		json_object_set(ev, field, v);
	json_decref(v);
}

/* A W3C traceparent with fresh ids: "00-<trace>-<span>-01". */
static void new_traceparent(char *out, size_t size)
{
	unsigned char trace[16], span[8];
	char t[33], sp[17];

	randombytes_buf(trace, sizeof(trace));
	randombytes_buf(span, sizeof(span));
	sodium_bin2hex(t, sizeof(t), trace, sizeof(trace));
	sodium_bin2hex(sp, sizeof(sp), span, sizeof(span));
	snprintf(out, size, "00-%s-%s-01", t, sp);
}

/* See pubsub.h. */
json_t *pubsub_cloudevent(const char *source, const char *name, const char *topic, const char *data,
			  size_t len, const char *content_type)
{
	char id[33], when[40], tp[64];
	unsigned char raw[16];
	json_t *ev, *d;

	if (content_type && !strncmp(content_type, "application/cloudevents+json", 28)) {
		ev = json_loadb(data, len, 0, NULL);
		if (!json_is_object(ev)) {
			json_decref(ev);
			return NULL;
		}
	} else {
		ev = json_object();
		d = json_loadb(data, len, JSON_DECODE_ANY, NULL);
		if (!d || (content_type && !strstr(content_type, "json"))) {
			json_decref(d);
			d = json_stringn(data, len);
		}
		json_object_set_new(ev, "data", d);
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
	now_rfc3339(when, sizeof(when));
	new_traceparent(tp, sizeof(tp));
	set_default(ev, "id", json_string(id));
	set_default(ev, "specversion", json_string("1.0"));
	set_default(ev, "source", json_string(source));
	set_default(ev, "type", json_string("com.dapr.event.sent"));
	set_default(ev, "datacontenttype",
		    json_string(content_type && strncmp(content_type, "application/cloudevents", 23)
					? content_type
					: "application/json"));
	set_default(ev, "time", json_string(when));
	set_default(ev, "traceparent", json_string(tp));
	set_default(ev, "traceid", json_string(json_string_value(json_object_get(ev, "traceparent"))));
	set_default(ev, "tracestate", json_string(""));
	json_object_set_new(ev, "topic", json_string(topic));
	json_object_set_new(ev, "pubsubname", json_string(name));
	return ev;
}

/*
 * Publish one serialized event on subj and wait for the stream's
 * acknowledgement; msg_id deduplicates retries within two minutes.
 */
static int publish_event(struct pubsub *ps, const char *name, const char *subj, const char *data,
			 const char *msg_id)
{
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	jsPubOptions po;
	natsStatus s;
	int tries;

	jsPubOptions_Init(&po);
	po.MaxWait = PS_WAIT_MS;
	po.MsgId = msg_id;
	for (tries = 0; tries < 2; tries++) {
		s = js_Publish(&pa, ps->js, subj, data, (int)strlen(data), &po, &jerr);
		jsPubAck_Destroy(pa);
		pa = NULL;
		if (s != NATS_NO_RESPONDERS && jerr != JSStreamNotFoundErr)
			break;
		if (ensure_stream(ps, name)) /* first publish, or the stream was removed */
			break;
	}
	if (s == NATS_OK)
		return 0;
	pr_warn("sidecar: publish on %s: %s (%d)", subj, natsStatus_GetText(s), (int)jerr);
	return s == NATS_TIMEOUT ? -ETIMEDOUT : -ENOTCONN;
}

/* Publish; see pubsub.h. */
int pubsub_publish(struct pubsub *ps, const char *name, const char *topic, const char *data,
		   size_t len, const char *content_type)
{
	char subj[512], *s;
	json_t *ev;
	int err;

	if (!has_name(ps, name))
		return -ENOENT;
	if (!*topic || subject_of(ps, name, topic, subj, sizeof(subj)))
		return -EINVAL;
	ev = pubsub_cloudevent(ps->cfg.app_id, name, topic, data, len, content_type);
	s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	if (!s) {
		json_decref(ev);
		return -EINVAL;
	}
	err = publish_event(ps, name, subj, s, json_string_value(json_object_get(ev, "id")));
	json_decref(ev);
	free(s);
	return err;
}

/* See pubsub.h. */
enum pubsub_verdict pubsub_verdict(int status, const char *body)
{
	const char *st;
	json_t *o;
	enum pubsub_verdict v;

	if (status == 404)
		return PUBSUB_DROP; /* Dapr: no such route, logged and dropped */
	if (status < 200 || status > 299)
		return PUBSUB_RETRY;
	o = body && *body ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
	st = json_string_value(json_object_get(o, "status"));
	if (!st || !strcasecmp(st, "SUCCESS"))
		v = PUBSUB_SUCCESS; /* empty or non-status body: success */
	else if (!strcasecmp(st, "DROP"))
		v = PUBSUB_DROP;
	else
		v = PUBSUB_RETRY; /* RETRY, or a status Dapr does not know */
	json_decref(o);
	return v;
}

static uint64_t delivery_count(natsMsg *m)
{
	jsMsgMetaData *meta = NULL;
	uint64_t n = 1;

	if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
		n = meta->NumDelivered;
		jsMsgMetaData_Destroy(meta);
	}
	return n;
}

/* Send an undeliverable event to the subscription's dead-letter topic. */
static int dead_letter(struct ps_sub *s, natsMsg *m)
{
	char subj[512], *data;
	json_t *ev;
	int err;

	if (subject_of(s->ps, s->name, s->dead_letter, subj, sizeof(subj)))
		return -EINVAL;
	ev = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
	if (!json_is_object(ev)) {
		json_decref(ev);
		return -EINVAL;
	}
	json_object_set_new(ev, "topic", json_string(s->dead_letter));
	data = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (!data)
		return -ENOMEM;
	err = publish_event(s->ps, s->name, subj, data, NULL);
	free(data);
	return err;
}

/*
 * Deliver one event to the app and settle it on the consumer: ack on
 * success and on DROP, negative-ack (redelivery after retry_ms) on RETRY,
 * errors and no answer; after max_deliver attempts (when set) the event
 * goes to the dead-letter topic (or is dropped) instead.
 */
static void deliver(struct ps_sub *s, natsMsg *m)
{
	const struct pubsub_config *cfg = &s->ps->cfg;
	enum pubsub_verdict v;
	char *body = NULL;
	uint64_t n = delivery_count(m);
	int status;

	status = appclient_request(cfg->app_port, "POST", s->route, "application/cloudevents+json",
				   natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m),
				   (int)cfg->ack_wait_ms, &body);
	v = pubsub_verdict(status, body);
	free(body);
	if (v == PUBSUB_RETRY && cfg->max_deliver && n >= cfg->max_deliver) {
		pr_warn("sidecar: %s/%s: %llu deliveries failed (last %d), %s", s->name, s->topic,
			(unsigned long long)n, status,
			s->dead_letter[0] ? "sent to the dead-letter topic" : "dropped");
		if (s->dead_letter[0] && dead_letter(s, m)) {
			natsMsg_NakWithDelay(m, cfg->retry_ms, NULL);
			return;
		}
		v = PUBSUB_DROP;
	}
	if (v == PUBSUB_RETRY) {
		pr_debug("sidecar: %s/%s to %s: %d, will retry", s->name, s->topic, s->route,
			 status);
		natsMsg_NakWithDelay(m, cfg->retry_ms, NULL);
		return;
	}
	if (v == PUBSUB_DROP)
		pr_warn("sidecar: %s/%s to %s: %d, dropped by the app", s->name, s->topic,
			s->route, status);
	natsMsg_Ack(m, NULL);
}

static void *deliver_main(void *arg)
{
	struct ps_sub *s = arg;
	natsMsgList list;
	jsErrCode jerr;
	natsStatus st;
	int i;

	while (!atomic_load(&s->ps->is_stopping)) {
		jerr = 0;
		st = natsSubscription_Fetch(&list, s->sub, PS_FETCH_BATCH, PS_FETCH_MS, &jerr);
		if (st == NATS_TIMEOUT)
			continue;
		if (st != NATS_OK) {
			usleep(PS_FETCH_MS * 1000); /* disconnected: the client reconnects */
			continue;
		}
		for (i = 0; i < list.Count; i++) {
			/* Left unsettled when stopping: redelivered after ack_wait_ms. */
			if (!atomic_load(&s->ps->is_stopping))
				deliver(s, list.Msgs[i]);
		}
		natsMsgList_Destroy(&list);
	}
	return NULL;
}

/*
 * The durable consumer of one subscription, shared by every replica of
 * the app (competing consumers): name from app, component and a hash of
 * the topic; new events only from the moment it is first created; each
 * event acknowledged explicitly within ack_wait_ms or delivered again.
 */
static int ensure_consumer(struct pubsub *ps, struct ps_sub *s, const char *subj,
			   const char *stream)
{
	jsConsumerInfo *ci = NULL;
	unsigned char h[8];
	char app[64], comp[64], hex[17];
	jsConsumerConfig cc;
	jsErrCode jerr = 0;
	natsStatus st;

	store_safe_name(ps->cfg.app_id, app, sizeof(app));
	store_safe_name(s->name, comp, sizeof(comp));
	crypto_generichash(h, sizeof(h), (const unsigned char *)s->topic, strlen(s->topic), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(s->durable, sizeof(s->durable), "%s_%s_%s", app, comp, hex);
	jsConsumerConfig_Init(&cc);
	cc.Durable = s->durable;
	cc.FilterSubject = subj;
	cc.AckPolicy = js_AckExplicit;
	cc.AckWait = (int64_t)ps->cfg.ack_wait_ms * 1000000;
	cc.DeliverPolicy = js_DeliverNew;
	cc.MaxAckPending = 1000;
	st = js_AddConsumer(&ci, ps->js, stream, &cc, NULL, &jerr);
	jsConsumerInfo_Destroy(ci);
	ci = NULL;
	if (st == NATS_OK)
		return 0;
	/* Another replica made it first (perhaps with other settings): use it. */
	st = js_GetConsumerInfo(&ci, ps->js, stream, s->durable, NULL, &jerr);
	jsConsumerInfo_Destroy(ci);
	return st == NATS_OK ? 0 : -ENOTCONN;
}

static int bind_sub(struct pubsub *ps, struct ps_sub *s, const char *subj)
{
	char stream[160];
	jsSubOptions so;
	jsErrCode jerr = 0;
	int err;

	stream_of(ps, s->name, stream, sizeof(stream));
	err = ensure_stream(ps, s->name);
	if (!err)
		err = ensure_consumer(ps, s, subj, stream);
	if (err)
		return err;
	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Consumer = s->durable;
	if (js_PullSubscribe(&s->sub, ps->js, subj, s->durable, NULL, &so, &jerr) != NATS_OK)
		return -ENOTCONN;
	s->has_thread = !pthread_create(&s->thread, NULL, deliver_main, s);
	return s->has_thread ? 0 : -EAGAIN;
}

/* One /dapr/subscribe entry: {pubsubname, topic, route | routes.default, deadLetterTopic}. */
static void subscribe_one(struct pubsub *ps, json_t *o)
{
	const char *name = NULL, *topic = NULL, *route = NULL, *dlq;
	char subj[512];
	struct ps_sub *s;
	json_t *routes;
	int err;

	if (json_unpack(o, "{s:s,s:s}", "pubsubname", &name, "topic", &topic))
		return;
	route = json_string_value(json_object_get(o, "route"));
	routes = json_object_get(o, "routes");
	if (!route && routes)
		route = json_string_value(json_object_get(routes, "default"));
	dlq = json_string_value(json_object_get(o, "deadLetterTopic"));
	if (!route || !has_name(ps, name) || subject_of(ps, name, topic, subj, sizeof(subj)) ||
	    strlen(topic) >= sizeof(s->topic) || (dlq && strlen(dlq) >= sizeof(s->dead_letter)) ||
	    ps->nr_subs == PS_MAX_SUBS) {
		pr_warn("sidecar: ignoring subscription to %s/%s", name, topic);
		return;
	}
	pthread_mutex_lock(&ps->lock);
	s = &ps->subs[ps->nr_subs];
	memset(s, 0, sizeof(*s));
	s->ps = ps;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	snprintf(s->dead_letter, sizeof(s->dead_letter), "%s", dlq ? dlq : "");
	snprintf(s->route, sizeof(s->route), "%s%s", route[0] == '/' ? "" : "/", route);
	err = bind_sub(ps, s, subj);
	if (!err || s->sub)
		ps->nr_subs++; /* pubsub_stop() cleans up what bind_sub() made */
	pthread_mutex_unlock(&ps->lock);
	if (err)
		pr_warn("sidecar: subscribe %s/%s: %s", name, topic, strerror(-err));
	else
		pr_info("sidecar: subscribed %s/%s -> %s (durable %s)", name, topic, s->route,
			s->durable);
}

static void *discover_main(void *arg)
{
	struct pubsub *ps = arg;
	char *body = NULL;
	json_t *arr, *o;
	size_t i;
	int status = -1, tries;

	for (tries = 0; tries < 600 && !atomic_load(&ps->is_stopping); tries++) {
		status = appclient_request(ps->cfg.app_port, "GET", "/dapr/subscribe",
					   "application/json", NULL, 0, 5000, &body);
		if (status > 0)
			break;
		usleep(100000);
	}
	if (status == 200 && body) {
		arr = json_loads(body, 0, NULL);
		json_array_foreach (arr, i, o) {
			if (atomic_load(&ps->is_stopping))
				break;
			subscribe_one(ps, o);
		}
		json_decref(arr);
	}
	free(body);
	return NULL;
}

/* Start; see pubsub.h. */
int pubsub_start(natsConnection *nc, const struct pubsub_config *cfg, struct pubsub **out)
{
	struct pubsub *ps = calloc(1, sizeof(*ps));
	jsOptions o;

	if (!ps || sodium_init() < 0) {
		free(ps);
		return -ENOMEM;
	}
	ps->cfg = *cfg;
	if (!ps->cfg.ack_wait_ms)
		ps->cfg.ack_wait_ms = 30000;
	if (!ps->cfg.retry_ms)
		ps->cfg.retry_ms = 1000;
	ps->nc = nc;
	jsOptions_Init(&o);
	o.Wait = PS_WAIT_MS;
	if (natsConnection_JetStream(&ps->js, nc, &o) != NATS_OK) {
		free(ps);
		return -ENOMEM;
	}
	pthread_mutex_init(&ps->lock, NULL);
	snprintf(ps->names, sizeof(ps->names), "%s", cfg->names ? cfg->names : "pubsub");
	store_safe_name(cfg->namespace ? cfg->namespace : "default", ps->ns, sizeof(ps->ns));
	if (cfg->app_port)
		ps->has_discover = !pthread_create(&ps->discover, NULL, discover_main, ps);
	*out = ps;
	return 0;
}

/* Stop; see pubsub.h. */
void pubsub_stop(struct pubsub *ps)
{
	unsigned int i;

	if (!ps)
		return;
	atomic_store(&ps->is_stopping, true);
	if (ps->has_discover)
		pthread_join(ps->discover, NULL);
	for (i = 0; i < ps->nr_subs; i++) {
		if (ps->subs[i].has_thread)
			pthread_join(ps->subs[i].thread, NULL);
		/* Destroy, not Unsubscribe: the durable consumer stays for the next start. */
		natsSubscription_Destroy(ps->subs[i].sub);
	}
	jsCtx_Destroy(ps->js);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
}

/* [{"name": ..., "type": "pubsub.bpfmesh", "version": "v1"}] */
json_t *pubsub_components(const struct pubsub *ps)
{
	char list[256], *save = NULL, *n;
	json_t *arr = json_array();

	snprintf(list, sizeof(list), "%s", ps->names);
	for (n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save))
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "name", n, "type",
						     "pubsub.bpfmesh", "version", "v1"));
	return arr;
}

/* [{"pubsubname", "topic", "rules": {"rules": [{"path": route}]}}] as Dapr lists them. */
json_t *pubsub_subscriptions(struct pubsub *ps)
{
	json_t *arr = json_array();
	unsigned int i;

	pthread_mutex_lock(&ps->lock);
	for (i = 0; i < ps->nr_subs; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:{s:[{s:s}]}}", "pubsubname",
						     ps->subs[i].name, "topic", ps->subs[i].topic,
						     "rules", "rules", "path", ps->subs[i].route));
	pthread_mutex_unlock(&ps->lock);
	return arr;
}
