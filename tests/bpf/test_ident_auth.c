// SPDX-License-Identifier: GPL-2.0-only
/*
 * Identity end to end through the kernel: two network namespaces joined by a
 * veth pair, bm_xdp_ingress attached to the server's side with a policy that
 * needs authentication on TCP 7070, and the real handshake (ident_hs) on TCP
 * 7443 whose result ident_authz writes into the pinned bm_auth map. A
 * connection to 7070 is dropped before the handshake, passes after it, is
 * dropped again once the entry expires, passes after re-authentication and
 * is dropped at once after revocation (and a revoked client cannot
 * re-authenticate); an agent loop that re-authenticates when due keeps the
 * pair admitted across several TTLs without a gap. Needs root; addresses 198.18.2.0/24 inside
 * namespaces this test creates and removes. ctest-labels: bpf netns identity
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <abi/abi.h>

#include "../unit/test_ident_fixture.h"
#include "bm_test.h"
#include "ident_authz.h"
#include "ident_hs.h"

#define CLIENT_ADDR "198.18.2.1"
#define SERVER_ADDR "198.18.2.2"
#define PORT_AUTH 7070 /* authentication: required */
#define PORT_HS 7443 /* the handshake itself, allowed for the client */
#define POLICY_TTL_S 3
#define DOMAIN "test.bpfmesh"

static const char policy_yaml[] =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: shop}}\n---\n"
	"apiVersion: bpfmesh.io/v1\nkind: Endpoint\n"
	"metadata: {name: client, namespace: shop, labels: {app: client}}\n"
	"spec:\n  identity: spiffe://" DOMAIN "/ns/shop/sa/client\n"
	"  addresses: [\"" CLIENT_ADDR "\"]\n---\n"
	"apiVersion: bpfmesh.io/v1\nkind: Endpoint\n"
	"metadata: {name: server, namespace: shop, labels: {app: server}}\n"
	"spec:\n  identity: spiffe://" DOMAIN "/ns/shop/sa/server\n"
	"  addresses: [\"" SERVER_ADDR "\"]\n---\n"
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: handshake, namespace: shop}\n"
	"spec:\n  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n"
	"  ingress:\n    - from: [{podSelector: {matchLabels: {app: client}}}]\n"
	"      ports: [{protocol: TCP, port: 7443}]\n---\n"
	"apiVersion: bpfmesh.io/v1\nkind: MeshPolicy\n"
	"metadata: {name: authenticated, namespace: shop}\n"
	"spec:\n  podSelector: {matchLabels: {app: server}}\n  authentication: required\n"
	"  ingress:\n    - from: [{podSelector: {matchLabels: {app: client}}}]\n"
	"      ports: [{protocol: TCP, port: 7070}]\n";

struct e2e {
	char id[32], dir[96], pins[128], state[128], ns_c[48], ns_s[48];
	const char *bpfmesh;
	int is_up;
	int auth_fd;
	int listen_auth, listen_hs;
	struct fx_domain fx;
	uint8_t doc_c[IDENT_DOC_MAX_LEN], doc_s[IDENT_DOC_MAX_LEN];
	uint8_t sk_c[64], sk_s[64];
	struct ident_doc dc, ds;
	struct ident_hs_config cfg_c, cfg_s;
	struct ident_authz *az;
	struct ident_crl crl;
};

static struct e2e t;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* Run fn(arg) with the calling thread inside namespace ns, then come back. */
static int in_netns(const char *ns, int (*fn)(void *), void *arg)
{
	char path[128];
	int self, target, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0 || setns(target, CLONE_NEWNET)) {
		ret = -errno;
		goto out;
	}
	ret = fn(arg);
	if (setns(self, CLONE_NEWNET))
		abort(); /* a test stuck in a foreign namespace must not go on */
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return ret;
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64))
		return -1;
	return fd;
}

static int make_listeners(void *arg)
{
	(void)arg;
	t.listen_auth = listen_on(SERVER_ADDR, PORT_AUTH);
	t.listen_hs = listen_on(SERVER_ADDR, PORT_HS);
	return t.listen_auth < 0 || t.listen_hs < 0 ? -1 : 0;
}

static int new_client_socket(void *arg)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	*(int *)arg = fd;
	return fd < 0 ? -1 : 0;
}

/* Connect from the client namespace; the socket in *fd_out (or -1). 0 = connected. */
static int connect_from_client(int port, int timeout_ms, int *fd_out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct pollfd p = {.events = POLLOUT};
	socklen_t len = sizeof(int);
	int fd = -1, err = ETIMEDOUT;

	inet_pton(AF_INET, SERVER_ADDR, &sa.sin_addr);
	if (in_netns(t.ns_c, new_client_socket, &fd))
		return -1;
	p.fd = fd;
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		err = 0;
	else if (errno == EINPROGRESS && poll(&p, 1, timeout_ms) == 1)
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (fd_out && !err) {
		fcntl(fd, F_SETFL, 0);
		*fd_out = fd;
	} else {
		close(fd);
	}
	return err ? -1 : 0;
}

/* Does a new connection to the authentication-required port get through? */
static int auth_port_passes(void)
{
	return connect_from_client(PORT_AUTH, 800, NULL) == 0;
}

static int write_auth(void *ctx, uint32_t src, uint32_t dst, uint64_t expires, uint64_t hs_id)
{
	struct bm_auth_key k = {.src_id = src, .dst_id = dst};
	struct bm_auth_value v = {.expires_boot_ns = expires, .handshake_id = hs_id};

	(void)ctx;
	return bpf_map_update_elem(t.auth_fd, &k, &v, BPF_ANY) ? -errno : 0;
}

static int delete_auth(void *ctx, uint32_t src, uint32_t dst)
{
	struct bm_auth_key k = {.src_id = src, .dst_id = dst};

	(void)ctx;
	return bpf_map_delete_elem(t.auth_fd, &k) ? -errno : 0;
}

struct server_run {
	int ret;
	struct ident_hs_result res;
};

/* The server's agent: accept one handshake, then authorize the pair. */
static void *server_main(void *arg)
{
	struct server_run *s = arg;
	struct pollfd p = {.fd = t.listen_hs, .events = POLLIN};
	struct ident_clock now;
	int fd;

	s->ret = -ETIMEDOUT;
	if (poll(&p, 1, 5000) != 1)
		return NULL;
	fd = accept(t.listen_hs, NULL, NULL);
	if (fd < 0)
		return NULL;
	s->ret = ident_hs_server(fd, &t.cfg_s, &s->res);
	if (!s->ret) {
		ident_clock_now(&now);
		s->ret = ident_authz_grant(t.az, &s->res, &now);
	}
	ident_hs_result_clear(&s->res);
	close(fd);
	return NULL;
}

/* Close connections left in a listen backlog (reachability probes). */
static void drain(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int i;

	for (i = 0; i < 64 && poll(&p, 1, 0) == 1; i++)
		close(accept(lfd, NULL, NULL));
}

/* One handshake over TCP between the namespaces. Returns the server's result. */
static int handshake(int *client_ret)
{
	struct server_run s = {0};
	struct ident_hs_result res;
	pthread_t th;
	int fd;

	drain(t.listen_hs);
	if (pthread_create(&th, NULL, server_main, &s))
		return -1;
	*client_ret = -ECONNREFUSED;
	if (!connect_from_client(PORT_HS, 2000, &fd)) {
		*client_ret = ident_hs_client(fd, &t.cfg_c, &res);
		ident_hs_result_clear(&res);
		close(fd);
	}
	pthread_join(th, NULL);
	if (s.ret || *client_ret)
		fprintf(stderr, "handshake: server %s, client %s\n", strerror(-s.ret),
			strerror(-*client_ret));
	return s.ret;
}

static int bm(const char *ns, const char *args)
{
	return sh("ip netns exec %s %s --pin-dir %s --state-dir %s %s >/dev/null", ns, t.bpfmesh,
		  t.pins, t.state, args);
}

static int write_policy(char *path, size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/policy.yaml", t.dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(policy_yaml, f);
	return fclose(f);
}

static int issue_party(const char *sa, uint8_t *buf, struct ident_doc *d, uint8_t *sk,
		       struct ident_hs_config *cfg)
{
	if (fx_issue(&t.fx, "shop", sa, -60, 3600, d, sk) ||
	    ident_doc_encode(d, buf, IDENT_DOC_MAX_LEN, &cfg->doc_len))
		return -1;
	cfg->trust = &t.fx.trust;
	cfg->crl = &t.crl;
	cfg->doc = buf;
	cfg->sk = sk;
	cfg->timeout_ms = 3000;
	return 0;
}

static int setup_identities(void)
{
	struct ident_authz_ops ops = {write_auth, delete_auth, NULL};
	struct ident_authz_config cfg = {.policy_ttl_ns = POLICY_TTL_S * 1000000000ULL};

	ident_crl_init(&t.crl);
	if (fx_domain_init(&t.fx, DOMAIN) ||
	    issue_party("client", t.doc_c, &t.dc, t.sk_c, &t.cfg_c) ||
	    issue_party("server", t.doc_s, &t.ds, t.sk_s, &t.cfg_s))
		return -1;
	t.az = ident_authz_new(&ops, &cfg);
	return t.az ? 0 : -1;
}

static int setup_network(void)
{
	char policy[160], args[200], path[200];

	snprintf(t.ns_c, sizeof(t.ns_c), "%s-c", t.id);
	snprintf(t.ns_s, sizeof(t.ns_s), "%s-s", t.id);
	if (sh("mkdir -p %s %s && chmod 700 %s %s && mount -t bpf bpf %s", t.pins, t.state, t.dir,
	       t.state, t.pins))
		return -1;
	t.is_up = 1;
	if (sh("ip netns add %s && ip netns add %s", t.ns_c, t.ns_s) ||
	    sh("ip link add %s-c netns %s type veth peer name %s-s netns %s", t.id, t.ns_c, t.id,
	       t.ns_s) ||
	    sh("ip -n %s addr add " CLIENT_ADDR "/24 dev %s-c && ip -n %s link set %s-c up && "
	       "ip -n %s link set lo up",
	       t.ns_c, t.id, t.ns_c, t.id, t.ns_c) ||
	    sh("ip -n %s addr add " SERVER_ADDR "/24 dev %s-s && ip -n %s link set %s-s up && "
	       "ip -n %s link set lo up",
	       t.ns_s, t.id, t.ns_s, t.id, t.ns_s))
		return -1;
	snprintf(args, sizeof(args), "attach %s-s", t.id);
	if (write_policy(policy, sizeof(policy)) || bm(t.ns_s, args))
		return -1;
	snprintf(args, sizeof(args), "policy load %s", policy);
	if (bm(t.ns_s, args))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", t.pins, BM_MAP_AUTH);
	t.auth_fd = bpf_obj_get(path);
	if (t.auth_fd < 0)
		return -1;
	return in_netns(t.ns_s, make_listeners, NULL);
}

static int suite_clean(void)
{
	if (t.listen_auth > 0)
		close(t.listen_auth);
	if (t.listen_hs > 0)
		close(t.listen_hs);
	if (t.auth_fd > 0)
		close(t.auth_fd);
	if (t.is_up) {
		sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true", t.ns_c,
		   t.ns_s);
		sh("umount %s 2>/dev/null; rm -rf %s", t.pins, t.dir);
	}
	ident_authz_free(t.az);
	ident_crl_release(&t.crl);
	fx_domain_wipe(&t.fx);
	memset(&t, 0, sizeof(t));
	return 0;
}

static int suite_init(void)
{
	memset(&t, 0, sizeof(t));
	t.bpfmesh = getenv("BPFMESH");
	snprintf(t.id, sizeof(t.id), "bmid%d", (int)getpid());
	snprintf(t.dir, sizeof(t.dir), "/run/bpfmesh-ident-test-%d", (int)getpid());
	snprintf(t.pins, sizeof(t.pins), "%s/pins", t.dir);
	snprintf(t.state, sizeof(t.state), "%s/state", t.dir);
	if (setup_identities() || setup_network()) {
		suite_clean();
		return -1;
	}
	return 0;
}

static void test_ident_auth_lifecycle(void)
{
	int client_ret;

	CU_ASSERT_EQUAL_FATAL(connect_from_client(PORT_HS, 2000, NULL), 0);
	CU_ASSERT_FALSE(auth_port_passes()); /* dropped before the handshake */
	CU_ASSERT_EQUAL_FATAL(handshake(&client_ret), 0);
	CU_ASSERT_EQUAL(client_ret, 0);
	CU_ASSERT_TRUE(auth_port_passes()); /* passes after it */
	sleep(POLICY_TTL_S);
	usleep(300000);
	CU_ASSERT_FALSE(auth_port_passes()); /* dropped after expiry */
	CU_ASSERT_EQUAL(handshake(&client_ret), 0); /* re-authentication */
	CU_ASSERT_TRUE(auth_port_passes());
	/* revocation: the new list deletes the entry at once */
	CU_ASSERT_EQUAL(ident_crl_add(&t.crl, t.dc.certs[0].serial), 0);
	CU_ASSERT_EQUAL(ident_authz_revoke(t.az, &t.crl), 1);
	CU_ASSERT_FALSE(auth_port_passes());
	/* and the revoked client cannot authenticate again */
	CU_ASSERT_EQUAL(handshake(&client_ret), -EKEYREVOKED);
	CU_ASSERT_FALSE(auth_port_passes());
}

static void on_due(void *ctx, const struct ident_authz_session *sess)
{
	(void)sess;
	*(int *)ctx = 1;
}

/*
 * Continuous authorization: an agent that ticks and re-authenticates when
 * due keeps the pair admitted across several policy TTLs without a gap;
 * once it stops, the entry lapses.
 */
static void test_ident_auth_continuous(void)
{
	struct ident_authz_ops ops = {write_auth, delete_auth, NULL};
	struct ident_authz_config cfg = {.policy_ttl_ns = POLICY_TTL_S * 1000000000ULL,
					 .reauth_margin_ns = 1500000000ULL};
	int client_ret, i, is_due, reauths = 0, gaps = 0;
	struct ident_clock now;

	/* a fresh client document: the previous one was revoked */
	CU_ASSERT_EQUAL_FATAL(issue_party("client", t.doc_c, &t.dc, t.sk_c, &t.cfg_c), 0);
	ident_authz_free(t.az);
	t.az = ident_authz_new(&ops, &cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t.az);
	CU_ASSERT_EQUAL_FATAL(handshake(&client_ret), 0);
	for (i = 0; i < 28; i++) { /* 7 s: more than two TTLs */
		is_due = 0;
		ident_clock_now(&now);
		CU_ASSERT_TRUE(ident_authz_tick(t.az, &now, on_due, &is_due) >= 0);
		if (is_due) {
			CU_ASSERT_EQUAL(handshake(&client_ret), 0);
			reauths++;
		}
		gaps += !auth_port_passes();
		usleep(250000);
	}
	CU_ASSERT_EQUAL(gaps, 0);
	CU_ASSERT_TRUE(reauths >= 3);
	sleep(POLICY_TTL_S);
	CU_ASSERT_FALSE(auth_port_passes()); /* the agent stopped: the entry lapsed */
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"lifecycle", test_ident_auth_lifecycle},
		{"continuous", test_ident_auth_continuous},
		{NULL, NULL},
	};

	bm_test_require_root();
	if (!getenv("BPFMESH"))
		bm_test_skip("BPFMESH (the bpfmesh binary) not set");
	if (system("ip -V >/dev/null 2>&1"))
		bm_test_skip("needs iproute2");
	return bm_test_add_suite("ident_auth", suite_init, suite_clean, cases);
}
