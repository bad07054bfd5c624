// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfmesh apply: read Kubernetes manifests (files, directories, stdin) into
 * the workload model and the policy model. With --dry-run, print one line per
 * object and every warning; nothing needs an agent.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cmd_apply.h"
#include "log.h"
#include "manifest.h"
#include "workload_model.h"

#define STDIN_MAX (64u << 20)

struct apply_opts {
	struct wl_load_opts load;
	bool is_dry_run;
	char **files; /* expanded inputs, owned */
	size_t n_files;
	char *stdin_buf; /* "-", read once, kept for sending */
	size_t stdin_len;
};

static int add_file(struct apply_opts *o, const char *path)
{
	char **grown = realloc(o->files, (o->n_files + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	o->files = grown;
	o->files[o->n_files] = strdup(path);
	return o->files[o->n_files++] ? 0 : -ENOMEM;
}

static int is_manifest_name(const struct dirent *d)
{
	const char *dot = strrchr(d->d_name, '.');

	return d->d_name[0] != '.' && dot &&
	       (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json"));
}

/* A directory's *.yaml, *.yml and *.json files, sorted by name (not recursive). */
static int add_dir(struct apply_opts *o, const char *dir)
{
	struct dirent **names = NULL;
	char path[4096];
	int i, n, err = 0;

	n = scandir(dir, &names, is_manifest_name, alphasort);
	if (n < 0) {
		err = -errno;
		pr_warn("read directory %s: %s", dir, strerror(errno));
		return err;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (!err)
			err = add_file(o, path);
		free(names[i]);
	}
	free(names);
	return err;
}

static int add_input(struct apply_opts *o, const char *arg)
{
	struct stat st;

	if (strcmp(arg, "-") && !stat(arg, &st) && S_ISDIR(st.st_mode))
		return add_dir(o, arg);
	return add_file(o, arg);
}

/* All of stdin into *buf (owned). */
static int read_stdin(char **buf, size_t *len)
{
	size_t cap = 65536, n = 0, got;
	char *b = malloc(cap), *grown;

	while (b && (got = fread(b + n, 1, cap - n, stdin)) > 0) {
		n += got;
		if (n == cap && cap < STDIN_MAX) {
			grown = realloc(b, cap * 2);
			if (!grown)
				break;
			b = grown;
			cap *= 2;
		}
		if (n == cap)
			break;
	}
	if (!b || ferror(stdin) || n == cap) {
		free(b);
		return !b ? -ENOMEM : n == cap ? -EFBIG : -EIO;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Is path "kind" or "....kind" (a List item's)? */
static bool is_kind_path(const char *path)
{
	size_t len = path ? strlen(path) : 0;

	return len >= 4 && !strcmp(path + len - 4, "kind") && (len == 4 || path[len - 5] == '.');
}

/* manifest.c warns about the workload kinds; those are ours, so drop the warning. */
static bool is_our_kind_warning(const struct manifest_msg *msg)
{
	char kind[64];

	return msg->severity == MANIFEST_WARNING && is_kind_path(msg->path) && msg->message &&
	       sscanf(msg->message, "unsupported kind %63s", kind) == 1 &&
	       wl_kind_is_workload(kind);
}

static void print_diag(const struct manifest_diag *d, bool skip_ours, bool is_strict,
		       size_t *n_errors)
{
	const struct manifest_msg *msg;
	size_t i;

	for (i = 0; i < d->n; i++) {
		msg = &d->msgs[i];
		if (skip_ours && is_our_kind_warning(msg))
			continue;
		fprintf(stderr, "%s\n", msg->text ? msg->text : "(out of memory)");
		if (msg->severity == MANIFEST_ERROR || is_strict)
			(*n_errors)++;
	}
	if (d->n_errors + d->n_warnings > d->n) {
		fprintf(stderr, "(%zu more messages)\n", d->n_errors + d->n_warnings - d->n);
		*n_errors += d->n_errors > d->n ? d->n_errors - d->n : 0;
	}
}

/* Load one input into both models; messages into wd and pd. */
static int load_one(struct apply_opts *o, const char *name, struct wl_model *wm,
		    struct pm_model *pm, struct manifest_diag *wd, struct manifest_diag *pd)
{
	const char *paths[] = {name};
	char *buf = NULL;
	size_t len = 0;
	int err = 0, werr, perr;

	if (!strcmp(name, "-")) {
		if (o->stdin_buf) {
			fprintf(stderr, "-: stdin given twice\n");
			return -EINVAL;
		}
		err = read_stdin(&buf, &len);
		if (err) {
			fprintf(stderr, "-: read stdin: %s\n", strerror(-err));
			return err;
		}
		o->stdin_buf = buf;
		o->stdin_len = len;
	}
	werr = wl_load(wm, name, buf, len, &o->load, wd);
	if (werr && werr != -EINVAL) { /* unreadable: reported once, in wd */
		if (!wd->n)
			fprintf(stderr, "%s: %s\n", name, strerror(-werr));
		return werr;
	}
	perr = buf ? manifest_load_buffer(pm, name, buf, len, NULL, pd)
		   : manifest_load_files(pm, paths, 1, NULL, pd);
	return werr ? werr : perr;
}

static int parse_args(int argc, char **argv, struct apply_opts *o)
{
	static const struct option longopts[] = {
		{"filename", required_argument, NULL, 'f'},
		{"dry-run", optional_argument, NULL, 'n'},
		{"strict", no_argument, NULL, 's'},
		{"trust-domain", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	int opt, err = 0;

	optind = 1;
	while (!err && (opt = getopt_long(argc, argv, "f:", longopts, NULL)) != -1) {
		if (opt == 'f')
			err = add_input(o, optarg);
		else if (opt == 'n')
			o->is_dry_run = !optarg || strcmp(optarg, "none");
		else if (opt == 's')
			o->load.is_strict = true;
		else if (opt == 't')
			o->load.trust_domain = optarg;
		else
			err = -EINVAL;
	}
	if (!err && (optind != argc || !o->n_files)) {
		fprintf(stderr, "bpfmesh apply: %s\n",
			optind != argc ? "unexpected argument" : "no input (-f FILE|DIR|-)");
		err = -EINVAL;
	}
	return err;
}

static void free_opts(struct apply_opts *o)
{
	size_t i;

	for (i = 0; i < o->n_files; i++)
		free(o->files[i]);
	free(o->files);
	free(o->stdin_buf);
}

/* Hand the accepted objects to the local agent (apply or delete). */
static int send_to_agent(const struct cli_globals *g, const struct apply_opts *o, bool is_delete)
{
	json_t *wls = json_array(), *pol = json_array();
	int err = wls && pol ? 0 : -ENOMEM;

	if (!err)
		err = apply_split(o->files, o->n_files, o->stdin_buf, o->stdin_len, wls, pol);
	if (err) {
		fprintf(stderr, "bpfmesh: %s: %s\n", is_delete ? "delete" : "apply",
			strerror(-err));
		json_decref(wls);
		json_decref(pol);
		return CLI_EXIT_ERROR;
	}
	return apply_call_agent(g->state_dir, json_pack("{s:s, s:o, s:o}", "op",
							is_delete ? "wl-delete" : "wl-apply",
							"workloads", wls, "policy", pol));
}

/*
 * See cmd_apply.h. Exit 0 when everything was accepted (and, without
 * --dry-run, applied), 1 when anything was rejected (an error, or any warning
 * under --strict; then nothing is sent), 2 on usage or I/O errors.
 */
int apply_run(const struct cli_globals *g, int argc, char **argv, bool is_delete)
{
	struct manifest_diag wd, pd;
	struct apply_opts o = {0};
	struct wl_model *wm = wl_model_new();
	struct pm_model *pm = pm_model_new();
	int ret = CLI_EXIT_ERROR, err = 0;
	size_t i, n_before, n_errors = 0;

	manifest_diag_init(&wd);
	manifest_diag_init(&pd);
	if (!wm || !pm || parse_args(argc, argv, &o))
		goto out;
	for (i = 0; i < o.n_files && err != -ENOMEM; i++) {
		n_before = wd.n_errors + pd.n_errors;
		err = load_one(&o, o.files[i], wm, pm, &wd, &pd);
		if (err && wd.n_errors + pd.n_errors == n_before) /* not counted in a diag */
			n_errors++;
	}
	print_diag(&wd, false, o.load.is_strict, &n_errors);
	print_diag(&pd, true, o.load.is_strict, &n_errors);
	if (!is_delete)
		n_errors += apply_check_refs(wm, o.load.is_strict, stderr);
	if (o.is_dry_run) {
		apply_print_objects(wm, pm, stdout);
		err = apply_print_placement(wm, stdout, stderr);
		if (err < 0 || (err > 0 && o.load.is_strict))
			n_errors += err < 0 ? 1 : (size_t)err;
	}
	if (n_errors)
		fprintf(stderr, "bpfmesh %s: rejected (%zu error%s); nothing %s\n",
			is_delete ? "delete" : "apply", n_errors, n_errors == 1 ? "" : "s",
			o.is_dry_run ? "would be applied" : "was applied");
	ret = n_errors	     ? CLI_EXIT_DENY
	      : o.is_dry_run ? CLI_EXIT_OK
			     : send_to_agent(g, &o, is_delete);
out:
	manifest_diag_release(&wd);
	manifest_diag_release(&pd);
	wl_model_free(wm);
	pm_model_free(pm);
	free_opts(&o);
	return ret;
}

/* See cli.h. */
int cmd_apply(const struct cli_globals *g, int argc, char **argv)
{
	return apply_run(g, argc, argv, false);
}
