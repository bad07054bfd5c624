// SPDX-License-Identifier: GPL-2.0-only
/* The command line the agent starts a replica's sidecar with
 * (sidecar_launch_argv): required fields, optional ones only when set.
 * ctest-labels: unit sidecar
 */
#include <errno.h>
#include <string.h>

#include "bm_test.h"
#include "launch.h"

static int find(const struct sidecar_argv *a, const char *opt)
{
	int i;

	for (i = 0; a->argv[i]; i++)
		if (!strcmp(a->argv[i], opt))
			return i;
	return -1;
}

static void test_sidecar_launch_argv(void)
{
	struct sidecar_launch l = {.nats_urls = "nats://198.18.0.1:4222",
				   .app_id = "web",
				   .replica = "web-v1-abc-0",
				   .netns = "/proc/42/ns/net",
				   .identity = "/s/web.doc",
				   .identity_dir = "/s/identity",
				   .kind = "StatefulSet",
				   .app_port = 8080,
				   .is_shared_versions = true};
	struct sidecar_argv a;
	int i;

	CU_ASSERT_EQUAL_FATAL(sidecar_launch_argv(&l, &a), 0);
	CU_ASSERT_STRING_EQUAL(a.argv[0], "bpfmesh-sidecar");
	i = find(&a, "--netns");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_STRING_EQUAL(a.argv[i + 1], "/proc/42/ns/net");
	i = find(&a, "--identity-dir");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_STRING_EQUAL(a.argv[i + 1], "/s/identity");
	i = find(&a, "--http-port");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_STRING_EQUAL(a.argv[i + 1], "3500");
	i = find(&a, "--app-port");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_STRING_EQUAL(a.argv[i + 1], "8080");
	i = find(&a, "--share-versions");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_TRUE(!a.argv[i + 1] || !strncmp(a.argv[i + 1], "--", 2));
	CU_ASSERT_EQUAL(find(&a, "--version"), -1);
	CU_ASSERT_EQUAL(find(&a, "--state-dir"), -1);
	CU_ASSERT_EQUAL(find(&a, "--app-netns"), -1);

	/* the agent's way: only the app-facing sockets in the replica */
	l.netns = NULL;
	l.app_netns = "/proc/43/ns/net";
	CU_ASSERT_EQUAL_FATAL(sidecar_launch_argv(&l, &a), 0);
	CU_ASSERT_EQUAL(find(&a, "--netns"), -1);
	i = find(&a, "--app-netns");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_STRING_EQUAL(a.argv[i + 1], "/proc/43/ns/net");

	l.app_port = 0;
	l.is_shared_versions = false;
	CU_ASSERT_EQUAL(sidecar_launch_argv(&l, &a), 0);
	CU_ASSERT_EQUAL(find(&a, "--app-port"), -1);
	CU_ASSERT_EQUAL(find(&a, "--share-versions"), -1);

	/* the invocation listener: with its advertised address, only with an identity */
	CU_ASSERT_EQUAL(find(&a, "--invoke-listen"), -1);
	l.invoke_listen = "198.18.17.2:50002";
	l.invoke_advertise = "198.18.17.2:50002";
	l.is_exit_with_parent = true;
	l.state_dir = "/s/sidecars/shop_web-0";
	l.version = "v1";
	l.consistency = "eventual";
	l.namespace = "shop";
	l.app_port = 8080;
	l.is_shared_versions = true;
	CU_ASSERT_EQUAL_FATAL(sidecar_launch_argv(&l, &a), 0); /* every option fits */
	i = find(&a, "--invoke-listen");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_STRING_EQUAL(a.argv[i + 1], "198.18.17.2:50002");
	i = find(&a, "--invoke-advertise");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_STRING_EQUAL(a.argv[i + 1], "198.18.17.2:50002");
	CU_ASSERT_TRUE(find(&a, "--exit-with-parent") > 0);
	l.identity = NULL; /* invocation needs the document */
	CU_ASSERT_EQUAL(sidecar_launch_argv(&l, &a), -EINVAL);
	l.identity = "/s/web.doc";
	l.invoke_listen = l.invoke_advertise = NULL;

	l.identity_dir = NULL; /* a document that cannot be checked */
	CU_ASSERT_EQUAL(sidecar_launch_argv(&l, &a), -EINVAL);
	l.identity_dir = "/s/identity";
	l.replica = NULL;
	CU_ASSERT_EQUAL(sidecar_launch_argv(&l, &a), -EINVAL);
	l.replica = "r";
	l.nats_urls = NULL;
	CU_ASSERT_EQUAL(sidecar_launch_argv(&l, &a), -EINVAL);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"argv", test_sidecar_launch_argv},
		{NULL, NULL},
	};

	return bm_test_add_suite("sidecar_launch", NULL, NULL, cases);
}
