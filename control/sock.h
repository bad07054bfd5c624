/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Socket-level enforcement as userland sees it (bpf/abi/sock.h): the cgroup
 * connect/sendmsg hooks, sockops and the sk_msg fast path, attached per
 * workload cgroup (or once at the root of a cgroup2 mount for the whole
 * node) with links pinned under PIN_DIR/sock/<cgroup id>/, and the
 * cgroup -> workload map. Implemented by sock_loader.c, the only file that
 * includes the socket skeletons.
 */
#ifndef BM_SOCK_H
#define BM_SOCK_H

#include <stdbool.h>
#include <stdint.h>

#include <abi/abi.h>

#define SOCK_PIN_SUBDIR "sock"

/*
 * The cgroup v2 id of the cgroup directory path (its inode number). Returns
 * 0, -ENOTDIR/-ENOENT, or -EMEDIUMTYPE when path is not on a cgroup2 mount
 * (logged).
 */
int sock_cgroup_id(const char *path, uint64_t *id);

/*
 * Attach bm_connect4/6, bm_sendmsg4/6 and bm_sockops to the cgroup at
 * cg_path through bpf links pinned under pin_dir, and bm_skmsg to the pinned
 * bm_sockhash; the programs share every pinned map (created when missing).
 * Descendant cgroups inherit the programs. With w not NULL, cg_path is the
 * cgroup of workload w (see sock_set_workload()), recorded before the first
 * program is attached so no connect() is judged without it. Already
 * attached: w is recorded and -EEXIST returned. On error nothing stays
 * attached. Returns 0 or -errno.
 */
int sock_attach(const char *pin_dir, const char *cg_path, const struct bm_cgroup_ident *w);

/* Are the programs attached to cgroup id (is its link pin there)? */
bool sock_is_attached(const char *pin_dir, uint64_t cg_id);

/*
 * Remove the pinned links of cgroup cg_id (the programs detach with them)
 * and its bm_cgroup_ids entry. -ENOENT when neither existed.
 */
int sock_detach(const char *pin_dir, uint64_t cg_id);

/*
 * Make cg_id the cgroup of workload w (BM_CG_F_* in w->flags). The pinned
 * map must exist (sock_attach() creates it). Returns 0 or -errno.
 */
int sock_set_workload(const char *pin_dir, uint64_t cg_id, const struct bm_cgroup_ident *w);

#endif /* BM_SOCK_H */
