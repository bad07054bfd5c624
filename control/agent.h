/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The node agent: turns bus state (docs/topics.md) into pinned BPF maps.
 * One thread owns every map write and every piece of state; the bus's
 * threads only queue events for it. See docs/agent.md.
 */
#ifndef BM_AGENT_H
#define BM_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_DEFAULT_SOCKET "/run/bpfmesh/agent.sock"
#define AGENT_DEFAULT_HEARTBEAT_MS 1000
#define AGENT_DEFAULT_DEAD_AFTER_MS 5000
#define AGENT_MAX_LABELS 32

struct agent_config {
	const char *state_dir;
	const char *pin_dir;
	const char *node; /* node name: [A-Za-z0-9_-], the subject token */
	const char *bus_urls; /* NULL: supervise a local nats-server */
	const char *sock_path; /* the CLI's unix socket */
	unsigned int nats_port; /* local server port; 0: a free one */
	unsigned int heartbeat_ms;
	unsigned int dead_after_ms;
	struct agent_rl_opts *rl_opts; /* rootless-mode options (agent_rootless.h); NULL: none */
	/* Node placement properties (docs/scheduler.md), in heartbeats; all optional. */
	const char *pod_cidr; /* "198.18.17.0/24": workload addresses; NULL: runs no replicas */
	const char *uplink; /* interface for bm_xdp_ingress and the node address */
	const char *cgroup_root; /* cgroup v2 directory for replicas; NULL: none */
	const char *rootfs_dir; /* images resolve to ROOTFS_DIR/IMAGE when it exists */
	const char *trust_domain; /* workload identities; NULL: cluster.local */
	/* Identities and handshakes (agent_ident.h); 0: the defaults there. */
	int64_t workload_ttl_s; /* --workload-ttl: replica documents' lifetime */
	int64_t auth_ttl_s; /* --auth-ttl: bm_auth lifetime of the agent's handshakes */
	unsigned int auth_port; /* --auth-port */
	bool is_auth_off; /* --auth-port 0: no handshakes */
	const char *labels[AGENT_MAX_LABELS]; /* "K=V" */
	size_t n_labels;
	const char *taints[AGENT_MAX_LABELS]; /* "K=V:EFFECT" */
	size_t n_taints;
	unsigned long long cpu_milli; /* allocatable; 0: online CPUs */
	unsigned long long mem_bytes; /* 0: MemTotal */
	unsigned int flow_rate; /* flow events/s published on the bus; 0: leave the ring buffer */
	const char *metrics_addr; /* Prometheus endpoint HOST:PORT; NULL: none */
	bool is_metrics_public; /* allow a non-loopback metrics_addr */
	bool has_allow_sample; /* set the data plane's allow event sampling: */
	unsigned int allow_sample; /* 1 in N allows become events; 0: none */
	bool has_deny_event_rate; /* set the data plane's deny event rate: */
	unsigned int deny_event_rate; /* deny events per CPU per second; 0: no limit */
	/* Sidecars of placed replicas (agent_sidecars.h, docs/agent.md). */
	bool is_sidecars_off; /* --no-sidecars */
	const char *sidecar_bin; /* --sidecar-bin; NULL: next to bpfmesh, else PATH */
	const char *sidecar_bus; /* --sidecar-bus URLS; NULL: the agent's own bus URLs */
};

/*
 * Run the agent until *stop becomes non-zero (SIGTERM/SIGINT handlers set
 * it). Enforcement never pauses: maps are only ever replaced by atomic
 * swaps, and nothing is torn down on exit. Returns 0 or -errno of set-up.
 */
int agent_run(const struct agent_config *cfg, volatile sig_atomic_t *stop);

/*
 * The socket path for a state directory: the default socket for the
 * default state directory, STATE_DIR/agent.sock otherwise. Cannot fail.
 */
void agent_sock_path(const char *state_dir, char *buf, size_t len);

/*
 * One node option of `bpfmesh agent` (--pod-cidr, --uplink, --cgroup-root,
 * --rootfs-dir, --trust-domain, --label K=V, --taint K=V:EFFECT, --cpu MILLI,
 * --memory BYTES, and agent_ident_opt()'s --workload-ttl, --auth-port,
 * --auth-ttl) with its value v into c (which keeps the pointer). Returns 0,
 * 1 when opt is none of these, or -EINVAL (message printed).
 */
int agent_node_opt(struct agent_config *c, const char *opt, const char *v);

struct policy_sources;

/*
 * Hand srcs to the agent listening for state_dir, which checks them as its
 * peers will and publishes them as the next policy revision. Returns 0 and
 * *revision, -ENOENT when no agent listens there, or another -errno (the
 * agent's reason printed).
 */
int agent_client_publish(const char *state_dir, const struct policy_sources *srcs,
			 unsigned long long *revision);

#endif /* BM_AGENT_H */
