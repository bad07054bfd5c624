// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh: the command users type. Dispatches subcommands from a table. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "ident_cli.h"
#include "log.h"

#include <abi/types.h>

static int cmd_help(const struct cli_globals *g, int argc, char **argv);
static int cmd_identity(const struct cli_globals *g, int argc, char **argv);
static int cmd_version(const struct cli_globals *g, int argc, char **argv);

static const struct cli_command commands[] = {
	{"attach", cmd_attach, "  bpfmesh attach IFACE [--mode native|generic]",
	 "Attach the XDP data plane to IFACE (native mode first, generic as fallback).\n"
	 "example: bpfmesh attach eth0"},
	{"detach", cmd_detach, "  bpfmesh detach IFACE",
	 "Detach the XDP data plane from IFACE; maps and policy stay pinned.\n"
	 "example: bpfmesh detach eth0"},
	{"guard", cmd_guard,
	 "  bpfmesh guard set IFACE ADDR...\n  bpfmesh guard del IFACE\n"
	 "  bpfmesh guard show [IFACE]",
	 "Anti-spoofing: IP packets entering IFACE with a source other than ADDR... (up to 4\n"
	 "IPv4 and 4 IPv6; none: no IP source at all) are dropped as deny-spoofed.\n"
	 "example: bpfmesh guard set veth-web 198.18.17.2 fd00:17::2"},
	{"status", cmd_status, "  bpfmesh status [--json]",
	 "Show the policy generation, attached interfaces, map fill and counters.\n"
	 "example: bpfmesh status"},
	{"policy", cmd_policy,
	 "  bpfmesh policy load [--node NAME] FILE...|-\n"
	 "  bpfmesh policy show [--json]\n"
	 "  bpfmesh policy check --from ADDR --to ADDR --proto tcp|udp|sctp|icmp [--port N] "
	 "[--bpf]",
	 "Load Endpoint, Namespace, NetworkPolicy and MeshPolicy manifests (YAML or JSON,\n"
	 "multi-document) as the complete policy, atomically; show it; or ask for a verdict.\n"
	 "check prints 'allow' or 'deny' first and exits 0 on allow, 1 on deny, 2 on error.\n"
	 "example: bpfmesh policy load policy.yaml\n"
	 "example: bpfmesh policy check --from 198.18.0.1 --to 198.18.0.2 --proto tcp --port 80"},
	{"observe", cmd_observe,
	 "  bpfmesh observe [--bus URL | --local] [--json] [--count N] [--timeout SECONDS]\n"
	 "        [--identity ID] [--from ID] [--to ID] [--namespace NS] [--verdict V]\n"
	 "        [--port N] [--node NAME]",
	 "Stream flow verdict events (every deny, sampled allows) with both identities.\n"
	 "With an agent (or --bus) the events of every node arrive over the bus; without one\n"
	 "(or with --local) this node's ring buffer is read directly. ID is a SPIFFE ID or a\n"
	 "numeric identity; --identity, --namespace and --port match either end; --verdict\n"
	 "takes allow, allow-auth, deny or a reason (deny-ingress, ...). With a rootless\n"
	 "forwarder running, its events are followed instead (--all: from the start).\n"
	 "example: bpfmesh observe --verdict deny --namespace shop\n"
	 "example: bpfmesh observe --json --from spiffe://d/ns/shop/sa/web --port 5432 --count 10\n"
	 "example: bpfmesh observe --bus nats://198.18.0.1:4222 --node n2 --timeout 30"},
	{"auth", cmd_auth,
	 "  bpfmesh auth set SRC DST --ttl SECONDS\n  bpfmesh auth del SRC DST\n"
	 "  bpfmesh auth list\n"
	 "  bpfmesh auth serve --identity FILE ADDR PORT [--ttl SECONDS] [--count N]\n"
	 "  bpfmesh auth connect --identity FILE ADDR PORT [--ttl SECONDS]",
	 "Mutual authentication: serve/connect run the X25519 + Ed25519 handshake for the\n"
	 "workload identity document FILE (its key is FILE.key) and write the authenticated\n"
	 "pair into the kernel's auth map; set/del/list edit the map directly (SRC and DST are\n"
	 "SPIFFE IDs or numeric identities).\n"
	 "example: bpfmesh auth connect --identity backend.id 198.18.4.2 4433\n"
	 "example: bpfmesh auth set spiffe://d/ns/a/sa/x spiffe://d/ns/a/sa/y --ttl 60"},
	{"agent", cmd_agent,
	 "  bpfmesh agent [run] [--bus nats://HOST:PORT[,...]] [--node NAME] [--heartbeat-ms N]\n"
	 "        [--dead-after-ms N] [--nats-port N] [--socket PATH] [--flow-rate N]\n"
	 "        [--allow-sample N] [--metrics-addr HOST:PORT [--metrics-public]]\n"
	 "  bpfmesh agent status [--json] | publish FILE... | revoke|unrevoke IDENTITY\n"
	 "  bpfmesh agent endpoint put NS/NAME --identity URI --address ADDR... | del NS/NAME",
	 "Run the node agent: follow the NATS bus (docs/topics.md) and keep this node's maps at\n"
	 "the current policy revision, endpoints and revocations; without --bus it runs its own\n"
	 "nats-server with JetStream. The other forms talk to the local agent.\n"
	 "example: bpfmesh agent --bus nats://198.18.0.1:4222 --node n1"},
	{"apply", cmd_apply,
	 "  bpfmesh apply [--dry-run] [--strict] [--trust-domain D] -f FILE|DIR|- [-f ...]",
	 "Read Kubernetes manifests (Pod, Deployment, StatefulSet, DaemonSet, Service,\n"
	 "ServiceAccount, ConfigMap, NetworkPolicy, MeshPolicy; docs/manifests.md), check them,\n"
	 "and hand them to the local agent, which publishes them to every node (workloads are\n"
	 "placed and run by the nodes, policies become the next policy revision). Nothing is\n"
	 "sent when anything is rejected (exit 1). --dry-run only prints one line per object\n"
	 "with every warning and needs no agent; --strict makes every warning an error.\n"
	 "example: bpfmesh apply -f shop.yaml\n"
	 "example: bpfmesh apply --dry-run -f shop.yaml -f nodes.yaml"},
	{"get", cmd_get, "  bpfmesh get nodes|workloads|endpoints [-o json|yaml|wide]",
	 "Show what the local agent sees: the nodes of its membership view (capacity, labels,\n"
	 "taints, placed replicas), the workloads with the placement of every replica, or the\n"
	 "endpoints on the bus.\n"
	 "example: bpfmesh get workloads -o wide"},
	{"delete", cmd_delete, "  bpfmesh delete -f FILE|DIR|- | KIND/NAME [-n NAMESPACE]",
	 "Delete the objects of the files (or one object) through the local agent; their\n"
	 "replicas stop on every node.\n"
	 "example: bpfmesh delete deployment/web -n shop"},
	{"rootless", cmd_rootless,
	 "  bpfmesh rootless run -f POLICY.yaml... --workload NS/NAME[=COMMAND]...\n"
	 "        [--identity NS/NAME=DOC]... [--port N]... [--ttl SECONDS] [--node NAME]\n"
	 "  bpfmesh rootless status [--json]\n"
	 "  bpfmesh rootless exec NS/NAME -- COMMAND [ARG...]\n"
	 "  bpfmesh rootless observe [--json] [--all] [--count N] [--timeout SECONDS]",
	 "Without root or BPF: run each workload in its own user and network namespace with\n"
	 "slirp4netns; workload-to-workload TCP goes through a userland forwarder that enforces\n"
	 "the same policy (and authentication) as the data plane. See docs/rootless.md.\n"
	 "example: bpfmesh rootless run -f policy.yaml --workload shop/web='./web'"},
	{"runtime", cmd_runtime,
	 "  bpfmesh runtime start|stop|list|reap|routes --pod-cidr CIDR [--cgroup-root DIR] ...",
	 "Run workload replicas by hand (the agent does this for placed replicas); see\n"
	 "docs/runtime.md. Replicas outlive the command.\n"
	 "example: bpfmesh runtime start --pod-cidr 198.18.17.0/24 -f pod.yaml"},
	{"identity", cmd_identity,
	 "  bpfmesh identity init|enroll|issue|show|verify|revoke|rotate ...",
	 "Workload identities: trust domain, node enrollment, signed documents, revocation.\n"
	 "run 'bpfmesh identity help' for every form.\n"
	 "example: bpfmesh identity issue --namespace shop --service-account db -o db.id"},
	{"help", cmd_help, "  bpfmesh help [COMMAND]", "Show help for a command."},
	{"version", cmd_version, "  bpfmesh version", "Print the version."},
	{NULL, NULL, NULL, NULL},
};

static int cmd_help(const struct cli_globals *g, int argc, char **argv)
{
	const struct cli_command *cmd = argc > 1 ? cli_find(commands, argv[1]) : NULL;

	(void)g;
	if (argc > 1 && !cmd) {
		fprintf(stderr, "bpfmesh: unknown command '%s'\n", argv[1]);
		return CLI_EXIT_ERROR;
	}
	cli_print_usage(commands, cmd, 0);
	return CLI_EXIT_OK;
}

static int cmd_identity(const struct cli_globals *g, int argc, char **argv)
{
	return ident_cli_main(argc, argv, g->state_dir);
}

static int cmd_version(const struct cli_globals *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	(void)argv;
	printf("bpfmesh 0.1.0 (abi %d)\n", BM_ABI_VERSION);
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cli_globals g = {
		.state_dir = CLI_DEFAULT_STATE_DIR,
		.pin_dir = CLI_DEFAULT_PIN_DIR,
	};
	const struct cli_command *cmd;

	argc = cli_extract_globals(argc, argv, &g);
	if (argc < 0)
		return CLI_EXIT_ERROR;
	log_set_level(g.verbosity);
	log_set_json(g.is_log_json);
	log_hook_libbpf();
	/* Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones ignore it. */
	setrlimit(RLIMIT_MEMLOCK, &(struct rlimit){RLIM_INFINITY, RLIM_INFINITY});
	if (argc < 2) {
		cli_print_usage(commands, NULL, 1);
		return CLI_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(&g, 1, argv + 1);
	cmd = cli_find(commands, argv[1]);
	if (!cmd) {
		fprintf(stderr, "bpfmesh: unknown command '%s'; run 'bpfmesh help'\n", argv[1]);
		return CLI_EXIT_ERROR;
	}
	if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		cli_print_usage(commands, cmd, 0);
		return CLI_EXIT_OK;
	}
	return cmd->run(&g, argc - 1, argv + 1);
}
