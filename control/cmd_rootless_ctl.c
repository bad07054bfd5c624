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
#include "policy_sources_json.h"

#define CTL_TIMEOUT_MS 30000

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
				policy_sources_to_json(&srcs));
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
