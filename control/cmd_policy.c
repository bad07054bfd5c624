// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh policy load|show|check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "dataplane.h"
#include "frame_build.h"
#include "id_names.h"
#include "log.h"
#include "names.h"
#include "policy_compile.h"
#include "policy_eval.h"
#include "policy_store.h"

static int load_stored_model(const struct cli_globals *g, struct pm_model **out)
{
	struct policy_sources srcs = {0};
	char *node = NULL;
	int err;

	err = policy_store_load(g->state_dir, &srcs, &node);
	if (err == -ENOENT)
		fprintf(stderr,
			"bpfmesh: no policy loaded under %s: run 'bpfmesh policy load FILE'\n",
			g->state_dir);
	if (!err)
		err = policy_sources_model(&srcs, node, out);
	policy_sources_free(&srcs);
	free(node);
	return err;
}

static void print_compile_report(const struct compile_report *rep, int err)
{
	uint32_t i;

	for (i = 0; i < rep->nr_warnings && i < COMPILE_MAX_WARNINGS; i++)
		fprintf(stderr, "bpfmesh: warning: %s\n", rep->warnings[i]);
	if (rep->nr_warnings > COMPILE_MAX_WARNINGS)
		fprintf(stderr, "bpfmesh: ... and %u more warnings\n",
			rep->nr_warnings - COMPILE_MAX_WARNINGS);
	if (err)
		fprintf(stderr, "bpfmesh: compile: %s\n",
			rep->error[0] ? rep->error : strerror(-err));
}

static int policy_load(const struct cli_globals *g, int argc, char **argv)
{
	struct policy_sources srcs = {0};
	struct compile_report rep = {0};
	struct dataplane *dp = NULL;
	struct pm_model *m = NULL;
	char node[HOST_NAME_MAX + 1] = "";
	struct bm_tables t;
	unsigned long long rev = 0;
	uint32_t gen = 0;
	int i, err = 0;

	tables_init(&t);
	if (gethostname(node, sizeof(node) - 1))
		snprintf(node, sizeof(node), "localhost");
	for (i = 1; i < argc && !err; i++) {
		if (!strcmp(argv[i], "--node") && i + 1 < argc && *argv[i + 1])
			snprintf(node, sizeof(node), "%s", argv[++i]);
		else if (argv[i][0] == '-' && argv[i][1])
			goto usage;
		else
			err = policy_sources_read(&srcs, argv[i]);
	}
	if (!srcs.n && !err)
		goto usage;
	/* On a node with an agent, policy comes from the bus: hand it to the agent. */
	if (!err) {
		err = agent_client_publish(g->state_dir, &srcs, &rev);
		if (err != -ENOENT)
			goto out_agent;
		err = 0;
	}
	if (!err)
		err = policy_sources_model(&srcs, node, &m);
	if (!err) {
		err = policy_compile(m, &t, &rep);
		print_compile_report(&rep, err);
	}
	if (!err)
		err = policy_store_prepare_dir(g->state_dir);
	if (!err)
		err = dp_open(g->pin_dir, false, &dp);
	/* Names first, so that events of the new generation are named at once. */
	if (!err)
		err = id_names_publish(g->state_dir, m);
	if (!err)
		err = dp_install(dp, &t, &gen);
	/* The kernel now enforces the new generation; record what it was built from. */
	if (!err)
		err = policy_store_save(g->state_dir, &srcs, NULL, node);
	if (!err)
		printf("loaded %zu endpoints, %zu policies, %zu rules as generation %u "
		       "(%u classes, %zu policy entries)\n",
		       m->n_endpoints, m->n_policies, m->n_rules ? m->n_rules - 1 : 0, gen,
		       t.nr_classes, t.maps[TABLES_POLICY].n);
	else
		fprintf(stderr,
			"bpfmesh: policy load failed: %s; the previous policy stays in force\n",
			strerror(-err));
	dp_close(dp);
	tables_release(&t);
	pm_model_free(m);
	policy_sources_free(&srcs);
	return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
out_agent:
	if (!err)
		printf("published as policy revision %llu through the local agent\n", rev);
	policy_sources_free(&srcs);
	return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
usage:
	fprintf(stderr, "usage: bpfmesh policy load [--node NAME] FILE...|-\n");
	policy_sources_free(&srcs);
	return CLI_EXIT_ERROR;
}

/* "ns/name ingress rule 0" for rule_id, into buf. */
static const char *describe_rule(const struct pm_model *m, uint32_t rule_id, char *buf, size_t len)
{
	const struct pm_rule_ref *ref;
	const struct pm_policy *p;

	if (rule_id == 0 || rule_id >= m->n_rules)
		return "no rule";
	ref = &m->rules[rule_id];
	p = &m->policies[ref->policy_index];
	snprintf(buf, len, "rule %u: %s %s/%s %s[%u]", rule_id,
		 p->kind == PM_KIND_MESH_POLICY ? "MeshPolicy" : "NetworkPolicy", p->ns, p->name,
		 ref->direction == BM_DIR_INGRESS ? "ingress" : "egress", ref->rule_index);
	return buf;
}

static void print_endpoint(const struct pm_endpoint *e)
{
	char addr[64];
	size_t i;

	printf("  %s/%s  %s (id %u)%s\n   ", e->ns, e->name,
	       e->identity_uri ? e->identity_uri : "-", e->sec_id, e->is_local ? "  local" : "");
	for (i = 0; i < e->n_addrs; i++)
		printf(" %s", pm_addr_format(&e->addrs[i], addr, sizeof(addr)));
	putchar('\n');
}

static int policy_show(const struct cli_globals *g)
{
	struct pm_model *m = NULL;
	char rule[256];
	size_t i;

	if (load_stored_model(g, &m))
		return CLI_EXIT_ERROR;
	printf("endpoints (%zu):\n", m->n_endpoints);
	for (i = 0; i < m->n_endpoints; i++)
		print_endpoint(&m->endpoints[i]);
	printf("policies (%zu):\n", m->n_policies);
	for (i = 0; i < m->n_policies; i++)
		printf("  %s %s/%s%s%s%s\n",
		       m->policies[i].kind == PM_KIND_MESH_POLICY ? "MeshPolicy" : "NetworkPolicy",
		       m->policies[i].ns, m->policies[i].name,
		       m->policies[i].has_ingress ? " ingress" : "",
		       m->policies[i].has_egress ? " egress" : "",
		       m->policies[i].auth_required ? " authentication=required" : "");
	printf("rules (%zu):\n", m->n_rules ? m->n_rules - 1 : 0);
	for (i = 1; i < m->n_rules; i++)
		printf("  %s\n", describe_rule(m, (uint32_t)i, rule, sizeof(rule)));
	pm_model_free(m);
	return CLI_EXIT_OK;
}

struct check_args {
	struct pe_tuple tuple;
	bool is_bpf;
};

static int parse_host(const char *text, struct pm_addr *a)
{
	if (pm_addr_parse(text, a) || a->prefixlen != (a->family == BM_FAMILY_IPV4 ? 32 : 128)) {
		fprintf(stderr, "bpfmesh: '%s' is not an IPv4 or IPv6 host address\n", text);
		return -EINVAL;
	}
	return 0;
}

static int parse_check_args(int argc, char **argv, struct check_args *a)
{
	struct pm_addr from = {0}, to = {0};
	unsigned int port = 0;
	int i, proto = -1;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--bpf")) {
			a->is_bpf = true;
			continue;
		}
		if (!v)
			goto usage;
		if (!strcmp(argv[i], "--from") && !parse_host(v, &from))
			i++;
		else if (!strcmp(argv[i], "--to") && !parse_host(v, &to))
			i++;
		else if (!strcmp(argv[i], "--proto") && (proto = names_parse_proto(v)) >= 0)
			i++;
		else if (!strcmp(argv[i], "--port") && !cli_parse_u32(v, 1, 65535, &port))
			i++;
		else
			goto usage;
	}
	if (!from.family || !to.family || proto < 0 || from.family != to.family)
		goto usage;
	a->tuple.family = from.family;
	a->tuple.proto = (uint8_t)proto;
	if (proto == BM_PROTO_ICMP && from.family == BM_FAMILY_IPV6)
		a->tuple.proto = BM_PROTO_ICMPV6;
	memcpy(a->tuple.saddr, from.addr, 16);
	memcpy(a->tuple.daddr, to.addr, 16);
	if (proto == BM_PROTO_TCP || proto == BM_PROTO_UDP || proto == BM_PROTO_SCTP) {
		a->tuple.sport = 40000;
		a->tuple.dport = (uint16_t)port;
	}
	return 0;
usage:
	fprintf(stderr, "usage: bpfmesh policy check --from ADDR --to ADDR "
			"--proto tcp|udp|sctp|icmp [--port N] [--bpf]\n"
			"(both addresses of one family; --port 1-65535)\n");
	return -EINVAL;
}

static int check_bpf(const struct cli_globals *g, const struct pe_tuple *t, struct pe_result *r)
{
	unsigned char frame[FRAME_BUILD_MAX];
	struct bm_verdict_record rec;
	struct dataplane *dp = NULL;
	int len, err;

	len = frame_build(t, frame, sizeof(frame));
	if (len < 0)
		return len;
	err = dp_open_policy_check(g->pin_dir, &dp);
	if (!err)
		err = dp_test_run(dp, frame, (size_t)len, &rec);
	dp_close(dp);
	if (err)
		return err;
	memset(r, 0, sizeof(*r));
	r->verdict = rec.verdict;
	r->reason = rec.reason;
	r->rule_id = rec.rule_id;
	r->src_id = rec.src_id;
	r->dst_id = rec.dst_id;
	return 0;
}

static int policy_check(const struct cli_globals *g, int argc, char **argv)
{
	struct pm_model *m = NULL;
	struct check_args a;
	struct pe_result r;
	char rule[256];
	int err;

	if (parse_check_args(argc, argv, &a))
		return CLI_EXIT_ERROR;
	err = load_stored_model(g, &m);
	if (err)
		return CLI_EXIT_ERROR;
	err = a.is_bpf ? check_bpf(g, &a.tuple, &r) : policy_eval(m, &a.tuple, NULL, &r);
	if (err) {
		fprintf(stderr, "bpfmesh: policy check: %s\n", strerror(-err));
		pm_model_free(m);
		return CLI_EXIT_ERROR;
	}
	printf("%s %s %s (%s evaluator)\n", r.verdict == BM_VERDICT_DENY ? "deny" : "allow",
	       names_reason(r.reason), describe_rule(m, r.rule_id, rule, sizeof(rule)),
	       a.is_bpf ? "bpf" : "reference");
	pm_model_free(m);
	return r.verdict == BM_VERDICT_DENY ? CLI_EXIT_DENY : CLI_EXIT_OK;
}

/* See cli.h. */
int cmd_policy(const struct cli_globals *g, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bpfmesh policy load|show|check ...\n");
		return CLI_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "load"))
		return policy_load(g, argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return policy_show(g);
	if (!strcmp(argv[1], "check"))
		return policy_check(g, argc - 1, argv + 1);
	fprintf(stderr, "bpfmesh: policy: unknown action '%s'\n", argv[1]);
	return CLI_EXIT_ERROR;
}
