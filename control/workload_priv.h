/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by workload_model.c, workload_manifest.c and
 * workload_pod.c. Parsing reuses the manifest validation context
 * (manifest_priv.h): same field paths, same messages.
 */
#ifndef BM_WORKLOAD_PRIV_H
#define BM_WORKLOAD_PRIV_H

#include "manifest_priv.h"
#include "workload_model.h"

/* Free what o owns (not o itself). NULL members are fine. */
void wl_object_release(struct wl_object *o);

/* Call fn for every element of obj[key] (absent: none), path pushed; -EINVAL if any failed. */
typedef int (*wl_item_fn)(struct mf_ctx *c, const struct mf_node *item, void *arg);
int wl_each(struct mf_ctx *c, const struct mf_node *obj, const char *key, wl_item_fn fn, void *arg);

/* obj[key] as an integer in [min, max] into *out (left alone when absent). */
int wl_get_int(struct mf_ctx *c, const struct mf_node *obj, const char *key, long long min,
	       long long max, long long *out);

/* obj[key] as a list of strings into *out and *n (owned). */
int wl_get_strv(struct mf_ctx *c, const struct mf_node *obj, const char *key, char ***out,
		size_t *n);

/* obj[key] as a string map (ConfigMap data, nodeSelector) into *out. */
int wl_get_string_map(struct mf_ctx *c, const struct mf_node *obj, const char *key,
		      struct pm_labels *out);

/* obj.protocol (TCP, UDP, SCTP; default TCP) as IPPROTO_* into *out. */
int wl_parse_protocol(struct mf_ctx *c, const struct mf_node *obj, uint8_t *out);

/*
 * A pod spec (n: the "spec" node) into pod; identity from ns, the service
 * account and the trust domain. Labels are filled by the caller.
 */
int wl_parse_pod_spec(struct mf_ctx *c, const struct mf_node *n, const char *ns,
		      const char *trust_domain, struct wl_pod_spec *pod);

/*
 * The cpu and memory of the quantity map at obj[key] (resources.requests,
 * status.allocatable); other members warn unless in ignored (may be NULL).
 */
int wl_parse_quantities(struct mf_ctx *c, const struct mf_node *obj, const char *key,
			const char *const *ignored, struct wl_resources *out);

/*
 * The bpfmesh.io/ annotations of meta (a metadata node; absent: none) into
 * pod (workload_annot.c): bpfmesh.io/consistency (eventual|strong),
 * bpfmesh.io/sidecar and bpfmesh.io/share-versions ("true"|"false"); other
 * annotations are not looked at. -EINVAL (reported) on a bad value.
 */
int wl_parse_annotations(struct mf_ctx *c, const struct mf_node *meta, struct wl_pod_spec *pod);

/* A v1 Node's spec.taints and status.allocatable (doc: the whole manifest) into o. */
int wl_parse_node(struct mf_ctx *c, const struct mf_node *doc, struct wl_object *o);

#endif /* BM_WORKLOAD_PRIV_H */
