/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent in rootless mode (docs/rootless.md, "The agent"): chosen by
 * `--rootless` or by rootless_probe_run() when this process cannot run the
 * BPF data plane. Instead of installing maps, every accepted policy
 * revision (with the bus's endpoints) is swapped into the userland
 * forwarder (fwd_set_model) and the bus's revocations go to the forwarder's
 * authorizations at once (fwd_revoke_ids). The workloads given with
 * `--workload` start, each in its user and network namespace with
 * slirp4netns, when the first installed model names all of them as local
 * Endpoints (their addresses are fixed from then on). Unlike the maps,
 * workloads and forwarder end with the agent.
 */
#ifndef BM_AGENT_ROOTLESS_H
#define BM_AGENT_ROOTLESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * The taint a rootless agent advertises with its capacity: its replicas
 * reach only replicas of the same node (through the forwarder), so in a
 * mixed cluster placement keeps workloads on the rootful nodes unless they
 * tolerate it. When every node of the view carries it (a rootless laptop,
 * a cluster of rootless nodes), placement ignores it: agent_rl_view_tolerates()
 * (docs/rootless.md, "Scheduling").
 */
#define AGENT_RL_TAINT "bpfmesh.io/rootless=true:NoSchedule"

struct agent;
struct agent_config;
struct agent_local;
struct agent_replica;
struct agent_rl;
struct agent_rl_opts;
struct pm_model;

/*
 * Parse one agent option of the rootless mode into *opts (allocated on
 * first use; free with agent_rl_opts_free): `--rootless` (v unused),
 * `--workload NS/NAME[=COMMAND]`, `--identity NS/NAME=DOC`, `--port N`,
 * `--udp-port N`, `--udp-idle SECONDS`, `--slirp-cidr CIDR`, `--ttl SECONDS`.
 * Returns 2 (consumed opt and v), 1 (consumed opt only), 0 (not an option
 * of this mode) or -EINVAL / -ENOMEM.
 */
int agent_rl_parse_opt(struct agent_rl_opts **opts, const char *opt, char *v);

/* Free what agent_rl_parse_opt allocated. NULL-safe. */
void agent_rl_opts_free(struct agent_rl_opts *opts);

/*
 * Decide the mode (rootless_probe_run, forced by --rootless) and log it
 * with its reason into mode (a "bpf (REASON)" / "rootless (REASON)" line of
 * mode_len bytes). In rootless mode *out is the new state (also written to
 * STATE_DIR/rootless/status for `bpfmesh status`); in BPF mode *out is
 * NULL. Returns 0 or -errno (with --workload but BPF mode: -EINVAL).
 */
int agent_rl_open(const struct agent_config *cfg, char *mode, size_t mode_len,
		  struct agent_rl **out);

/*
 * Enforce m (borrowed until the next install or agent_rl_close): swap the
 * forwarder (if one runs: placed replicas or workloads) to m, and start the
 * --workload ones if not yet running and m names them all (a failure is
 * logged and tried again at the next install). Returns 0: m is in force.
 */
int agent_rl_install(struct agent_rl *rl, const struct pm_model *m);

/* Hand the agent's revoked identities to the forwarder. Returns the pairs cut. */
int agent_rl_sweep(struct agent *a);

/* The forwarder's fd for the agent's poll (-1 while no workload runs). Cannot fail. */
int agent_rl_fd(const struct agent_rl *rl);

/* Forwarding work without waiting. Cannot fail (errors logged). */
void agent_rl_poll(struct agent_rl *rl);

/*
 * Add the handshakes the forwarder ran (authenticated, failed) to *ok and
 * *failed, for the metrics. NULL-safe (rl, or no forwarder yet: adds 0).
 */
void agent_rl_hs_counts(const struct agent_rl *rl, uint64_t *ok, uint64_t *failed);

/*
 * Scheduling on a rootless node (agent_rl_sched.c), called by agent_rt.c in
 * place of the runtime. open: the pod range (--pod-cidr, default
 * RL_DEFAULT_POD_CIDR of agent_rl_priv.h); 0 or -EINVAL.
 */
int agent_rl_rt_open(struct agent *a);

/*
 * Start replica r as a rootless workload (its own user and network
 * namespace, slirp4netns, registered with the forwarder under NS/POD, an
 * address from the pod range, its containers' commands with their
 * environment and POD_IP); fills l's address and pid. 0 or -errno (logged).
 */
int agent_rl_rt_start(struct agent *a, const struct agent_replica *r, struct agent_local *l);

/* Stop the replica with key (forwarder, keeper, slirp4netns, files). Returns 0. */
int agent_rl_rt_stop(struct agent *a, const char *key);

/* Does the replica with key still run its command? Cannot fail. */
bool agent_rl_rt_is_running(struct agent *a, const char *key);

/*
 * Does every node of view (agent_view_json's array) carry AGENT_RL_TAINT?
 * Then placement tolerates it. False for an empty view. Cannot fail.
 */
bool agent_rl_view_tolerates(const json_t *view);

/* Stop workloads, slirp4netns and forwarder; remove the status file. NULL-safe. */
void agent_rl_close(struct agent_rl *rl);

#endif /* BM_AGENT_ROOTLESS_H */
