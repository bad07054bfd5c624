// SPDX-License-Identifier: GPL-2.0-only
/* Continuous authorization: auth map entries from handshakes, expiry,
 * re-authentication, revocation and rotation, against an in-memory map.
 * ctest-labels: unit identity
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bm_test.h"
#include "ident_authz.h"
#include "ident_hs.h"
#include "ident_id.h"
#include "test_ident_fixture.h"

#define NS 1000000000ULL
#define MAP_MAX 8

/* A stand-in for bm_auth with the data plane's rule: allowed while expires > now. */
struct fake_map {
	struct {
		uint32_t src, dst;
		uint64_t expires, hs_id;
	} e[MAP_MAX];
	int n;
	int writes, deletes;
	int fail_writes;
};

static int fake_write(void *ctx, uint32_t src, uint32_t dst, uint64_t expires, uint64_t hs_id)
{
	struct fake_map *m = ctx;
	int i;

	if (m->fail_writes)
		return -ENOSPC;
	m->writes++;
	for (i = 0; i < m->n; i++) {
		if (m->e[i].src == src && m->e[i].dst == dst)
			break;
	}
	if (i == MAP_MAX)
		return -E2BIG;
	if (i == m->n)
		m->n++;
	m->e[i].src = src;
	m->e[i].dst = dst;
	m->e[i].expires = expires;
	m->e[i].hs_id = hs_id;
	return 0;
}

static int fake_delete(void *ctx, uint32_t src, uint32_t dst)
{
	struct fake_map *m = ctx;
	int i;

	for (i = 0; i < m->n; i++) {
		if (m->e[i].src == src && m->e[i].dst == dst) {
			m->e[i] = m->e[--m->n];
			m->deletes++;
			return 0;
		}
	}
	return -ENOENT;
}

/* The XDP verdict for an authentication-required flow src -> dst at boot time now. */
static int flow_passes(const struct fake_map *m, uint32_t src, uint32_t dst, uint64_t now)
{
	int i;

	for (i = 0; i < m->n; i++) {
		if (m->e[i].src == src && m->e[i].dst == dst)
			return m->e[i].expires > now;
	}
	return 0;
}

static struct fx_domain fx;
static struct ident_doc doc_c, doc_s;
static uint8_t sk_c[64], sk_s[64];

static int suite_init(void)
{
	if (fx_domain_init(&fx, "example.org"))
		return -1;
	if (fx_issue(&fx, "default", "frontend", 0, 3600, &doc_c, sk_c) ||
	    fx_issue(&fx, "default", "backend", 0, 1800, &doc_s, sk_s))
		return -1;
	return 0;
}

static int suite_clean(void)
{
	fx_domain_wipe(&fx);
	return 0;
}

/* What the server side of a handshake between frontend and backend yields. */
static void server_result(struct ident_hs_result *res)
{
	memset(res, 0, sizeof(*res));
	res->local = doc_s;
	res->peer = doc_c;
	ident_numeric_id(doc_s.certs[0].subject, &res->local_id);
	ident_numeric_id(doc_c.certs[0].subject, &res->peer_id);
	res->not_after = fx.now + 1800;
	res->handshake_id = 42;
}

/* A clock sample at fx.now + off_s with boot time 1000 s + off_s. */
static struct ident_clock clock_at(int64_t off_s)
{
	struct ident_clock c = {
		.real_ns = (fx.now + off_s) * (int64_t)NS,
		.boot_ns = (uint64_t)(1000 + off_s) * NS,
	};
	return c;
}

static struct ident_authz *new_authz(struct fake_map *m, uint64_t ttl_s, uint64_t margin_s,
				     unsigned int dirs)
{
	struct ident_authz_ops ops = {fake_write, fake_delete, m};
	struct ident_authz_config cfg = {
		.policy_ttl_ns = ttl_s * NS,
		.reauth_margin_ns = margin_s * NS,
		.directions = dirs,
	};

	memset(m, 0, sizeof(*m));
	return ident_authz_new(&ops, &cfg);
}

static void test_ident_authz_expiry_is_earliest(void)
{
	struct ident_hs_result res;
	struct ident_clock now = clock_at(0);
	struct ident_authz *az;
	struct fake_map m;

	server_result(&res);
	/* documents (30 min) shorter than the policy TTL (1 h) */
	az = new_authz(&m, 3600, 60, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(az);
	CU_ASSERT_FALSE(flow_passes(&m, res.peer_id, res.local_id, now.boot_ns));
	CU_ASSERT_EQUAL(ident_authz_grant(az, &res, &now), 0);
	CU_ASSERT_EQUAL(m.n, 1);
	CU_ASSERT_EQUAL(m.e[0].src, res.peer_id); /* client -> server: the ingress direction */
	CU_ASSERT_EQUAL(m.e[0].dst, res.local_id);
	CU_ASSERT_EQUAL(m.e[0].expires, now.boot_ns + 1800 * NS);
	CU_ASSERT_EQUAL(m.e[0].hs_id, 42);
	CU_ASSERT_TRUE(flow_passes(&m, res.peer_id, res.local_id, now.boot_ns));
	CU_ASSERT_FALSE(flow_passes(&m, res.local_id, res.peer_id, now.boot_ns));
	ident_authz_free(az);
	/* policy TTL (5 min) shorter than the documents, both directions */
	az = new_authz(&m, 300, 60, IDENT_AUTHZ_PEER_TO_LOCAL | IDENT_AUTHZ_LOCAL_TO_PEER);
	CU_ASSERT_EQUAL(ident_authz_grant(az, &res, &now), 0);
	CU_ASSERT_EQUAL(m.n, 2);
	CU_ASSERT_EQUAL(m.e[0].expires, now.boot_ns + 300 * NS);
	CU_ASSERT_EQUAL(ident_authz_next_deadline(az), now.boot_ns + 240 * NS);
	ident_authz_free(az);
	/* nothing left to grant */
	az = new_authz(&m, 300, 60, 0);
	now = clock_at(1800);
	CU_ASSERT_EQUAL(ident_authz_grant(az, &res, &now), -EKEYEXPIRED);
	CU_ASSERT_EQUAL(m.n, 0);
	ident_authz_free(az);
}

struct due_log {
	int n;
	uint32_t peer;
};

static void on_due(void *ctx, const struct ident_authz_session *s)
{
	struct due_log *d = ctx;

	d->n++;
	d->peer = s->peer_id;
}

/* Dropped before, passes after, re-authenticated before expiry, dropped after it. */
static void test_ident_authz_reauth_and_expiry(void)
{
	struct ident_hs_result res;
	struct ident_clock now = clock_at(0);
	struct due_log due = {0};
	struct ident_authz *az;
	struct fake_map m;

	server_result(&res);
	az = new_authz(&m, 600, 60, 0);
	CU_ASSERT_EQUAL_FATAL(ident_authz_grant(az, &res, &now), 0);
	now = clock_at(500);
	CU_ASSERT_EQUAL(ident_authz_tick(az, &now, on_due, &due), 0);
	CU_ASSERT_EQUAL(due.n, 0);
	now = clock_at(540); /* 600 - 60 */
	CU_ASSERT_EQUAL(ident_authz_tick(az, &now, on_due, &due), 0);
	CU_ASSERT_EQUAL(due.n, 1);
	CU_ASSERT_EQUAL(due.peer, res.peer_id);
	CU_ASSERT_EQUAL(ident_authz_tick(az, &now, on_due, &due), 0);
	CU_ASSERT_EQUAL(due.n, 1); /* reported once per grant */
	/* re-authentication extends the same entry */
	res.handshake_id = 43;
	CU_ASSERT_EQUAL(ident_authz_grant(az, &res, &now), 0);
	CU_ASSERT_EQUAL(ident_authz_count(az), 1);
	CU_ASSERT_EQUAL(m.e[0].hs_id, 43);
	CU_ASSERT_TRUE(flow_passes(&m, res.peer_id, res.local_id, clock_at(1000).boot_ns));
	/* no re-authentication: the kernel stops passing at expiry, tick removes it */
	CU_ASSERT_FALSE(flow_passes(&m, res.peer_id, res.local_id, clock_at(1140).boot_ns));
	now = clock_at(1140);
	CU_ASSERT_EQUAL(ident_authz_tick(az, &now, NULL, NULL), 1);
	CU_ASSERT_EQUAL(m.n, 0);
	CU_ASSERT_EQUAL(ident_authz_count(az), 0);
	CU_ASSERT_EQUAL(ident_authz_next_deadline(az), UINT64_MAX);
	ident_authz_free(az);
}

static void test_ident_authz_revocation(void)
{
	struct ident_hs_result res;
	struct ident_clock now = clock_at(0);
	struct ident_authz *az;
	struct ident_crl crl;
	struct fake_map m;

	server_result(&res);
	ident_crl_init(&crl);
	az = new_authz(&m, 600, 60, 0);
	CU_ASSERT_EQUAL_FATAL(ident_authz_grant(az, &res, &now), 0);
	CU_ASSERT_EQUAL(ident_crl_add(&crl, 12345), 0);
	CU_ASSERT_EQUAL(ident_authz_revoke(az, &crl), 0);
	CU_ASSERT_TRUE(flow_passes(&m, res.peer_id, res.local_id, now.boot_ns));
	/* the client's node is revoked: the entry goes at once */
	CU_ASSERT_EQUAL(ident_crl_add(&crl, doc_c.certs[1].serial), 0);
	CU_ASSERT_EQUAL(ident_authz_revoke(az, &crl), 1);
	CU_ASSERT_FALSE(flow_passes(&m, res.peer_id, res.local_id, now.boot_ns));
	CU_ASSERT_EQUAL(m.deletes, 1);
	ident_crl_release(&crl);
	ident_authz_free(az);
}

static void test_ident_authz_rotation_and_failures(void)
{
	struct ident_hs_result res;
	struct ident_clock now = clock_at(0);
	struct ident_authz *az;
	struct fake_map m;

	server_result(&res);
	az = new_authz(&m, 600, 60, 0);
	m.fail_writes = 1;
	CU_ASSERT_EQUAL(ident_authz_grant(az, &res, &now), -ENOSPC);
	CU_ASSERT_EQUAL(ident_authz_count(az), 0);
	m.fail_writes = 0;
	CU_ASSERT_EQUAL_FATAL(ident_authz_grant(az, &res, &now), 0);
	CU_ASSERT_EQUAL(ident_authz_forget(az, 7), 0);
	CU_ASSERT_EQUAL(ident_authz_forget(az, res.local_id), 1);
	CU_ASSERT_EQUAL(m.n, 0);
	ident_authz_free(az);
}

/* A real handshake over a socketpair feeding the authorizer on the server side. */
struct client_run {
	int fd, ret;
	struct ident_hs_config cfg;
};

static void *client_main(void *arg)
{
	struct client_run *c = arg;
	struct ident_hs_result res;

	c->ret = ident_hs_client(c->fd, &c->cfg, &res);
	ident_hs_result_clear(&res);
	close(c->fd);
	return NULL;
}

static void test_ident_authz_after_handshake(void)
{
	uint8_t dc[IDENT_DOC_MAX_LEN], ds[IDENT_DOC_MAX_LEN];
	struct ident_hs_config scfg = {.trust = &fx.trust, .sk = sk_s};
	struct client_run c = {.cfg = {.trust = &fx.trust, .sk = sk_c}};
	struct ident_hs_result res;
	struct ident_clock now;
	struct ident_authz *az;
	struct fake_map m;
	pthread_t t;
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(ident_doc_encode(&doc_c, dc, sizeof(dc), &c.cfg.doc_len), 0);
	CU_ASSERT_EQUAL_FATAL(ident_doc_encode(&doc_s, ds, sizeof(ds), &scfg.doc_len), 0);
	c.cfg.doc = dc;
	scfg.doc = ds;
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c.fd = sv[0];
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, client_main, &c), 0);
	CU_ASSERT_EQUAL(ident_hs_server(sv[1], &scfg, &res), 0);
	pthread_join(t, NULL);
	close(sv[1]);
	CU_ASSERT_EQUAL_FATAL(c.ret, 0);
	az = new_authz(&m, 3600, 60, 0);
	ident_clock_now(&now);
	CU_ASSERT_EQUAL(ident_authz_grant(az, &res, &now), 0);
	CU_ASSERT_TRUE(flow_passes(&m, res.peer_id, res.local_id, now.boot_ns));
	/* the server's 30-minute document bounds the entry, within a second of slack */
	CU_ASSERT_TRUE(m.e[0].expires <= now.boot_ns + 1800 * NS);
	CU_ASSERT_TRUE(m.e[0].expires + 2 * NS > now.boot_ns + 1800 * NS);
	ident_hs_result_clear(&res);
	ident_authz_free(az);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"expiry_is_earliest", test_ident_authz_expiry_is_earliest},
		{"reauth_and_expiry", test_ident_authz_reauth_and_expiry},
		{"revocation", test_ident_authz_revocation},
		{"rotation_and_failures", test_ident_authz_rotation_and_failures},
		{"after_handshake", test_ident_authz_after_handshake},
		{NULL, NULL},
	};

	return bm_test_add_suite("ident_authz", suite_init, suite_clean, cases);
}
