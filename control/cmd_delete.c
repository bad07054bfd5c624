// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh delete -f FILE|DIR|- | KIND/NAME [-n NAMESPACE]: through the local agent. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cmd_apply.h"

static const struct {
	const char *alias, *kind;
} kinds[] = {
	{"po", "pod"},
	{"pods", "pod"},
	{"deploy", "deployment"},
	{"deployments", "deployment"},
	{"sts", "statefulset"},
	{"statefulsets", "statefulset"},
	{"ds", "daemonset"},
	{"daemonsets", "daemonset"},
	{"svc", "service"},
	{"services", "service"},
	{"sa", "serviceaccount"},
	{"serviceaccounts", "serviceaccount"},
	{"cm", "configmap"},
	{"configmaps", "configmap"},
	{"netpol", "networkpolicy"},
	{"networkpolicies", "networkpolicy"},
	{"meshpolicies", "meshpolicy"},
};

static const char *const known[] = {
	"pod",	     "deployment",    "statefulset", "daemonset", "service", "serviceaccount",
	"configmap", "networkpolicy", "meshpolicy",  NULL};

/* The canonical lower-case kind for what the user typed, or NULL. */
static const char *kind_of(const char *typed, char *buf, size_t len)
{
	const char *const *k;
	size_t i;

	for (i = 0; typed[i] && i + 1 < len; i++)
		buf[i] = (char)tolower((unsigned char)typed[i]);
	buf[i] = '\0';
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].alias, buf))
			return kinds[i].kind;
	for (k = known; *k; k++)
		if (!strcmp(*k, buf))
			return *k;
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: bpfmesh delete -f FILE|DIR|- [-f ...]\n"
			"       bpfmesh delete KIND/NAME [-n NAMESPACE]\n");
	return CLI_EXIT_ERROR;
}

/* See cli.h. */
int cmd_delete(const struct cli_globals *g, int argc, char **argv)
{
	const char *ns = "default", *kind, *slash;
	json_t *wls = json_array(), *pol = json_array();
	char buf[64], key[600], display[600];
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-f") || !strncmp(argv[i], "--filename", 10)) {
			json_decref(wls);
			json_decref(pol);
			return apply_run(g, argc, argv, true);
		}
	if (argc == 4 && (!strcmp(argv[2], "-n") || !strcmp(argv[2], "--namespace"))) {
		ns = argv[3];
		argc = 2;
	}
	slash = argc == 2 ? strchr(argv[1], '/') : NULL;
	if (!slash || !slash[1] || strchr(slash + 1, '/') || !wls || !pol ||
	    (size_t)(slash - argv[1]) >= sizeof(buf)) {
		json_decref(wls);
		json_decref(pol);
		return usage();
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)(slash - argv[1]), argv[1]);
	kind = kind_of(buf, buf, sizeof(buf));
	if (!kind) {
		fprintf(stderr,
			"bpfmesh delete: unknown kind '%.*s' (pod, deployment, "
			"statefulset, daemonset, service, serviceaccount, configmap, "
			"networkpolicy, meshpolicy)\n",
			(int)(slash - argv[1]), argv[1]);
		json_decref(wls);
		json_decref(pol);
		return CLI_EXIT_ERROR;
	}
	snprintf(display, sizeof(display), "%s/%s/%s", kind, ns, slash + 1);
	if (!strcmp(kind, "networkpolicy") || !strcmp(kind, "meshpolicy")) {
		snprintf(key, sizeof(key), "apply/%s/%s/%s.json", kind, ns, slash + 1);
		json_array_append_new(pol,
				      json_pack("{s:s, s:s}", "name", key, "display", display));
	} else {
		snprintf(key, sizeof(key), "%s.%s.%s", ns, kind, slash + 1);
		json_array_append_new(wls, json_pack("{s:s, s:s}", "key", key, "display", display));
	}
	return apply_call_agent(g->state_dir, json_pack("{s:s, s:o, s:o}", "op", "wl-delete",
							"workloads", wls, "policy", pol));
}
