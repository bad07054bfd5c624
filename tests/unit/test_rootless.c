// SPDX-License-Identifier: GPL-2.0-only
/* The rootless pieces that need no namespace: the probe's decision and the
 * forwarder's event records.
 * ctest-labels: unit rootless
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <abi/abi.h>

#include "bm_test.h"
#include "fwd_priv.h"
#include "manifest.h"
#include "rlns.h"
#include "rootless_probe.h"

static void test_rootless_probe_forced(void)
{
	struct rootless_probe p;

	rootless_probe_run(&p, true);
	CU_ASSERT_EQUAL(p.mode, ROOTLESS_MODE_USER);
	CU_ASSERT_EQUAL(strncmp(p.reason, "rootless: ", 10), 0);
	CU_ASSERT_STRING_EQUAL(rootless_mode_name(p.mode), "rootless");
}

/* Whatever the machine, the mode follows from the facts and the reason names it. */
static void test_rootless_probe_consistent(void)
{
	struct rootless_probe p;

	rootless_probe_run(&p, false);
	if (p.mode == ROOTLESS_MODE_BPF) {
		CU_ASSERT_EQUAL(p.prog_load_err, 0);
		CU_ASSERT_TRUE(p.has_cap_bpf && p.has_cap_net_admin);
		CU_ASSERT_EQUAL(strncmp(p.reason, "bpf: ", 5), 0);
	} else {
		CU_ASSERT_EQUAL(strncmp(p.reason, "rootless: ", 10), 0);
		CU_ASSERT_TRUE(p.prog_load_err || !p.has_cap_bpf || !p.has_cap_net_admin);
	}
	if (!p.is_root && !p.has_cap_bpf)
		CU_ASSERT_PTR_NOT_NULL(strstr(p.reason, "not root"));
}

static void test_rootless_sockaddr(void)
{
	uint8_t a4[16] = {198, 18, 1, 2}, a6[16] = {0xfd, 0, 0, 1};
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	a6[15] = 2;
	CU_ASSERT_EQUAL(rlns_sockaddr(BM_FAMILY_IPV4, a4, 8080, &ss), sizeof(*s4));
	CU_ASSERT_EQUAL(s4->sin_family, AF_INET);
	CU_ASSERT_EQUAL(ntohs(s4->sin_port), 8080);
	CU_ASSERT_EQUAL(memcmp(&s4->sin_addr, a4, 4), 0);
	CU_ASSERT_EQUAL(rlns_sockaddr(BM_FAMILY_IPV6, a6, 443, &ss), sizeof(*s6));
	CU_ASSERT_EQUAL(s6->sin6_family, AF_INET6);
	CU_ASSERT_EQUAL(ntohs(s6->sin6_port), 443);
	CU_ASSERT_EQUAL(memcmp(&s6->sin6_addr, a6, 16), 0);
}

/* A verdict becomes one 80-byte bm_flow_event, source USER, ports in network order. */
static void test_rootless_event_record(void)
{
	char dir[] = "/tmp/bm-rootless-unit.XXXXXX", sub[64], path[128];
	struct pm_model *m = pm_model_new();
	struct fwd_config cfg = {0};
	struct pe_tuple t = {.family = BM_FAMILY_IPV4, .proto = 6, .sport = 40000, .dport = 9090};
	struct pe_result r = {.verdict = BM_VERDICT_DENY,
			      .reason = BM_REASON_DENY_INGRESS,
			      .rule_id = 0,
			      .src_id = 300,
			      .dst_id = 301};
	struct bm_flow_event e;
	unsigned char buf[2 * sizeof(e)];
	struct fwd *f;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/rootless", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	cfg.state_dir = dir;
	cfg.model = m;
	f = fwd_new(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	memcpy(t.saddr, (uint8_t[]){198, 18, 1, 1}, 4);
	memcpy(t.daddr, (uint8_t[]){198, 18, 1, 2}, 4);
	fwd_event_emit(f, &t, &r);
	fwd_free(f);
	snprintf(path, sizeof(path), "%s/%s", dir, FWD_EVENTS_FILE);
	fd = open(path, O_RDONLY);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(read(fd, buf, sizeof(buf)), (ssize_t)sizeof(e)); /* exactly one */
	memcpy(&e, buf, sizeof(e));
	close(fd);
	CU_ASSERT_EQUAL(e.source, BM_EVENT_SRC_USER);
	CU_ASSERT_EQUAL(e.verdict, BM_VERDICT_DENY);
	CU_ASSERT_EQUAL(e.reason, BM_REASON_DENY_INGRESS);
	CU_ASSERT_EQUAL(e.src_id, 300);
	CU_ASSERT_EQUAL(e.dst_id, 301);
	CU_ASSERT_EQUAL(e.sport, htons(40000));
	CU_ASSERT_EQUAL(e.dport, htons(9090));
	CU_ASSERT_EQUAL(e.family, BM_FAMILY_IPV4);
	CU_ASSERT_EQUAL(e.saddr[3], 1);
	CU_ASSERT_EQUAL(e.daddr[3], 2);
	CU_ASSERT_TRUE(e.ts_boot_ns > 0);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	pm_model_free(m);
}

/* Write dir/rootless/status with the given pid (and a reason line if asked). */
static void write_status(const char *dir, long pid, bool has_reason)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/rootless/status", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "pid\t%ld\n", pid);
	if (has_reason)
		fprintf(f, "reason\trootless: --rootless given (BPF would work)\n");
	fclose(f);
}

/* What `bpfmesh observe` and `status` rely on: a live pid and a reason. */
static void test_rootless_is_running(void)
{
	char dir[] = "/tmp/bm-test-rlrun.XXXXXX", sub[64], path[96], buf[512];
	pid_t dead;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/rootless", dir);
	snprintf(path, sizeof(path), "%s/status", sub);
	CU_ASSERT_FALSE(rootless_is_running(dir)); /* no directory */
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	CU_ASSERT_FALSE(rootless_is_running(dir)); /* no file */
	write_status(dir, getpid(), true);
	CU_ASSERT_TRUE(rootless_is_running(dir));
	CU_ASSERT_TRUE(rootless_describe(dir, buf, sizeof(buf)));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "rootless forwarder running"));
	write_status(dir, getpid(), false);
	CU_ASSERT_FALSE(rootless_is_running(dir)); /* no reason line */
	dead = fork();
	CU_ASSERT_TRUE_FATAL(dead >= 0);
	if (!dead)
		_exit(0);
	CU_ASSERT_EQUAL(waitpid(dead, NULL, 0), dead);
	write_status(dir, dead, true);
	CU_ASSERT_FALSE(rootless_is_running(dir)); /* reaped: no such process */
	CU_ASSERT_FALSE(rootless_describe(dir, buf, sizeof(buf)));
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"probe_forced", test_rootless_probe_forced},
		{"probe_consistent", test_rootless_probe_consistent},
		{"sockaddr", test_rootless_sockaddr},
		{"event_record", test_rootless_event_record},
		{"is_running", test_rootless_is_running},
		{NULL, NULL},
	};

	return bm_test_add_suite("rootless", NULL, NULL, cases);
}
