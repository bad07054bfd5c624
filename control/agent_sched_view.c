// SPDX-License-Identifier: GPL-2.0-only
/*
 * The membership view for placement: this node and every alive peer, with
 * the properties their heartbeats carry (docs/topics.md, capacity). Every
 * agent reads its own entry through the same path as its peers', so all
 * agents that see the same members build the same view.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "agent_priv.h"
#include "agent_rootless.h"
#include "agent_sched_priv.h"
#include "sched_place.h"

/* See agent_priv.h. */
void agent_iface_addr(const char *ifname, char *buf, size_t len)
{
	struct ifaddrs *ifs, *i;

	buf[0] = '\0';
	if (!ifname || getifaddrs(&ifs))
		return;
	for (i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, ifname))
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf,
				  (socklen_t)len);
	freeifaddrs(ifs);
}

/* See agent_sched.h. */
void agent_sched_capacity(const struct agent *a, json_t *cap)
{
	const struct agent_config *c = a->cfg;
	json_t *labels = json_object(), *taints = json_array();
	unsigned long long cpu = c->cpu_milli, mem = c->mem_bytes;
	char addr[INET_ADDRSTRLEN], key[256];
	struct sysinfo si;
	const char *eq;
	size_t i;

	if (!cpu)
		cpu = (unsigned long long)sysconf(_SC_NPROCESSORS_ONLN) * 1000;
	if (!mem && !sysinfo(&si))
		mem = (unsigned long long)si.totalram * si.mem_unit;
	for (i = 0; labels && i < c->n_labels; i++) {
		eq = strchr(c->labels[i], '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq - c->labels[i]), c->labels[i]);
		json_object_set_new(labels, key, json_string(eq + 1));
	}
	for (i = 0; taints && i < c->n_taints; i++)
		json_array_append_new(taints, json_string(c->taints[i]));
	if (taints && a->rl)
		json_array_append_new(taints, json_string(AGENT_RL_TAINT));
	json_object_set_new(cap, "cpu_milli", json_integer((json_int_t)cpu));
	json_object_set_new(cap, "mem_bytes", json_integer((json_int_t)mem));
	json_object_set_new(cap, "labels", labels);
	json_object_set_new(cap, "taints", taints);
	if (c->pod_cidr)
		json_object_set_new(cap, "pod_cidr", json_string(c->pod_cidr));
	agent_iface_addr(c->uplink, addr, sizeof(addr));
	if (addr[0])
		json_object_set_new(cap, "address", json_string(addr));
}

/* One canonical view entry from a capacity object; NULL when it is unusable. */
static json_t *node_entry(const char *name, const json_t *cap)
{
	json_int_t cpu = json_integer_value(json_object_get(cap, "cpu_milli"));
	json_int_t mem = json_integer_value(json_object_get(cap, "mem_bytes"));
	const json_t *labels = json_object_get(cap, "labels"),
		     *taints = json_object_get(cap, "taints");
	json_t *e, *l;

	if (!cpu) /* an agent of the first schema-1 release: CPUs and free memory */
		cpu = json_integer_value(json_object_get(cap, "cpus")) * 1000;
	if (!mem)
		mem = json_integer_value(json_object_get(cap, "mem_free_kb")) * 1024;
	if (cpu <= 0 || mem <= 0)
		return NULL;
	l = json_is_object(labels) ? json_deep_copy(labels) : json_object();
	if (l)
		json_object_set_new(l, "kubernetes.io/hostname", json_string(name));
	e = json_pack("{s:s, s:I, s:I, s:o, s:o}", "name", name, "cpu_milli", cpu, "mem_bytes", mem,
		      "labels", l, "taints",
		      json_is_array(taints) ? json_incref((json_t *)taints) : json_array());
	if (e && json_is_string(json_object_get(cap, "pod_cidr")))
		json_object_set(e, "pod_cidr", json_object_get(cap, "pod_cidr"));
	if (e && json_is_string(json_object_get(cap, "address")))
		json_object_set(e, "address", json_object_get(cap, "address"));
	return e;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)x, "name")),
		      json_string_value(json_object_get(*(json_t *const *)y, "name")));
}

static int by_key(const void *x, const void *y)
{
	return strcmp(((const struct pm_label *)x)->key, ((const struct pm_label *)y)->key);
}

/* See agent_sched_priv.h. */
json_t *agent_view_self(const struct agent *a)
{
	json_t *me = json_object(), *e;

	if (!me)
		return NULL;
	agent_sched_capacity(a, me);
	e = node_entry(a->cfg->node, me);
	json_decref(me);
	return e;
}

/* See agent_sched_priv.h. */
json_t *agent_view_json(const struct agent *a)
{
	json_t *arr = json_array(), **v;
	size_t i, n = 0;

	if (!arr)
		goto err;
	v = calloc(a->n_peers + 1, sizeof(*v));
	if (!v)
		goto err;
	v[n] = agent_view_self(a);
	n += v[n] != NULL;
	for (i = 0; i < a->n_peers; i++) {
		if (!a->peers[i].is_alive || !a->peers[i].capacity)
			continue;
		v[n] = node_entry(a->peers[i].name, a->peers[i].capacity);
		n += v[n] != NULL;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_name);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
	return arr;
err:
	json_decref(arr);
	return NULL;
}

static enum wl_taint_effect effect_of(const char *s)
{
	return !strcmp(s, "NoExecute")		? WL_EFFECT_NO_EXECUTE
	       : !strcmp(s, "PreferNoSchedule") ? WL_EFFECT_PREFER_NO_SCHEDULE
						: WL_EFFECT_NO_SCHEDULE;
}

/* "K=V:EFFECT" or "K:EFFECT" into t; strings into one allocation kept in *buf. */
static int parse_taint(const char *text, struct sched_taint *t, char **buf)
{
	char *s = strdup(text), *colon, *eq;

	*buf = s;
	if (!s)
		return -ENOMEM;
	colon = strrchr(s, ':');
	if (!colon) {
		free(s);
		*buf = NULL;
		return -EINVAL;
	}
	*colon = '\0';
	eq = strchr(s, '=');
	if (eq)
		*eq = '\0';
	*t = (struct sched_taint){s, eq ? eq + 1 : "", effect_of(colon + 1)};
	return 0;
}

static int node_labels(const json_t *obj, struct pm_labels *out)
{
	const char *k;
	json_t *val;
	size_t n = 0;

	out->items = calloc(json_object_size(obj) + 1, sizeof(*out->items));
	if (!out->items)
		return -ENOMEM;
	json_object_foreach ((json_t *)obj, k, val) {
		if (!json_is_string(val))
			continue;
		out->items[n].key = (char *)k;
		out->items[n++].value = (char *)json_string_value(val);
	}
	out->n = n;
	if (n > 1)
		qsort(out->items, n, sizeof(*out->items), by_key);
	return 0;
}

/* See agent_sched_priv.h. */
int agent_view_build(const struct agent *a, struct agent_view *out)
{
	const json_t *e, *taints, *t;
	bool is_rl_tolerated;
	size_t i, j, n;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	out->json = agent_view_json(a);
	if (!out->json)
		return -ENOMEM;
	is_rl_tolerated = agent_rl_view_tolerates(out->json); /* every node is rootless */
	n = json_array_size(out->json);
	out->nodes = calloc(n + 1, sizeof(*out->nodes));
	out->labels = calloc(n + 1, sizeof(*out->labels));
	out->taints = calloc(n + 1, sizeof(*out->taints));
	out->bufs = calloc(n + 1, sizeof(*out->bufs));
	if (!out->nodes || !out->labels || !out->taints || !out->bufs)
		goto err;
	out->n = n;
	json_array_foreach (out->json, i, e) {
		taints = json_object_get(e, "taints");
		out->taints[i] = calloc(json_array_size(taints) + 1, sizeof(**out->taints));
		out->bufs[i] = calloc(json_array_size(taints) + 1, sizeof(**out->bufs));
		if (!out->taints[i] || !out->bufs[i] ||
		    node_labels(json_object_get(e, "labels"), &out->labels[i]))
			goto err;
		out->nodes[i] = (struct sched_node){
			.name = json_string_value(json_object_get(e, "name")),
			.cpu_milli = (uint64_t)json_integer_value(json_object_get(e, "cpu_milli")),
			.mem_bytes = (uint64_t)json_integer_value(json_object_get(e, "mem_bytes")),
			.labels = &out->labels[i],
			.taints = out->taints[i],
		};
		for (j = 0; j < json_array_size(taints); j++) {
			t = json_array_get(taints, j);
			if (!json_is_string(t) ||
			    (is_rl_tolerated && !strcmp(json_string_value(t), AGENT_RL_TAINT)))
				continue;
			err = parse_taint(json_string_value(t),
					  &out->taints[i][out->nodes[i].n_taints],
					  &out->bufs[i][out->nodes[i].n_taints]);
			if (err == -ENOMEM)
				goto err;
			out->nodes[i].n_taints += !err;
		}
	}
	err = sched_view_init(&out->v, out->nodes, out->n);
	if (!err)
		return 0;
err:
	agent_view_release(out);
	return err ? err : -ENOMEM;
}

/* See agent_sched_priv.h. */
void agent_view_release(struct agent_view *v)
{
	size_t i, j;

	sched_view_release(&v->v);
	for (i = 0; i < v->n; i++) {
		for (j = 0; v->bufs && v->bufs[i] && v->bufs[i][j]; j++)
			free(v->bufs[i][j]);
		if (v->bufs)
			free(v->bufs[i]);
		if (v->taints)
			free(v->taints[i]);
		if (v->labels)
			free(v->labels[i].items);
	}
	free(v->bufs);
	free(v->taints);
	free(v->labels);
	free(v->nodes);
	json_decref(v->json);
	memset(v, 0, sizeof(*v));
}

/* See agent_sched_priv.h. */
int agent_view_find(const struct agent_view *v, const char *name)
{
	size_t i;

	for (i = 0; name && i < v->n; i++)
		if (!strcmp(v->nodes[i].name, name))
			return (int)i;
	return -1;
}
