// SPDX-License-Identifier: GPL-2.0-only
/*
 * Identity benchmarks (docs/BENCHMARKS.md):
 *   bench_handshake handshake [SECONDS] [--no-cache]
 *       full handshakes per second on 127.0.0.1, TCP connect included: one
 *       client thread connects, handshakes and closes, one server thread
 *       accepts and handshakes, both sequential (like s_server / s_time -new)
 *   bench_handshake verify [SECONDS]   document verifications per second
 *   bench_handshake crl [N]            revocation lookup cost with N serials
 * Results are printed as key=value lines. Every loop is bounded in time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ident_cert.h"
#include "ident_crl.h"
#include "ident_hs.h"
#include "ident_issue.h"

struct party {
	uint8_t doc[IDENT_DOC_MAX_LEN];
	size_t doc_len;
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	struct ident_doc decoded;
};

struct bench {
	struct ident_trust trust;
	uint8_t root_sk[crypto_sign_SECRETKEYBYTES];
	struct party client, server;
	int is_cached;
	double seconds;
	int listen_fd;
	volatile int is_done;
	long server_ok, server_fail;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A trust domain with two nodes and one workload on each. */
static int setup(struct bench *b)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], node_sk[crypto_sign_SECRETKEYBYTES];
	const char *ids[2] = {"spiffe://bench.example/ns/default/sa/client",
			      "spiffe://bench.example/ns/default/sa/server"};
	struct party *p[2] = {&b->client, &b->server};
	int64_t now = (int64_t)time(NULL);
	struct ident_doc node;
	int i;

	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(pk, b->root_sk);
	if (ident_trust_init(&b->trust, "bench.example", pk))
		return -1;
	for (i = 0; i < 2; i++) {
		if (ident_issue_node(&b->trust, b->root_sk, i ? "node-b" : "node-a", now - 60,
				     86400, &node, node_sk) ||
		    ident_issue_workload(&node, node_sk, ids[i], now - 60, 3600, &p[i]->decoded,
					 p[i]->sk) ||
		    ident_doc_encode(&p[i]->decoded, p[i]->doc, sizeof(p[i]->doc), &p[i]->doc_len))
			return -1;
	}
	sodium_memzero(node_sk, sizeof(node_sk));
	return 0;
}

static void config(const struct bench *b, const struct party *p, struct ident_vcache *cache,
		   struct ident_hs_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->trust = &b->trust;
	cfg->doc = p->doc;
	cfg->doc_len = p->doc_len;
	cfg->sk = p->sk;
	cfg->timeout_ms = 2000;
	cfg->cache = b->is_cached ? cache : NULL;
}

static void *server_main(void *arg)
{
	struct bench *b = arg;
	struct ident_vcache *cache = calloc(1, sizeof(*cache));
	struct ident_hs_config cfg;
	struct ident_hs_result res;
	int fd, one = 1;

	config(b, &b->server, cache, &cfg);
	while (!b->is_done) {
		fd = accept(b->listen_fd, NULL, NULL);
		if (fd < 0)
			break;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (ident_hs_server(fd, &cfg, &res))
			b->server_fail++;
		else
			b->server_ok++;
		ident_hs_result_clear(&res);
		close(fd);
	}
	free(cache);
	return NULL;
}

static int listen_loopback(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)addr, &len))
		return -1;
	return fd;
}

/* One client handshake including socket, connect and close. */
static int client_once(const struct sockaddr_in *addr, const struct ident_hs_config *cfg)
{
	struct ident_hs_result res;
	int fd, ret, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr))
		      ? -errno
		      : ident_hs_client(fd, cfg, &res);
	ident_hs_result_clear(&res);
	close(fd);
	return ret;
}

/* User + system CPU seconds of the whole process (all threads). */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int bench_handshake(struct bench *b)
{
	double cpu0;
	struct ident_vcache *cache = calloc(1, sizeof(*cache));
	struct ident_hs_config cfg;
	struct sockaddr_in addr;
	long ok = 0, fail = 0;
	double start, end;
	pthread_t st;
	int ret;

	b->listen_fd = listen_loopback(&addr);
	if (b->listen_fd < 0 || !cache)
		return 1;
	config(b, &b->client, cache, &cfg);
	pthread_create(&st, NULL, server_main, b);
	cpu0 = cpu_s();
	start = now_s();
	do {
		ret = client_once(&addr, &cfg);
		if (ret)
			fail++;
		else
			ok++;
		end = now_s();
	} while (end - start < b->seconds && fail < 1000);
	cpu0 = cpu_s() - cpu0;
	b->is_done = 1;
	shutdown(b->listen_fd, SHUT_RDWR);
	client_once(&addr, &cfg); /* wake a blocked accept */
	pthread_join(st, NULL);
	close(b->listen_fd);
	free(cache);
	printf("mode=handshake cache=%s seconds=%.2f handshakes=%ld failures=%ld "
	       "handshakes_per_sec=%.0f cpu_us_per_handshake=%.0f\n",
	       b->is_cached ? "on" : "off", end - start, ok, fail, (double)ok / (end - start),
	       ok ? cpu0 * 1e6 / ok : 0.0);
	return fail ? 1 : 0;
}

static int bench_verify(struct bench *b)
{
	struct ident_vcache *cache = calloc(1, sizeof(*cache));
	int64_t now = (int64_t)time(NULL);
	struct ident_doc d;
	double start, t;
	long n[2] = {0, 0};
	int pass;

	for (pass = 0; pass < 2 && cache; pass++) {
		start = now_s();
		do {
			if (ident_doc_decode(b->client.doc, b->client.doc_len, &d) ||
			    ident_doc_verify(&d, &b->trust, NULL, now, 60, pass ? cache : NULL))
				return 1;
			n[pass]++;
			t = now_s() - start;
		} while (t < b->seconds);
		printf("mode=verify cache=%s verifications=%ld verifications_per_sec=%.0f "
		       "us_per_verification=%.2f\n",
		       pass ? "on" : "off", n[pass], n[pass] / t, t * 1e6 / n[pass]);
	}
	free(cache);
	return 0;
}

static int bench_crl(struct bench *b, unsigned int count)
{
	struct ident_crl crl, back;
	uint64_t s, probe, hits = 0;
	const int rounds = 2000000;
	double start, t;
	uint8_t *buf;
	size_t len;
	int i;

	ident_crl_init(&crl);
	ident_crl_init(&back);
	for (i = 0; i < (int)count; i++) {
		randombytes_buf(&s, sizeof(s));
		if (ident_crl_add(&crl, s | 1))
			return 1;
	}
	crl.version = 1;
	if (ident_crl_sign(&crl, b->root_sk, &buf, &len))
		return 1;
	start = now_s();
	if (ident_crl_decode(buf, len, &b->trust, &back))
		return 1;
	t = now_s() - start;
	printf("mode=crl serials=%u encoded_bytes=%zu decode_and_verify_ms=%.2f\n", back.n, len,
	       t * 1e3);
	probe = 0x9e3779b97f4a7c15ULL;
	start = now_s();
	for (i = 0; i < rounds; i++) {
		/* half the probes hit (a stored serial), half miss (even numbers) */
		s = i & 1 ? back.serials[(probe * (uint64_t)i) % back.n] : probe * (uint64_t)i << 1;
		hits += ident_crl_contains(&back, s);
	}
	t = now_s() - start;
	printf("mode=crl serials=%u lookups=%d hits=%llu ns_per_lookup=%.1f\n", back.n, rounds,
	       (unsigned long long)hits, t * 1e9 / rounds);
	free(buf);
	ident_crl_release(&crl);
	ident_crl_release(&back);
	return 0;
}

static int parse_number(const char *text, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	double arg = 0;
	int i;

	b.seconds = 5;
	b.is_cached = 1;
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--no-cache"))
			b.is_cached = 0;
		else if (parse_number(argv[i], 0.1, 1e7, &arg))
			goto usage;
	}
	if (argc < 2 || setup(&b))
		goto usage;
	if (!strcmp(argv[1], "handshake")) {
		b.seconds = arg ? (arg < 60 ? arg : 60) : 5;
		return bench_handshake(&b);
	}
	if (!strcmp(argv[1], "verify")) {
		b.seconds = arg ? (arg < 60 ? arg : 60) : 2;
		return bench_verify(&b);
	}
	if (!strcmp(argv[1], "crl"))
		return bench_crl(&b, arg ? (unsigned int)arg : 100000);
usage:
	fprintf(stderr, "usage: bench_handshake handshake [SECONDS] [--no-cache]\n"
			"       bench_handshake verify [SECONDS]\n"
			"       bench_handshake crl [SERIALS]\n");
	return 2;
}
