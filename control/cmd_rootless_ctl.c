// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh rootless policy load: policy files to the running `rootless run`
 * over its control socket (STATE_DIR/rootless/ctl.sock, one JSON request
 * and one reply, as the agent's socket), which swaps its forwarder to them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_sock.h"
#include "cmd_rootless.h"
#include "policy_model.h"

#define CTL_TIMEOUT_MS 30000

/* See cmd_rootless.h. */
int rootless_sources_from_json(const json_t *arr, struct policy_sources *out)
{
	const json_t *s, *name, *data;
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
			policy_sources_free(out);
			return -EINVAL;
		}
		out->items[i].name = strdup(json_string_value(name));
		out->items[i].len = json_string_length(data);
		out->items[i].data = malloc(out->items[i].len + 1);
		out->n = i + 1;
		if (!out->items[i].name || !out->items[i].data) {
			policy_sources_free(out);
			return -ENOMEM;
		}
		memcpy(out->items[i].data, json_string_value(data), out->items[i].len + 1);
	}
	return 0;
}

static json_t *sources_to_json(const struct policy_sources *srcs)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < srcs->n; i++)
		if (json_array_append_new(arr, json_pack("{s:s, s:s#}", "name", srcs->items[i].name,
							 "data", srcs->items[i].data,
							 (int)srcs->items[i].len))) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

/* See cmd_rootless.h. */
int rootless_policy_load(const struct cli_globals *g, int argc, char **argv)
{
	struct policy_sources srcs = {0};
	struct pm_model *m = NULL;
	json_t *req = NULL, *reply = NULL;
	char path[PATH_MAX];
	int i, err = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bpfmesh rootless policy load FILE...\n");
		return CLI_EXIT_ERROR;
	}
	for (i = 1; i < argc && !err; i++)
		err = policy_sources_read(&srcs, argv[i]);
	/* Checked here first: a file that does not load never reaches the forwarder. */
	if (!err)
		err = policy_sources_model(&srcs, NULL, &m);
	pm_model_free(m);
	if (!err) {
		req = json_pack("{s:s, s:o}", "op", "policy-load", "sources",
				sources_to_json(&srcs));
		err = req ? 0 : -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/rootless/%s", g->state_dir, ROOTLESS_CTL_SOCK);
	if (!err) {
		err = agent_sock_call(path, req, CTL_TIMEOUT_MS, &reply);
		if (err)
			fprintf(stderr,
				"bpfmesh: rootless policy load: no `rootless run` answers on "
				"%s: %s\n",
				path, strerror(-err));
	}
	if (!err && !json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, "bpfmesh: rootless policy load: %s\n",
			json_string_value(json_object_get(reply, "error")) ?: "refused");
		err = -EINVAL;
	} else if (!err) {
		printf("policy in force: %lld endpoints; %lld connections and flows closed\n",
		       (long long)json_integer_value(json_object_get(reply, "endpoints")),
		       (long long)json_integer_value(json_object_get(reply, "closed")));
	}
	json_decref(req);
	json_decref(reply);
	policy_sources_free(&srcs);
	return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}
