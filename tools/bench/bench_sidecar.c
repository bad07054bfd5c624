// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sidecar benchmark (tools/bench/sidecar.sh runs it):
 *   bench_sidecar strong NATS_URL SIDECAR_PORT BUCKET REPLICAS N
 *     write and read latency p50/p99 through the sidecar's Dapr API (one
 *     keep-alive connection) next to the raw libnats calls in the same run:
 *     kvStore_Put/kvStore_Get on a plain KV bucket with REPLICAS copies
 *     (libnats creates it with direct gets: any replica answers), and the sidecar's own
 *     calls (js_PublishMsg, js_GetLastMsg on the leader) on its bucket, and
 *     the sidecar's own strong store (sidecar/strong.c) called in this
 *     process on the same bucket: the same round trips (read barrier,
 *     compare-and-set checks) without HTTP, so sidecar minus in-process is
 *     what the sidecar adds.
 *   bench_sidecar eventual PORT1,PORT2,PORT3 N
 *     eventual write throughput into replica 1 and the time until the last
 *     write is visible with the same ETag on every replica.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "strong.h"

#define MAX_N 200000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *lat, int n)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("%-44s n=%-6d p50 %8.1f us   p99 %8.1f us\n", what, n, lat[n / 2] / 1e3,
	       lat[(int)(n * 0.99)] / 1e3);
}

static int http_connect(unsigned int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("connect sidecar");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * One request on a keep-alive connection; returns the status and copies the
 * ETag header (if any) into etag. Responses are small: read until the whole
 * Content-Length is in.
 */
static int http_do(int fd, const char *method, const char *path, const char *body, char *etag)
{
	static char buf[65536];
	char req[1024], *p, *hdr_end;
	size_t have = 0, need;
	int n, status;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
		     method, path, body ? strlen(body) : 0, body ? body : "");
	if (write(fd, req, (size_t)n) != n)
		return -1;
	for (;;) {
		n = (int)read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		hdr_end = strstr(buf, "\r\n\r\n");
		if (!hdr_end)
			continue;
		p = strcasestr(buf, "Content-Length: ");
		need = (size_t)(hdr_end - buf) + 4 + (p ? strtoul(p + 16, NULL, 10) : 0);
		if (have >= need)
			break;
	}
	status = atoi(buf + 9);
	if (etag) {
		p = strcasestr(buf, "\r\nETag: ");
		etag[0] = '\0';
		if (p)
			sscanf(p + 8, "%31[^\r]", etag);
	}
	return status;
}

static void check(natsStatus s, const char *what)
{
	if (s != NATS_OK) {
		fprintf(stderr, "%s: %s\n", what, natsStatus_GetText(s));
		exit(1);
	}
}

static void bench_raw_kv(natsConnection *nc, int replicas, int n, uint64_t *lat)
{
	kvStore *kv = NULL;
	kvEntry *e = NULL;
	jsCtx *js = NULL;
	kvConfig kc;
	uint64_t t;
	char key[32];
	int i;

	check(natsConnection_JetStream(&js, nc, NULL), "jetstream");
	kvConfig_Init(&kc);
	kc.Bucket = "bmbench_raw";
	kc.History = 1;
	kc.StorageType = js_FileStorage;
	kc.Replicas = replicas;
	check(js_CreateKeyValue(&kv, js, &kc), "create kv");
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", i % 100);
		t = now_ns();
		check(kvStore_PutString(NULL, kv, key, "{\"v\":12345}"), "kv put");
		lat[i] = now_ns() - t;
	}
	report("raw libnats kvStore_Put", lat, n);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", i % 100);
		t = now_ns();
		check(kvStore_Get(&e, kv, key), "kv get");
		lat[i] = now_ns() - t;
		kvEntry_Destroy(e);
	}
	report("raw libnats kvStore_Get", lat, n);
	kvStore_Destroy(kv);
	js_DeleteKeyValue(js, "bmbench_raw");
	jsCtx_Destroy(js);
}

/* The calls the sidecar itself makes, on the sidecar's bucket. */
static void bench_raw_stream(natsConnection *nc, const char *bucket, int n, uint64_t *lat)
{
	char subj[256], stream[256];
	jsPubAck *pa = NULL;
	natsMsg *m = NULL;
	jsCtx *js = NULL;
	uint64_t t;
	int i;

	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	check(natsConnection_JetStream(&js, nc, NULL), "jetstream");
	for (i = 0; i < n; i++) {
		snprintf(subj, sizeof(subj), "$KV.%s.raw%d", bucket, i % 100);
		t = now_ns();
		check(js_Publish(&pa, js, subj, "{\"v\":12345}", 11, NULL, NULL), "js publish");
		lat[i] = now_ns() - t;
		jsPubAck_Destroy(pa);
	}
	report("raw js_Publish (sidecar's bucket)", lat, n);
	for (i = 0; i < n; i++) {
		snprintf(subj, sizeof(subj), "$KV.%s.raw%d", bucket, i % 100);
		t = now_ns();
		check(js_GetLastMsg(&m, js, stream, subj, NULL, NULL), "get last");
		lat[i] = now_ns() - t;
		natsMsg_Destroy(m);
	}
	report("raw js_GetLastMsg, leader (sidecar's bucket)", lat, n);
	jsCtx_Destroy(js);
}

/*
 * The sidecar's strong path, each operation next to the same operation done
 * by the sidecar's own store code (sidecar/strong.c) in this process on the
 * same bucket: the same round trips without HTTP, so the difference is what
 * the sidecar adds. The two alternate operation by operation, so both see
 * the same machine load.
 */
struct strong_pair {
	int fd; /* keep-alive HTTP connection to the sidecar */
	struct store st; /* in-process store on the sidecar's bucket */
	uint64_t *lat_sc, *lat_ip;
	int n;
};

enum strong_op { OP_SAVE, OP_GET, OP_GET_LEADER, OP_CAS };

static uint64_t sidecar_op(struct strong_pair *p, enum strong_op op, int i)
{
	char body[128], path[128], etag[32];
	const char *q = op == OP_GET_LEADER ? "?consistency=eventual" : "";
	uint64_t t;
	int want = op == OP_SAVE || op == OP_CAS ? 204 : 200, got;

	snprintf(path, sizeof(path), "/v1.0/state/statestore/k%d%s", i % 100, q);
	if (op == OP_CAS) {
		http_do(p->fd, "GET", path, NULL, etag);
		snprintf(body, sizeof(body), "[{\"key\":\"k%d\",\"value\":1,\"etag\":\"%s\"}]",
			 i % 100, etag);
	} else {
		snprintf(body, sizeof(body), "[{\"key\":\"k%d\",\"value\":{\"v\":12345}}]",
			 i % 100);
	}
	t = now_ns();
	if (op == OP_SAVE || op == OP_CAS)
		got = http_do(p->fd, "POST", "/v1.0/state/statestore", body, NULL);
	else
		got = http_do(p->fd, "GET", path, NULL, etag);
	t = now_ns() - t;
	if (got != want) {
		fprintf(stderr, "bench_sidecar: sidecar op %d: HTTP %d\n", (int)op, got);
		exit(1);
	}
	return t;
}

static uint64_t inproc_op(struct strong_pair *p, enum strong_op op, int i)
{
	char key[32], etag[STORE_ETAG_MAX], *val = NULL;
	struct store_write w = {.key = key, .value = "{\"v\":12345}", .len = 11};
	size_t len;
	uint64_t t;
	int err;

	snprintf(key, sizeof(key), "ip%d", i % 100);
	if (op == OP_CAS) {
		if (p->st.ops->get(p->st.impl, key, false, &val, &len, etag))
			exit(1);
		free(val);
		val = NULL;
		w.etag = etag;
	}
	t = now_ns();
	if (op == OP_SAVE || op == OP_CAS)
		err = p->st.ops->write(p->st.impl, &w, etag);
	else
		err = p->st.ops->get(p->st.impl, key, op == OP_GET, &val, &len, etag);
	t = now_ns() - t;
	free(val);
	if (err) {
		fprintf(stderr, "bench_sidecar: in-process op %d: %s\n", (int)op, strerror(-err));
		exit(1);
	}
	return t;
}

static void bench_strong_pair(struct strong_pair *p, enum strong_op op, const char *sc_name,
			      const char *ip_name)
{
	int64_t *diff = calloc((size_t)p->n, sizeof(*diff));
	int i;

	if (!diff)
		exit(1);
	for (i = 0; i < p->n; i++) {
		p->lat_sc[i] = sidecar_op(p, op, i);
		p->lat_ip[i] = inproc_op(p, op, i);
		diff[i] = (int64_t)p->lat_sc[i] - (int64_t)p->lat_ip[i];
	}
	report(sc_name, p->lat_sc, p->n);
	report(ip_name, p->lat_ip, p->n);
	qsort(diff, (size_t)p->n, sizeof(*diff), cmp_i64);
	printf("  sidecar overhead (paired difference)     n=%-6d p50 %8.1f us\n", p->n,
	       diff[p->n / 2] / 1e3);
	free(diff);
}

static void bench_sidecar_strong(natsConnection *nc, unsigned int port, const char *bucket,
				 int replicas, int n)
{
	struct strong_pair p = {.fd = http_connect(port), .n = n};

	p.lat_sc = calloc((size_t)n, sizeof(uint64_t));
	p.lat_ip = calloc((size_t)n, sizeof(uint64_t));
	if (!p.lat_sc || !p.lat_ip || strong_open(nc, bucket, replicas, &p.st)) {
		fprintf(stderr, "bench_sidecar: set-up for bucket %s failed\n", bucket);
		exit(1);
	}
	bench_strong_pair(&p, OP_SAVE, "sidecar POST /v1.0/state (save)",
			  "  same save, sidecar's store in process");
	bench_strong_pair(&p, OP_GET, "sidecar GET /v1.0/state/{key} (linearizable)",
			  "  same get, sidecar's store in process");
	bench_strong_pair(&p, OP_GET_LEADER, "sidecar GET ?consistency=eventual (leader)",
			  "  same get, sidecar's store in process");
	bench_strong_pair(&p, OP_CAS, "sidecar POST with etag (compare-and-set)",
			  "  same CAS, sidecar's store in process");
	p.st.ops->close(p.st.impl);
	free(p.lat_sc);
	free(p.lat_ip);
	close(p.fd);
}

static int cmd_strong(const char *url, unsigned int port, const char *bucket, int replicas, int n)
{
	uint64_t *lat = calloc((size_t)n, sizeof(*lat));
	natsConnection *nc = NULL;

	check(natsConnection_ConnectTo(&nc, url), "connect");
	bench_sidecar_strong(nc, port, bucket, replicas, n);
	bench_raw_stream(nc, bucket, n, lat);
	bench_raw_kv(nc, replicas, n, lat);
	natsConnection_Destroy(nc);
	free(lat);
	return 0;
}

static int cmd_eventual(char *ports, int n)
{
	char body[128], path[128], etag[32], want[32] = "";
	unsigned int p[3];
	int fd[3], i, seen;
	uint64_t t0, t1, t2;

	if (sscanf(ports, "%u,%u,%u", &p[0], &p[1], &p[2]) != 3)
		return 2;
	for (i = 0; i < 3; i++)
		fd[i] = http_connect(p[i]);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		snprintf(body, sizeof(body), "[{\"key\":\"e%d\",\"value\":{\"v\":%d}}]", i, i);
		if (http_do(fd[0], "POST", "/v1.0/state/statestore", body, NULL) != 204)
			return 1;
	}
	t1 = now_ns();
	snprintf(path, sizeof(path), "/v1.0/state/statestore/e%d", n - 1);
	http_do(fd[0], "GET", path, NULL, want);
	for (seen = 0; seen < 3 && now_ns() - t1 < 30000000000ULL;) {
		seen = 1;
		for (i = 1; i < 3; i++)
			if (http_do(fd[i], "GET", path, NULL, etag) == 200 && !strcmp(etag, want))
				seen++;
	}
	t2 = now_ns();
	printf("eventual writes into replica 1: %d in %.3f s = %.0f writes/s\n", n, (t1 - t0) / 1e9,
	       n / ((t1 - t0) / 1e9));
	printf("last write visible on all 3 replicas %.2f ms after its ack%s\n", (t2 - t1) / 1e6,
	       seen == 3 ? "" : " (NOT converged within 30 s)");
	for (i = 0; i < 3; i++)
		close(fd[i]);
	return seen == 3 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int n = argc > 4 ? atoi(argv[argc - 1]) : 0;

	if (argc == 7 && !strcmp(argv[1], "strong") && n > 0 && n <= MAX_N)
		return cmd_strong(argv[2], (unsigned int)atoi(argv[3]), argv[4], atoi(argv[5]), n);
	if (argc == 4 && !strcmp(argv[1], "eventual")) {
		n = atoi(argv[3]);
		if (n > 0 && n <= MAX_N)
			return cmd_eventual(argv[2], n);
	}
	fprintf(stderr, "usage: bench_sidecar strong NATS_URL SIDECAR_PORT BUCKET REPLICAS N\n"
			"       bench_sidecar eventual PORT1,PORT2,PORT3 N\n");
	return 2;
}
