/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The workload model: what `bpfmesh apply` reads from Kubernetes manifests
 * (workload_manifest.c) and what the scheduler places (sched.c). Kinds: Pod,
 * Deployment, StatefulSet, DaemonSet, Service, ServiceAccount, ConfigMap, and
 * Node (a membership view for `apply --dry-run` placements and tests).
 * NetworkPolicy and the bpfmesh kinds stay with manifest.c (policy model).
 *
 * Plain data; every string and array is owned by the model and freed by
 * wl_model_free(). docs/manifests.md lists every supported field.
 */
#ifndef BM_WORKLOAD_MODEL_H
#define BM_WORKLOAD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "policy_model.h"

enum wl_kind {
	WL_POD,
	WL_DEPLOYMENT,
	WL_STATEFULSET,
	WL_DAEMONSET,
	WL_SERVICE,
	WL_SERVICE_ACCOUNT,
	WL_CONFIG_MAP,
	WL_NODE, /* a member of a membership view, for dry runs and tests */
};

/* CPU in millicores, memory in bytes; 0 when not given. */
struct wl_resources {
	uint64_t cpu_milli;
	uint64_t mem_bytes;
};

struct wl_env {
	char *name;
	char *value; /* NULL when taken from a ConfigMap */
	char *cm_name; /* valueFrom.configMapKeyRef */
	char *cm_key;
};

struct wl_port {
	char *name; /* NULL when unnamed */
	uint16_t port;
	uint16_t target_port; /* Service only; = port when absent */
	uint8_t protocol; /* IPPROTO_TCP, _UDP or _SCTP */
};

struct wl_container {
	char *name;
	char *image;
	char **command;
	size_t n_command;
	char **args;
	size_t n_args;
	struct wl_env *env;
	size_t n_env;
	char **env_from_cm; /* envFrom[].configMapRef.name */
	size_t n_env_from_cm;
	struct wl_port *ports;
	size_t n_ports;
	struct wl_resources requests; /* defaults to limits, as in Kubernetes */
	struct wl_resources limits;
};

/* Node selector requirement operators (node affinity adds Gt and Lt). */
enum wl_node_op {
	WL_NODE_IN,
	WL_NODE_NOT_IN,
	WL_NODE_EXISTS,
	WL_NODE_DOES_NOT_EXIST,
	WL_NODE_GT,
	WL_NODE_LT,
};

struct wl_node_expr {
	char *key;
	enum wl_node_op op;
	char **values;
	size_t n_values;
};

/* One nodeSelectorTerm: its expressions all hold (terms are ORed). */
struct wl_node_term {
	struct wl_node_expr *exprs;
	size_t n_exprs;
};

enum wl_taint_effect {
	WL_EFFECT_ANY, /* a toleration with no effect tolerates every effect */
	WL_EFFECT_NO_SCHEDULE,
	WL_EFFECT_PREFER_NO_SCHEDULE,
	WL_EFFECT_NO_EXECUTE,
};

struct wl_toleration {
	char *key; /* NULL: every key (operator Exists only) */
	bool is_exists; /* operator Exists; else Equal */
	char *value;
	enum wl_taint_effect effect;
};

/* A node taint (Node spec.taints[]). */
struct wl_taint {
	char *key;
	char *value; /* "" when absent */
	enum wl_taint_effect effect; /* never WL_EFFECT_ANY */
};

/* bpfmesh.io/consistency: the state consistency of the replicas' sidecars. */
enum wl_consistency {
	WL_CONSISTENCY_DEFAULT, /* absent: strong for a StatefulSet, else eventual */
	WL_CONSISTENCY_EVENTUAL,
	WL_CONSISTENCY_STRONG,
};

struct wl_pod_spec {
	struct pm_labels labels; /* the template's (or the Pod's) labels */
	struct wl_container *containers;
	size_t n_containers;
	struct pm_labels node_selector;
	struct wl_node_term *terms; /* requiredDuringSchedulingIgnoredDuringExecution */
	size_t n_terms;
	struct wl_toleration *tolerations;
	size_t n_tolerations;
	char *service_account; /* "default" when absent */
	char *identity; /* spiffe://DOMAIN/ns/NS/sa/SA */
	uint32_t sec_id; /* numeric identity of the SPIFFE ID */
	char template_hash[11]; /* 10 hex digits over the pod spec and labels */
	/* bpfmesh.io/ annotations of the object, then of its pod template (which win) */
	enum wl_consistency consistency; /* bpfmesh.io/consistency */
	bool is_sidecar_off; /* bpfmesh.io/sidecar: "false" */
	bool is_shared_versions; /* bpfmesh.io/share-versions: "true" */
};

/* maxSurge / maxUnavailable: an absolute count or a percentage. */
struct wl_int_or_percent {
	uint32_t value;
	bool is_percent;
};

struct wl_object {
	enum wl_kind kind;
	char *ns; /* "" for a Node (not namespaced) */
	char *name;
	struct pm_labels labels;
	struct pm_src_pos pos;
	/* Pod, Deployment, StatefulSet, DaemonSet */
	struct wl_pod_spec pod;
	uint32_t replicas; /* 1 for a Pod; 0 for a DaemonSet (one per fitting node) */
	struct pm_selector selector;
	struct wl_int_or_percent max_surge;
	struct wl_int_or_percent max_unavailable;
	/* Service: selector in svc_selector, ports in svc_ports */
	struct pm_labels svc_selector;
	struct wl_port *svc_ports;
	size_t n_svc_ports;
	/* ConfigMap data */
	struct pm_labels data;
	/* Node: status.allocatable (else status.capacity), spec.taints; labels above */
	struct wl_resources allocatable;
	struct wl_taint *taints;
	size_t n_taints;
};

struct wl_model {
	struct wl_object *objs; /* in the order loaded */
	size_t n_objs;
	char **files; /* interned file names that pm_src_pos.file points into */
	size_t n_files;
};

/* Options of one load. */
struct wl_load_opts {
	const char *trust_domain; /* for identities; NULL: "cluster.local" */
	bool is_strict; /* unsupported kinds and fields are errors, not warnings */
};

/* A new empty model, or NULL (errno ENOMEM). Free with wl_model_free(). */
struct wl_model *wl_model_new(void);

/* Free m and everything in it. NULL-safe. */
void wl_model_free(struct wl_model *m);

/* "deployment", "statefulset", ... (kubectl's lower-case names). Cannot fail. */
const char *wl_kind_name(enum wl_kind kind);

/* Total requests of one replica (sum over containers). Cannot fail. */
struct wl_resources wl_pod_requests(const struct wl_pod_spec *pod);

/* Object of kind ns/name in m, or NULL. Cannot fail. */
const struct wl_object *wl_model_find(const struct wl_model *m, enum wl_kind kind, const char *ns,
				      const char *name);

/*
 * Parse one input (buf NULL: read the file name; "-" is stdin) and add its
 * workload kinds to m, all or nothing. Kinds manifest.c loads (NetworkPolicy,
 * Namespace, Endpoint, MeshPolicy, List) are skipped silently; others are
 * reported as unsupported. Messages go to diag (the caller owns it).
 * Returns 0 (maybe with warnings), -EINVAL if any error was reported,
 * -ENOENT/-EACCES/... if the file cannot be read, or -ENOMEM.
 */
int wl_load(struct wl_model *m, const char *name, const char *buf, size_t len,
	    const struct wl_load_opts *opts, struct manifest_diag *diag);

/*
 * Is kind (a manifest's "kind" value) one wl_load() handles? Cannot fail.
 * cmd_apply uses it to drop manifest.c's "unsupported kind" warnings.
 */
bool wl_kind_is_workload(const char *kind);

/*
 * Parse a Kubernetes quantity ("100m", "0.5", "64Mi", "1G", "2") scaled by
 * scale (1000 for CPU millicores, 1 for bytes), rounding up. Returns 0 or
 * -EINVAL (also on overflow).
 */
int wl_parse_quantity(const char *text, uint64_t scale, uint64_t *out);

#endif /* BM_WORKLOAD_MODEL_H */
