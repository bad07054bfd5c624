// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's use of the runtime (runtime.h): open it on the node's pod
 * range, adopt the replicas an earlier agent left running, start and stop
 * replicas, keep routes to the peers' pod ranges; and attach the data plane
 * to the node's uplink.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ident.h"
#include "agent_priv.h"
#include "agent_rootless.h"
#include "agent_sched_priv.h"
#include "agent_sidecars.h"
#include "dataplane.h"
#include "log.h"
#include "runtime.h"

static void attach_uplink(struct agent *a)
{
	unsigned int ifindex;
	enum dp_mode got;
	int err;

	if (!a->cfg->uplink)
		return;
	ifindex = if_nametoindex(a->cfg->uplink);
	if (!ifindex) {
		pr_warn("agent: uplink %s: no such interface", a->cfg->uplink);
		return;
	}
	err = dp_attach(a->dp, (int)ifindex, DP_MODE_NATIVE, &got);
	if (err)
		pr_warn("agent: attach to uplink %s: %s", a->cfg->uplink, strerror(-err));
	else
		pr_info("agent: data plane on uplink %s (%s)", a->cfg->uplink,
			got == DP_MODE_NATIVE ? "native" : "generic");
}

static int adopt(struct agent *a)
{
	struct agent_sched *s = &a->sched;
	struct rt_replica_info *info = NULL;
	struct agent_local *l;
	size_t i, n = 0;
	int err;

	err = rt_list(s->rt, &info, &n);
	if (err)
		return err;
	s->local = calloc(n + 1, sizeof(*s->local));
	if (!s->local) {
		free(info);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		l = &s->local[s->n_local];
		l->key = strdup(info[i].key);
		l->pod = strdup(info[i].pod_name);
		l->ns = strdup(info[i].ns);
		if (!l->key || !l->pod || !l->ns) {
			free(l->key);
			free(l->pod);
			free(l->ns);
			continue;
		}
		snprintf(l->address, sizeof(l->address), "%s", info[i].address);
		l->pid = info[i].pid > 0 ? info[i].pid : 1;
		s->n_local++;
		pr_info("sched: adopted %s/%s (%s) at %s", l->ns, l->pod, l->key, l->address);
	}
	free(info);
	return 0;
}

/* See agent_sched_priv.h. */
int agent_rt_open(struct agent *a)
{
	struct rt_config rc = {
		.state_dir = a->cfg->state_dir,
		.pin_dir = a->cfg->pin_dir,
		.dp = a->dp,
		.pod_cidr = a->cfg->pod_cidr,
		.cgroup_root = a->cfg->cgroup_root,
		.rootfs_dir = a->cfg->rootfs_dir,
		.stop_timeout_ms = 2000,
	};
	int err;

	if (a->rl)
		return agent_rl_rt_open(a); /* rootless: agent_rl_sched.c */
	if (!a->dp)
		return 0;
	attach_uplink(a);
	if (!a->cfg->pod_cidr)
		return 0;
	err = rt_open(&rc, &a->sched.rt);
	if (!err)
		err = adopt(a);
	if (err)
		pr_warn("agent: runtime: %s", strerror(-err));
	return err;
}

/* See agent_sched_priv.h. */
void agent_rt_close(struct agent *a)
{
	rt_close(a->sched.rt);
	a->sched.rt = NULL;
}

/* See agent_sched_priv.h. */
int agent_rt_start(struct agent *a, const struct agent_replica *r, struct agent_local *l)
{
	struct rt_replica_spec spec = {
		.key = r->key,
		.ns = r->obj->ns,
		.pod_name = r->pod,
		.pod = &r->obj->pod,
		.model = a->sched.model,
	};
	struct agent_sidecar_env env;
	struct rt_replica_info info;
	int err;

	if (a->rl)
		return agent_rl_rt_start(a, r, l);
	if (!a->sched.rt)
		return -ENOSYS;
	agent_sidecar_env(a, r->obj, &env); /* DAPR_HTTP_PORT, APP_PORT */
	spec.env = env.v;
	err = rt_start(a->sched.rt, &spec, &info);
	if (err == -EEXIST && !rt_get(a->sched.rt, r->key, &info) && info.is_running)
		err = 0; /* already ours (adopted) */
	if (err) {
		pr_warn("sched: start %s/%s (%s): %s", r->obj->ns, r->pod, r->key, strerror(-err));
		return err;
	}
	snprintf(l->address, sizeof(l->address), "%s", info.address);
	l->pid = info.pid > 0 ? info.pid : 1;
	agent_ident_replica_started(a, r->key, r->obj->ns, r->pod, r->obj->pod.service_account);
	return 0;
}

/* See agent_sched_priv.h. */
int agent_rt_stop(struct agent *a, const char *key)
{
	int err;

	if (a->rl)
		return agent_rl_rt_stop(a, key);
	if (!a->sched.rt)
		return -ENOSYS;
	err = rt_stop(a->sched.rt, key);
	if (err && err != -ENOENT)
		pr_warn("sched: stop %s: %s", key, strerror(-err));
	else
		agent_ident_replica_stopped(a, key);
	return err == -ENOENT ? 0 : err;
}

/* See agent_sched_priv.h. */
bool agent_rt_is_running(struct agent *a, const char *key)
{
	struct rt_replica_info info;

	if (a->rl)
		return agent_rl_rt_is_running(a, key);
	return a->sched.rt && !rt_get(a->sched.rt, key, &info) && info.is_running;
}

/* See agent_sched_priv.h. */
void agent_rt_routes(struct agent *a, const json_t *view)
{
	struct rt_route *routes;
	const json_t *e;
	size_t i, n = 0;
	int err;

	if (!a->sched.rt)
		return;
	routes = calloc(json_array_size(view) + 1, sizeof(*routes));
	if (!routes)
		return;
	json_array_foreach (view, i, e) {
		routes[n].cidr = json_string_value(json_object_get(e, "pod_cidr"));
		routes[n].via = json_string_value(json_object_get(e, "address"));
		if (routes[n].cidr && routes[n].via &&
		    strcmp(json_string_value(json_object_get(e, "name")), a->cfg->node))
			n++;
	}
	err = rt_routes_sync(a->sched.rt, routes, n);
	if (err)
		pr_warn("sched: routes to %zu peer pod ranges: %s", n, strerror(-err));
	else
		pr_info("sched: routes to %zu peer pod ranges", n);
	free(routes);
}
