// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh rootless run|status|exec|observe|policy load: the path without root or BPF
 * (docs/rootless.md). `run` starts every workload in its own user and
 * network namespace with slirp4netns and forwards workload-to-workload
 * traffic through the userland forwarder (fwd.h) under the same policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include <abi/abi.h>

#include "agent_sock.h"
#include "cli.h"
#include "cmd_rootless.h"
#include "fwd.h"
#include "log.h"
#include "policy_sources_json.h"
#include "policy_store.h"
#include "rlns.h"
#include "rootless_probe.h"
#include "runtime_rootless.h"

#define RL_MAX_WORKLOADS 64
#define RL_MAX_PORTS 64
#define RL_MAX_FILES 32
#define RL_MAX_ADDRS 512

struct rl_run {
	const char *files[RL_MAX_FILES];
	size_t n_files;
	struct rlrt_wl w[RL_MAX_WORKLOADS];
	size_t n;
	struct fwd_port ports[RL_MAX_PORTS]; /* --port, --udp-port */
	size_t n_ports;
	struct policy_sources srcs; /* of the policy in force */
	struct pm_model *model; /* the policy in force */
	unsigned int ttl_s;
	unsigned int udp_idle_s; /* 0: the forwarder's default */
	const char *node;
	const char *cidr;
	bool is_slirp_off;
	struct pm_addr addrs[RL_MAX_ADDRS]; /* every workload's host addresses */
	size_t n_addrs;
};

static volatile sig_atomic_t is_stopping;

static void on_signal(int sig)
{
	(void)sig;
	is_stopping = 1;
}

static struct rlrt_wl *find_workload(struct rl_run *r, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strlen(r->w[i].name) == len && !strncmp(r->w[i].name, name, len))
			return &r->w[i];
	return NULL;
}

/* --workload NS/NAME[=COMMAND]; the string stays in argv, cut at '='. */
static int add_workload(struct rl_run *r, char *spec)
{
	char *eq = strchr(spec, '=');

	if (r->n >= RL_MAX_WORKLOADS || !strchr(spec, '/'))
		return -EINVAL;
	if (eq)
		*eq = '\0';
	r->w[r->n++] = (struct rlrt_wl){
		.name = spec, .command = eq ? eq + 1 : NULL, .slirp_exit_fd = -1, .ctrl_fd = -1};
	return 0;
}

/* --identity NS/NAME=FILE, after that workload's --workload. */
static int add_identity(struct rl_run *r, const char *spec)
{
	const char *eq = strchr(spec, '=');
	struct rlrt_wl *w = eq ? find_workload(r, spec, (size_t)(eq - spec)) : NULL;

	if (!w)
		return -EINVAL;
	w->doc = eq + 1;
	return 0;
}

/* Each port once: two listeners on one address and port cannot both bind. */
static int add_port(struct rl_run *r, uint8_t proto, uint16_t port)
{
	size_t i;

	for (i = 0; i < r->n_ports; i++)
		if (r->ports[i].proto == proto && r->ports[i].port == port)
			return 0;
	if (r->n_ports >= RL_MAX_PORTS)
		return -E2BIG;
	r->ports[r->n_ports++] = (struct fwd_port){.proto = proto, .port = port};
	return 0;
}

static int parse_run_one(struct rl_run *r, const char *opt, char *v)
{
	unsigned int n;

	if (!strcmp(opt, "-f") || !strcmp(opt, "--policy"))
		return r->n_files < RL_MAX_FILES ? (r->files[r->n_files++] = v, 0) : -EINVAL;
	if (!strcmp(opt, "--workload"))
		return add_workload(r, v);
	if (!strcmp(opt, "--identity"))
		return add_identity(r, v);
	if (!strcmp(opt, "--port") || !strcmp(opt, "--udp-port")) {
		if (cli_parse_u32(v, 1, 65535, &n))
			return -EINVAL;
		return add_port(r, opt[2] == 'u' ? BM_PROTO_UDP : BM_PROTO_TCP, (uint16_t)n);
	}
	if (!strcmp(opt, "--ttl"))
		return cli_parse_u32(v, 1, 86400, &r->ttl_s);
	if (!strcmp(opt, "--udp-idle"))
		return cli_parse_u32(v, 1, 86400, &r->udp_idle_s);
	if (!strcmp(opt, "--node"))
		return (r->node = v, 0);
	if (!strcmp(opt, "--slirp-cidr"))
		return (r->cidr = v, 0);
	return -EINVAL;
}

static int parse_run(int argc, char **argv, struct rl_run *r)
{
	int i;

	r->ttl_s = 300;
	r->cidr = RLRT_DEFAULT_CIDR;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rootless"))
			continue;
		if (!strcmp(argv[i], "--no-slirp")) {
			r->is_slirp_off = true;
			continue;
		}
		if (i + 1 >= argc || parse_run_one(r, argv[i], argv[i + 1]))
			return -EINVAL;
		i++;
	}
	return r->n_files && r->n ? 0 : -EINVAL;
}

static int build_model(struct rl_run *r)
{
	size_t i;
	int err = 0;

	for (i = 0; i < r->n_files && !err; i++)
		err = policy_sources_read(&r->srcs, r->files[i]);
	return err ? err : policy_sources_model(&r->srcs, r->node, &r->model);
}

static bool is_host(const struct pm_addr *a)
{
	return a->prefixlen == (a->family == BM_FAMILY_IPV4 ? 32 : 128);
}

/* Match every workload to its local endpoint; collect addresses. */
static int resolve(struct rl_run *r, const struct pm_model *m, bool is_reload)
{
	size_t i, j, k;

	for (i = 0; i < r->n; i++) {
		const struct pm_endpoint *e = NULL;

		for (j = 0; j < m->n_endpoints && !e; j++) {
			e = &m->endpoints[j];
			if (strlen(e->ns) + 1 + strlen(e->name) != strlen(r->w[i].name) ||
			    strncmp(r->w[i].name, e->ns, strlen(e->ns)) ||
			    strcmp(r->w[i].name + strlen(e->ns) + 1, e->name))
				e = NULL;
		}
		if (!e || !e->is_local) {
			fprintf(stderr, "bpfmesh: rootless: no local Endpoint %s in the policy\n",
				r->w[i].name);
			return -ENOENT;
		}
		for (k = 0; !is_reload && k < e->n_addrs && r->n_addrs < RL_MAX_ADDRS; k++)
			if (is_host(&e->addrs[k]))
				r->addrs[r->n_addrs++] = e->addrs[k];
	}
	return 0;
}

/*
 * A reload from `rootless policy load`: all or nothing. The new policy must
 * name every running workload as a local Endpoint; then the forwarder swaps
 * to it (closing what it no longer allows) and it becomes the stored policy.
 */
static json_t *reload(struct rl_run *r, struct fwd *f, const struct cli_globals *g,
		      const json_t *req)
{
	struct policy_sources srcs = {0};
	struct pm_model *m = NULL;
	unsigned int closed = 0;
	int err;

	err = policy_sources_from_json(json_object_get(req, "sources"), &srcs);
	if (err)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
				 "\"sources\" must be a non-empty array of {name, data} strings");
	err = policy_sources_model(&srcs, r->node, &m);
	if (!err)
		err = resolve(r, m, true);
	if (err) {
		policy_sources_free(&srcs);
		pm_model_free(m);
		return json_pack("{s:b, s:s}", "ok", 0, "error",
				 err == -ENOENT ? "the policy must keep an Endpoint for every "
						  "running workload; nothing applied"
						: "the policy does not load (see the forwarder's "
						  "log); nothing applied");
	}
	err = fwd_set_model(f, m, &closed);
	pm_model_free(r->model);
	r->model = m;
	policy_sources_free(&r->srcs);
	r->srcs = srcs;
	if (policy_store_save(g->state_dir, &r->srcs, m, r->node))
		fprintf(stderr, "bpfmesh: rootless: could not record the policy in %s\n",
			g->state_dir);
	printf("policy reloaded: %zu endpoints; %u connections and flows closed\n", m->n_endpoints,
	       closed);
	fflush(stdout);
	if (err)
		return json_pack("{s:b, s:s, s:i}", "ok", 0, "error",
				 "the policy is in force, but intercepting its new ports failed",
				 "closed", closed);
	return json_pack("{s:b, s:i, s:I}", "ok", 1, "closed", closed, "endpoints",
			 (json_int_t)m->n_endpoints);
}

static void serve_ctl(struct rl_run *r, struct fwd *f, const struct cli_globals *g, int lfd)
{
	json_t *req, *reply;
	const char *op;
	int i, fd;

	for (i = 0; i < 8; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		req = agent_sock_read(fd);
		op = json_string_value(json_object_get(req, "op"));
		if (op && !strcmp(op, "policy-load"))
			reply = reload(r, f, g, req);
		else
			reply = json_pack("{s:b, s:s}", "ok", 0, "error", "unknown request");
		if (reply)
			agent_sock_write(fd, reply);
		json_decref(reply);
		json_decref(req);
		close(fd);
	}
}

/* The forwarder and the control socket in one loop until a signal. */
static int run_loop(struct rl_run *r, struct fwd *f, const struct cli_globals *g, int lfd)
{
	struct pollfd pfd[2] = {{.fd = fwd_fd(f), .events = POLLIN}, {.fd = lfd, .events = POLLIN}};
	int err = 0;

	while (!is_stopping && !err) {
		if (poll(pfd, 2, 100) < 0 && errno != EINTR)
			return -errno;
		err = fwd_poll(f, 0);
		if (pfd[1].revents & POLLIN)
			serve_ctl(r, f, g, lfd);
	}
	return err;
}

static int serve(struct rl_run *r, const struct cli_globals *g, const struct rootless_probe *p)
{
	struct fwd_config fc = {.state_dir = g->state_dir,
				.model = r->model,
				.auth_ttl_ns = (uint64_t)r->ttl_s * 1000000000ULL,
				.udp_idle_ms = r->udp_idle_s * 1000};
	char rl_dir[PATH_MAX], ctl[PATH_MAX + 16];
	struct rlrt_config rc = {
		.rl_dir = rl_dir, .cidr = r->cidr, .is_slirp_off = r->is_slirp_off};
	struct fwd *f;
	int err, lfd = -1;

	if (snprintf(rl_dir, sizeof(rl_dir), "%s/rootless", g->state_dir) >=
	    (int)sizeof(rl_dir) - 16)
		return -ENAMETOOLONG;
	snprintf(ctl, sizeof(ctl), "%s/%s", rl_dir, ROOTLESS_CTL_SOCK);
	if (mkdir(rl_dir, 0700) && errno != EEXIST)
		return -errno;
	f = fwd_new(&fc);
	if (!f)
		return -errno;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	err = rlrt_start(&rc, r->w, r->n, r->addrs, r->n_addrs, f, r->ports, r->n_ports);
	if (!err) {
		lfd = agent_sock_listen(ctl);
		err = lfd < 0 ? lfd : 0;
	}
	if (!err)
		err = rlrt_write_status(rl_dir, r->w, r->n, p);
	if (!err) {
		printf("mode: %s (%s)\nforwarding for %zu workloads\n", rootless_mode_name(p->mode),
		       p->reason, r->n);
		fflush(stdout);
		err = run_loop(r, f, g, lfd);
	}
	if (lfd >= 0) {
		close(lfd);
		unlink(ctl);
	}
	rlrt_stop(rl_dir, r->w, r->n, f);
	return err;
}

static int rootless_run(const struct cli_globals *g, int argc, char **argv)
{
	struct rootless_probe probe;
	char node[HOST_NAME_MAX + 1] = "localhost";
	struct rl_run *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return CLI_EXIT_ERROR;
	if (parse_run(argc, argv, r)) {
		fprintf(stderr, "usage: bpfmesh rootless run -f POLICY.yaml... --workload "
				"NS/NAME[=COMMAND]... [--identity NS/NAME=DOC]... [--port N]... "
				"[--udp-port N]... [--udp-idle SECONDS] [--ttl SECONDS] "
				"[--node NAME] [--slirp-cidr CIDR]\n");
		free(r);
		return CLI_EXIT_ERROR;
	}
	if (!r->node && !gethostname(node, sizeof(node) - 1))
		r->node = node;
	else if (!r->node)
		r->node = "localhost";
	rootless_probe_run(&probe, true);
	err = sodium_init() < 0 ? -EIO : 0;
	if (!err)
		err = build_model(r);
	if (!err)
		err = resolve(r, r->model, false);
	/* What `policy check|show` and `observe` read: the policy in force here. */
	if (!err)
		err = policy_store_prepare_dir(g->state_dir);
	if (!err)
		err = policy_store_save(g->state_dir, &r->srcs, r->model, r->node);
	if (!err)
		err = serve(r, g, &probe);
	if (err)
		fprintf(stderr, "bpfmesh: rootless run: %s\n", strerror(-err));
	pm_model_free(r->model);
	policy_sources_free(&r->srcs);
	free(r);
	return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

/* See cli.h: bpfmesh rootless run|status|exec|observe. */
int cmd_rootless(const struct cli_globals *g, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return rootless_run(g, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "status"))
		return rootless_status(g, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return rootless_exec(g, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "observe"))
		return rootless_observe(g, argc - 1, argv + 1);
	if (argc >= 3 && !strcmp(argv[1], "policy") && !strcmp(argv[2], "load"))
		return rootless_policy_load(g, argc - 2, argv + 2);
	fprintf(stderr, "usage: bpfmesh rootless run|status|exec|observe|policy load ...\n");
	return CLI_EXIT_ERROR;
}
