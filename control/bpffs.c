// SPDX-License-Identifier: GPL-2.0-only
/* Making sure a directory is on a BPF filesystem before we pin there. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include "bpffs.h"
#include "log.h"

#define SYS_BPFFS "/sys/fs/bpf"

/* See bpffs.h. */
bool bpffs_is_mounted_at(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return false;
	return st.f_type == BPF_FS_MAGIC;
}

/* See bpffs.h. */
int bpffs_mkdir_p(const char *path, unsigned int mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	char *p;

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static int mount_bpffs(const char *path)
{
	int err;

	err = bpffs_mkdir_p(path, 0700);
	if (err) {
		pr_warn("create %s: %s", path, strerror(-err));
		return err;
	}
	if (mount("bpf", path, "bpf", 0, "mode=0700")) {
		err = -errno;
		pr_warn("mount bpffs at %s: %s", path, strerror(errno));
		return err;
	}
	pr_info("mounted bpffs at %s", path);
	return 0;
}

/*
 * See bpffs.h. libxdp pins its dispatcher and the links holding our program
 * in a bpffs (/sys/fs/bpf by default); an attachment lives only as long as
 * those pins. Under `ip netns exec` /sys is a fresh sysfs in a private mount
 * namespace, so a bpffs we mounted there would vanish with this process and
 * silently take the enforcement with it. When the pin directory is already a
 * bpffs (mounted from the host, so it outlives us), libxdp keeps its pins
 * there instead (LIBXDP_BPFFS).
 */
int bpffs_prepare(const char *pin_dir)
{
	int err;

	if (!bpffs_is_mounted_at(SYS_BPFFS)) {
		if (bpffs_is_mounted_at(pin_dir)) {
			setenv("LIBXDP_BPFFS", pin_dir, 1);
			return 0;
		}
		err = mount_bpffs(SYS_BPFFS);
		if (err)
			return err;
	}
	err = bpffs_mkdir_p(pin_dir, 0700);
	if (err) {
		pr_warn("create pin directory %s: %s", pin_dir, strerror(-err));
		return err;
	}
	if (bpffs_is_mounted_at(pin_dir))
		return 0;
	return mount_bpffs(pin_dir);
}
