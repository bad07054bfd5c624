// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bpfmesh.io/ annotations a workload may carry (docs/manifests.md,
 * "Annotations"): they configure the replicas' sidecars. Only these keys
 * are read; every other annotation stays accepted and ignored.
 */
#include <errno.h>
#include <string.h>

#include "workload_priv.h"

/* obj[key] as "true"/"false" into *out (left alone when absent). */
static int get_bool(struct mf_ctx *c, const struct mf_node *obj, const char *key, bool *out)
{
	const char *v = NULL;

	if (mf_get_string(c, obj, key, false, &v))
		return -EINVAL;
	if (!v)
		return 0;
	if (strcmp(v, "true") && strcmp(v, "false"))
		return mf_error_at(c, obj, key, "must be \"true\" or \"false\", not \"%s\"", v);
	*out = !strcmp(v, "true");
	return 0;
}

/* See workload_priv.h. */
int wl_parse_annotations(struct mf_ctx *c, const struct mf_node *meta, struct wl_pod_spec *pod)
{
	struct mf_node an = meta->v ? mf_member(c, meta, "annotations") : (struct mf_node){0};
	const char *v = NULL;
	bool is_on = !pod->is_sidecar_off;
	size_t mark;
	int err = 0;

	if (!an.v || !json_is_object(meta->v))
		return 0;
	mark = mf_enter_key(c, "metadata");
	mf_enter_key(c, "annotations");
	if (mf_want_object(c, &an)) {
		err = -EINVAL;
		goto out;
	}
	if (mf_get_string(c, &an, "bpfmesh.io/consistency", false, &v))
		err = -EINVAL;
	else if (v && !strcmp(v, "strong"))
		pod->consistency = WL_CONSISTENCY_STRONG;
	else if (v && !strcmp(v, "eventual"))
		pod->consistency = WL_CONSISTENCY_EVENTUAL;
	else if (v)
		err = mf_error_at(c, &an, "bpfmesh.io/consistency",
				  "must be \"eventual\" or \"strong\", not \"%s\"", v);
	if (get_bool(c, &an, "bpfmesh.io/sidecar", &is_on))
		err = -EINVAL;
	pod->is_sidecar_off = !is_on;
	if (get_bool(c, &an, "bpfmesh.io/share-versions", &pod->is_shared_versions))
		err = -EINVAL;
out:
	mf_leave(c, mark);
	return err;
}
