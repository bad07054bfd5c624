// SPDX-License-Identifier: GPL-2.0-only
/* Policy sources from JSON (bus revisions, the rootless control socket); see policy_sources_json.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_sources_json.h"

/* See policy_sources_json.h. */
int policy_sources_from_json(const json_t *arr, struct policy_sources *out)
{
	const json_t *s, *name, *data;
	struct policy_source *item;
	int err = -EINVAL;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(arr) || !json_array_size(arr))
		return -EINVAL;
	out->items = calloc(json_array_size(arr), sizeof(*out->items));
	if (!out->items)
		return -ENOMEM;
	json_array_foreach (arr, i, s) {
		name = json_object_get(s, "name");
		data = json_object_get(s, "data");
		if (!json_is_string(name) || !json_is_string(data)) {
			err = -EINVAL;
			goto err_free;
		}
		item = &out->items[i];
		item->name = strdup(json_string_value(name));
		item->len = json_string_length(data);
		item->data = malloc(item->len + 1);
		out->n = i + 1;
		if (!item->name || !item->data) {
			err = -ENOMEM;
			goto err_free;
		}
		memcpy(item->data, json_string_value(data), item->len + 1);
	}
	return 0;
err_free:
	policy_sources_free(out);
	return err;
}

/* See policy_sources_json.h. */
json_t *policy_sources_to_json(const struct policy_sources *srcs)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < srcs->n; i++) {
		if (json_array_append_new(arr, json_pack("{s:s, s:s%}", "name", srcs->items[i].name,
							 "data", srcs->items[i].data,
							 srcs->items[i].len))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
