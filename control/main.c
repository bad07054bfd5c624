// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh: the command users type. Dispatches subcommands from a table. */
#include <stdbool.h>
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
	{"attach", cmd_attach,
	 "  bpfmesh attach IFACE [--mode native|generic]\n"
	 "  bpfmesh attach --cgroup PATH [--identity SPIFFE_ID] [--fastpath] [--identity-only]",
	 "Attach the XDP data plane to IFACE (native mode first, generic as fallback), or the\n"
	 "socket programs to a cgroup v2 directory (docs/sockets.md): --identity names the\n"
	 "workload in it, --fastpath lets its allowed local connections skip the TCP stack,\n"
	 "--identity-only only names a workload below an attached ancestor.\n"
	 "example: bpfmesh attach eth0\n"
	 "example: bpfmesh attach --cgroup /sys/fs/cgroup/shop-web --identity "
	 "spiffe://d/ns/shop/sa/web"},
	{"detach", cmd_detach, "  bpfmesh detach IFACE\n  bpfmesh detach --cgroup PATH",
	 "Detach the XDP data plane from IFACE, or the socket programs from a cgroup; maps\n"
	 "and policy stay pinned.\n"
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
	 "        [--allow-sample N] [--deny-event-rate N] [--metrics-addr HOST:PORT [--metrics-public]]\n"
	 "        [--rootless] [--workload NS/NAME[=CMD]]... [--identity NS/NAME=DOC]...\n"
	 "        [--port N]... [--udp-port N]... [--udp-idle S] [--ttl S] [--slirp-cidr CIDR]\n"
	 "        [--pod-cidr CIDR] [--uplink IFACE] [--cgroup-root DIR] [--rootfs-dir DIR]\n"
	 "        [--trust-domain D] [--label K=V]... [--taint K=V:EFFECT]... [--cpu MILLI]\n"
	 "        [--memory BYTES] [--workload-ttl DURATION] [--auth-port PORT]\n"
	 "        [--auth-ttl DURATION] [--no-sidecars] [--sidecar-bin PATH] [--sidecar-bus URLS]\n"
	 "  bpfmesh agent status [--json] | publish FILE...|- | revoke|unrevoke IDENTITY\n"
	 "  bpfmesh agent endpoint put NS/NAME --identity URI --address ADDR... [--label K=V]...\n"
	 "        [--node NODE] | endpoint del NS/NAME\n"
	 "  bpfmesh agent raw BUCKET|- KEY|SUBJECT <DATA",
	 "Run the node agent: follow the NATS bus (docs/topics.md) and keep this node's maps at\n"
	 "the current policy revision, endpoints and revocations; without --bus it runs its own\n"
	 "nats-server with JetStream. --metrics-addr serves Prometheus metrics (docs/agent.md);\n"
	 "--rootless (or no BPF) enforces in a userland forwarder (docs/rootless.md). With\n"
	 "--pod-cidr the node runs the replicas the scheduler places on it (docs/scheduler.md),\n"
	 "each with a bpfmesh-sidecar (Dapr API on 127.0.0.1:3500 in the replica;\n"
	 "docs/sidecar.md) unless --no-sidecars or its bpfmesh.io/sidecar: \"false\".\n"
	 "The other forms talk to the local agent: publish a policy revision, revoke an\n"
	 "identity, put an endpoint; raw puts stdin on the bus unchecked (tests, operators).\n"
	 "example: bpfmesh agent --bus nats://198.18.0.1:4222 --node n1 --metrics-addr "
	 "127.0.0.1:9464\n"
	 "example: bpfmesh agent publish policy.yaml\n"
	 "example: bpfmesh agent revoke spiffe://d/ns/shop/sa/web"},
	{"apply", cmd_apply,
	 "  bpfmesh apply [--dry-run] [--strict] [--trust-domain D] -f|--filename FILE|DIR|- "
	 "[-f ...]",
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
	{"delete", cmd_delete,
	 "  bpfmesh delete -f|--filename FILE|DIR|- | KIND/NAME [-n|--namespace NS]",
	 "Delete the objects of the files (or one object) through the local agent; their\n"
	 "replicas stop on every node.\n"
	 "example: bpfmesh delete deployment/web -n shop"},
	{"rootless", cmd_rootless,
	 "  bpfmesh rootless run -f|--policy POLICY.yaml... --workload NS/NAME[=COMMAND]...\n"
	 "        [--identity NS/NAME=DOC]... [--port N]... [--udp-port N]... [--udp-idle "
	 "SECONDS]\n"
	 "        [--ttl SECONDS] [--node NAME] [--slirp-cidr CIDR] [--no-slirp]\n"
	 "  bpfmesh rootless status [--json]\n"
	 "  bpfmesh rootless exec NS/NAME -- COMMAND [ARG...]\n"
	 "  bpfmesh rootless observe [--json] [--all] [--count N] [--timeout SECONDS] [--local]\n"
	 "        [--identity ID] [--from ID] [--to ID] [--namespace NS] [--verdict V] [--port N]\n"
	 "  bpfmesh rootless policy load FILE...",
	 "Without root or BPF: run each workload in its own user and network namespace with\n"
	 "slirp4netns; workload-to-workload TCP goes through a userland forwarder that enforces\n"
	 "the same policy (and authentication) as the data plane. See docs/rootless.md.\n"
	 "example: bpfmesh rootless run -f policy.yaml --workload shop/web='./web'\n"
	 "example: bpfmesh rootless exec shop/web -- curl http://198.18.0.2:8080/"},
	{"runtime", cmd_runtime,
	 "  bpfmesh runtime start|stop|list|reap|routes --pod-cidr CIDR [--cgroup-root DIR]\n"
	 "        [--rootfs-dir DIR] [--no-xdp] [--stop-timeout-ms N] [--json]\n"
	 "  bpfmesh runtime start ... -f FILE [--object [KIND/]NAME] [--key KEY] [--pod-name "
	 "NAME]\n"
	 "  bpfmesh runtime stop ... KEY | list ... | reap ... | routes ... [CIDR=VIA...]",
	 "Run workload replicas by hand (the agent does this for placed replicas); see\n"
	 "docs/runtime.md. Replicas outlive the command.\n"
	 "example: bpfmesh runtime start --pod-cidr 198.18.17.0/24 -f pod.yaml\n"
	 "example: bpfmesh runtime list --pod-cidr 198.18.17.0/24 --json"},
	{"identity", cmd_identity,
	 "  bpfmesh identity init --trust-domain DOMAIN\n"
	 "  bpfmesh identity enroll [--node NAME] [--ttl DURATION]\n"
	 "  bpfmesh identity enroll --request FILE [--node NAME]\n"
	 "  bpfmesh identity enroll --sign REQUEST -o FILE [--ttl DURATION]\n"
	 "  bpfmesh identity enroll --install FILE [--trust-bundle FILE]\n"
	 "  bpfmesh identity issue --namespace NS --service-account SA [--ttl DURATION] -o FILE\n"
	 "  bpfmesh identity show [FILE] | verify FILE | revoke FILE|SERIAL\n"
	 "  bpfmesh identity rotate FILE [--ttl DURATION] | rotate --node [--ttl DURATION]",
	 "Workload identities (docs/identity.md): create the trust domain, enroll this node\n"
	 "(directly, or by a request signed on the trust domain's machine), issue signed workload\n"
	 "documents, show, verify, revoke and rotate them.\n"
	 "example: bpfmesh identity issue --namespace shop --service-account db -o db.id"},
	{"help", cmd_help, "  bpfmesh help [COMMAND | --commands]",
	 "Show every command, or one command's forms, meaning and examples (the same as\n"
	 "'bpfmesh COMMAND --help'); --commands lists the command names, one per line.\n"
	 "example: bpfmesh help observe"},
	{"version", cmd_version, "  bpfmesh version",
	 "Print the version and the kernel/user ABI version of the maps.\n"
	 "example: bpfmesh version"},
	{NULL, NULL, NULL, NULL},
};

static int cmd_help(const struct cli_globals *g, int argc, char **argv)
{
	const struct cli_command *cmd = argc > 1 ? cli_find(commands, argv[1]) : NULL;

	(void)g;
	if (argc > 1 && !strcmp(argv[1], "--commands")) {
		for (cmd = commands; cmd->name; cmd++)
			printf("%s\n", cmd->name);
		return CLI_EXIT_OK;
	}
	if (argc > 1 && !cmd) {
		fprintf(stderr, "bpfmesh: unknown command '%s'; run 'bpfmesh help' for the list\n",
			argv[1]);
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

/*
 * "bpfmesh CMD ... --help" anywhere before a "--" (after it the words belong
 * to a workload's command line), or "bpfmesh CMD -h".
 */
static bool wants_help(int argc, char **argv)
{
	int i;

	if (argc > 2 && !strcmp(argv[2], "-h"))
		return true;
	for (i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help"))
			return true;
	return false;
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
	if (wants_help(argc, argv)) {
		cli_print_usage(commands, cmd, 0);
		return CLI_EXIT_OK;
	}
	return cmd->run(&g, argc - 1, argv + 1);
}
