// SPDX-License-Identifier: GPL-2.0-only
/* Dapr pub-sub over core NATS; see pubsub.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../control/log.h"
#include "pubsub.h"
#include "store.h"

#define PS_MAX_SUBS 32
#define PS_MAX_REPLY (1u << 20)

struct ps_sub {
	struct pubsub *ps;
	natsSubscription *sub;
	char name[64], topic[128], route[256];
};

struct pubsub {
	struct pubsub_config cfg;
	natsConnection *nc;
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

/* See pubsub.h. */
json_t *pubsub_cloudevent(const char *source, const char *name, const char *topic, const char *data,
			  size_t len, const char *content_type)
{
	unsigned char raw[16];
	char id[33];
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
		json_object_set_new(ev, "datacontenttype",
				    json_string(content_type ? content_type : "application/json"));
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
	if (!json_object_get(ev, "id"))
		json_object_set_new(ev, "id", json_string(id));
	if (!json_object_get(ev, "specversion"))
		json_object_set_new(ev, "specversion", json_string("1.0"));
	if (!json_object_get(ev, "source"))
		json_object_set_new(ev, "source", json_string(source));
	if (!json_object_get(ev, "type"))
		json_object_set_new(ev, "type", json_string("com.dapr.event.sent"));
	json_object_set_new(ev, "topic", json_string(topic));
	json_object_set_new(ev, "pubsubname", json_string(name));
	return ev;
}

/* Publish; see pubsub.h. */
int pubsub_publish(struct pubsub *ps, const char *name, const char *topic, const char *data,
		   size_t len, const char *content_type)
{
	char subj[512], *s;
	json_t *ev;
	natsStatus st;

	if (!has_name(ps, name))
		return -ENOENT;
	if (!*topic || subject_of(ps, name, topic, subj, sizeof(subj)))
		return -EINVAL;
	ev = pubsub_cloudevent(ps->cfg.app_id, name, topic, data, len, content_type);
	s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (!s)
		return -EINVAL;
	st = natsConnection_PublishString(ps->nc, subj, s);
	free(s);
	return st == NATS_OK ? 0 : -ENOTCONN;
}

/* Double the reply buffer up to PS_MAX_REPLY; frees it (NULL) when out of memory. */
static int grow_reply(char **buf, size_t *cap)
{
	char *nb;

	if (*cap >= PS_MAX_REPLY)
		return -E2BIG;
	nb = realloc(*buf, *cap * 2 + 1);
	if (!nb) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	*buf = nb;
	*cap *= 2;
	return 0;
}

/*
 * A tiny HTTP/1.1 client to the application on 127.0.0.1: one request,
 * Connection: close, reply read until EOF (bounded, 5 s timeout). Returns
 * the status (and *body, malloc()ed, when body is not NULL) or -errno.
 */
static int app_request(unsigned int port, const char *method, const char *path, const char *ctype,
		       const char *data, size_t len, char **body)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 5};
	size_t have = 0, cap = 4096;
	char head[512], *buf = NULL, *p;
	int fd, n, status = -EIO;
	ssize_t r;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		status = -errno;
		goto out;
	}
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     method, path, ctype, len);
	if (n < 0 || (size_t)n >= sizeof(head) || send(fd, head, (size_t)n, MSG_NOSIGNAL) != n ||
	    (len && send(fd, data, len, MSG_NOSIGNAL) != (ssize_t)len))
		goto out;
	buf = malloc(cap + 1);
	while (buf) {
		if (have == cap && grow_reply(&buf, &cap))
			break;
		r = recv(fd, buf + have, cap - have, 0);
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	if (!buf || have < 12 || strncmp(buf, "HTTP/1.", 7))
		goto out;
	buf[have] = '\0';
	status = (int)strtol(buf + 9, NULL, 10);
	p = strstr(buf, "\r\n\r\n");
	if (body && p)
		*body = strdup(p + 4);
out:
	free(buf);
	close(fd);
	return status;
}

static void on_event(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct ps_sub *s = closure;
	int status;

	(void)nc;
	(void)sub;
	status = app_request(s->ps->cfg.app_port, "POST", s->route, "application/cloudevents+json",
			     natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), NULL);
	if (status < 200 || status > 299)
		pr_warn("sidecar: deliver %s/%s to %s: %d (dropped)", s->name, s->topic, s->route,
			status);
	natsMsg_Destroy(msg);
}

/* One /dapr/subscribe entry: {pubsubname, topic, route | routes.default}. */
static void subscribe_one(struct pubsub *ps, json_t *o)
{
	const char *name = NULL, *topic = NULL, *route = NULL;
	char subj[512];
	struct ps_sub *s;
	json_t *routes;

	if (json_unpack(o, "{s:s,s:s}", "pubsubname", &name, "topic", &topic))
		return;
	route = json_string_value(json_object_get(o, "route"));
	routes = json_object_get(o, "routes");
	if (!route && routes)
		route = json_string_value(json_object_get(routes, "default"));
	if (!route || !has_name(ps, name) || subject_of(ps, name, topic, subj, sizeof(subj)) ||
	    ps->nr_subs == PS_MAX_SUBS) {
		pr_warn("sidecar: ignoring subscription to %s/%s", name, topic);
		return;
	}
	pthread_mutex_lock(&ps->lock);
	s = &ps->subs[ps->nr_subs];
	s->ps = ps;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	snprintf(s->route, sizeof(s->route), "%s%s", route[0] == '/' ? "" : "/", route);
	if (natsConnection_QueueSubscribe(&s->sub, ps->nc, subj, ps->cfg.app_id, on_event, s) ==
	    NATS_OK)
		ps->nr_subs++;
	pthread_mutex_unlock(&ps->lock);
	pr_info("sidecar: subscribed %s/%s -> %s", name, topic, route);
}

static void *discover_main(void *arg)
{
	struct pubsub *ps = arg;
	char *body = NULL;
	json_t *arr, *o;
	size_t i;
	int status = -1, tries;

	for (tries = 0; tries < 600 && !atomic_load(&ps->is_stopping); tries++) {
		status = app_request(ps->cfg.app_port, "GET", "/dapr/subscribe", "application/json",
				     NULL, 0, &body);
		if (status > 0)
			break;
		usleep(100000);
	}
	if (status == 200 && body) {
		arr = json_loads(body, 0, NULL);
		json_array_foreach (arr, i, o)
			subscribe_one(ps, o);
		json_decref(arr);
		natsConnection_FlushTimeout(ps->nc, 2000);
	}
	free(body);
	return NULL;
}

/* Start; see pubsub.h. */
int pubsub_start(natsConnection *nc, const struct pubsub_config *cfg, struct pubsub **out)
{
	struct pubsub *ps = calloc(1, sizeof(*ps));

	if (!ps || sodium_init() < 0) {
		free(ps);
		return -ENOMEM;
	}
	ps->cfg = *cfg;
	ps->nc = nc;
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
		natsSubscription_Unsubscribe(ps->subs[i].sub);
		natsSubscription_Destroy(ps->subs[i].sub);
	}
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
