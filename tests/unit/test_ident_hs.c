// SPDX-License-Identifier: GPL-2.0-only
/* Mutual-authentication handshake: success, rejection, replay, reflection,
 * truncation, downgrade and tampering, over socketpairs and loopback TCP.
 * ctest-labels: unit identity
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bm_test.h"
#include "ident_hs.h"
#include "ident_hs_msg.h"
#include "ident_wire.h"
#include "test_ident_fixture.h"

#define DIR_C2S 0
#define DIR_S2C 1
#define HS_TIMEOUT_MS 2000

/* One side's identity: document bytes and key. */
struct party {
	uint8_t doc[IDENT_DOC_MAX_LEN];
	size_t doc_len;
	uint8_t sk[64];
	struct ident_hs_config cfg;
};

static struct fx_domain fx, other;
static struct party client_p, server_p, alien_p;

static int make_party(struct fx_domain *d, const char *sa, int64_t nb_off, int64_t ttl,
		      struct party *p)
{
	struct ident_doc doc;
	int ret;

	ret = fx_issue(d, "default", sa, nb_off, ttl, &doc, p->sk);
	if (!ret)
		ret = ident_doc_encode(&doc, p->doc, sizeof(p->doc), &p->doc_len);
	memset(&p->cfg, 0, sizeof(p->cfg));
	p->cfg.trust = &fx.trust; /* everyone trusts fx's root */
	p->cfg.doc = p->doc;
	p->cfg.doc_len = p->doc_len;
	p->cfg.sk = p->sk;
	p->cfg.timeout_ms = HS_TIMEOUT_MS;
	return ret;
}

static int suite_init(void)
{
	if (fx_domain_init(&fx, "example.org") || fx_domain_init(&other, "example.org"))
		return -1;
	if (make_party(&fx, "frontend", 0, 3600, &client_p) ||
	    make_party(&fx, "backend", 0, 1800, &server_p) ||
	    make_party(&other, "frontend", 0, 3600, &alien_p))
		return -1;
	return 0;
}

static int suite_clean(void)
{
	fx_domain_wipe(&fx);
	fx_domain_wipe(&other);
	return 0;
}

/* A handshake side running in its own thread. */
struct side {
	pthread_t thread;
	int fd;
	int is_server;
	const struct ident_hs_config *cfg;
	struct ident_hs_result res;
	int ret;
};

static void *side_main(void *arg)
{
	struct side *s = arg;

	if (s->is_server)
		s->ret = ident_hs_server(s->fd, s->cfg, &s->res);
	else
		s->ret = ident_hs_client(s->fd, s->cfg, &s->res);
	/* closing is what a real peer does on failure: the other side sees EOF */
	close(s->fd);
	return NULL;
}

static void side_start(struct side *s, int fd, int is_server, const struct ident_hs_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->is_server = is_server;
	s->cfg = cfg;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&s->thread, NULL, side_main, s), 0);
}

static void side_join(struct side *s)
{
	pthread_join(s->thread, NULL);
}

/* A man in the middle that can flip one byte, cut a direction, or record. */
struct relay {
	pthread_t thread;
	int fd[2]; /* [DIR_C2S] faces the client, [DIR_S2C] faces the server */
	int flip_dir;
	size_t flip_off; /* SIZE_MAX: no flip */
	uint8_t flip_xor;
	int cut_dir;
	size_t cut_at; /* SIZE_MAX: no cut */
	uint8_t rec[2][4096];
	size_t seen[2];
};

/* Move what is readable on one side to the other; 0 when that side closed. */
static int relay_pump(struct relay *r, int dir)
{
	uint8_t buf[4096];
	ssize_t n, i;

	n = read(r->fd[dir], buf, sizeof(buf));
	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		size_t off = r->seen[dir] + (size_t)i;

		if (dir == r->flip_dir && off == r->flip_off)
			buf[i] ^= r->flip_xor;
		if (off < sizeof(r->rec[dir]))
			r->rec[dir][off] = buf[i];
		if (dir == r->cut_dir && off >= r->cut_at)
			return 0;
	}
	r->seen[dir] += (size_t)n;
	return write(r->fd[!dir], buf, (size_t)n) == n;
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	struct pollfd p[2] = {{.fd = r->fd[0], .events = POLLIN},
			      {.fd = r->fd[1], .events = POLLIN}};
	int rounds;

	for (rounds = 0; rounds < 1000; rounds++) {
		if (poll(p, 2, HS_TIMEOUT_MS) <= 0)
			break;
		if ((p[0].revents && !relay_pump(r, 0)) || (p[1].revents && !relay_pump(r, 1)))
			break;
	}
	close(r->fd[0]);
	close(r->fd[1]);
	return NULL;
}

/* Run client and server, optionally through a relay; results in c and s. */
static void run_pair(const struct ident_hs_config *ccfg, const struct ident_hs_config *scfg,
		     struct relay *r, struct side *c, struct side *s)
{
	int a[2], b[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	if (r) {
		CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
		r->fd[DIR_C2S] = a[1];
		r->fd[DIR_S2C] = b[0];
		CU_ASSERT_EQUAL_FATAL(pthread_create(&r->thread, NULL, relay_main, r), 0);
		side_start(s, b[1], 1, scfg);
	} else {
		side_start(s, a[1], 1, scfg);
	}
	side_start(c, a[0], 0, ccfg);
	side_join(c);
	side_join(s);
	if (r)
		pthread_join(r->thread, NULL);
}

static void relay_init(struct relay *r)
{
	memset(r, 0, sizeof(*r));
	r->flip_off = SIZE_MAX;
	r->cut_at = SIZE_MAX;
}

static void test_ident_hs_success(void)
{
	struct side c, s;

	run_pair(&client_p.cfg, &server_p.cfg, NULL, &c, &s);
	CU_ASSERT_EQUAL_FATAL(c.ret, 0);
	CU_ASSERT_EQUAL_FATAL(s.ret, 0);
	CU_ASSERT_STRING_EQUAL(c.res.peer.certs[0].subject,
			       "spiffe://example.org/ns/default/sa/backend");
	CU_ASSERT_STRING_EQUAL(s.res.peer.certs[0].subject,
			       "spiffe://example.org/ns/default/sa/frontend");
	CU_ASSERT_EQUAL(c.res.peer_id, s.res.local_id);
	CU_ASSERT_EQUAL(s.res.peer_id, c.res.local_id);
	CU_ASSERT_EQUAL(c.res.handshake_id, s.res.handshake_id);
	CU_ASSERT_EQUAL(c.res.version, IDENT_HS_V1);
	CU_ASSERT_EQUAL(memcmp(c.res.tx_key, s.res.rx_key, 32), 0);
	CU_ASSERT_EQUAL(memcmp(c.res.rx_key, s.res.tx_key, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(c.res.tx_key, c.res.rx_key, 32), 0);
	/* the shorter-lived document (server: 30 min) bounds the session */
	CU_ASSERT_EQUAL(c.res.not_after, fx.now + 1800);
	CU_ASSERT_EQUAL(s.res.not_after, c.res.not_after);
	ident_hs_result_clear(&c.res);
	ident_hs_result_clear(&s.res);
}

static void test_ident_hs_tcp_loopback(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof(addr);
	struct side c, s;
	int lfd, cfd, afd;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_TRUE_FATAL(lfd >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CU_ASSERT_EQUAL_FATAL(getsockname(lfd, (struct sockaddr *)&addr, &alen), 0);
	CU_ASSERT_EQUAL_FATAL(listen(lfd, 4), 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_EQUAL_FATAL(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	afd = accept(lfd, NULL, NULL);
	CU_ASSERT_TRUE_FATAL(afd >= 0);
	side_start(&s, afd, 1, &server_p.cfg);
	side_start(&c, cfd, 0, &client_p.cfg);
	side_join(&c);
	side_join(&s);
	close(lfd);
	CU_ASSERT_EQUAL(c.ret, 0);
	CU_ASSERT_EQUAL(s.ret, 0);
	CU_ASSERT_EQUAL(c.res.handshake_id, s.res.handshake_id);
}

static void test_ident_hs_untrusted_peer(void)
{
	struct side c, s;

	run_pair(&alien_p.cfg, &server_p.cfg, NULL, &c, &s);
	CU_ASSERT_EQUAL(s.ret, -ENOKEY);
	CU_ASSERT_NOT_EQUAL(c.ret, 0);
	run_pair(&client_p.cfg, &alien_p.cfg, NULL, &c, &s);
	CU_ASSERT_EQUAL(c.ret, -ENOKEY);
	CU_ASSERT_NOT_EQUAL(s.ret, 0);
}

static void test_ident_hs_revoked_and_expired(void)
{
	struct ident_hs_config scfg = server_p.cfg, ccfg = client_p.cfg;
	struct ident_doc cdoc;
	struct ident_crl crl;
	struct side c, s;

	ident_crl_init(&crl);
	CU_ASSERT_EQUAL_FATAL(ident_doc_decode(client_p.doc, client_p.doc_len, &cdoc), 0);
	CU_ASSERT_EQUAL(ident_crl_add(&crl, cdoc.certs[0].serial), 0);
	scfg.crl = &crl;
	run_pair(&client_p.cfg, &scfg, NULL, &c, &s);
	CU_ASSERT_EQUAL(s.ret, -EKEYREVOKED);
	CU_ASSERT_NOT_EQUAL(c.ret, 0);
	ident_crl_release(&crl);
	/* two hours later the server's 30-minute document has expired */
	ccfg.now_s = fx.now + 7200;
	run_pair(&ccfg, &server_p.cfg, NULL, &c, &s);
	CU_ASSERT_EQUAL(c.ret, -EKEYEXPIRED);
	CU_ASSERT_NOT_EQUAL(s.ret, 0);
}

/* Replay a recorded client flight against a new server session. */
struct replayer {
	pthread_t thread;
	int fd;
	const uint8_t *bytes;
	size_t len;
};

static void *replayer_main(void *arg)
{
	struct replayer *p = arg;
	uint8_t sink[4096];

	if (write(p->fd, p->bytes, p->len) != (ssize_t)p->len)
		return NULL;
	/* drain what the server sends until it gives up */
	while (read(p->fd, sink, sizeof(sink)) > 0)
		;
	close(p->fd);
	return NULL;
}

static void test_ident_hs_replay(void)
{
	struct replayer p;
	struct relay r;
	struct side c, s;
	int a[2];

	relay_init(&r);
	run_pair(&client_p.cfg, &server_p.cfg, &r, &c, &s);
	CU_ASSERT_EQUAL_FATAL(c.ret, 0);
	CU_ASSERT_EQUAL_FATAL(s.ret, 0);
	CU_ASSERT_EQUAL(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	p = (struct replayer){.fd = a[0], .bytes = r.rec[DIR_C2S], .len = r.seen[DIR_C2S]};
	side_start(&s, a[1], 1, &server_p.cfg);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&p.thread, NULL, replayer_main, &p), 0);
	side_join(&s);
	pthread_join(p.thread, NULL);
	/* new server nonce and key share: the old signature covers another transcript */
	CU_ASSERT_EQUAL(s.ret, -EKEYREJECTED);
}

/* A fake client that returns the server's own proof as its CLIENT_AUTH. */
static void *reflector_main(void *arg)
{
	uint8_t msg[IDENT_HS_HDR_LEN + IDENT_HS_BODY_MAX], *p;
	struct ident_hs_msg m;
	int fd = *(int *)arg;
	uint16_t len;
	uint8_t type;

	ident_hs_put_header(msg, IDENT_HS_CLIENT_HELLO, 66);
	p = wire_put_u16(msg + IDENT_HS_HDR_LEN, IDENT_HS_VERSIONS);
	randombytes_buf(p, 32);
	crypto_scalarmult_base(p + 32, p); /* any valid X25519 point */
	if (write(fd, msg, IDENT_HS_HDR_LEN + 66) != IDENT_HS_HDR_LEN + 66 ||
	    read(fd, msg, IDENT_HS_HDR_LEN) != IDENT_HS_HDR_LEN ||
	    ident_hs_parse_header(msg, &type, &len) ||
	    recv(fd, msg + IDENT_HS_HDR_LEN, len, MSG_WAITALL) != len ||
	    ident_hs_parse_body(type, msg + IDENT_HS_HDR_LEN, len, &m))
		goto out;
	/* doc_len, doc, sig, mac start after chosen, versions, nonce, eph */
	p = msg + IDENT_HS_HDR_LEN + 67;
	len = (uint16_t)(len - 67);
	ident_hs_put_header(p - IDENT_HS_HDR_LEN, IDENT_HS_CLIENT_AUTH, len);
	if (write(fd, p - IDENT_HS_HDR_LEN, IDENT_HS_HDR_LEN + len) < 0)
		goto out;
	while (read(fd, msg, sizeof(msg)) > 0)
		;
out:
	close(fd);
	return NULL;
}

static void test_ident_hs_reflection(void)
{
	pthread_t t;
	struct side s;
	int a[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	side_start(&s, a[1], 1, &server_p.cfg);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, reflector_main, &a[0]), 0);
	side_join(&s);
	pthread_join(t, NULL);
	/* its own valid document comes back, but signed under the server label */
	CU_ASSERT_EQUAL(s.ret, -EKEYREJECTED);
}

static void test_ident_hs_downgrade(void)
{
	struct ident_hs_config ccfg = client_p.cfg, scfg = server_p.cfg;
	struct relay r;
	struct side c, s;

	/* the client also offers a future version 2: a MitM strips it from the hello */
	ccfg.versions = IDENT_HS_VERSIONS | (1U << 2);
	scfg.versions = IDENT_HS_VERSIONS | (1U << 2);
	relay_init(&r);
	r.flip_dir = DIR_C2S;
	r.flip_off = IDENT_HS_HDR_LEN + 1; /* low byte of the versions bitmap */
	r.flip_xor = 1U << 2;
	run_pair(&ccfg, &scfg, &r, &c, &s);
	CU_ASSERT_EQUAL(c.ret, -EKEYREJECTED); /* the server signed the altered hello */
	CU_ASSERT_NOT_EQUAL(s.ret, 0);
	/* a rewritten choice in SERVER_AUTH */
	relay_init(&r);
	r.flip_dir = DIR_S2C;
	r.flip_off = IDENT_HS_HDR_LEN;
	r.flip_xor = 3; /* version 1 -> 2 */
	run_pair(&ccfg, &scfg, &r, &c, &s);
	CU_ASSERT_EQUAL(c.ret, -EPROTO);
	CU_ASSERT_NOT_EQUAL(s.ret, 0);
	/* nothing in common */
	ccfg.versions = 1U << 2;
	run_pair(&ccfg, &server_p.cfg, NULL, &c, &s);
	CU_ASSERT_EQUAL(s.ret, -EPROTO);
	CU_ASSERT_NOT_EQUAL(c.ret, 0);
}

static void test_ident_hs_truncation(void)
{
	struct relay r;
	struct side c, s;
	size_t sa_len;

	relay_init(&r);
	run_pair(&client_p.cfg, &server_p.cfg, &r, &c, &s);
	CU_ASSERT_EQUAL_FATAL(c.ret, 0);
	sa_len = r.seen[DIR_S2C] - (IDENT_HS_HDR_LEN + IDENT_HS_MAC_LEN);
	/* SERVER_AUTH cut one byte short */
	relay_init(&r);
	r.cut_dir = DIR_S2C;
	r.cut_at = sa_len - 1;
	run_pair(&client_p.cfg, &server_p.cfg, &r, &c, &s);
	CU_ASSERT_EQUAL(c.ret, -ECONNRESET);
	CU_ASSERT_NOT_EQUAL(s.ret, 0);
	/* SERVER_FINISHED withheld: the client never accepts without it */
	relay_init(&r);
	r.cut_dir = DIR_S2C;
	r.cut_at = sa_len;
	run_pair(&client_p.cfg, &server_p.cfg, &r, &c, &s);
	CU_ASSERT_EQUAL(c.ret, -ECONNRESET);
	/* CLIENT_AUTH cut */
	relay_init(&r);
	r.cut_dir = DIR_C2S;
	r.cut_at = IDENT_HS_HDR_LEN + 66 + 10;
	run_pair(&client_p.cfg, &server_p.cfg, &r, &c, &s);
	CU_ASSERT_EQUAL(s.ret, -ECONNRESET);
	CU_ASSERT_NOT_EQUAL(c.ret, 0);
}

/* Flip bytes all along the client's flight: the server must never accept. */
static void test_ident_hs_tamper_sweep(void)
{
	size_t off, total, accepted = 0, runs = 0;
	struct relay r;
	struct side c, s;

	relay_init(&r);
	run_pair(&client_p.cfg, &server_p.cfg, &r, &c, &s);
	CU_ASSERT_EQUAL_FATAL(s.ret, 0);
	total = r.seen[DIR_C2S];
	for (off = 0; off < total; off += 7) {
		relay_init(&r);
		r.flip_dir = DIR_C2S;
		r.flip_off = off;
		r.flip_xor = 0x20;
		run_pair(&client_p.cfg, &server_p.cfg, &r, &c, &s);
		accepted += s.ret == 0 || c.ret == 0;
		runs++;
	}
	CU_ASSERT_TRUE(runs > 50);
	CU_ASSERT_EQUAL(accepted, 0);
}

static void test_ident_hs_bad_config_and_timeout(void)
{
	struct ident_hs_config cfg = client_p.cfg;
	struct ident_hs_result res;
	int a[2];

	cfg.sk = server_p.sk; /* key of another document */
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	CU_ASSERT_EQUAL(ident_hs_client(a[0], &cfg, &res), -EINVAL);
	cfg = server_p.cfg;
	cfg.timeout_ms = 200;
	CU_ASSERT_EQUAL(ident_hs_server(a[1], &cfg, &res), -ETIMEDOUT);
	close(a[0]);
	close(a[1]);
}

/* A client hello carrying an all-zero X25519 key (low order) is refused. */
static void test_ident_hs_low_order_point(void)
{
	uint8_t msg[IDENT_HS_HDR_LEN + 66] = {0};
	struct ident_hs_result res;
	int a[2];

	ident_hs_put_header(msg, IDENT_HS_CLIENT_HELLO, 66);
	wire_put_u16(msg + IDENT_HS_HDR_LEN, IDENT_HS_VERSIONS);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	CU_ASSERT_EQUAL(write(a[0], msg, sizeof(msg)), (ssize_t)sizeof(msg));
	CU_ASSERT_EQUAL(ident_hs_server(a[1], &server_p.cfg, &res), -EPROTO);
	close(a[0]);
	close(a[1]);
}

static void test_ident_hs_parser(void)
{
	uint8_t body[IDENT_HS_BODY_MAX] = {0}, hdr[4];
	struct ident_hs_msg m;
	uint16_t len;
	uint8_t type;

	ident_hs_put_header(hdr, IDENT_HS_SERVER_FINISHED, 32);
	CU_ASSERT_EQUAL(ident_hs_parse_header(hdr, &type, &len), 0);
	CU_ASSERT_EQUAL(len, 32);
	hdr[0] = 2;
	CU_ASSERT_EQUAL(ident_hs_parse_header(hdr, &type, &len), -EPROTO);
	ident_hs_put_header(hdr, 9, 32);
	CU_ASSERT_EQUAL(ident_hs_parse_header(hdr, &type, &len), -EPROTO);
	ident_hs_put_header(hdr, IDENT_HS_CLIENT_AUTH, IDENT_HS_BODY_MAX + 1);
	CU_ASSERT_EQUAL(ident_hs_parse_header(hdr, &type, &len), -EPROTO);
	CU_ASSERT_EQUAL(ident_hs_parse_body(IDENT_HS_SERVER_FINISHED, body, 31, &m), -EPROTO);
	CU_ASSERT_EQUAL(ident_hs_parse_body(IDENT_HS_SERVER_FINISHED, body, 33, &m), -EPROTO);
	/* CLIENT_AUTH with doc_len 10: 2 + 10 + 64 + 32 bytes exactly */
	wire_put_u16(body, 10);
	CU_ASSERT_EQUAL(ident_hs_parse_body(IDENT_HS_CLIENT_AUTH, body, 108, &m), 0);
	CU_ASSERT_EQUAL(m.sig_off, 12);
	CU_ASSERT_EQUAL(m.mac_off, 76);
	CU_ASSERT_EQUAL(ident_hs_parse_body(IDENT_HS_CLIENT_AUTH, body, 107, &m), -EPROTO);
	wire_put_u16(body, 0);
	CU_ASSERT_EQUAL(ident_hs_parse_body(IDENT_HS_CLIENT_AUTH, body, 98, &m), -EPROTO);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"success", test_ident_hs_success},
		{"tcp_loopback", test_ident_hs_tcp_loopback},
		{"untrusted_peer", test_ident_hs_untrusted_peer},
		{"revoked_and_expired", test_ident_hs_revoked_and_expired},
		{"replay", test_ident_hs_replay},
		{"reflection", test_ident_hs_reflection},
		{"downgrade", test_ident_hs_downgrade},
		{"truncation", test_ident_hs_truncation},
		{"tamper_sweep", test_ident_hs_tamper_sweep},
		{"bad_config_and_timeout", test_ident_hs_bad_config_and_timeout},
		{"low_order_point", test_ident_hs_low_order_point},
		{"parser", test_ident_hs_parser},
		{NULL, NULL},
	};

	return bm_test_add_suite("ident_hs", suite_init, suite_clean, cases);
}
