// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh get nodes|workloads|endpoints [-o json|yaml|wide]: from the local agent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "agent_sock.h"
#include "cli.h"

#define CALL_TIMEOUT_MS 10000

enum get_fmt { FMT_TABLE, FMT_WIDE, FMT_JSON, FMT_YAML };

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : "-";
}

/* A scalar as YAML (JSON strings are YAML double-quoted scalars). */
static void yaml_scalar(const json_t *v, FILE *fp)
{
	char *text = json_dumps(v, JSON_ENCODE_ANY);

	fputs(text ? text : "null", fp);
	free(text);
}

static bool is_empty_container(const json_t *v)
{
	return (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_array(v) && !json_array_size(v));
}

static void yaml(const json_t *v, int indent, bool is_item, FILE *fp);

static void yaml_value(const json_t *v, int indent, FILE *fp)
{
	if ((json_is_object(v) || json_is_array(v)) && !is_empty_container(v)) {
		fputc('\n', fp);
		yaml(v, indent, false, fp);
	} else if (is_empty_container(v)) {
		fputs(json_is_object(v) ? " {}\n" : " []\n", fp);
	} else {
		fputc(' ', fp);
		yaml_scalar(v, fp);
		fputc('\n', fp);
	}
}

/* Block YAML; is_item: the first line follows a "- " already printed. */
static void yaml(const json_t *v, int indent, bool is_item, FILE *fp)
{
	const char *key;
	const json_t *m;
	bool is_first = true;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, key, m) {
			fprintf(fp, "%*s", is_item && is_first ? 0 : indent, "");
			is_first = false;
			fprintf(fp, "%s:", key);
			yaml_value(m, indent + 2, fp);
		}
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, m) {
			fprintf(fp, "%*s- ", is_item && is_first ? 0 : indent, "");
			is_first = false;
			if (json_is_object(m) && json_object_size(m)) {
				yaml(m, indent + 2, true, fp);
			} else {
				yaml_scalar(m, fp);
				fputc('\n', fp);
			}
		}
	}
}

static void labels_text(const json_t *labels, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	buf[0] = '\0';
	json_object_foreach ((json_t *)labels, k, v)
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? "," : "", k,
					      json_string_value(v) ? json_string_value(v) : "");
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void print_nodes(const json_t *r, enum get_fmt f)
{
	const json_t *n, *t;
	char labels[1024], taints[512], cpu[32], mem[32];
	size_t i, j, k;

	printf("%-16s %-6s %-8s %-10s %-8s", "NAME", "STATUS", "CPU", "MEMORY", "REPLICAS");
	printf(f == FMT_WIDE ? " %-15s %-18s %-30s %s\n" : "\n", "ADDRESS", "POD-CIDR", "LABELS",
	       "TAINTS");
	json_array_foreach (json_object_get(r, "nodes"), i, n) {
		if (!json_is_true(json_object_get(n, "alive"))) {
			printf("%-16s %-6s\n", str(n, "name"), "dead");
			continue;
		}
		snprintf(cpu, sizeof(cpu), "%lldm",
			 (long long)json_integer_value(json_object_get(n, "cpu_milli")));
		snprintf(mem, sizeof(mem), "%lldMi",
			 (long long)json_integer_value(json_object_get(n, "mem_bytes")) >> 20);
		printf("%-16s %-6s %-8s %-10s %-8lld", str(n, "name"),
		       json_is_true(json_object_get(n, "self")) ? "self" : "alive", cpu, mem,
		       (long long)json_integer_value(json_object_get(n, "replicas")));
		if (f != FMT_WIDE) {
			putchar('\n');
			continue;
		}
		labels_text(json_object_get(n, "labels"), labels, sizeof(labels));
		taints[0] = '\0';
		k = 0;
		json_array_foreach (json_object_get(n, "taints"), j, t)
			if (k < sizeof(taints))
				k += (size_t)snprintf(taints + k, sizeof(taints) - k, "%s%s",
						      k ? "," : "", json_string_value(t));
		printf(" %-15s %-18s %-30s %s\n", str(n, "address"), str(n, "pod_cidr"), labels,
		       taints[0] ? taints : "-");
	}
}

static void print_workloads(const json_t *r, enum get_fmt f)
{
	const json_t *w, *p;
	size_t i, j;

	printf("%-12s %-14s %-24s %-8s %s\n", "NAMESPACE", "KIND", "NAME", "REPLICAS",
	       f == FMT_WIDE ? "POD NODE [HOLDER]" : "PLACEMENT");
	json_array_foreach (json_object_get(r, "workloads"), i, w) {
		printf("%-12s %-14s %-24s %-8lld", str(w, "namespace"), str(w, "kind"),
		       str(w, "name"),
		       (long long)json_integer_value(json_object_get(w, "replicas")));
		json_array_foreach (json_object_get(w, "placement"), j, p) {
			if (f == FMT_WIDE)
				printf("\n    %-36s %-12s %s", str(p, "pod"), str(p, "node"),
				       json_object_get(p, "holder") ? str(p, "holder") : "");
			else
				printf(" %s", str(p, "node"));
		}
		putchar('\n');
	}
}

static void print_endpoints(const json_t *r, enum get_fmt f)
{
	const json_t *e;
	char labels[1024];
	size_t i;

	printf("%-12s %-32s %-16s %-10s", "NAMESPACE", "NAME", "ADDRESS", "NODE");
	printf(f == FMT_WIDE ? " %-50s %s\n" : "\n", "IDENTITY", "LABELS");
	json_array_foreach (json_object_get(r, "endpoints"), i, e) {
		printf("%-12s %-32s %-16s %-10s", str(e, "namespace"), str(e, "name"),
		       json_string_value(json_array_get(json_object_get(e, "addresses"), 0)) ?: "-",
		       str(e, "node"));
		if (f == FMT_WIDE) {
			labels_text(json_object_get(e, "labels"), labels, sizeof(labels));
			printf(" %-50s %s", str(e, "identity"), labels);
		}
		putchar('\n');
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: bpfmesh get nodes|workloads|endpoints [-o json|yaml|wide]\n");
	return CLI_EXIT_ERROR;
}

/* See cli.h. */
int cmd_get(const struct cli_globals *g, int argc, char **argv)
{
	enum get_fmt f = FMT_TABLE;
	json_t *reply = NULL, *req;
	const char *what, *o = NULL;
	char sock[4096], op[32];
	int err;

	if (argc == 4 && !strcmp(argv[2], "-o"))
		o = argv[3];
	else if (argc == 3 && !strncmp(argv[2], "-o", 2))
		o = argv[2] + 2 + (argv[2][2] == '=');
	else if (argc != 2)
		return usage();
	if (o && strcmp(o, "json") && strcmp(o, "yaml") && strcmp(o, "wide"))
		return usage();
	f = !o			 ? FMT_TABLE
	    : !strcmp(o, "json") ? FMT_JSON
	    : !strcmp(o, "yaml") ? FMT_YAML
				 : FMT_WIDE;
	what = argv[1];
	if (!strcmp(what, "node"))
		what = "nodes";
	if (!strcmp(what, "workload"))
		what = "workloads";
	if (!strcmp(what, "endpoint") || !strcmp(what, "ep"))
		what = "endpoints";
	if (strcmp(what, "nodes") && strcmp(what, "workloads") && strcmp(what, "endpoints"))
		return usage();
	snprintf(op, sizeof(op), "get-%s", what);
	agent_sock_path(g->state_dir, sock, sizeof(sock));
	req = json_pack("{s:s}", "op", op);
	err = req ? agent_sock_call(sock, req, CALL_TIMEOUT_MS, &reply) : -ENOMEM;
	json_decref(req);
	if (err) {
		fprintf(stderr,
			"bpfmesh: no agent answers on %s (%s); start one with 'bpfmesh "
			"agent' or point --state-dir at its state directory\n",
			sock, strerror(-err));
		return CLI_EXIT_ERROR;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, "bpfmesh: agent: %s\n", str(reply, "error"));
		json_decref(reply);
		return CLI_EXIT_ERROR;
	}
	json_object_del(reply, "ok");
	if (f == FMT_JSON) {
		json_dumpf(reply, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (f == FMT_YAML) {
		yaml(reply, 0, false, stdout);
	} else if (!strcmp(what, "nodes")) {
		print_nodes(reply, f);
	} else if (!strcmp(what, "workloads")) {
		print_workloads(reply, f);
	} else {
		print_endpoints(reply, f);
	}
	json_decref(reply);
	return CLI_EXIT_OK;
}
