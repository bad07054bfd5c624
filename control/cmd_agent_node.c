// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh agent: the node options placement uses (labels, taints, capacity, pod range). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_ident.h"
#include "workload_model.h"

static int bad(const char *opt, const char *v, const char *want)
{
	fprintf(stderr, "bpfmesh: agent: %s '%s': %s\n", opt, v, want);
	return -EINVAL;
}

static bool is_ipv4_cidr(const char *v)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	struct in_addr in;
	char *end;
	long len;

	if (!slash || (size_t)(slash - v) >= sizeof(addr))
		return false;
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - v), v);
	len = strtol(slash + 1, &end, 10);
	return inet_pton(AF_INET, addr, &in) == 1 && !*end && slash[1] && len >= 8 && len <= 30;
}

static bool is_label_part(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 253)
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./",
			    s[i]))
			return false;
	return true;
}

static int add(const char **arr, size_t *n, const char *v, const char *opt)
{
	if (*n == AGENT_MAX_LABELS)
		return bad(opt, v, "too many (at most 32)");
	arr[(*n)++] = v;
	return 0;
}

static int taint(struct agent_config *c, const char *v)
{
	const char *eq = strchr(v, '='), *colon = strrchr(v, ':');

	if (!colon || !is_label_part(v, (size_t)((eq && eq < colon ? eq : colon) - v)))
		return bad("--taint", v, "want KEY=VALUE:EFFECT or KEY:EFFECT");
	if (strcmp(colon + 1, "NoSchedule") && strcmp(colon + 1, "PreferNoSchedule") &&
	    strcmp(colon + 1, "NoExecute"))
		return bad("--taint", v,
			   "effect must be NoSchedule, PreferNoSchedule or NoExecute");
	return add(c->taints, &c->n_taints, v, "--taint");
}

/* See agent.h. */
int agent_node_opt(struct agent_config *c, const char *opt, const char *v)
{
	const char *eq;
	uint64_t q;
	char *end;

	if (!strcmp(opt, "--pod-cidr")) {
		if (!is_ipv4_cidr(v))
			return bad(opt, v, "want an IPv4 prefix such as 198.18.17.0/24 (/8../30)");
		c->pod_cidr = v;
	} else if (!strcmp(opt, "--uplink")) {
		c->uplink = v;
	} else if (!strcmp(opt, "--cgroup-root")) {
		c->cgroup_root = v;
	} else if (!strcmp(opt, "--rootfs-dir")) {
		c->rootfs_dir = v;
	} else if (!strcmp(opt, "--trust-domain")) {
		c->trust_domain = v;
	} else if (!strcmp(opt, "--label")) {
		eq = strchr(v, '=');
		if (!eq || !is_label_part(v, (size_t)(eq - v)) ||
		    (eq[1] && !is_label_part(eq + 1, strlen(eq + 1))))
			return bad(opt, v, "want KEY=VALUE");
		return add(c->labels, &c->n_labels, v, opt);
	} else if (!strcmp(opt, "--taint")) {
		return taint(c, v);
	} else if (!strcmp(opt, "--cpu")) {
		c->cpu_milli = strtoull(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || !c->cpu_milli)
			return bad(opt, v, "want millicores, a positive integer (2000 = 2 CPUs)");
	} else if (!strcmp(opt, "--memory")) {
		if (wl_parse_quantity(v, 1, &q) || !q)
			return bad(opt, v, "want bytes or a quantity such as 4Gi");
		c->mem_bytes = q;
	} else {
		return agent_ident_opt(c, opt, v);
	}
	return 0;
}
