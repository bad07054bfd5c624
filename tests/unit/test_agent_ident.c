// SPDX-License-Identifier: GPL-2.0-only
/* Replica identities issued by the agent (agent_ident.c) on a real state
 * directory: issued with the enrolled node's key, verifiable with the trust
 * bundle as a sidecar checks them, the right SPIFFE ID, 0600 files, renewed
 * at 2/3 of the lifetime, removed with the replica; none when not enrolled.
 * ctest-labels: unit agent identity
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_ident.h"
#include "agent_ident_priv.h"
#include "agent_priv.h"
#include "bm_test.h"
#include "ident_store.h"
#include "test_ident_fixture.h"
#include "workload_model.h"

struct env {
	char state[64];
	char path[IDENT_PATH_MAX];
	struct agent_config cfg;
	struct agent a;
	struct fx_domain fx;
	struct agent_local local[2];
};

/* STATE_DIR with identity/ as `identity init` + `enroll --node node-a` leave it. */
static void env_init(struct env *e, bool is_enrolled, int64_t ttl_s)
{
	uint8_t buf[IDENT_TRUST_MAX_LEN];
	char dir[IDENT_PATH_MAX];
	size_t len;

	memset(e, 0, sizeof(*e));
	snprintf(e->state, sizeof(e->state), "/tmp/bm-agent-ident-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(e->state));
	CU_ASSERT_EQUAL_FATAL(fx_domain_init(&e->fx, "t.bpfmesh"), 0);
	CU_ASSERT_EQUAL_FATAL(ident_store_dir(e->state, 1, dir, sizeof(dir)), 0);
	len = ident_trust_encode(&e->fx.trust, buf);
	CU_ASSERT_EQUAL_FATAL(ident_store_path(dir, IDENT_FILE_TRUST, e->path, sizeof(e->path)), 0);
	CU_ASSERT_EQUAL_FATAL(ident_file_write(e->path, buf, len), 0);
	if (is_enrolled) {
		CU_ASSERT_EQUAL_FATAL(
			ident_store_path(dir, IDENT_FILE_NODE_KEY, e->path, sizeof(e->path)), 0);
		CU_ASSERT_EQUAL_FATAL(ident_key_save(e->path, e->fx.node_sk), 0);
		CU_ASSERT_EQUAL_FATAL(
			ident_store_path(dir, IDENT_FILE_NODE_DOC, e->path, sizeof(e->path)), 0);
		CU_ASSERT_EQUAL_FATAL(ident_doc_save(e->path, &e->fx.node), 0);
	}
	e->cfg.node = "n1";
	e->cfg.state_dir = e->state;
	e->cfg.workload_ttl_s = ttl_s;
	e->a.cfg = &e->cfg;
	e->local[0] =
		(struct agent_local){.key = "shop/db/0", .pod = "db-0", .ns = "shop", .pid = 1};
	e->local[1] = (struct agent_local){
		.key = "shop/web/a/0", .pod = "web-a-0", .ns = "shop", .pid = 1};
	e->a.sched.local = e->local;
	e->a.sched.n_local = 2;
}

static void env_release(struct env *e)
{
	char cmd[128];

	agent_ident_close(&e->a);
	CU_ASSERT_PTR_NULL(e->a.ident);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->state);
	CU_ASSERT_EQUAL(system(cmd), 0);
	fx_domain_wipe(&e->fx);
}

/* Check pod's files as a sidecar does; returns the leaf serial (0: bad). */
static uint64_t check_doc(struct env *e, const char *pod, const char *want_id)
{
	uint8_t sk[64], pk[32];
	char path[IDENT_PATH_MAX];
	struct ident_doc doc;
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(agent_replica_identity_path(&e->a, pod, path, sizeof(path)), 0);
	snprintf(e->path, sizeof(e->path), "%s/replicas/%s.id", e->state, pod);
	CU_ASSERT_STRING_EQUAL(path, e->path);
	CU_ASSERT_EQUAL_FATAL(ident_doc_load(path, &doc), 0);
	CU_ASSERT_EQUAL(ident_doc_verify(&doc, &e->fx.trust, NULL, (int64_t)time(NULL), 0, NULL),
			0);
	CU_ASSERT_EQUAL(doc.certs[0].kind, IDENT_KIND_WORKLOAD);
	CU_ASSERT_STRING_EQUAL(doc.certs[0].subject, want_id);
	CU_ASSERT_EQUAL(memcmp(doc.certs[1].public_key, e->fx.node.certs[0].public_key, 32), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	strcat(path, ".key");
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL_FATAL(ident_key_load(path, sk), 0);
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	sodium_memzero(sk, sizeof(sk));
	CU_ASSERT_EQUAL(memcmp(pk, doc.certs[0].public_key, 32), 0);
	return doc.certs[0].serial;
}

static bool exists(struct env *e, const char *pod, const char *suffix)
{
	snprintf(e->path, sizeof(e->path), "%s/replicas/%s.id%s", e->state, pod, suffix);
	return !access(e->path, F_OK);
}

static void test_agent_ident_issue_and_remove(void)
{
	char path[IDENT_PATH_MAX];
	struct env e;

	env_init(&e, true, 0);
	CU_ASSERT_EQUAL_FATAL(agent_ident_open(&e.a), 0);
	CU_ASSERT_EQUAL(agent_identity_dir(&e.a, path, sizeof(path)), 0);
	CU_ASSERT_EQUAL(agent_replica_identity_path(&e.a, "db-0", path, sizeof(path)), -ENOENT);
	CU_ASSERT_EQUAL(agent_ident_replica_started(&e.a, "shop/db/0", "shop", "db-0", "db"), 0);
	CU_ASSERT_NOT_EQUAL(check_doc(&e, "db-0", "spiffe://t.bpfmesh/ns/shop/sa/db"), 0);
	CU_ASSERT_EQUAL(e.a.ident->reps[0].not_after - (int64_t)time(NULL) > 3590, 1);
	/* No service account: "default". */
	CU_ASSERT_EQUAL(agent_ident_replica_started(&e.a, "shop/web/a/0", "shop", "web-a-0", NULL),
			0);
	check_doc(&e, "web-a-0", "spiffe://t.bpfmesh/ns/shop/sa/default");
	CU_ASSERT_EQUAL(agent_replica_identity_path(&e.a, "db-0", path, 8), -ENAMETOOLONG);
	/* Same pod name for another replica key: refused, the first keeps its document. */
	CU_ASSERT_EQUAL(agent_ident_replica_started(&e.a, "other/db/0", "other", "db-0", "db"),
			-EEXIST);
	check_doc(&e, "db-0", "spiffe://t.bpfmesh/ns/shop/sa/db");
	/* Stopped: both files go at once. */
	agent_ident_replica_stopped(&e.a, "shop/db/0");
	CU_ASSERT_FALSE(exists(&e, "db-0", ""));
	CU_ASSERT_FALSE(exists(&e, "db-0", ".key"));
	CU_ASSERT_EQUAL(agent_replica_identity_path(&e.a, "db-0", path, sizeof(path)), -ENOENT);
	/* Gone from the local replicas without a stop: the tick's sweep removes it. */
	e.a.sched.n_local = 0;
	agent_ident_tick(&e.a);
	CU_ASSERT_FALSE(exists(&e, "web-a-0", ""));
	CU_ASSERT_FALSE(exists(&e, "web-a-0", ".key"));
	CU_ASSERT_EQUAL(e.a.ident->n_reps, 0);
	env_release(&e);
}

static void test_agent_ident_renewed(void)
{
	uint64_t first, second;
	int i;
	struct env e;

	env_init(&e, true, 3);
	CU_ASSERT_EQUAL_FATAL(agent_ident_open(&e.a), 0);
	CU_ASSERT_EQUAL(agent_ident_replica_started(&e.a, "shop/db/0", "shop", "db-0", "db"), 0);
	first = check_doc(&e, "db-0", "spiffe://t.bpfmesh/ns/shop/sa/db");
	CU_ASSERT_EQUAL(e.a.ident->reps[0].renew_at - (int64_t)time(NULL) <= 2, 1);
	/* Renewed at 2/3 of 3 s, before expiry: poll the tick for at most 4 s. */
	for (i = 0; i < 40 && e.a.ident->reps[0].serial == first; i++) {
		usleep(100 * 1000);
		agent_ident_tick(&e.a);
	}
	second = check_doc(&e, "db-0", "spiffe://t.bpfmesh/ns/shop/sa/db");
	CU_ASSERT_NOT_EQUAL(second, first);
	CU_ASSERT_EQUAL(e.a.ident->reps[0].serial, second);
	/* Started again while its document is fresh: kept. */
	CU_ASSERT_EQUAL(agent_ident_replica_started(&e.a, "shop/db/0", "shop", "db-0", "db"), 0);
	CU_ASSERT_EQUAL(check_doc(&e, "db-0", "spiffe://t.bpfmesh/ns/shop/sa/db"), second);
	env_release(&e);
}

static void test_agent_ident_adopted(void)
{
	struct wl_object obj;
	struct agent_replica rep = {.key = "shop/db/0", .pod = "db-0", .obj = &obj};
	struct env e;
	FILE *f;

	env_init(&e, true, 0);
	memset(&obj, 0, sizeof(obj));
	obj.pod.service_account = "db";
	/* A stale document of a pod that no longer runs here is removed at open. */
	CU_ASSERT_EQUAL(mkdir(strcat(strcpy(e.path, e.state), "/replicas"), 0700), 0);
	f = fopen(strcat(e.path, "/gone-0.id"), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	e.a.sched.n_local = 1;
	CU_ASSERT_EQUAL_FATAL(agent_ident_open(&e.a), 0);
	CU_ASSERT_FALSE(exists(&e, "gone-0", ""));
	/* An adopted replica gets its document once the placement names its service account. */
	agent_ident_tick(&e.a);
	CU_ASSERT_FALSE(exists(&e, "db-0", ""));
	e.a.sched.reps = &rep;
	e.a.sched.n_reps = 1;
	e.a.ident->next_sweep_ms = 0;
	agent_ident_tick(&e.a);
	check_doc(&e, "db-0", "spiffe://t.bpfmesh/ns/shop/sa/db");
	e.a.sched.reps = NULL;
	e.a.sched.n_reps = 0;
	env_release(&e);
}

static void test_agent_ident_not_enrolled(void)
{
	char path[IDENT_PATH_MAX];
	struct env e;

	env_init(&e, false, 0);
	CU_ASSERT_EQUAL_FATAL(agent_ident_open(&e.a), 0);
	CU_ASSERT_EQUAL(agent_ident_replica_started(&e.a, "shop/db/0", "shop", "db-0", "db"),
			-ENOENT);
	agent_ident_tick(&e.a);
	CU_ASSERT_FALSE(exists(&e, "db-0", ""));
	CU_ASSERT_EQUAL(agent_identity_dir(&e.a, path, sizeof(path)), -ENOENT);
	CU_ASSERT_EQUAL(agent_replica_identity_path(&e.a, "db-0", path, sizeof(path)), -ENOENT);
	env_release(&e);
}

static void test_agent_ident_options(void)
{
	struct agent_config c = {0};

	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--workload-ttl", "90m"), 0);
	CU_ASSERT_EQUAL(c.workload_ttl_s, 5400);
	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--workload-ttl", "2s"), -EINVAL);
	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--workload-ttl", "8d"), -EINVAL);
	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--auth-ttl", "3s"), 0);
	CU_ASSERT_EQUAL(c.auth_ttl_s, 3);
	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--auth-ttl", "0"), -EINVAL);
	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--auth-port", "4434"), 0);
	CU_ASSERT_EQUAL(c.auth_port, 4434);
	CU_ASSERT_FALSE(c.is_auth_off);
	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--auth-port", "0"), 0);
	CU_ASSERT_TRUE(c.is_auth_off);
	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--auth-port", "65536"), -EINVAL);
	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--auth-port", "-1"), -EINVAL);
	CU_ASSERT_EQUAL(agent_ident_opt(&c, "--label", "a=b"), 1);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"issue_and_remove", test_agent_ident_issue_and_remove},
		{"renewed", test_agent_ident_renewed},
		{"adopted", test_agent_ident_adopted},
		{"not_enrolled", test_agent_ident_not_enrolled},
		{"options", test_agent_ident_options},
		{NULL, NULL},
	};

	return bm_test_add_suite("agent_ident", NULL, NULL, cases);
}
