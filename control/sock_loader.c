// SPDX-License-Identifier: GPL-2.0-only
/*
 * Owner of the socket-level skeletons (sock_connect, sockops, skmsg): loads
 * them with their maps reused from (or created at) the pin directory,
 * attaches the cgroup programs through pinned bpf links and the sk_msg
 * program to the pinned sockhash, and detaches by removing the link pins.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sock_connect.skel.h"
#include "sockops.skel.h"
#include "skmsg.skel.h"

#include "bpffs.h"
#include "log.h"
#include "pinned.h"
#include "sock.h"

struct sock_objs {
	struct sock_connect *connect;
	struct sockops *ops;
	struct skmsg *msg;
};

/* Cgroup programs and the name of each one's link pin. */
struct cg_prog {
	const char *pin_name;
	struct bpf_program *prog;
};

#define NR_CG_PROGS 5

/* See sock.h. */
int sock_cgroup_id(const char *path, uint64_t *id)
{
	struct statfs sfs;
	struct stat st;
	int err;

	if (stat(path, &st) || statfs(path, &sfs)) {
		err = -errno;
		pr_warn("cgroup %s: %s", path, strerror(-err));
		return err;
	}
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		pr_warn("cgroup %s: not on a cgroup2 filesystem", path);
		return -EMEDIUMTYPE;
	}
	*id = (uint64_t)st.st_ino; /* kernfs: the inode number is the cgroup id */
	return 0;
}

static void cg_pin_dir(const char *pin_dir, uint64_t cg_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%llu", pin_dir, SOCK_PIN_SUBDIR, (unsigned long long)cg_id);
}

static void objs_destroy(struct sock_objs *o)
{
	skmsg__destroy(o->msg);
	sockops__destroy(o->ops);
	sock_connect__destroy(o->connect);
}

static int objs_load(const char *pin_dir, struct sock_objs *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	int err;

	o->connect = sock_connect__open_opts(&opts);
	o->ops = sockops__open_opts(&opts);
	o->msg = skmsg__open_opts(&opts);
	if (!o->connect || !o->ops || !o->msg) {
		err = -errno;
		pr_warn("open socket BPF objects: %s", strerror(-err));
		return err;
	}
	err = sock_connect__load(o->connect);
	if (!err)
		err = sockops__load(o->ops);
	if (!err)
		err = skmsg__load(o->msg);
	if (err)
		pr_warn("load socket BPF objects (maps pinned under %s): %s", pin_dir,
			strerror(-err));
	return err;
}

static void unpin_links(const char *dir, const struct cg_prog *progs, int n)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, progs[i].pin_name);
		unlink(path);
	}
	rmdir(dir);
}

/* Attach every program to cg_fd, pinning each link under dir. All or nothing. */
static int attach_cgroup(int cg_fd, const char *dir, const struct cg_prog *progs)
{
	char path[PATH_MAX];
	struct bpf_link *link;
	int i, err = 0;

	for (i = 0; i < NR_CG_PROGS && !err; i++) {
		link = bpf_program__attach_cgroup(progs[i].prog, cg_fd);
		if (!link) {
			err = -errno;
			pr_warn("attach %s to cgroup: %s", progs[i].pin_name, strerror(-err));
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, progs[i].pin_name);
		err = bpf_link__pin(link, path);
		if (err)
			pr_warn("pin link %s: %s", path, strerror(-err));
		bpf_link__destroy(link); /* the pin, if any, keeps it attached */
	}
	if (err)
		unpin_links(dir, progs, i);
	return err;
}

/*
 * bm_skmsg on the sockhash. A sockhash keeps one msg program; attaching
 * again replaces it for sockets added from now on. Must precede sockops:
 * a socket takes the map's programs when it is inserted.
 */
static int attach_skmsg(struct sock_objs *o)
{
	int err;

	err = bpf_prog_attach(bpf_program__fd(o->msg->progs.bm_skmsg),
			      bpf_map__fd(o->msg->maps.bm_sockhash), BPF_SK_MSG_VERDICT, 0);
	if (err)
		pr_warn("attach %s to %s: %s", "bm_skmsg", BM_MAP_SOCKHASH, strerror(-err));
	return err;
}

/* See sock.h. */
int sock_attach(const char *pin_dir, const char *cg_path, const struct bm_cgroup_ident *w)
{
	struct sock_objs o = {0};
	struct cg_prog progs[NR_CG_PROGS];
	char dir[PATH_MAX];
	uint64_t cg_id;
	int cg_fd, err;

	err = sock_cgroup_id(cg_path, &cg_id);
	if (err)
		return err;
	if (sock_is_attached(pin_dir, cg_id)) {
		err = w ? sock_set_workload(pin_dir, cg_id, w) : 0;
		return err ? err : -EEXIST;
	}
	err = bpffs_prepare(pin_dir);
	if (err)
		return err;
	cg_fd = open(cg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		pr_warn("open cgroup %s: %s", cg_path, strerror(-err));
		return err;
	}
	err = objs_load(pin_dir, &o);
	if (err)
		goto out;
	if (w) {
		err = bpf_map_update_elem(bpf_map__fd(o.connect->maps.bm_cgroup_ids), &cg_id, w,
					  BPF_ANY);
		if (err) {
			pr_warn("update %s: %s", BM_MAP_CGROUP_IDS, strerror(-err));
			goto out;
		}
	}
	err = attach_skmsg(&o);
	if (err)
		goto out;
	progs[0] = (struct cg_prog){"connect4", o.connect->progs.bm_connect4};
	progs[1] = (struct cg_prog){"connect6", o.connect->progs.bm_connect6};
	progs[2] = (struct cg_prog){"sendmsg4", o.connect->progs.bm_sendmsg4};
	progs[3] = (struct cg_prog){"sendmsg6", o.connect->progs.bm_sendmsg6};
	progs[4] = (struct cg_prog){"sockops", o.ops->progs.bm_sockops};
	snprintf(dir, sizeof(dir), "%s/%s", pin_dir, SOCK_PIN_SUBDIR);
	mkdir(dir, 0700);
	cg_pin_dir(pin_dir, cg_id, dir, sizeof(dir));
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		pr_warn("mkdir %s: %s", dir, strerror(-err));
		goto out;
	}
	err = attach_cgroup(cg_fd, dir, progs);
out:
	objs_destroy(&o);
	close(cg_fd);
	return err;
}

/* See sock.h. */
bool sock_is_attached(const char *pin_dir, uint64_t cg_id)
{
	char path[PATH_MAX];

	cg_pin_dir(pin_dir, cg_id, path, sizeof(path));
	strncat(path, "/connect4", sizeof(path) - strlen(path) - 1);
	return access(path, F_OK) == 0;
}

/* Remove every pin in dir and dir itself; returns how many links there were. */
static int remove_link_pins(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!unlink(path))
			n++;
	}
	closedir(d);
	rmdir(dir);
	return n;
}

/* See sock.h. */
int sock_detach(const char *pin_dir, uint64_t cg_id)
{
	char dir[PATH_MAX];
	int fd, nr_links, err = -ENOENT;

	cg_pin_dir(pin_dir, cg_id, dir, sizeof(dir));
	nr_links = remove_link_pins(dir);
	snprintf(dir, sizeof(dir), "%s/%s", pin_dir, BM_MAP_CGROUP_IDS);
	fd = access(dir, F_OK) ? -ENOENT : pinned_map_fd(pin_dir, BM_MAP_CGROUP_IDS);
	if (fd >= 0) {
		if (!bpf_map_delete_elem(fd, &cg_id))
			err = 0;
		close(fd);
	}
	return nr_links ? 0 : err;
}

/* See sock.h. */
int sock_set_workload(const char *pin_dir, uint64_t cg_id, const struct bm_cgroup_ident *w)
{
	int fd, err;

	fd = pinned_map_fd(pin_dir, BM_MAP_CGROUP_IDS);
	if (fd < 0)
		return fd;
	err = bpf_map_update_elem(fd, &cg_id, w, BPF_ANY);
	if (err)
		pr_warn("update %s: %s", BM_MAP_CGROUP_IDS, strerror(-err));
	close(fd);
	return err;
}
