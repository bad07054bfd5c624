// SPDX-License-Identifier: GPL-2.0-only
/* The agent's rootless mode: policy and revocations from the bus into the forwarder. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include <abi/abi.h>

#include "agent_priv.h"
#include "agent_rl_priv.h"
#include "agent_rootless.h"
#include "cli.h"
#include "fwd.h"
#include "log.h"
#include "runtime_rootless.h"

#define RL_MAX_ADDRS 512

static int add_port(struct agent_rl_opts *o, uint8_t proto, const char *v)
{
	unsigned int n;

	if (cli_parse_u32(v, 1, 65535, &n) || o->n_ports >= RL_MAX_PORTS)
		return -EINVAL;
	o->ports[o->n_ports++] = (struct fwd_port){.proto = proto, .port = (uint16_t)n};
	return 2;
}

static int add_identity(struct agent_rl_opts *o, const char *v)
{
	const char *eq = strchr(v, '=');
	size_t i;

	for (i = 0; eq && i < o->n; i++)
		if (strlen(o->w[i].name) == (size_t)(eq - v) && !strncmp(o->w[i].name, v, eq - v)) {
			o->w[i].doc = eq + 1;
			return 2;
		}
	return -EINVAL;
}

/* See agent_rootless.h. */
int agent_rl_parse_opt(struct agent_rl_opts **opts, const char *opt, char *v)
{
	struct agent_rl_opts *o = *opts;
	char *eq;

	if (strcmp(opt, "--rootless") && strcmp(opt, "--workload") && strcmp(opt, "--identity") &&
	    strcmp(opt, "--port") && strcmp(opt, "--udp-port") && strcmp(opt, "--udp-idle") &&
	    strcmp(opt, "--slirp-cidr") && strcmp(opt, "--ttl"))
		return 0;
	if (!o) {
		o = *opts = calloc(1, sizeof(*o));
		if (!o)
			return -ENOMEM;
		o->ttl_s = 300;
	}
	if (!strcmp(opt, "--rootless")) {
		o->is_forced = true;
		return 1;
	}
	if (!v)
		return -EINVAL;
	if (!strcmp(opt, "--workload")) {
		eq = strchr(v, '=');
		if (o->n >= RL_MAX_WORKLOADS || !strchr(v, '/') || (eq && strchr(v, '/') > eq))
			return -EINVAL;
		if (eq)
			*eq = '\0';
		o->w[o->n++] = (struct rlrt_wl){.name = v,
						.command = eq ? eq + 1 : NULL,
						.slirp_exit_fd = -1,
						.ctrl_fd = -1};
		return 2;
	}
	if (!strcmp(opt, "--identity"))
		return add_identity(o, v);
	if (!strcmp(opt, "--port") || !strcmp(opt, "--udp-port"))
		return add_port(o, opt[2] == 'u' ? BM_PROTO_UDP : BM_PROTO_TCP, v);
	if (!strcmp(opt, "--slirp-cidr"))
		return (o->cidr = v, 2);
	if (!strcmp(opt, "--ttl"))
		return cli_parse_u32(v, 1, 86400, &o->ttl_s) ? -EINVAL : 2;
	return cli_parse_u32(v, 1, 86400, &o->udp_idle_s) ? -EINVAL : 2;
}

/* See agent_rootless.h. */
void agent_rl_opts_free(struct agent_rl_opts *opts)
{
	free(opts);
}

/* See agent_rootless.h. */
int agent_rl_open(const struct agent_config *cfg, char *mode, size_t mode_len,
		  struct agent_rl **out)
{
	struct agent_rl_opts *o = cfg->rl_opts;
	struct agent_rl *rl;
	int err;

	*out = NULL;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	rootless_probe_run(&rl->probe, o && o->is_forced);
	snprintf(mode, mode_len, "%s (%s)", rootless_mode_name(rl->probe.mode), rl->probe.reason);
	pr_info("agent: mode %s", mode);
	if (rl->probe.mode == ROOTLESS_MODE_BPF) {
		free(rl);
		if (o && o->n) {
			pr_warn("agent: --workload needs the rootless mode (add --rootless)");
			return -EINVAL;
		}
		return 0;
	}
	rl->cfg = cfg;
	rl->o = o;
	snprintf(rl->rl_dir, sizeof(rl->rl_dir), "%s/rootless", cfg->state_dir);
	err = sodium_init() < 0 ? -EIO : 0;
	if (!err && mkdir(rl->rl_dir, 0700) && errno != EEXIST)
		err = -errno;
	if (!err)
		err = rlrt_write_status(rl->rl_dir, NULL, 0, &rl->probe);
	if (err) {
		pr_warn("agent: rootless: %s: %s", rl->rl_dir, strerror(-err));
		free(rl);
		return err;
	}
	*out = rl;
	return 0;
}

static bool is_host(const struct pm_addr *a)
{
	return a->prefixlen == (a->family == BM_FAMILY_IPV4 ? 32 : 128);
}

/* The local Endpoint of m for NS/NAME, or NULL. */
static const struct pm_endpoint *local_endpoint(const struct pm_model *m, const char *nsname)
{
	const struct pm_endpoint *e;
	size_t i, nl;

	for (i = 0; i < m->n_endpoints; i++) {
		e = &m->endpoints[i];
		nl = strlen(e->ns);
		if (e->is_local && !strncmp(nsname, e->ns, nl) && nsname[nl] == '/' &&
		    !strcmp(nsname + nl + 1, e->name))
			return e;
	}
	return NULL;
}

/* The first model naming every workload: start them all under it. */
static int start_workloads(struct agent_rl *rl, const struct pm_model *m)
{
	struct agent_rl_opts *o = rl->o;
	struct rlrt_config rc = {.rl_dir = rl->rl_dir, .cidr = o->cidr};
	struct pm_addr *addrs = calloc(RL_MAX_ADDRS, sizeof(*addrs));
	const struct pm_endpoint *e;
	size_t i, k, n_addrs = 0;
	int err;

	if (!addrs)
		return -ENOMEM;
	for (i = 0; i < o->n; i++) {
		e = local_endpoint(m, o->w[i].name);
		if (!e) {
			if (rl->waiting_for != m)
				pr_info("agent: rootless: workloads wait for a local Endpoint %s",
					o->w[i].name);
			rl->waiting_for = m;
			free(addrs);
			return 0;
		}
		for (k = 0; k < e->n_addrs && n_addrs < RL_MAX_ADDRS; k++)
			if (is_host(&e->addrs[k]))
				addrs[n_addrs++] = e->addrs[k];
	}
	err = agent_rl_fwd(rl);
	if (!err)
		err = rlrt_start(&rc, o->w, o->n, addrs, n_addrs, rl->f, o->ports, o->n_ports);
	free(addrs);
	rl->is_fixed_up = !err;
	if (err) {
		pr_warn("agent: rootless: starting the workloads: %s", strerror(-err));
		for (i = 0; i < o->n; i++)
			rlrt_remove(&o->w[i], NULL, 0, rl->f);
	}
	agent_rl_write_status(rl);
	if (!err)
		pr_info("agent: rootless: %zu workloads started, forwarding between them", o->n);
	return err;
}

/* See agent_rootless.h. */
int agent_rl_install(struct agent_rl *rl, const struct pm_model *m)
{
	unsigned int closed = 0;
	int err;

	rl->model = m;
	if (rl->f) {
		err = fwd_set_model(rl->f, m, &closed);
		if (err)
			pr_warn("agent: rootless: intercepting the new policy's ports: %s",
				strerror(-err));
		pr_info("agent: rootless: forwarder swapped to the new policy; %u connections "
			"and flows it no longer allows closed",
			closed);
	}
	/*
	 * The forwarder (if any now) holds m: report it installed even when the
	 * workloads failed to start (logged; the next install tries again), or
	 * the agent would free m under the forwarder.
	 */
	if (rl->o && rl->o->n && !rl->is_fixed_up)
		start_workloads(rl, m);
	return 0;
}

/* See agent_rootless.h. */
int agent_rl_sweep(struct agent *a)
{
	uint32_t ids[1024];
	size_t i, n = 0;

	if (!a->rl || !a->rl->f)
		return 0;
	for (i = 0; i < a->revoked.n && n < sizeof(ids) / sizeof(ids[0]); i++)
		ids[n++] = a->revoked.v[i].id;
	return fwd_revoke_ids(a->rl->f, ids, n);
}

/* See agent_rootless.h. */
int agent_rl_fd(const struct agent_rl *rl)
{
	return rl && rl->f ? fwd_fd(rl->f) : -1;
}

/* See agent_rootless.h. */
void agent_rl_poll(struct agent_rl *rl)
{
	int err;

	if (!rl || !rl->f)
		return;
	agent_rl_docs_tick(rl);
	err = fwd_poll(rl->f, 0);
	if (err)
		pr_warn("agent: rootless: forwarder: %s", strerror(-err));
}

/* See agent_rootless.h. */
void agent_rl_close(struct agent_rl *rl)
{
	if (!rl)
		return;
	agent_rl_replicas_close(rl);
	rlrt_stop(rl->rl_dir, rl->o ? rl->o->w : NULL, rl->o && rl->is_fixed_up ? rl->o->n : 0,
		  rl->f);
	free(rl);
}

/* See agent_rootless.h. */
void agent_rl_hs_counts(const struct agent_rl *rl, uint64_t *ok, uint64_t *failed)
{
	uint64_t n_ok, n_failed;

	if (!rl || !rl->f)
		return;
	fwd_hs_counts(rl->f, &n_ok, &n_failed);
	*ok += n_ok;
	*failed += n_failed;
}
