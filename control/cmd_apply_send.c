// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh apply / delete through the local agent: the accepted inputs split
 * into one text per object (workload kinds for the bpfmesh-workloads
 * bucket, policy kinds for the policy revision), sent in one request.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_sock.h"
#include "cmd_apply.h"
#include "workload_model.h"
#include "yaml_json.h"

#define CALL_TIMEOUT_MS 30000

static const char *const policy_kinds[] = {"NetworkPolicy", "MeshPolicy", "Endpoint", "Namespace",
					   NULL};

static bool is_policy_kind(const char *kind)
{
	const char *const *k;

	for (k = policy_kinds; *k; k++)
		if (!strcmp(*k, kind))
			return true;
	return false;
}

static void lower(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

/* One document (or a List's items) into the workload and policy arrays. */
static int add_doc(const json_t *doc, json_t *wls, json_t *pol, int depth)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const json_t *meta = json_object_get(doc, "metadata"), *item;
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	char lk[64], key[600], display[600], *text;
	size_t i;
	int err = 0;

	if (!kind)
		return 0;
	if (json_is_array(json_object_get(doc, "items")) && strlen(kind) > 4 &&
	    !strcmp(kind + strlen(kind) - 4, "List") && depth < 4) {
		json_array_foreach (json_object_get(doc, "items"), i, item)
			if (!err)
				err = add_doc(item, wls, pol, depth + 1);
		return err;
	}
	if (!name)
		return 0;
	ns = ns ? ns : "default";
	lower(kind, lk, sizeof(lk));
	if (!strcmp(kind, "Node")) {
		fprintf(stderr, "node/%s: not applied (nodes join through their agents)\n", name);
		return 0;
	}
	if (!wl_kind_is_workload(kind) && !is_policy_kind(kind))
		return 0;
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	if (is_policy_kind(kind)) {
		if (!strcmp(kind, "Namespace"))
			snprintf(key, sizeof(key), "apply/%s/%s.json", lk, name);
		else
			snprintf(key, sizeof(key), "apply/%s/%s/%s.json", lk, ns, name);
		snprintf(display, sizeof(display), "%s/%s/%s", lk, ns, name);
		err = json_array_append_new(pol, json_pack("{s:s, s:s, s:s}", "name", key, "data",
							   text, "display", display));
	} else {
		snprintf(key, sizeof(key), "%s.%s.%s", ns, lk, name);
		snprintf(display, sizeof(display), "%s/%s/%s", lk, ns, name);
		err = json_array_append_new(wls,
					    json_pack("{s:s, s:s, s:s, s:s}", "key", key, "name",
						      display, "data", text, "display", display));
	}
	free(text);
	return err ? -ENOMEM : 0;
}

/* See cmd_apply.h. */
int apply_split(char *const *files, size_t n, const char *stdin_buf, size_t stdin_len, json_t *wls,
		json_t *pol)
{
	struct yj_stream *ys = NULL;
	struct yj_error yerr;
	size_t i, d;
	int err = 0;

	for (i = 0; i < n && !err; i++) {
		if (!strcmp(files[i], "-"))
			err = yj_load_buffer("-", stdin_buf ? stdin_buf : "", stdin_len, &ys,
					     &yerr);
		else
			err = yj_load_file(files[i], &ys, &yerr);
		for (d = 0; !err && d < yj_stream_n_docs(ys); d++)
			err = add_doc(yj_stream_doc(ys, d), wls, pol, 0);
		yj_stream_free(ys);
		ys = NULL;
	}
	return err;
}

/* See cmd_apply.h. */
int apply_call_agent(const char *state_dir, json_t *req)
{
	const json_t *r;
	json_t *reply = NULL;
	char sock[4096];
	const char *error;
	size_t i;
	int err;

	agent_sock_path(state_dir, sock, sizeof(sock));
	err = req ? agent_sock_call(sock, req, CALL_TIMEOUT_MS, &reply) : -ENOMEM;
	json_decref(req);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		fprintf(stderr,
			"bpfmesh: no agent answers on %s; start one with 'bpfmesh agent' (or "
			"point --state-dir at its state directory), or use --dry-run\n",
			sock);
		return CLI_EXIT_ERROR;
	}
	if (err) {
		fprintf(stderr, "bpfmesh: agent on %s: %s\n", sock, strerror(-err));
		return CLI_EXIT_ERROR;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		error = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "bpfmesh: agent: %s\n", error ? error : "request failed");
		json_decref(reply);
		return CLI_EXIT_DENY;
	}
	json_array_foreach (json_object_get(reply, "results"), i, r)
		printf("%s %s\n", json_string_value(json_object_get(r, "object")),
		       json_string_value(json_object_get(r, "result")));
	if (json_integer_value(json_object_get(reply, "revision")))
		printf("policy revision %lld\n",
		       (long long)json_integer_value(json_object_get(reply, "revision")));
	json_decref(reply);
	return CLI_EXIT_OK;
}
