// SPDX-License-Identifier: GPL-2.0-only
/* The loaded policy's sources, kept in STATE_DIR/policy/. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpffs.h"
#include "id_names.h"
#include "log.h"
#include "manifest.h"
#include "policy_store.h"

#define MAX_SOURCE_BYTES (64u << 20)

static int read_stream(FILE *f, char **data, size_t *len)
{
	size_t cap = 4096, n = 0, got;
	char *buf = malloc(cap + 1), *grown;

	if (!buf)
		return -ENOMEM;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n < cap)
			continue;
		if (cap >= MAX_SOURCE_BYTES) {
			free(buf);
			return -EFBIG;
		}
		cap *= 2;
		grown = realloc(buf, cap + 1);
		if (!grown) {
			free(buf);
			return -ENOMEM;
		}
		buf = grown;
	}
	if (ferror(f)) {
		free(buf);
		return -EIO;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

/* See policy_store.h. */
int policy_sources_read(struct policy_sources *srcs, const char *path)
{
	bool is_stdin = !strcmp(path, "-");
	struct policy_source *grown, *s;
	FILE *f = is_stdin ? stdin : fopen(path, "r");
	int err;

	if (!f) {
		err = -errno;
		pr_warn("open %s: %s", path, strerror(errno));
		return err;
	}
	grown = realloc(srcs->items, (srcs->n + 1) * sizeof(*grown));
	if (!grown) {
		err = -ENOMEM;
		goto out;
	}
	srcs->items = grown;
	s = &srcs->items[srcs->n];
	memset(s, 0, sizeof(*s));
	err = read_stream(f, &s->data, &s->len);
	if (err) {
		pr_warn("read %s: %s", path, strerror(-err));
		goto out;
	}
	s->name = strdup(path);
	if (!s->name) {
		free(s->data);
		err = -ENOMEM;
		goto out;
	}
	srcs->n++;
out:
	if (!is_stdin)
		fclose(f);
	return err;
}

/* See policy_store.h. */
void policy_sources_free(struct policy_sources *srcs)
{
	size_t i;

	if (!srcs)
		return;
	for (i = 0; i < srcs->n; i++) {
		free(srcs->items[i].name);
		free(srcs->items[i].data);
	}
	free(srcs->items);
	srcs->items = NULL;
	srcs->n = 0;
}

/* See policy_store.h. */
int policy_store_prepare_dir(const char *dir)
{
	struct stat st;
	int err;

	err = bpffs_mkdir_p(dir, 0700);
	if (err) {
		pr_warn("create state directory %s: %s", dir, strerror(-err));
		return err;
	}
	if (stat(dir, &st))
		return -errno;
	if (st.st_mode & 0022) {
		pr_warn("state directory %s is writable by group or others (mode %03o): "
			"chmod go-w it",
			dir, st.st_mode & 0777);
		return -EPERM;
	}
	return 0;
}

static int remove_tree(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir) ? -errno : 0;
}

static int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fwrite(data, 1, len, f) != len)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* See policy_store.h. Layout: policy/NNN.src holds a source, policy/NNN.name its name. */
int policy_store_save(const char *state_dir, const struct policy_sources *srcs,
		      const struct pm_model *m, const char *node)
{
	char dir_new[PATH_MAX], dir_cur[PATH_MAX], dir_old[PATH_MAX], path[PATH_MAX + 32];
	char ids_new[PATH_MAX], ids[PATH_MAX];
	size_t i;
	int err;

	err = policy_store_prepare_dir(state_dir);
	if (err)
		return err;
	snprintf(dir_new, sizeof(dir_new), "%s/policy.new", state_dir);
	snprintf(dir_cur, sizeof(dir_cur), "%s/policy", state_dir);
	snprintf(dir_old, sizeof(dir_old), "%s/policy.old", state_dir);
	remove_tree(dir_new);
	if (mkdir(dir_new, 0700))
		return -errno;
	for (i = 0; i < srcs->n && !err; i++) {
		snprintf(path, sizeof(path), "%s/%03zu.src", dir_new, i);
		err = write_file(path, srcs->items[i].data, srcs->items[i].len);
		snprintf(path, sizeof(path), "%s/%03zu.name", dir_new, i);
		if (!err)
			err = write_file(path, srcs->items[i].name, strlen(srcs->items[i].name));
	}
	snprintf(path, sizeof(path), "%s/node", dir_new);
	if (!err)
		err = write_file(path, node, strlen(node));
	snprintf(ids_new, sizeof(ids_new), "%s/identities.tsv.new", state_dir);
	snprintf(ids, sizeof(ids), "%s/identities.tsv", state_dir);
	if (!err && m)
		err = id_names_write(ids_new, m);
	if (err)
		goto err_clean;
	remove_tree(dir_old);
	if (rename(dir_cur, dir_old) && errno != ENOENT)
		goto err_errno;
	if (rename(dir_new, dir_cur) || (m && rename(ids_new, ids)))
		goto err_errno;
	remove_tree(dir_old);
	return 0;

err_errno:
	err = -errno;
err_clean:
	pr_warn("save policy to %s: %s", dir_cur, strerror(-err));
	remove_tree(dir_new);
	unlink(ids_new);
	return err;
}

static int read_whole(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "r");
	int err;

	if (!f)
		return -errno;
	err = read_stream(f, data, len);
	fclose(f);
	return err;
}

/* See policy_store.h. */
int policy_store_load(const char *state_dir, struct policy_sources *srcs, char **node)
{
	char path[PATH_MAX + 32];
	struct policy_source *grown, *s;
	size_t i, name_len;
	int err = 0;

	snprintf(path, sizeof(path), "%s/policy/node", state_dir);
	if (read_whole(path, node, &name_len))
		return -ENOENT;

	for (i = 0;; i++) {
		snprintf(path, sizeof(path), "%s/policy/%03zu.src", state_dir, i);
		if (access(path, F_OK))
			break;
		grown = realloc(srcs->items, (srcs->n + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		srcs->items = grown;
		s = &srcs->items[srcs->n];
		memset(s, 0, sizeof(*s));
		err = read_whole(path, &s->data, &s->len);
		snprintf(path, sizeof(path), "%s/policy/%03zu.name", state_dir, i);
		if (!err)
			err = read_whole(path, &s->name, &name_len);
		if (err) {
			free(s->data);
			return err;
		}
		srcs->n++;
	}
	return 0;
}

/* See policy_store.h. */
int policy_sources_model(const struct policy_sources *srcs, const char *node, struct pm_model **out)
{
	struct pm_model *m = pm_model_new();
	struct manifest_diag diag;
	size_t i;
	int err = 0;

	if (!m)
		return -ENOMEM;
	manifest_diag_init(&diag);
	for (i = 0; i < srcs->n && !err; i++)
		err = manifest_load_buffer(m, srcs->items[i].name, srcs->items[i].data,
					   srcs->items[i].len, node, &diag);
	manifest_diag_print(&diag, stderr);
	manifest_diag_release(&diag);
	if (err) {
		pm_model_free(m);
		return err;
	}
	*out = m;
	return 0;
}
