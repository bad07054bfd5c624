// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy revision as a bus message: the sources inline when the message
 * stays small, else in a blob (bus_blob.h) that the message names, so that a
 * 100k-endpoint policy passes through servers with NATS's default 1 MiB
 * max_payload. docs/topics.md, "Policy revisions".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "bus_blob.h"
#include "log.h"

/* Larger message bodies go through a blob. */
#define INLINE_MAX BUS_BLOB_PART
/* Room left for the rest of an inline message ({"schema","node",...}). */
#define HEADER_ROOM 512

/* The blob the current revision names, or NULL (inline, none, unreadable). */
static json_t *current_blob(struct agent *a)
{
	json_t *j, *blob = NULL;
	char *data = NULL;
	size_t len;

	if (bus_kv_get(a->bus, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, &data, &len, NULL))
		return NULL;
	j = json_loadb(data, len, 0, NULL);
	free(data);
	if (json_is_object(json_object_get(j, "blob")))
		blob = json_incref(json_object_get(j, "blob"));
	json_decref(j);
	return blob;
}

/* See agent_priv.h. */
int agent_policy_put(struct agent *a, const json_t *srcs, uint64_t *rev)
{
	json_t *body, *inner, *desc = NULL, *old = NULL;
	char *text = NULL;
	int err = -ENOMEM;

	/* The sources are serialized once: inline below the limit, else as the blob. */
	body = json_pack("{s:i, s:s}", "schema", BUS_SCHEMA, "node", a->cfg->node);
	inner = json_pack("{s:O}", "sources", srcs);
	text = body && inner ? json_dumps(inner, JSON_COMPACT) : NULL;
	if (!text)
		goto out;
	if (strlen(text) <= INLINE_MAX - HEADER_ROOM) {
		free(text);
		text = NULL;
		if (json_object_set(body, "sources", json_object_get(inner, "sources")))
			goto out;
	} else {
		old = current_blob(a);
		err = bus_blob_put(a->bus, text, strlen(text), &desc);
		free(text);
		text = NULL;
		if (err)
			goto out;
		err = -ENOMEM;
		if (json_object_set(body, "blob", desc))
			goto out;
	}
	text = json_dumps(body, JSON_COMPACT);
	if (!text)
		goto out;
	err = bus_kv_put(a->bus, BUS_BUCKET_POLICY, AGENT_POLICY_KEY, text, strlen(text), rev);
	if (err) {
		bus_blob_drop(a->bus, desc);
		goto out;
	}
	/* Superseded: readers of that revision fetch the new one instead. */
	bus_blob_drop(a->bus, old);
out:
	free(text);
	json_decref(body);
	json_decref(inner);
	json_decref(desc);
	json_decref(old);
	return err;
}

/* See agent_priv.h. */
json_t *agent_policy_sources(struct agent *a, const json_t *msg, char *why, size_t cap)
{
	const json_t *desc = json_object_get(msg, "blob");
	json_t *inner, *srcs;
	char *data = NULL;
	size_t len;
	int err;

	if (!desc)
		return json_incref(json_object_get(msg, "sources"));
	err = bus_blob_get(a->bus, desc, &data, &len);
	if (err) {
		snprintf(why, cap, "policy blob: %s",
			 err == -ENOENT	   ? "a part is gone (superseded by a newer revision)"
			 : err == -EBADMSG ? "length or BLAKE2b hash does not match"
			 : err == -EINVAL  ? "malformed descriptor"
					   : strerror(-err));
		return NULL;
	}
	inner = json_loadb(data, len, 0, NULL);
	free(data);
	srcs = json_incref(json_object_get(inner, "sources"));
	json_decref(inner);
	if (!srcs)
		snprintf(why, cap, "policy blob: no \"sources\" in it");
	return srcs;
}
