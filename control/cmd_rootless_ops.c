// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh rootless status|exec|observe. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <abi/abi.h>

#include "cmd_rootless.h"
#include "fwd.h"
#include "id_names.h"
#include "names.h"
#include "rlns.h"
#include "rootless_probe.h"

#define STATUS_LINE_MAX 1024

/* The running forwarder's status file, or NULL if none runs (or it died). */
static FILE *open_status(const char *state_dir, int *pid)
{
	char path[PATH_MAX], line[STATUS_LINE_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/rootless/status", state_dir);
	fp = fopen(path, "r");
	*pid = 0;
	while (fp && fgets(line, sizeof(line), fp))
		if (!strncmp(line, "pid\t", 4))
			*pid = (int)strtol(line + 4, NULL, 10);
	if (fp && (*pid <= 0 || (kill(*pid, 0) && errno == ESRCH))) {
		fclose(fp);
		return NULL;
	}
	if (fp)
		rewind(fp);
	return fp;
}

/* Copy src into dst, cut to fit. Cannot fail. */
static void copy_field(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* See cmd_rootless.h. */
int rootless_status(const struct cli_globals *g, int argc, char **argv)
{
	bool is_json = argc > 1 && !strcmp(argv[1], "--json");
	char line[STATUS_LINE_MAX], mode[32] = "", reason[ROOTLESS_REASON_LEN] = "";
	struct rootless_probe p;
	json_t *j, *wl = json_array();
	int pid, n = 0;
	FILE *fp;

	rootless_probe_run(&p, false);
	fp = open_status(g->state_dir, &pid);
	while (fp && fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "mode\t", 5))
			copy_field(mode, sizeof(mode), line + 5);
		else if (!strncmp(line, "reason\t", 7))
			copy_field(reason, sizeof(reason), line + 7);
		else if (!strncmp(line, "workload\t", 9) && ++n && !is_json)
			printf("%sworkload %s\n", n == 1 ? "forwarder running:\n" : "", line + 9);
		else if (!strncmp(line, "workload\t", 9) && wl)
			json_array_append_new(wl, json_string(line + 9));
	}
	if (fp)
		fclose(fp);
	if (!mode[0]) {
		copy_field(mode, sizeof(mode), rootless_mode_name(p.mode));
		copy_field(reason, sizeof(reason), p.reason);
	}
	if (!is_json) {
		printf("mode: %s (%s)%s\n", mode, reason, fp ? "" : "; no rootless forwarder runs");
		json_decref(wl);
		return CLI_EXIT_OK;
	}
	j = json_pack("{s:s, s:s, s:i, s:o, s:{s:s, s:s}}", "mode", mode, "reason", reason,
		      "forwarder_pid", fp ? pid : 0, "workloads", wl ? wl : json_array(), "probe",
		      "mode", rootless_mode_name(p.mode), "reason", p.reason);
	if (!j)
		return CLI_EXIT_ERROR;
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
	return CLI_EXIT_OK;
}

static pid_t keeper_of(const char *state_dir, const char *name)
{
	char line[STATUS_LINE_MAX], *tab;
	size_t len = strlen(name);
	pid_t keeper = 0;
	FILE *fp;
	int pid;

	fp = open_status(state_dir, &pid);
	while (fp && fgets(line, sizeof(line), fp) && !keeper) {
		if (strncmp(line, "workload\t", 9) || strncmp(line + 9, name, len) ||
		    line[9 + len] != '\t')
			continue;
		tab = line + 9 + len + 1;
		keeper = (pid_t)strtol(tab, NULL, 10);
	}
	if (fp)
		fclose(fp);
	return keeper;
}

/* See cmd_rootless.h. */
int rootless_exec(const struct cli_globals *g, int argc, char **argv)
{
	int first = argc > 2 && !strcmp(argv[2], "--") ? 3 : 2;
	pid_t keeper;
	int err;

	if (argc <= first) {
		fprintf(stderr, "usage: bpfmesh rootless exec NS/NAME -- COMMAND [ARG...]\n");
		return CLI_EXIT_ERROR;
	}
	keeper = keeper_of(g->state_dir, argv[1]);
	if (keeper <= 0) {
		fprintf(stderr, "bpfmesh: rootless exec: no running workload %s under %s\n",
			argv[1], g->state_dir);
		return CLI_EXIT_ERROR;
	}
	err = rlns_enter(keeper);
	if (err) {
		fprintf(stderr, "bpfmesh: rootless exec: enter %s: %s\n", argv[1], strerror(-err));
		return CLI_EXIT_ERROR;
	}
	execvp(argv[first], argv + first);
	fprintf(stderr, "bpfmesh: rootless exec: %s: %s\n", argv[first], strerror(errno));
	return 127;
}

struct observe_opts {
	bool is_json;
	bool is_all; /* from the start of the file, not only new events */
	unsigned int count;
	unsigned int timeout_s;
};

static void print_event(const struct observe_opts *o, const struct id_names *names,
			const struct bm_flow_event *e)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[8];
	int af = e->family == BM_FAMILY_IPV6 ? AF_INET6 : AF_INET;
	const char *proto = names_proto(e->proto, pbuf, sizeof(pbuf));
	json_t *j;

	inet_ntop(af, e->saddr, src, sizeof(src));
	inet_ntop(af, e->daddr, dst, sizeof(dst));
	if (!o->is_json) {
		printf("%-10s %s:%u (%s) -> %s:%u (%s) %s %s rule %u [rootless]\n",
		       names_verdict(e->verdict), src, ntohs(e->sport),
		       id_names_get(names, e->src_id), dst, ntohs(e->dport),
		       id_names_get(names, e->dst_id), proto, names_reason(e->reason), e->rule_id);
		return;
	}
	j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i, s:s, s:I, s:s, s:i, s:s, s:I, s:s}",
		      "verdict", names_verdict(e->verdict), "reason", names_reason(e->reason),
		      "src_id", (json_int_t)e->src_id, "src_identity",
		      id_names_get(names, e->src_id), "src", src, "sport", ntohs(e->sport),
		      "dst_identity", id_names_get(names, e->dst_id), "dst_id",
		      (json_int_t)e->dst_id, "dst", dst, "dport", ntohs(e->dport), "proto", proto,
		      "rule_id", (json_int_t)e->rule_id, "source", "rootless");
	if (!j)
		return;
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
}

static int parse_observe(int argc, char **argv, struct observe_opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			o->is_json = true;
		else if (!strcmp(argv[i], "--all"))
			o->is_all = true;
		else if (!strcmp(argv[i], "--count") && i + 1 < argc &&
			 !cli_parse_u32(argv[i + 1], 1, UINT32_MAX, &o->count))
			i++;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc &&
			 !cli_parse_u32(argv[i + 1], 1, 86400 * 365, &o->timeout_s))
			i++;
		else
			return -EINVAL;
	}
	return 0;
}

/* Reopen path when it was rotated (another inode) or is not open yet. */
static void follow(const char *path, int *fd, bool from_start)
{
	struct stat a, b;

	if (*fd >= 0 && !stat(path, &a) && !fstat(*fd, &b) && a.st_ino == b.st_ino)
		return;
	if (*fd >= 0)
		close(*fd);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd >= 0 && !from_start)
		lseek(*fd, 0, SEEK_END);
}

/* The next whole record; a record still being written is read again later. */
static bool read_event(int fd, struct bm_flow_event *e)
{
	ssize_t n = read(fd, e, sizeof(*e));

	if (n > 0 && n < (ssize_t)sizeof(*e))
		lseek(fd, -n, SEEK_CUR);
	return n == (ssize_t)sizeof(*e);
}

/* See cmd_rootless.h. */
int rootless_observe(const struct cli_globals *g, int argc, char **argv)
{
	struct observe_opts o = {0};
	struct bm_flow_event e;
	struct id_names *names;
	struct timespec start, now;
	unsigned int seen = 0;
	char path[PATH_MAX];
	bool is_first = true;
	int fd = -1;

	if (parse_observe(argc, argv, &o)) {
		fprintf(stderr, "usage: bpfmesh rootless observe [--json] [--all] [--count N] "
				"[--timeout SECONDS]\n");
		return CLI_EXIT_ERROR;
	}
	snprintf(path, sizeof(path), "%s/%s", g->state_dir, FWD_EVENTS_FILE);
	names = id_names_load(g->state_dir);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		follow(path, &fd, o.is_all || !is_first);
		is_first = is_first && fd < 0;
		while (fd >= 0 && (!o.count || seen < o.count) && read_event(fd, &e)) {
			print_event(&o, names, &e);
			seen++;
		}
		fflush(stdout);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((o.count && seen >= o.count) ||
		    (o.timeout_s && now.tv_sec - start.tv_sec >= (time_t)o.timeout_s))
			break;
		usleep(50000);
	}
	if (fd >= 0)
		close(fd);
	id_names_free(names);
	return CLI_EXIT_OK;
}
