// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_veth_pps: packets per second through a veth pair into a network
 * namespace, with a chosen filter on the receiving veth.
 *
 * Setup (made and torn down by run.sh): namespace GEN holds veth GEN_IF,
 * namespace SINK holds its peer SINK_IF with host 0's address; frames are
 * UDP from host 1 to host 0 of the synthetic policy (benchlib.h), all inside
 * 198.18.0.0/15. The generator is bm_bench_tx (trafficgen.bpf.c) run with
 * BPF_F_TEST_XDP_LIVE_FRAMES on GEN_IF: every repetition is a real XDP_TX
 * out of GEN_IF into SINK_IF's XDP receive path. The receive side runs in
 * softirq on the sending CPU at the end of each batch, so the rate is that
 * of the whole pipeline: generator + veth + filter + (for passed packets)
 * the IP/UDP stack of SINK, which finds no socket and drops the datagram.
 *
 * Filters (--filter), attached natively to SINK_IF:
 *  pass      bm_xdp_pass. veth needs some XDP program on the receiver to
 *            accept XDP frames at all, so this is the "no filter" baseline;
 *            nftables (loaded by run.sh) runs behind it.
 *  drop      bm_bench_drop: the generator's ceiling.
 *  bpfmesh   bm_xdp_ingress through dp_attach() (libxdp dispatcher) with
 *            the synthetic policy of --entries installed;
 *  bpfmesh-direct  the same program attached alone, without the dispatcher
 *            (to show what the dispatcher costs).
 * Cases (--cases, comma-separated), each --rounds runs of --time-ms:
 *  allow     UDP to port 80 (allowed), flow cache on;
 *  nocache   the same with the flow cache off (bpfmesh only);
 *  deny      UDP to port 81 (denied).
 * Dump nftables scripts of the same policy instead: --emit-nft
 * sets|linear|sets-inet (see emit_nft()).
 *
 * Rate: repetitions sent, in chunks until --time-ms or --max-chunks, divided
 * by the on-CPU time of the sending thread (thread_cpu_ns(): the softirq
 * that runs the receive side on our CPU is charged to us) and by wall time.
 * The CPU-time rate is the one to read: wall time also counts waiting for a
 * CPU on a shared machine and two RCU grace periods per test run (the kernel
 * swaps the program into its XDP dispatcher and out again). The median and
 * the best over rounds are reported. Delivered (SINK_IF rx_packets +
 * rx_dropped, from the sink's counters) is printed next to it; fewer than
 * sent means the veth ring dropped frames and the rate is not trustworthy.
 * Prints "@pps <label> <case> <cpu_median> <cpu_best> <wall_median>
 * <wall_best> <sent> <delivered>" for run.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "trafficgen.skel.h"
#include "xdp_pass.skel.h"

#include "benchlib.h"
#include "dataplane.h"
#include "log.h"

#define CHUNK_MIN 1024U
#define CHUNK_MAX (1U << 24)
#define CHUNK_WARMUP 2048U
#define CHUNK_TARGET_NS 100000000ULL /* aim for 100 ms of CPU per test run */
#define CHUNK_GROWTH 8
#define MAX_ROUNDS 15

enum filter {
	FILTER_PASS,
	FILTER_DROP,
	FILTER_BPFMESH,
	FILTER_BPFMESH_DIRECT,
};

struct traffic_case {
	const char *name;
	uint16_t dport;
	bool is_cache;
};

static const struct traffic_case traffic_cases[] = {
	{"allow", BENCH_PORT_ALLOW, true},
	{"nocache", BENCH_PORT_ALLOW, false},
	{"deny", BENCH_PORT_DENY, true},
};

#define NR_CASES (sizeof(traffic_cases) / sizeof(traffic_cases[0]))

struct opts {
	const char *pin_dir;
	const char *gen_ns;
	const char *sink_ns;
	const char *gen_if;
	const char *sink_if;
	const char *label;
	const char *emit_nft;
	char *cases;
	enum filter filter;
	uint32_t entries;
	uint32_t time_ms;
	uint32_t rounds;
	uint32_t max_chunks;
	uint32_t flows;
	uint32_t chunk; /* 0: adaptive */
};

struct link_counts {
	uint64_t rx_packets;
	uint64_t rx_dropped;
};

struct veth {
	struct opts o;
	struct dataplane *dp;
	struct xdp_pass *pass;
	struct trafficgen *gen;
	int sink_ifindex;
	int gen_ifindex;
	bool is_attached;
	uint8_t sink_mac[6];
	uint8_t gen_mac[6];
};

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_veth_pps --gen-ns NS --sink-ns NS --gen-if IF --sink-if IF\n"
		"         --filter pass|drop|bpfmesh|bpfmesh-direct [--pin-dir DIR] [--entries N]\n"
		"         [--cases allow,nocache,deny] [--rounds N] [--time-ms N]\n"
		"         [--max-chunks N] [--flows N] [--label L]\n"
		"       bench_veth_pps --emit-nft sets|linear|sets-inet --entries N "
		"--sink-if IF\n");
}

static int parse_filter(const char *s, struct opts *o)
{
	if (!strcmp(s, "pass"))
		o->filter = FILTER_PASS;
	else if (!strcmp(s, "drop"))
		o->filter = FILTER_DROP;
	else if (!strcmp(s, "bpfmesh"))
		o->filter = FILTER_BPFMESH;
	else if (!strcmp(s, "bpfmesh-direct"))
		o->filter = FILTER_BPFMESH_DIRECT;
	else
		return -EINVAL;
	return 0;
}

static int parse_one(char **argv, int *i, struct opts *o)
{
	const char *k = argv[*i], *v = argv[*i + 1];

	*i += 1;
	if (!strcmp(k, "--pin-dir"))
		o->pin_dir = v;
	else if (!strcmp(k, "--gen-ns"))
		o->gen_ns = v;
	else if (!strcmp(k, "--sink-ns"))
		o->sink_ns = v;
	else if (!strcmp(k, "--gen-if"))
		o->gen_if = v;
	else if (!strcmp(k, "--sink-if"))
		o->sink_if = v;
	else if (!strcmp(k, "--label"))
		o->label = v;
	else if (!strcmp(k, "--emit-nft"))
		o->emit_nft = v;
	else if (!strcmp(k, "--filter"))
		return parse_filter(v, o);
	else if (!strcmp(k, "--cases"))
		o->cases = argv[*i];
	else if (!strcmp(k, "--entries"))
		return bench_parse_u32(v, 1, 4000000, &o->entries);
	else if (!strcmp(k, "--chunk"))
		return bench_parse_u32(v, CHUNK_MIN, CHUNK_MAX, &o->chunk);
	else if (!strcmp(k, "--rounds"))
		return bench_parse_u32(v, 1, MAX_ROUNDS, &o->rounds);
	else if (!strcmp(k, "--flows"))
		return bench_parse_u32(v, 1, 60000, &o->flows);
	else if (!strcmp(k, "--time-ms"))
		return bench_parse_u32(v, 10, 60000, &o->time_ms);
	else if (!strcmp(k, "--max-chunks"))
		return bench_parse_u32(v, 1, 100000, &o->max_chunks);
	else
		return -EINVAL;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int i, err = 0;

	static char default_cases[] = "allow";

	*o = (struct opts){.entries = 1,
			   .time_ms = 500,
			   .rounds = 3,
			   .max_chunks = 200,
			   .flows = 1,
			   .label = "run",
			   .cases = default_cases};
	for (i = 1; i < argc && !err; i++) {
		if (i + 1 >= argc)
			return -EINVAL;
		err = parse_one(argv, &i, o);
	}
	if (err || !o->sink_if)
		return -EINVAL;
	if (o->emit_nft)
		return 0;
	if (!o->gen_ns || !o->sink_ns || !o->gen_if)
		return -EINVAL;
	if (o->filter >= FILTER_BPFMESH && !o->pin_dir)
		return -EINVAL;
	return 0;
}

/* "a.b.c.d" of a host-order address; buf holds at least 16 bytes. */
static const char *ip4_str(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

/* The nft tuple of the j-th rule: pair j + 1, so that pair 0 comes last. */
static void nft_tuple(const struct bench_policy *p, uint32_t j, uint32_t n, char *sa, char *da)
{
	uint32_t src, dst;

	bench_policy_pair(p, (j + 1) % n, &src, &dst);
	ip4_str(bench_host_addr(src), sa);
	ip4_str(bench_host_addr(dst), da);
}

/*
 * nftables with the same allowed tuples as the synthetic policy: one
 * element or rule per policy entry, each (src host, dst host, udp, 80);
 * pair 0 (the measured flow) goes last so that a linear chain matches it
 * after every other rule, as it does for a denied packet. Kinds:
 *  sets, linear  netdev ingress on the sink veth: the earliest nftables
 *                hook, before the IP stack, the most favourable to nftables;
 *  sets-inet     inet prerouting: after the IP stack's receive checks, where
 *                host firewalls usually filter.
 */
static void emit_nft(const struct opts *o)
{
	bool is_inet = !strcmp(o->emit_nft, "sets-inet");
	bool is_sets = is_inet || !strcmp(o->emit_nft, "sets");
	const char *family = is_inet ? "inet" : "netdev";
	/* netdev sees every ethertype; inet prerouting only IP, of both versions */
	const char *is_ip4 = is_inet ? "meta nfproto ipv4" : "meta protocol ip";
	char sa[16], da[16];
	struct bench_policy p;
	uint32_t n = o->entries, j;

	bench_policy_size(o->entries, &p);
	printf("table %s bmbench {\n", family);
	if (is_sets)
		printf("  set allow {\n    type ipv4_addr . ipv4_addr . inet_proto . "
		       "inet_service\n    size %u\n  }\n",
		       n < 65536 ? 65536 : n * 2);
	if (is_inet)
		printf("  chain pre {\n    type filter hook prerouting priority 0; policy "
		       "accept;\n");
	else
		printf("  chain ingress {\n    type filter hook ingress device \"%s\" priority 0; "
		       "policy accept;\n",
		       o->sink_if);
	if (is_sets)
		printf("    %s ip saddr . ip daddr . meta l4proto . udp dport @allow accept\n",
		       is_ip4);
	for (j = 0; !is_sets && j < n; j++) {
		nft_tuple(&p, j, n, sa, da);
		printf("    meta protocol ip ip saddr %s ip daddr %s udp dport %u accept\n", sa, da,
		       BENCH_PORT_ALLOW);
	}
	printf("    %s drop\n  }\n}\n", is_ip4);
	for (j = 0; is_sets && j < n; j++) {
		if (j % 1000 == 0)
			printf("%sadd element %s bmbench allow { ", j ? " }\n" : "", family);
		else
			printf(", ");
		nft_tuple(&p, j, n, sa, da);
		printf("%s . %s . udp . %u", sa, da, BENCH_PORT_ALLOW);
	}
	if (is_sets && n)
		printf(" }\n");
}

static int link_mac(const char *ifname, uint8_t *mac)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* Counters of ifname in the current namespace (netlink, via getifaddrs). */
static int link_counts(const char *ifname, struct link_counts *c)
{
	struct ifaddrs *ifa, *it;
	struct rtnl_link_stats *st;
	int err = -ENOENT;

	if (getifaddrs(&ifa))
		return -errno;
	for (it = ifa; it; it = it->ifa_next) {
		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_PACKET || !it->ifa_data ||
		    strcmp(it->ifa_name, ifname))
			continue;
		st = it->ifa_data;
		c->rx_packets = st->rx_packets;
		c->rx_dropped = st->rx_dropped;
		err = 0;
		break;
	}
	freeifaddrs(ifa);
	return err;
}

static int sink_counts(struct veth *v, struct link_counts *c)
{
	int err, err2;

	err = bench_enter_netns(v->o.sink_ns);
	if (!err)
		err = link_counts(v->o.sink_if, c);
	err2 = bench_enter_netns(v->o.gen_ns);
	return err ? err : err2;
}

static int install_policy(struct veth *v)
{
	struct bench_policy p;
	struct bm_tables t;
	uint32_t gen;
	int err;

	err = dp_open(v->o.pin_dir, false, &v->dp);
	if (err) {
		fprintf(stderr, "open data plane under %s: %s\n", v->o.pin_dir, strerror(-err));
		return err;
	}
	bench_policy_size(v->o.entries, &p);
	tables_init(&t);
	err = bench_tables_build(&p, &t);
	if (!err)
		err = dp_install(v->dp, &t, &gen);
	tables_release(&t);
	if (err)
		fprintf(stderr, "install %u entries: %s\n", p.n_entries, strerror(-err));
	return err;
}

static int attach_filter(struct veth *v)
{
	enum dp_mode got;
	int fd, err;

	if (v->o.filter == FILTER_BPFMESH) {
		err = dp_attach(v->dp, v->sink_ifindex, DP_MODE_NATIVE, &got);
		if (!err && got != DP_MODE_NATIVE) {
			fprintf(stderr, "bm_xdp_ingress attached in generic mode only\n");
			dp_detach(v->o.pin_dir, v->sink_ifindex);
			err = -EOPNOTSUPP;
		}
	} else {
		if (v->o.filter == FILTER_PASS)
			fd = bpf_program__fd(v->pass->progs.bm_xdp_pass);
		else if (v->o.filter == FILTER_DROP)
			fd = bpf_program__fd(v->gen->progs.bm_bench_drop);
		else
			fd = dp_prog_fd(v->dp);
		err = bpf_xdp_attach(v->sink_ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	}
	if (err)
		fprintf(stderr, "attach to %s: %s\n", v->o.sink_if, strerror(-err));
	v->is_attached = !err;
	return err;
}

/* In the sink namespace: resolve the sink veth, attach the filter. */
static int setup_sink(struct veth *v)
{
	int err;

	err = bench_enter_netns(v->o.sink_ns);
	if (err) {
		fprintf(stderr, "enter netns %s: %s\n", v->o.sink_ns, strerror(-err));
		return err;
	}
	v->sink_ifindex = (int)if_nametoindex(v->o.sink_if);
	if (!v->sink_ifindex)
		return -errno;
	err = link_mac(v->o.sink_if, v->sink_mac);
	if (!err && v->o.filter >= FILTER_BPFMESH)
		err = install_policy(v);
	if (!err)
		err = attach_filter(v);
	return err;
}

static void teardown_sink(struct veth *v)
{
	if (!v->is_attached || bench_enter_netns(v->o.sink_ns))
		return;
	if (v->o.filter == FILTER_BPFMESH)
		dp_detach(v->o.pin_dir, v->sink_ifindex);
	else
		bpf_xdp_detach(v->sink_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	v->is_attached = false;
}

/* Load the generator (and the baseline receivers) before entering any namespace. */
static int load_programs(struct veth *v)
{
	v->pass = xdp_pass__open_and_load();
	if (!v->pass)
		return -errno;
	v->gen = trafficgen__open();
	if (!v->gen)
		return -errno;
	v->gen->rodata->nr_flows = v->o.flows;
	v->gen->rodata->sport_base = BENCH_SPORT;
	return trafficgen__load(v->gen);
}

static int setup_gen(struct veth *v)
{
	int err;

	err = bench_enter_netns(v->o.gen_ns);
	if (err)
		return err;
	v->gen_ifindex = (int)if_nametoindex(v->o.gen_if);
	if (!v->gen_ifindex)
		return -errno;
	return link_mac(v->o.gen_if, v->gen_mac);
}

static int send_chunk(struct veth *v, const uint8_t *frame, uint32_t n)
{
	struct xdp_md ctx = {
		.data_end = BENCH_FRAME_LEN,
		.ingress_ifindex = (__u32)v->gen_ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = BENCH_FRAME_LEN,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = n,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	return bpf_prog_test_run_opts(bpf_program__fd(v->gen->progs.bm_bench_tx), &t);
}

/*
 * The next chunk: CHUNK_TARGET_NS of CPU at the rate seen so far, but at
 * most CHUNK_GROWTH times the last one, so that one mis-estimate (a fast
 * warm-up before a slow filter) cannot make a single test run take minutes.
 */
static uint32_t next_chunk(uint64_t sent, uint64_t ns, uint32_t last)
{
	double n = ns ? (double)sent / (double)ns * (double)CHUNK_TARGET_NS : 0;
	double cap = (double)last * CHUNK_GROWTH;

	if (n > cap)
		n = cap;
	if (n < CHUNK_MIN)
		return CHUNK_MIN;
	if (n > CHUNK_MAX)
		return CHUNK_MAX;
	return (uint32_t)n;
}

/*
 * Time this thread has spent on a CPU, in ns, from the scheduler's own
 * account (schedstat field 1). It includes the softirq that runs the veth
 * receive path in our context at the end of each batch (this kernel has no
 * IRQ time accounting to take it out) and excludes time spent waiting for a
 * CPU or sleeping. getrusage() is tick-sampled and too coarse for this.
 */
static uint64_t thread_cpu_ns(void)
{
	unsigned long long ns = 0;
	FILE *f;

	f = fopen("/proc/thread-self/schedstat", "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

/*
 * One round: send in chunks until the time budget or the chunk limit.
 * *pps: per wall-clock second; *cpu_pps: per second of this thread's CPU
 * time. Chunks are sized from the CPU-time rate: each test run also costs a
 * fixed sleep in the kernel (synchronize_rcu() in bpf_dispatcher_change_prog(),
 * on entry and exit), which the CPU time skips.
 */
static int run_round(struct veth *v, const uint8_t *frame, uint32_t chunk, double *pps,
		     double *cpu_pps, uint64_t *sent)
{
	uint64_t start, now, cpu0, cpu = 0;
	uint32_t i;
	int err = 0;

	*sent = 0;
	cpu0 = thread_cpu_ns();
	start = bench_now_ns();
	now = start;
	for (i = 0; i < v->o.max_chunks; i++) {
		err = send_chunk(v, frame, chunk);
		now = bench_now_ns();
		cpu = thread_cpu_ns() - cpu0;
		if (err)
			return err;
		*sent += chunk;
		if (now - start >= (uint64_t)v->o.time_ms * 1000000ULL)
			break;
		if (!v->o.chunk)
			chunk = next_chunk(*sent, cpu, chunk);
	}
	*pps = (double)*sent * 1e9 / (double)(now - start);
	*cpu_pps = cpu ? (double)*sent * 1e9 / (double)cpu : 0;
	return 0;
}

/* A warm-up (flow cache, neighbour, caches) whose CPU time sizes the first chunk. */
static int warm_up(struct veth *v, const uint8_t *frame, uint32_t *chunk)
{
	uint64_t cpu0 = thread_cpu_ns();
	int err;

	err = send_chunk(v, frame, CHUNK_WARMUP);
	*chunk = next_chunk(CHUNK_WARMUP, thread_cpu_ns() - cpu0, CHUNK_WARMUP);
	return err;
}

static int run_case(struct veth *v, const struct traffic_case *c)
{
	double pps[MAX_ROUNDS], cpu_pps[MAX_ROUNDS], med, cpu_med;
	uint64_t sent, total = 0, delivered;
	uint8_t frame[BENCH_FRAME_LEN];
	struct link_counts c0, c1;
	uint32_t r, chunk;
	int err;

	if (v->dp)
		dp_configure(v->dp, BM_CFG_F_EVENTS | (c->is_cache ? BM_CFG_F_FLOW_CACHE : 0), 64);
	bench_frame_udp4(frame, v->sink_mac, v->gen_mac, bench_host_addr(1), bench_host_addr(0),
			 BENCH_SPORT, c->dport);
	err = warm_up(v, frame, &chunk);
	if (v->o.chunk)
		chunk = v->o.chunk;
	if (!err)
		err = sink_counts(v, &c0);
	for (r = 0; r < v->o.rounds && !err; r++) {
		err = run_round(v, frame, chunk, &pps[r], &cpu_pps[r], &sent);
		total += sent;
	}
	if (!err)
		err = sink_counts(v, &c1);
	if (err) {
		fprintf(stderr, "%s %s: send: %s\n", v->o.label, c->name, strerror(-err));
		return err;
	}
	delivered = (c1.rx_packets - c0.rx_packets) + (c1.rx_dropped - c0.rx_dropped);
	med = bench_median(pps, v->o.rounds);
	cpu_med = bench_median(cpu_pps, v->o.rounds);
	printf("  %-16s %-7s %9.0f pps/cpu-s median %9.0f best | wall %9.0f median %9.0f best"
	       "  (%llu sent, %llu seen)\n",
	       v->o.label, c->name, cpu_med, cpu_pps[v->o.rounds - 1], med, pps[v->o.rounds - 1],
	       (unsigned long long)total, (unsigned long long)delivered);
	printf("@pps %s %s %.0f %.0f %.0f %.0f %llu %llu\n", v->o.label, c->name, cpu_med,
	       cpu_pps[v->o.rounds - 1], med, pps[v->o.rounds - 1], (unsigned long long)total,
	       (unsigned long long)delivered);
	return 0;
}

static int run_cases(struct veth *v)
{
	char *tok, *save = NULL;
	size_t k;
	int err = 0;

	for (tok = strtok_r(v->o.cases, ",", &save); tok && !err;
	     tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < NR_CASES; k++) {
			if (!strcmp(tok, traffic_cases[k].name))
				break;
		}
		if (k == NR_CASES) {
			fprintf(stderr, "unknown case %s\n", tok);
			return -EINVAL;
		}
		err = run_case(v, &traffic_cases[k]);
	}
	return err;
}

int main(int argc, char **argv)
{
	struct veth v = {};
	int err;

	if (parse_args(argc, argv, &v.o)) {
		usage();
		return 2;
	}
	if (v.o.emit_nft) {
		emit_nft(&v.o);
		return 0;
	}
	log_set_level(LOG_LEVEL_WARN);
	log_hook_libbpf();
	bench_pin_cpu(1);
	err = load_programs(&v);
	if (err)
		fprintf(stderr, "load benchmark programs: %s\n", strerror(-err));
	if (!err)
		err = setup_sink(&v);
	if (!err)
		err = setup_gen(&v);
	if (!err)
		err = run_cases(&v);
	teardown_sink(&v);
	trafficgen__destroy(v.gen);
	xdp_pass__destroy(v.pass);
	dp_close(v.dp);
	return err ? 1 : 0;
}
