// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh runtime start|stop|list|reap|routes: the workload runtime by hand,
 * for operators and tests (the agent drives the same API, runtime.h).
 * Every invocation opens the runtime (adopting what earlier ones started)
 * and closes it again, leaving the replicas running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "log.h"
#include "runtime.h"
#include "workload_model.h"

struct rt_cli {
	struct rt_config cfg;
	const char *file;
	const char *object; /* KIND/NAME or NAME */
	const char *key;
	const char *pod_name;
	bool is_json;
	char **args; /* the non-option arguments after the verb */
	int n_args;
};

static const char usage[] =
	"usage: bpfmesh runtime start|stop|list|reap|routes --pod-cidr CIDR [--cgroup-root DIR]\n"
	"         [--rootfs-dir DIR] [--no-xdp] [--stop-timeout-ms N] [--json]\n"
	"         start -f FILE [--object [KIND/]NAME] [--key KEY] [--pod-name NAME]\n"
	"         stop KEY | list | reap | routes [CIDR=VIA...]\n";

static int parse_opts(const struct cli_globals *g, int argc, char **argv, struct rt_cli *c)
{
	const char **strs[] = {&c->cfg.pod_cidr, &c->cfg.cgroup_root, &c->cfg.rootfs_dir,
			       &c->file,	 &c->object,	      &c->key,
			       &c->pod_name};
	static const char *const names[] = {"--pod-cidr", "--cgroup-root", "--rootfs-dir", "-f",
					    "--object",	  "--key",	   "--pod-name"};
	size_t k;
	int i;

	c->cfg.state_dir = g->state_dir;
	c->cfg.pin_dir = g->pin_dir;
	for (i = 2; i < argc; i++) {
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (!strcmp(argv[i], names[k]) && i + 1 < argc)
				break;
		if (k < sizeof(names) / sizeof(names[0])) {
			*strs[k] = argv[++i];
		} else if (!strcmp(argv[i], "--no-xdp")) {
			c->cfg.pin_dir = NULL;
		} else if (!strcmp(argv[i], "--json")) {
			c->is_json = true;
		} else if (!strcmp(argv[i], "--stop-timeout-ms") && i + 1 < argc) {
			if (cli_parse_u32(argv[++i], 1, 600000, &c->cfg.stop_timeout_ms))
				return -EINVAL;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "bpfmesh: runtime: unknown option '%s'\n", argv[i]);
			return -EINVAL;
		} else {
			c->args[c->n_args++] = argv[i];
		}
	}
	if (!c->cfg.pod_cidr) {
		fprintf(stderr, "bpfmesh: runtime: --pod-cidr is required\n");
		return -EINVAL;
	}
	return 0;
}

static const struct wl_object *pick_object(const struct wl_model *m, const char *want)
{
	const char *slash = want ? strchr(want, '/') : NULL;
	const char *name = slash ? slash + 1 : want;
	const struct wl_object *o;
	size_t i;

	for (i = 0; i < m->n_objs; i++) {
		o = &m->objs[i];
		if (o->kind != WL_POD && o->kind != WL_DEPLOYMENT && o->kind != WL_STATEFULSET &&
		    o->kind != WL_DAEMONSET)
			continue;
		if (name && strcmp(o->name, name))
			continue;
		if (slash && strncmp(wl_kind_name(o->kind), want, (size_t)(slash - want)))
			continue;
		return o;
	}
	return NULL;
}

static void print_info(const struct rt_replica_info *in)
{
	printf("%s %s/%s %s %s pid=%d %s xdp=%s guard=%s cpu-limit=%s mem-limit=%s\n", in->key,
	       in->ns, in->pod_name, in->address, in->host_ifname, in->pid,
	       in->is_running ? "running" : "exited", in->is_xdp_attached ? "yes" : "no",
	       in->is_guarded ? "yes" : "no", in->is_cpu_limited ? "yes" : "no",
	       in->is_mem_limited ? "yes" : "no");
}

static json_t *info_json(const struct rt_replica_info *in)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:b,s:b,s:b,s:b,s:b,s:b,s:i}", "key",
			 in->key, "ns", in->ns, "pod_name", in->pod_name, "address", in->address,
			 "host_ifname", in->host_ifname, "host_ifindex", in->host_ifindex, "pid",
			 in->pid, "running", in->is_running, "adopted", in->is_adopted, "xdp",
			 in->is_xdp_attached, "guard", in->is_guarded, "cpu_limited",
			 in->is_cpu_limited, "mem_limited", in->is_mem_limited, "exit_status",
			 in->exit_status);
}

static int print_infos(const struct rt_replica_info *v, size_t n, bool is_json)
{
	json_t *arr;
	size_t i;

	if (!is_json) {
		for (i = 0; i < n; i++)
			print_info(&v[i]);
		return 0;
	}
	arr = json_array();
	for (i = 0; arr && i < n; i++)
		json_array_append_new(arr, info_json(&v[i]));
	if (!arr || json_dumpf(arr, stdout, JSON_COMPACT) < 0) {
		json_decref(arr);
		return -ENOMEM;
	}
	putchar('\n');
	json_decref(arr);
	return 0;
}

static int do_start(struct rt *rt, const struct rt_cli *c)
{
	struct rt_replica_spec spec = {0};
	struct manifest_diag diag;
	struct rt_replica_info info;
	const struct wl_object *o;
	struct wl_model *m;
	char key[RT_KEY_MAX];
	int err;

	if (!c->file) {
		fprintf(stderr, "bpfmesh: runtime start: -f FILE is required\n");
		return -EINVAL;
	}
	m = wl_model_new();
	if (!m)
		return -ENOMEM;
	manifest_diag_init(&diag);
	err = wl_load(m, c->file, NULL, 0, NULL, &diag);
	manifest_diag_print(&diag, stderr);
	o = err ? NULL : pick_object(m, c->object);
	if (!err && !o) {
		fprintf(stderr, "bpfmesh: runtime start: no workload %s in %s\n",
			c->object ? c->object : "", c->file);
		err = -ENOENT;
	}
	if (!err) {
		snprintf(key, sizeof(key), "%s/%s/0", o->ns, o->name);
		spec.key = c->key ? c->key : key;
		spec.ns = o->ns;
		spec.pod_name = c->pod_name ? c->pod_name : o->name;
		spec.pod = &o->pod;
		spec.model = m;
		err = rt_start(rt, &spec, &info);
	}
	if (!err)
		err = print_infos(&info, 1, c->is_json);
	manifest_diag_release(&diag);
	wl_model_free(m);
	return err;
}

static int do_list(struct rt *rt, const struct rt_cli *c, bool is_reap)
{
	struct rt_replica_info *v = NULL;
	size_t n = 0;
	int err;

	err = is_reap ? rt_reap(rt, &v, &n) : rt_list(rt, &v, &n);
	if (!err)
		err = print_infos(v, n, c->is_json);
	free(v);
	return err;
}

static int do_routes(struct rt *rt, const struct rt_cli *c)
{
	struct rt_route *routes = calloc((size_t)c->n_args + 1, sizeof(*routes));
	size_t n = 0;
	char *eq;
	int i, err;

	if (!routes)
		return -ENOMEM;
	for (i = 0; i < c->n_args; i++) {
		eq = strchr(c->args[i], '=');
		if (!eq) {
			fprintf(stderr, "bpfmesh: runtime routes: '%s' is not CIDR=VIA\n",
				c->args[i]);
			free(routes);
			return -EINVAL;
		}
		*eq = '\0';
		routes[n].cidr = c->args[i];
		routes[n++].via = eq + 1;
	}
	err = rt_routes_sync(rt, routes, n);
	free(routes);
	return err;
}

/* See cli.h. */
int cmd_runtime(const struct cli_globals *g, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";
	struct rt_cli c = {0};
	struct rt *rt = NULL;
	int err;

	if (strcmp(verb, "start") && strcmp(verb, "stop") && strcmp(verb, "list") &&
	    strcmp(verb, "reap") && strcmp(verb, "routes")) {
		fputs(usage, stderr);
		return CLI_EXIT_ERROR;
	}
	c.args = calloc((size_t)argc, sizeof(*c.args));
	if (!c.args)
		return CLI_EXIT_ERROR;
	if (parse_opts(g, argc, argv, &c) ||
	    (!strcmp(verb, "stop") ? c.n_args != 1 : strcmp(verb, "routes") && c.n_args)) {
		fputs(usage, stderr);
		free(c.args);
		return CLI_EXIT_ERROR;
	}
	err = rt_open(&c.cfg, &rt);
	if (err) {
		fprintf(stderr, "bpfmesh: runtime: %s\n", strerror(-err));
		free(c.args);
		return CLI_EXIT_ERROR;
	}
	if (!strcmp(verb, "start"))
		err = do_start(rt, &c);
	else if (!strcmp(verb, "stop"))
		err = rt_stop(rt, c.args[0]);
	else if (!strcmp(verb, "routes"))
		err = do_routes(rt, &c);
	else
		err = do_list(rt, &c, !strcmp(verb, "reap"));
	rt_close(rt);
	free(c.args);
	if (err)
		fprintf(stderr, "bpfmesh: runtime %s: %s\n", verb, strerror(-err));
	return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}
