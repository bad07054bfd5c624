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
	char bufs[AGENT_MAX_LABELS + 1][64], token[32], key[256];
	const char *patterns[BUS_MAX_KEY_PATTERNS];
	const struct agent_config *c = a->cfg;
	size_t n = 0, i;
	const char *eq;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		patterns[n++] = others[i];
	patterns[n++] = SCHED_REQ_KEY_PREFIX ".*.any.>";
	/* the node's labels as its view entry has them: --label K=V, then its hostname */
	if (n + c->n_labels + 1 > BUS_MAX_KEY_PATTERNS) {
		pr_info("bus: %zu labels: watching every placement topic", c->n_labels);
		patterns[n - 1] = SCHED_REQ_KEY_PREFIX ".>";
		return bus_set_watch_keys(a->bus, BUS_BUCKET_WORKLOADS, patterns, n);
	}
	for (i = 0; i <= c->n_labels; i++) {
		if (i < c->n_labels) {
			eq = strchr(c->labels[i], '=');
			if (!eq)
				continue;
			snprintf(key, sizeof(key), "%.*s", (int)(eq - c->labels[i]), c->labels[i]);
			sched_label_token(key, eq + 1, token, sizeof(token));
		} else {
			sched_label_token("kubernetes.io/hostname", c->node, token, sizeof(token));
		}
		snprintf(bufs[i], sizeof(bufs[i]), SCHED_REQ_KEY_PREFIX ".*.%s.>", token);
		patterns[n++] = bufs[i];
	}
	return bus_set_watch_keys(a->bus, BUS_BUCKET_WORKLOADS, patterns, n);
}
