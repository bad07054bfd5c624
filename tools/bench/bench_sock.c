// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_sock: the socket half of the data plane on one node. Two workloads,
 * client 198.18.0.2 and server 198.18.0.3 (both on the loopback of the
 * caller's network namespace, see tools/bench/sock.sh), each in its own
 * cgroup v2 group under --cgroup-root, under a synthetic policy of --entries
 * policy entries and as many ipcache hosts (up to 100k), installed as one
 * generation. In one run, for each mode:
 *  - plain:    no bpfmesh program on either cgroup;
 *  - enforce:  connect/sendmsg hooks and sockops on both, no fast path;
 *  - fastpath: the same with the sk_msg socket-to-socket redirect;
 * it measures TCP request/response latency (--rr-count round trips of
 * --rr-size bytes, one connection, TCP_NODELAY: mean, p50, p99) and bulk
 * throughput (64 KiB writes for --bulk-ms, until the server has read all).
 * In plain and enforce mode it also measures the cost of connect() itself:
 * UDP connect() (no handshake: the hook is most of it; best of 5 rounds)
 * and TCP connect() to a listener (mean, handshake included). Client and
 * server run on different CPUs when there are two, on one CPU with
 * --same-cpu. Lines starting with '@' are for tools/bench/sock.sh:
 *   "@sock <mode> rr <mean_us> <p50_us> <p99_us>"
 *   "@sock <mode> bulk <gbit_per_s>"
 *   "@sock <mode> connect-udp|connect-tcp <ns_per_call>"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dataplane.h"
#include "log.h"
#include "sock.h"
#include "tables.h"

#define CLIENT_ADDR 0xc6120002 /* 198.18.0.2 */
#define SERVER_ADDR 0xc6120003 /* 198.18.0.3 */
#define FILLER_BASE 0xc6120100 /* 198.18.1.0: filler hosts, never used on the wire */
#define MAX_FILLER_HOSTS 100000
#define CLIENT_ID 1000
#define SERVER_ID 1001
#define CLIENT_CLASS 2
#define SERVER_CLASS 3
#define FILLER_CLASS 10
#define PORT_RR 5201
#define PORT_BULK 5202
#define PORT_CONNECT 5203
#define BULK_CHUNK (64 * 1024)
#define CONNECT_ROUNDS 5

enum mode { MODE_PLAIN, MODE_ENFORCE, MODE_FASTPATH, MODE_NR };
static const char *const mode_names[MODE_NR] = {"plain", "enforce", "fastpath"};

struct opts {
	const char *pin_dir;
	const char *cg_root;
	unsigned long entries;
	unsigned long rr_count;
	unsigned long rr_size;
	unsigned long bulk_ms;
	unsigned long connects;
	bool is_same_cpu;
};

struct result {
	double rr_mean_us, rr_p50_us, rr_p99_us;
	double bulk_gbps;
	double connect_udp_ns, connect_tcp_ns;
};

struct bench {
	struct opts o;
	char cg_client[PATH_MAX];
	char cg_server[PATH_MAX];
	int ncpu;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void sockaddr_of(uint32_t addr, uint16_t port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = htonl(addr);
}

/* Policy: client may reach server on TCP and UDP 22, 80, 443, 5000-5999 (both isolated). */
static int add_pair_policy(struct bm_tables *t)
{
	static const uint16_t lo[4] = {22, 80, 443, 5000}, hi[4] = {22, 80, 443, 5999};
	static const uint8_t protos[2] = {BM_PROTO_TCP, BM_PROTO_UDP};
	struct bm_policy_value pv = {.nr_ranges = 4, .first = 0};
	struct bm_policy_key k = {0};
	struct bm_port_range pr;
	uint32_t idx;
	int i, err = 0;

	/* the four entries share pool slice 0 .. 3 */
	for (i = 0; i < 4 && !err; i++) {
		pr = (struct bm_port_range){
			.rule_id = 1 + (uint32_t)i, .port_lo = lo[i], .port_hi = hi[i]};
		idx = (uint32_t)i;
		err = tables_append(t, TABLES_RANGES, &idx, &pr);
	}
	for (i = 0; i < 4 && !err; i++) {
		k.proto = protos[i / 2];
		k.direction = i % 2 ? BM_DIR_EGRESS : BM_DIR_INGRESS;
		k.subject_class = i % 2 ? CLIENT_CLASS : SERVER_CLASS;
		k.peer_class = i % 2 ? SERVER_CLASS : CLIENT_CLASS;
		err = tables_append(t, TABLES_POLICY, &k, &pv);
	}
	return err;
}

static int add_host(struct bm_tables *t, uint32_t addr, uint32_t id, uint32_t cls)
{
	struct bm_host4_key k = {.addr = htonl(addr)};
	struct bm_ipcache_value v = {
		.sec_id = id,
		.class_id = cls,
		.flags = BM_IPC_F_LOCAL | BM_IPC_F_INGRESS_ISOLATED | BM_IPC_F_EGRESS_ISOLATED,
	};

	return tables_append(t, TABLES_HOST4, &k, &v);
}

/*
 * The synthetic generation: the two real hosts and their policy, n filler
 * hosts (n = min(entries, 100k)) and entries - 4 filler policy entries:
 * entry i has subject filler i % n and peer filler i % n + 1 + i / n.
 */
static int build_tables(unsigned long entries, struct bm_tables *t)
{
	struct bm_policy_value pv = {.nr_ranges = 1};
	struct bm_policy_key k = {.direction = BM_DIR_INGRESS, .proto = BM_PROTO_TCP};
	unsigned long i, n;
	int err;

	n = entries < MAX_FILLER_HOSTS ? entries : MAX_FILLER_HOSTS;
	err = add_host(t, CLIENT_ADDR, CLIENT_ID, CLIENT_CLASS);
	if (!err)
		err = add_host(t, SERVER_ADDR, SERVER_ID, SERVER_CLASS);
	if (!err)
		err = add_pair_policy(t);
	for (i = 0; !err && i < n; i++)
		err = add_host(t, FILLER_BASE + (uint32_t)i, 2000 + (uint32_t)i,
			       FILLER_CLASS + (uint32_t)i);
	pv.range[0] = (struct bm_port_range){.rule_id = 10, .port_lo = 80, .port_hi = 80};
	t->nr_classes = FILLER_CLASS + (uint32_t)n;
	for (i = 0; !err && i + 4 < entries; i++) {
		k.subject_class = FILLER_CLASS + (uint32_t)(i % n);
		k.peer_class = k.subject_class + 1 + (uint32_t)(i / n);
		if (k.peer_class >= t->nr_classes)
			t->nr_classes = k.peer_class + 1;
		err = tables_append(t, TABLES_POLICY, &k, &pv);
	}
	return err;
}

static void join_cgroup(const char *cg, int cpu, const struct bench *b)
{
	char path[PATH_MAX + 16];
	cpu_set_t set;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f)) {
		fprintf(stderr, "bench_sock: join %s: %s\n", cg, strerror(errno));
		_exit(1);
	}
	CPU_ZERO(&set);
	CPU_SET(cpu % b->ncpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int listen_on(uint16_t port)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	sockaddr_of(SERVER_ADDR, port, &sa);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	sockaddr_of(SERVER_ADDR, port, &sa);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "bench_sock: connect port %u: %s\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int read_full(int fd, void *buf, size_t len)
{
	int eagain_left = 100;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EAGAIN && eagain_left > 0) {
			/*
			 * A blocking read of a sockhash socket can fail with
			 * EAGAIN when the wake-up came from the peer's FIN
			 * rather than from redirected data (tcp_bpf_recvmsg).
			 * Seen rarely at the end of a bulk transfer; count it.
			 */
			fprintf(stderr,
				"bench_sock: spurious EAGAIN from a blocking read after %zu of %zu "
				"bytes\n",
				got, len);
			eagain_left--;
			usleep(1000);
			continue;
		}
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Server side of one run: echo (rr) or count (bulk) on one connection, or accept many. */
static void serve(int lfd, uint16_t port)
{
	char *buf = malloc(BULK_CHUNK);
	uint64_t total = 0;
	ssize_t n;
	int fd;

	if (!buf)
		_exit(1);
	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		if (port == PORT_CONNECT) {
			close(fd);
			continue;
		}
		while ((n = read(fd, buf, BULK_CHUNK)) > 0) {
			total += (uint64_t)n;
			if (port == PORT_RR && write(fd, buf, (size_t)n) != n)
				break;
		}
		if (n < 0)
			fprintf(stderr, "bench_sock: server read: %s\n", strerror(errno));
		if (port == PORT_BULK && write(fd, &total, sizeof(total)) != sizeof(total)) {
			fprintf(stderr, "bench_sock: server ack: %s\n", strerror(errno));
			_exit(1);
		}
		close(fd);
		break;
	}
	free(buf);
	_exit(0);
}

static void client_rr(const struct bench *b, struct result *r)
{
	double *rtt = calloc(b->o.rr_count, sizeof(*rtt));
	char *buf = calloc(1, b->o.rr_size);
	unsigned long i;
	uint64_t t0;
	double sum = 0;
	int fd;

	fd = connect_to(PORT_RR);
	if (fd < 0 || !rtt || !buf)
		_exit(1);
	for (i = 0; i < b->o.rr_count; i++) {
		t0 = now_ns();
		if (write(fd, buf, b->o.rr_size) != (ssize_t)b->o.rr_size ||
		    read_full(fd, buf, b->o.rr_size))
			_exit(1);
		rtt[i] = (double)(now_ns() - t0) / 1000.0;
		sum += rtt[i];
	}
	close(fd);
	qsort(rtt, b->o.rr_count, sizeof(*rtt), cmp_double);
	r->rr_mean_us = sum / (double)b->o.rr_count;
	r->rr_p50_us = rtt[b->o.rr_count / 2];
	r->rr_p99_us = rtt[b->o.rr_count * 99 / 100];
	free(rtt);
	free(buf);
}

static void client_bulk(const struct bench *b, struct result *r)
{
	char *buf = calloc(1, BULK_CHUNK);
	uint64_t t0, end, sent = 0, acked = 0;
	int fd;

	fd = connect_to(PORT_BULK);
	if (fd < 0 || !buf)
		_exit(1);
	t0 = now_ns();
	end = t0 + b->o.bulk_ms * 1000000ULL;
	while (now_ns() < end) {
		if (write(fd, buf, BULK_CHUNK) != BULK_CHUNK)
			_exit(1);
		sent += BULK_CHUNK;
	}
	shutdown(fd, SHUT_WR);
	if (read_full(fd, &acked, sizeof(acked))) {
		fprintf(stderr, "bench_sock: bulk: no answer from the server: %s\n",
			strerror(errno));
		_exit(1);
	}
	if (acked != sent) {
		fprintf(stderr, "bench_sock: bulk: server read %llu of %llu bytes\n",
			(unsigned long long)acked, (unsigned long long)sent);
		_exit(1);
	}
	r->bulk_gbps = (double)sent * 8.0 / (double)(now_ns() - t0);
	close(fd);
	free(buf);
}

/*
 * ns per connect(): UDP re-connects one socket (best of CONNECT_ROUNDS
 * rounds); TCP opens and resets one socket per call (mean).
 */
static void client_connect(const struct bench *b, struct result *r)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct sockaddr_in sa;
	uint64_t spent = 0, t0;
	unsigned long i, n_tcp = b->o.connects / 10, per_round = b->o.connects / CONNECT_ROUNDS;
	int fd, round;
	double ns;

	sockaddr_of(SERVER_ADDR, PORT_CONNECT, &sa);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r->connect_udp_ns = 0;
	for (round = 0; round < CONNECT_ROUNDS; round++) {
		t0 = now_ns();
		for (i = 0; i < per_round; i++) {
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
				_exit(1);
		}
		ns = (double)(now_ns() - t0) / (double)per_round;
		if (!round || ns < r->connect_udp_ns) /* best round: least disturbed */
			r->connect_udp_ns = ns;
	}
	close(fd);
	for (i = 0; i < n_tcp; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* no TIME_WAIT pile-up */
		t0 = now_ns();
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(1);
		spent += now_ns() - t0;
		close(fd);
	}
	r->connect_tcp_ns = (double)spent / (double)(n_tcp ? n_tcp : 1);
}

/*
 * Run one client measurement against a fresh server; the result comes back
 * through a pipe. The server listens from inside its cgroup (accepted
 * sockets belong to the listener's cgroup) and says so on a second pipe.
 */
static int run(const struct bench *b, uint16_t port, struct result *r)
{
	int pfd[2], rfd[2] = {-1, -1}, lfd, status, err = 0;
	pid_t server, client;
	char ready = 0;

	if (pipe(pfd))
		return -errno;
	if (pipe(rfd)) {
		err = -errno;
		goto out;
	}
	server = fork();
	if (server == 0) {
		join_cgroup(b->cg_server, 1, b);
		lfd = listen_on(port);
		ready = lfd >= 0;
		if (write(rfd[1], &ready, 1) != 1 || lfd < 0)
			_exit(1);
		serve(lfd, port);
	}
	if (read(rfd[0], &ready, 1) != 1 || !ready) {
		err = -EIO;
		goto out_server;
	}
	client = fork();
	if (client == 0) {
		join_cgroup(b->cg_client, 0, b);
		if (port == PORT_RR)
			client_rr(b, r);
		else if (port == PORT_BULK)
			client_bulk(b, r);
		else
			client_connect(b, r);
		_exit(write(pfd[1], r, sizeof(*r)) == sizeof(*r) ? 0 : 1);
	}
	waitpid(client, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) || read_full(pfd[0], r, sizeof(*r)))
		err = -EIO;
out_server:
	kill(server, SIGKILL); /* the connect server never sees an end */
	waitpid(server, NULL, 0);
out:
	close(rfd[0]);
	close(rfd[1]);
	close(pfd[0]);
	close(pfd[1]);
	return err;
}

static int set_mode(const struct bench *b, enum mode m)
{
	struct bm_cgroup_ident wc = {.sec_id = CLIENT_ID, .flags = BM_CG_F_HAS_V4};
	struct bm_cgroup_ident ws = {.sec_id = SERVER_ID, .flags = BM_CG_F_HAS_V4};
	uint32_t c = htonl(CLIENT_ADDR), s = htonl(SERVER_ADDR);
	uint64_t cid, sid;
	int err;

	memcpy(wc.addr4, &c, 4);
	memcpy(ws.addr4, &s, 4);
	if (m == MODE_PLAIN)
		return 0;
	if (m == MODE_ENFORCE) {
		err = sock_attach(b->o.pin_dir, b->cg_client, &wc);
		return err ? err : sock_attach(b->o.pin_dir, b->cg_server, &ws);
	}
	wc.flags |= BM_CG_F_FASTPATH;
	ws.flags |= BM_CG_F_FASTPATH;
	err = sock_cgroup_id(b->cg_client, &cid);
	if (!err)
		err = sock_cgroup_id(b->cg_server, &sid);
	if (!err)
		err = sock_set_workload(b->o.pin_dir, cid, &wc);
	return err ? err : sock_set_workload(b->o.pin_dir, sid, &ws);
}

static int run_mode(const struct bench *b, enum mode m, struct result *r)
{
	int err;

	err = set_mode(b, m);
	if (!err)
		err = run(b, PORT_RR, r);
	if (!err)
		err = run(b, PORT_BULK, r);
	if (!err && m != MODE_FASTPATH)
		err = run(b, PORT_CONNECT, r);
	if (err)
		fprintf(stderr, "bench_sock: %s: %s\n", mode_names[m], strerror(-err));
	return err;
}

static void report(const struct bench *b, const struct result *res)
{
	int m;

	printf("same-node TCP, %lu policy entries, %lu-byte request/response x %lu, "
	       "bulk %lu ms of 64 KiB writes\n",
	       b->o.entries, b->o.rr_size, b->o.rr_count, b->o.bulk_ms);
	printf("%-9s %10s %10s %10s %12s %14s %14s\n", "mode", "rr mean us", "rr p50 us",
	       "rr p99 us", "bulk Gbit/s", "UDP connect ns", "TCP connect ns");
	for (m = 0; m < MODE_NR; m++) {
		const struct result *r = &res[m];

		printf("%-9s %10.2f %10.2f %10.2f %12.2f", mode_names[m], r->rr_mean_us,
		       r->rr_p50_us, r->rr_p99_us, r->bulk_gbps);
		if (m == MODE_FASTPATH)
			printf(" %14s %14s\n", "-", "-");
		else
			printf(" %14.0f %14.0f\n", r->connect_udp_ns, r->connect_tcp_ns);
	}
	for (m = 0; m < MODE_NR; m++) {
		printf("@sock %s rr %.2f %.2f %.2f\n", mode_names[m], res[m].rr_mean_us,
		       res[m].rr_p50_us, res[m].rr_p99_us);
		printf("@sock %s bulk %.2f\n", mode_names[m], res[m].bulk_gbps);
		if (m != MODE_FASTPATH)
			printf("@sock %s connect-udp %.0f\n@sock %s connect-tcp %.0f\n",
			       mode_names[m], res[m].connect_udp_ns, mode_names[m],
			       res[m].connect_tcp_ns);
	}
}

static int parse_ul(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return (errno || !*s || *end || *out < min || *out > max) ? -EINVAL : 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int i, err = 0;

	*o = (struct opts){.entries = 100000,
			   .rr_count = 50000,
			   .rr_size = 64,
			   .bulk_ms = 2000,
			   .connects = 100000};
	for (i = 1; i < argc && !err; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(argv[i], "--pin-dir"))
			o->pin_dir = argv[++i];
		else if (!strcmp(argv[i], "--cgroup-root"))
			o->cg_root = argv[++i];
		else if (!strcmp(argv[i], "--entries") && !parse_ul(v, 2, 10000000, &o->entries))
			i++;
		else if (!strcmp(argv[i], "--rr-count") &&
			 !parse_ul(v, 100, 10000000, &o->rr_count))
			i++;
		else if (!strcmp(argv[i], "--rr-size") && !parse_ul(v, 1, 65536, &o->rr_size))
			i++;
		else if (!strcmp(argv[i], "--bulk-ms") && !parse_ul(v, 100, 600000, &o->bulk_ms))
			i++;
		else if (!strcmp(argv[i], "--same-cpu"))
			o->is_same_cpu = true;
		else if (!strcmp(argv[i], "--connects") &&
			 !parse_ul(v, 100, 10000000, &o->connects))
			i++;
		else
			err = -EINVAL;
	}
	if (err || !o->pin_dir || !o->cg_root || i > argc) {
		fprintf(stderr, "usage: bench_sock --pin-dir BPFFS_DIR --cgroup-root CGROUP2_DIR "
				"[--entries N] [--rr-count N] [--rr-size BYTES] [--bulk-ms MS] "
				"[--connects N] [--same-cpu]\n(run inside a network namespace "
				"whose loopback "
				"has 198.18.0.2 and 198.18.0.3; see tools/bench/sock.sh)\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct result res[MODE_NR] = {0};
	struct dataplane *dp = NULL;
	struct bm_tables t;
	struct bench b = {0};
	uint64_t id;
	uint32_t gen;
	int m, err;

	if (parse_opts(argc, argv, &b.o))
		return 2;
	b.ncpu = b.o.is_same_cpu ? 1 : (int)sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(b.cg_client, sizeof(b.cg_client), "%s/bench-client", b.o.cg_root);
	snprintf(b.cg_server, sizeof(b.cg_server), "%s/bench-server", b.o.cg_root);
	tables_init(&t);
	err = build_tables(b.o.entries, &t);
	if (!err)
		err = dp_open(b.o.pin_dir, false, &dp);
	if (!err)
		err = dp_install(dp, &t, &gen);
	if (!err)
		err = dp_configure(dp, BM_CFG_F_FLOW_CACHE | BM_CFG_F_EVENTS, 0);
	tables_release(&t);
	if (!err && (mkdir(b.cg_client, 0755) || mkdir(b.cg_server, 0755)))
		err = -errno;
	for (m = 0; !err && m < MODE_NR; m++)
		err = run_mode(&b, (enum mode)m, &res[m]);
	if (!err)
		report(&b, res);
	if (!sock_cgroup_id(b.cg_client, &id))
		sock_detach(b.o.pin_dir, id);
	if (!sock_cgroup_id(b.cg_server, &id))
		sock_detach(b.o.pin_dir, id);
	rmdir(b.cg_client);
	rmdir(b.cg_server);
	dp_close(dp);
	if (err)
		fprintf(stderr, "bench_sock: %s\n", strerror(-err));
	return err ? 1 : 0;
}
