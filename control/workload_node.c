// SPDX-License-Identifier: GPL-2.0-only
/*
 * v1 Node manifests: the membership view `apply --dry-run` places replicas
 * on (labels from metadata, taints, allocatable resources).
 */
#include <errno.h>
#include <string.h>

#include "workload_priv.h"

static int parse_taint(struct mf_ctx *c, const struct mf_node *item, void *arg)
{
	static const char *const known[] = {"key", "value", "effect", NULL};
	static const char *const ignored[] = {"timeAdded", NULL};
	static const char *const effects[] = {"", "NoSchedule", "PreferNoSchedule", "NoExecute"};
	struct wl_object *o = arg;
	struct wl_taint *t = mf_append(c, &o->taints, &o->n_taints, sizeof(*t));
	const char *key, *value = NULL, *effect;
	int i;

	if (!t || mf_want_object(c, item))
		return -EINVAL;
	mf_check_fields(c, item, known, ignored);
	if ((mf_get_string(c, item, "key", true, &key) |
	     mf_get_string(c, item, "value", false, &value) |
	     mf_get_string(c, item, "effect", true, &effect)) ||
	    !key || !effect)
		return -EINVAL;
	for (i = 1; i < 4 && strcmp(effects[i], effect); i++)
		;
	if (i == 4)
		return mf_error_at(c, item, "effect",
				   "must be NoSchedule, PreferNoSchedule or NoExecute");
	t->effect = (enum wl_taint_effect)i;
	t->key = mf_strdup(c, key);
	t->value = mf_strdup(c, value ? value : "");
	return 0;
}

/* See workload_priv.h. */
int wl_parse_node(struct mf_ctx *c, const struct mf_node *doc, struct wl_object *o)
{
	static const char *const known[] = {"apiVersion", "kind",   "metadata",
					    "spec",	  "status", NULL};
	static const char *const spec_known[] = {"taints", NULL};
	static const char *const spec_ignored[] = {"podCIDR", "podCIDRs", "providerID",
						   "unschedulable", NULL};
	static const char *const res_ignored[] = {"pods", "ephemeral-storage", "hugepages-2Mi",
						  "hugepages-1Gi", NULL};
	struct mf_node spec = mf_member(c, doc, "spec"), status = mf_member(c, doc, "status");
	size_t mark;
	int err = 0;

	mf_check_fields(c, doc, known, NULL);
	mark = mf_enter_key(c, "spec");
	if (spec.v && !mf_want_object(c, &spec)) {
		mf_check_fields(c, &spec, spec_known, spec_ignored);
		err = wl_each(c, &spec, "taints", parse_taint, o);
	}
	mf_leave(c, mark);
	mark = mf_enter_key(c, "status");
	if (!status.v || mf_want_object(c, &status))
		err = status.v ? -EINVAL : mf_error(c, status.pos, "required field is missing");
	else if (mf_member(c, &status, "allocatable").v)
		err |= wl_parse_quantities(c, &status, "allocatable", res_ignored, &o->allocatable);
	else
		err |= wl_parse_quantities(c, &status, "capacity", res_ignored, &o->allocatable);
	mf_leave(c, mark);
	return err ? -EINVAL : 0;
}
