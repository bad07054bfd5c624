// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh-sidecar: the per-workload sidecar. The agent starts one per
 * replica; `--standalone --state-dir DIR --http-port PORT` runs one alone
 * with its own nats-server, like `dapr run`.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../control/log.h"
#include "netns.h"
#include "sidecar.h"

enum {
	OPT_STANDALONE = 256,
	OPT_STATE_DIR,
	OPT_HTTP_PORT,
	OPT_APP_ID,
	OPT_NATS,
	OPT_CONSISTENCY,
	OPT_KIND,
	OPT_STORES,
	OPT_REPLICAS,
	OPT_VERSION,
	OPT_SHARE,
	OPT_NAMESPACE,
	OPT_REPLICA,
	OPT_IDENTITY,
	OPT_NATS_PORT,
	OPT_SYNC_MS,
	OPT_APP_PORT,
	OPT_PUBSUBS,
	OPT_ACK_WAIT,
	OPT_RETRY,
	OPT_MAX_DELIVER,
	OPT_IDENTITY_KEY,
	OPT_IDENTITY_DIR,
	OPT_IDENTITY_SKEW,
	OPT_NETNS,
	OPT_APP_NETNS,
	OPT_EXIT_WITH_PARENT,
	OPT_INVOKE_LISTEN,
	OPT_INVOKE_ADVERTISE,
};

static const struct option options[] = {
	{"standalone", no_argument, NULL, OPT_STANDALONE},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"http-port", required_argument, NULL, OPT_HTTP_PORT},
	{"app-id", required_argument, NULL, OPT_APP_ID},
	{"nats", required_argument, NULL, OPT_NATS},
	{"consistency", required_argument, NULL, OPT_CONSISTENCY},
	{"kind", required_argument, NULL, OPT_KIND},
	{"stores", required_argument, NULL, OPT_STORES},
	{"replicas", required_argument, NULL, OPT_REPLICAS},
	{"version", required_argument, NULL, OPT_VERSION},
	{"share-versions", no_argument, NULL, OPT_SHARE},
	{"namespace", required_argument, NULL, OPT_NAMESPACE},
	{"replica", required_argument, NULL, OPT_REPLICA},
	{"identity", required_argument, NULL, OPT_IDENTITY},
	{"identity-key", required_argument, NULL, OPT_IDENTITY_KEY},
	{"identity-dir", required_argument, NULL, OPT_IDENTITY_DIR},
	{"identity-skew-s", required_argument, NULL, OPT_IDENTITY_SKEW},
	{"netns", required_argument, NULL, OPT_NETNS},
	{"app-netns", required_argument, NULL, OPT_APP_NETNS},
	{"exit-with-parent", no_argument, NULL, OPT_EXIT_WITH_PARENT},
	{"invoke-listen", required_argument, NULL, OPT_INVOKE_LISTEN},
	{"invoke-advertise", required_argument, NULL, OPT_INVOKE_ADVERTISE},
	{"nats-port", required_argument, NULL, OPT_NATS_PORT},
	{"sync-ms", required_argument, NULL, OPT_SYNC_MS},
	{"app-port", required_argument, NULL, OPT_APP_PORT},
	{"pubsubs", required_argument, NULL, OPT_PUBSUBS},
	{"pubsub-ack-wait-ms", required_argument, NULL, OPT_ACK_WAIT},
	{"pubsub-retry-ms", required_argument, NULL, OPT_RETRY},
	{"pubsub-max-deliver", required_argument, NULL, OPT_MAX_DELIVER},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bpfmesh-sidecar (--standalone --state-dir DIR | --nats URLS) [options]\n"
		"  --http-port PORT        Dapr API port on 127.0.0.1 (default $DAPR_HTTP_PORT or "
		"3500)\n"
		"  --app-id ID             workload name (default $APP_ID or \"app\")\n"
		"  --namespace NS          workload namespace (default \"default\")\n"
		"  --consistency MODE      eventual|strong (default: from --kind)\n"
		"  --kind KIND             Deployment (eventual, default) | StatefulSet (strong)\n"
		"  --stores A,B            state store names (default \"statestore\")\n"
		"  --replicas N            strong-mode JetStream replicas (default 1 standalone, "
		"3)\n"
		"  --version V             workload version: its own keyspace\n"
		"  --share-versions        all versions share one keyspace\n"
		"  --replica NAME          this replica's unique name (default host-pid)\n"
		"  --identity FILE         this replica's identity document (checked at start)\n"
		"  --identity-key FILE     its secret key (default FILE.key)\n"
		"  --identity-dir DIR      trust.bundle and crl.bin to check it against\n"
		"  --identity-skew-s S     clock skew allowed in that check (default 60)\n"
		"                          (SIGHUP: read the document again, exit 1 if it\n"
		"                          does not check out)\n"
		"  --invoke-listen IP:PORT serve calls from other workloads' sidecars here\n"
		"                          (needs --identity; port 0: any)\n"
		"  --invoke-advertise H:P  the address other sidecars dial (default: the\n"
		"                          listen address)\n"
		"  --netns PATH            enter this network namespace first\n"
		"                          (/run/netns/NAME, /proc/PID/ns/net)\n"
		"  --app-netns PATH        open only the app-facing sockets (Dapr port, app,\n"
		"                          invocation) there; the bus stays in ours\n"
		"  --exit-with-parent      stop (as on SIGTERM) when the process that started\n"
		"                          us exits (the agent)\n"
		"  --nats-port PORT        standalone nats-server port (default: a free one)\n"
		"  --sync-ms MS            eventual anti-entropy period (default 2000)\n"
		"  --app-port PORT         the application's port: subscriptions from its\n"
		"                          GET /dapr/subscribe, events POSTed to its routes\n"
		"  --pubsubs A,B           pub-sub component names (default \"pubsub\")\n"
		"  --pubsub-ack-wait-ms MS redeliver an event not acknowledged in MS "
		"(30000)\n"
		"  --pubsub-retry-ms MS    delay before redelivery after RETRY/error (1000)\n"
		"  --pubsub-max-deliver N  attempts before the dead-letter topic (0: "
		"unlimited)\n"
		"  -v                      more logging (repeat)\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/*
 * Join the network namespace at path, before any thread exists (setns(2)
 * moves only the calling thread). Returns 0 or -errno.
 */
static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		err = -errno;
	close(fd);
	return err;
}

static int parse_opt(int c, const char *arg, struct sidecar_config *cfg)
{
	unsigned int n = 0;

	switch (c) {
	case OPT_STANDALONE:
		cfg->is_standalone = true;
		return 0;
	case OPT_STATE_DIR:
		cfg->state_dir = arg;
		return 0;
	case OPT_HTTP_PORT:
		return parse_uint(arg, 65535, &cfg->http_port);
	case OPT_APP_ID:
		cfg->app_id = arg;
		return 0;
	case OPT_NATS:
		cfg->nats_urls = arg;
		return 0;
	case OPT_KIND:
		cfg->kind = arg;
		return 0;
	case OPT_STORES:
		cfg->stores = arg;
		return 0;
	case OPT_VERSION:
		cfg->version = arg;
		return 0;
	case OPT_SHARE:
		cfg->is_shared_versions = true;
		return 0;
	case OPT_NAMESPACE:
		cfg->namespace = arg;
		return 0;
	case OPT_REPLICA:
		cfg->replica = arg;
		return 0;
	case OPT_IDENTITY:
		cfg->identity = arg;
		return 0;
	case OPT_IDENTITY_KEY:
		cfg->identity_key = arg;
		return 0;
	case OPT_IDENTITY_DIR:
		cfg->identity_dir = arg;
		return 0;
	case OPT_INVOKE_LISTEN:
		cfg->invoke_listen = arg;
		return 0;
	case OPT_INVOKE_ADVERTISE:
		cfg->invoke_advertise = arg;
		return 0;
	case OPT_IDENTITY_SKEW:
		if (parse_uint(arg, 86400, &n))
			return -EINVAL;
		cfg->identity_skew_s = (int)n;
		return 0;
	case OPT_NATS_PORT:
		return parse_uint(arg, 65535, &cfg->nats_port);
	case OPT_SYNC_MS:
		return parse_uint(arg, 3600000, &cfg->sync_ms);
	case OPT_APP_PORT:
		return parse_uint(arg, 65535, &cfg->app_port);
	case OPT_PUBSUBS:
		cfg->pubsubs = arg;
		return 0;
	case OPT_ACK_WAIT:
		return parse_uint(arg, 3600000, &cfg->ack_wait_ms) || cfg->ack_wait_ms < 100
			       ? -EINVAL
			       : 0;
	case OPT_RETRY:
		return parse_uint(arg, 3600000, &cfg->retry_ms);
	case OPT_MAX_DELIVER:
		return parse_uint(arg, 1000000, &cfg->max_deliver);
	case 'v':
		log_set_level(log_get_level() + 1);
		return 0;
	case OPT_CONSISTENCY:
		cfg->consistency = arg;
		return strcmp(arg, "strong") && strcmp(arg, "eventual") ? -EINVAL : 0;
	case OPT_REPLICAS:
		if (parse_uint(arg, 5, &n) || !n)
			return -EINVAL;
		cfg->replicas = (int)n;
		return 0;
	default:
		return -EINVAL;
	}
}

static int resolve_config(struct sidecar_config *cfg)
{
	const char *port = getenv("DAPR_HTTP_PORT");

	if (!cfg->app_id)
		cfg->app_id = getenv("APP_ID") ? getenv("APP_ID") : "app";
	if (!cfg->http_port && port && parse_uint(port, 65535, &cfg->http_port))
		return -EINVAL;
	if (!cfg->http_port)
		cfg->http_port = 3500;
	port = getenv("APP_PORT");
	if (!cfg->app_port && port && parse_uint(port, 65535, &cfg->app_port))
		return -EINVAL;
	if (cfg->is_standalone == !!cfg->nats_urls)
		return -EINVAL; /* exactly one of --standalone and --nats */
	if (cfg->is_standalone && !cfg->state_dir)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct sidecar_config cfg = {.identity_skew_s = -1};
	struct sidecar *sc = NULL;
	const char *netns = NULL, *app_netns = NULL;
	bool is_exit_with_parent = false;
	pid_t parent = getppid();
	sigset_t set;
	int c, sig, err;

	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == OPT_NETNS) {
			netns = optarg;
			continue;
		}
		if (c == OPT_APP_NETNS) {
			app_netns = optarg;
			continue;
		}
		if (c == OPT_EXIT_WITH_PARENT) {
			is_exit_with_parent = true;
			continue;
		}
		if (parse_opt(c, optarg, &cfg)) {
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || resolve_config(&cfg)) {
		usage(stderr);
		return 2;
	}
	err = netns ? enter_netns(netns) : 0;
	if (err) {
		fprintf(stderr, "bpfmesh-sidecar: --netns %s: %s\n", netns, strerror(-err));
		return 1;
	}
	err = app_netns ? sc_netns_set_app(app_netns) : 0;
	if (err) {
		fprintf(stderr, "bpfmesh-sidecar: --app-netns %s: %s\n", app_netns, strerror(-err));
		return 1;
	}
	/* Block the stop signals before any thread exists, then wait for one. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP); /* reload the identity document */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* SIGTERM (blocked now, so sigwait gets it) when the agent dies, even by SIGKILL. */
	if (is_exit_with_parent && (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)) {
		fprintf(stderr, "bpfmesh-sidecar: --exit-with-parent: the parent is gone\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	err = sidecar_start(&cfg, &sc);
	if (err) {
		fprintf(stderr, "bpfmesh-sidecar: %s\n", strerror(-err));
		return 1;
	}
	fprintf(stderr, "bpfmesh-sidecar: ready on 127.0.0.1:%u\n", sidecar_http_port(sc));
	for (;;) {
		sigwait(&set, &sig);
		if (sig != SIGHUP)
			break;
		err = sidecar_reload_identity(sc);
		if (err == -ENOKEY) {
			pr_info("sidecar: SIGHUP: no --identity to reload");
		} else if (err) {
			/* Its old document is about to expire: a fresh start is the way on. */
			fprintf(stderr, "bpfmesh-sidecar: identity reload failed; exiting\n");
			sidecar_stop(sc);
			return 1;
		}
	}
	sidecar_stop(sc);
	return 0;
}
