// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a workload object lives in bpfmesh-workloads, for apply and delete:
 * an agent watches only the placement topics its node serves
 * (docs/scheduler.md), so a placement request of another topic (or one
 * still under the topic of its previous version) is looked up on the bus.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "agent_sched_priv.h"
#include "log.h"
#include "sched_topic.h"

/* Is NS.KIND.NAME the key of a placement request's object? */
static bool is_placement(const char *logical)
{
	static const char *const kinds[] = {".pod.", ".deployment.", ".statefulset.",
					    ".daemonset."};
	const char *dot = strchr(logical, '.');
	size_t i;

	for (i = 0; dot && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strncmp(dot, kinds[i], strlen(kinds[i])))
			return true;
	return false;
}

/* See agent_sched_priv.h. */
int agent_wl_find(struct agent *a, const char *logical, char ***keys, size_t *n)
{
	char pattern[AGENT_WL_KEY_MAX + 16];

	*keys = NULL;
	*n = 0;
	if (!is_placement(logical)) {
		if (!agent_items_find(&a->workloads, logical))
			return 0;
		*keys = calloc(1, sizeof(**keys));
		if (*keys)
			(*keys)[0] = strdup(logical);
		if (!*keys || !(*keys)[0]) {
			free(*keys);
			*keys = NULL;
			return -ENOMEM;
		}
		*n = 1;
		return 0;
	}
	snprintf(pattern, sizeof(pattern), SCHED_REQ_KEY_PREFIX ".*.*.%s", logical);
	return bus_kv_keys(a->bus, BUS_BUCKET_WORKLOADS, pattern, keys, n);
}

/* See agent_sched_priv.h. */
int agent_wl_data(struct agent *a, const char *key, char **data)
{
	const struct agent_item *it = agent_items_find(&a->workloads, key);
	const char *text;
	char *raw = NULL;
	size_t len;
	json_t *j;
	int err;

	*data = NULL;
	if (it) {
		*data = strdup(it->doc);
		return *data ? 0 : -ENOMEM;
	}
	err = bus_kv_get(a->bus, BUS_BUCKET_WORKLOADS, key, &raw, &len, NULL);
	if (err)
		return err;
	j = json_loadb(raw, len, 0, NULL);
	text = json_string_value(
		json_object_get(json_array_get(json_object_get(j, "sources"), 0), "data"));
	*data = text ? strdup(text) : NULL;
	err = text && !*data ? -ENOMEM : 0;
	json_decref(j);
	free(raw);
	return err;
}

/* See agent_sched_priv.h. */
int agent_wl_watch_keys(struct agent *a)
{
	static const char *const others[] = {"*.service.>", "*.serviceaccount.>", "*.configmap.>"};
	const char *patterns[BUS_MAX_KEY_PATTERNS], *key;
	char bufs[BUS_MAX_KEY_PATTERNS][64], token[32];
	json_t *self = agent_view_self(a), *labels, *value;
	size_t n = 0, i;
	int err;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		patterns[n++] = others[i];
	patterns[n++] = SCHED_REQ_KEY_PREFIX ".*.any.>";
	/* the labels every agent's view gives this node select its topics */
	labels = json_object_get(self, "labels");
	if (!json_is_object(labels) || n + json_object_size(labels) > BUS_MAX_KEY_PATTERNS) {
		pr_info("bus: %zu labels: watching every placement topic",
			json_object_size(labels));
		patterns[n - 1] = SCHED_REQ_KEY_PREFIX ".>";
	} else {
		json_object_foreach (labels, key, value) {
			sched_label_token(key, json_string_value(value), token, sizeof(token));
			snprintf(bufs[n], sizeof(bufs[n]), SCHED_REQ_KEY_PREFIX ".*.%s.>", token);
			patterns[n] = bufs[n];
			n++;
		}
	}
	err = bus_set_watch_keys(a->bus, BUS_BUCKET_WORKLOADS, patterns, n);
	json_decref(self);
	return err;
}
