/* SPDX-License-Identifier: GPL-2.0-only */
/* Policy sources as they travel in JSON: [{"name": ..., "data": ...}, ...]. */
#ifndef BM_POLICY_SOURCES_JSON_H
#define BM_POLICY_SOURCES_JSON_H

#include <jansson.h>

#include "policy_store.h"

/*
 * Fill out from a non-empty array of {"name": STRING, "data": STRING}.
 * Returns 0, -EINVAL (not such an array; out left empty) or -ENOMEM.
 */
int policy_sources_from_json(const json_t *arr, struct policy_sources *out);

/* srcs as such an array (caller decrefs), or NULL when out of memory. */
json_t *policy_sources_to_json(const struct policy_sources *srcs);

#endif /* BM_POLICY_SOURCES_JSON_H */
