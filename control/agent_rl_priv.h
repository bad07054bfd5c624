/* SPDX-License-Identifier: GPL-2.0-only */
/* The rootless agent's state, shared by agent_rootless.c and agent_rl_sched.c. */
#ifndef BM_AGENT_RL_PRIV_H
#define BM_AGENT_RL_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fwd.h"
#include "rootless_probe.h"
#include "runtime_rootless.h"

#define RL_MAX_WORKLOADS 64
#define RL_MAX_PORTS 64
#define RL_MAX_REPLICAS 64
#define RL_DEFAULT_POD_CIDR "198.19.0.0/24"

struct agent_rl_opts {
	bool is_forced;
	struct rlrt_wl w[RL_MAX_WORKLOADS];
	size_t n;
	struct fwd_port ports[RL_MAX_PORTS];
	size_t n_ports;
	unsigned int udp_idle_s, ttl_s;
	const char *cidr;
};

/* A replica the scheduler placed on this rootless node (agent_rl_sched.c). */
struct agent_rl_replica {
	char *key;
	char name[320]; /* NS/POD: its Endpoint's name, its workload name */
	char *command; /* the containers as one /bin/sh -c line */
	struct rlrt_wl w;
	struct pm_addr addr;
	int pidfd; /* its command (readable once it exited); -1: none */
	char out[PATH_MAX]; /* its stdout and stderr */
	char doc[PATH_MAX]; /* its identity document (agent_ident.h), or "" */
	struct timespec doc_mtime; /* of the document the forwarder holds */
};

struct agent_rl {
	const struct agent_config *cfg;
	struct agent_rl_opts *o;
	struct rootless_probe probe;
	char rl_dir[PATH_MAX];
	struct fwd *f; /* NULL until a workload or replica starts */
	bool is_fixed_up; /* the --workload ones run */
	const struct pm_model *model; /* the last one installed (borrowed), or NULL */
	const struct pm_model *waiting_for; /* the last model that lacked a workload's Endpoint */
	struct agent_rl_replica *reps[RL_MAX_REPLICAS];
	size_t n_reps;
	uint32_t pod_net, pod_prefixlen; /* host order */
	unsigned int next_tag;
	uint64_t next_doc_check_ms;
};

/* agent_rl_sched.c: the forwarder, made on first use with the last model. 0 or -errno. */
int agent_rl_fwd(struct agent_rl *rl);

/* agent_rl_sched.c: STATE_DIR/rootless/status with workloads and replicas. 0 or -errno. */
int agent_rl_write_status(const struct agent_rl *rl);

/*
 * agent_rl_sched.c: hand renewed identity documents of placed replicas to
 * the forwarder (checked once a second). Cannot fail (errors logged).
 */
void agent_rl_docs_tick(struct agent_rl *rl);

/* agent_rl_sched.c: stop every placed replica (agent exit). Cannot fail. */
void agent_rl_replicas_close(struct agent_rl *rl);

#endif /* BM_AGENT_RL_PRIV_H */
