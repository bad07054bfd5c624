// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh rootless status|exec|observe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <abi/abi.h>

#include "cli.h"
#include "cmd_rootless.h"
#include "flow_json.h"
#include "fwd.h"
#include "id_names.h"
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
	struct flow_filter filter; /* the same selection as `bpfmesh observe` */
	bool is_json;
	bool is_all; /* from the start of the file, not only new events */
	unsigned int count;
	unsigned int timeout_s;
};

/* Filter and print one record as `bpfmesh observe` prints an event; true if printed. */
static bool print_event(const struct observe_opts *o, const struct id_names *names,
			int64_t boot_to_real_ns, const struct bm_flow_event *e)
{
	json_t *ev = flow_json_event(e, NULL, names, boot_to_real_ns);
	bool is_shown = ev && flow_filter_match(&o->filter, ev);

	if (is_shown && o->is_json) {
		json_dumpf(ev, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (is_shown) {
		flow_json_print_line(stdout, ev);
	}
	json_decref(ev);
	return is_shown;
}

/* The member of o->filter a string option sets, or NULL. */
static const char **filter_opt(struct observe_opts *o, const char *name)
{
	static const struct {
		const char *name;
		size_t offset;
	} opts[] = {
		{"--identity", offsetof(struct flow_filter, identity)},
		{"--from", offsetof(struct flow_filter, from)},
		{"--to", offsetof(struct flow_filter, to)},
		{"--namespace", offsetof(struct flow_filter, ns)},
		{"--verdict", offsetof(struct flow_filter, verdict)},
	};
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strcmp(name, opts[i].name))
			return (const char **)((char *)&o->filter + opts[i].offset);
	return NULL;
}

static int parse_observe_one(struct observe_opts *o, const char *name, const char *value)
{
	const char **s = filter_opt(o, name);

	if (s) {
		*s = value;
		return 0;
	}
	if (!strcmp(name, "--count"))
		return cli_parse_u32(value, 1, UINT32_MAX, &o->count);
	if (!strcmp(name, "--timeout"))
		return cli_parse_u32(value, 1, 86400 * 365, &o->timeout_s);
	if (!strcmp(name, "--port")) {
		o->filter.has_port = true;
		return cli_parse_u32(value, 0, 65535, &o->filter.port);
	}
	return -EINVAL;
}

/* --local is accepted (the forwarder's file is this node's) and changes nothing. */
static int parse_observe(int argc, char **argv, struct observe_opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			o->is_json = true;
		else if (!strcmp(argv[i], "--all"))
			o->is_all = true;
		else if (!strcmp(argv[i], "--local"))
			continue;
		else if (i + 1 < argc && !parse_observe_one(o, argv[i], argv[i + 1]))
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
	int64_t boot_to_real_ns = flow_json_boot_to_real_ns();
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
				"[--timeout SECONDS]\n"
				"        [--identity ID] [--from ID] [--to ID] [--namespace NS] "
				"[--verdict V] [--port N]\n");
		return CLI_EXIT_ERROR;
	}
	snprintf(path, sizeof(path), "%s/%s", g->state_dir, FWD_EVENTS_FILE);
	names = id_names_load(g->state_dir);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		follow(path, &fd, o.is_all || !is_first);
		is_first = is_first && fd < 0;
		while (fd >= 0 && (!o.count || seen < o.count) && read_event(fd, &e)) {
			if (print_event(&o, names, boot_to_real_ns, &e))
				seen++; /* --count counts what the filter lets through */
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
