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

#include <stddef.h>
#include <stdint.h>

/*
 * The taint a rootless agent advertises with its capacity: it cannot run
 * replicas the scheduler places (docs/rootless.md, "Scheduling"), so
 * placement keeps them on nodes that can, unless a workload tolerates it.
 */
#define AGENT_RL_TAINT "bpfmesh.io/rootless=true:NoSchedule"

struct agent;
struct agent_config;
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
 * Enforce m (borrowed until the next install or agent_rl_close): start the
 * workloads if not yet running and m names them all, else swap the
 * forwarder to m. Returns 0 (m is in force, or the workloads still wait
 * for their Endpoints: logged) or -errno (nothing changed).
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

/* Stop workloads, slirp4netns and forwarder; remove the status file. NULL-safe. */
void agent_rl_close(struct agent_rl *rl);

#endif /* BM_AGENT_ROOTLESS_H */
