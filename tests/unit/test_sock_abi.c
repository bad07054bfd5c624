// SPDX-License-Identifier: GPL-2.0-only
/* Socket-level ABI layout (bpf/abi/sock.h) and the userland pieces that need no root.
 * ctest-labels: unit sockets
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <abi/abi.h>

#include "bm_test.h"
#include "cmd_sock.h"
#include "sock.h"

static void test_sock_abi_sizes(void)
{
	CU_ASSERT_EQUAL(sizeof(struct bm_cgroup_ident), 32);
	CU_ASSERT_EQUAL(sizeof(struct bm_sock_conn), 72);
}

static void test_sock_abi_offsets(void)
{
	CU_ASSERT_EQUAL(offsetof(struct bm_cgroup_ident, addr6), 8);
	CU_ASSERT_EQUAL(offsetof(struct bm_cgroup_ident, addr4), 24);
	CU_ASSERT_EQUAL(offsetof(struct bm_sock_conn, generation), 16);
	CU_ASSERT_EQUAL(offsetof(struct bm_sock_conn, psrc), 32);
	CU_ASSERT_EQUAL(offsetof(struct bm_sock_conn, pdst), 48);
	CU_ASSERT_EQUAL(offsetof(struct bm_sock_conn, dport), 64);
	CU_ASSERT_EQUAL(offsetof(struct bm_sock_conn, src_family), 71);
}

/* Pinned names must fit BPF_OBJ_NAME_LEN (16 with the NUL). */
static void test_sock_abi_map_names(void)
{
	CU_ASSERT(strlen(BM_MAP_CGROUP_IDS) < 16);
	CU_ASSERT(strlen(BM_MAP_SOCK_CONNS) < 16);
	CU_ASSERT(strlen(BM_MAP_SOCKHASH) < 16);
	CU_ASSERT(strlen(BM_MAP_SOCK_PEND) < 16);
}

static void test_sock_abi_flags_disjoint(void)
{
	CU_ASSERT_EQUAL(BM_CG_F_HAS_V4 & (BM_CG_F_HAS_V6 | BM_CG_F_FASTPATH), 0);
	CU_ASSERT((BM_CONN_F_REPLY | BM_CONN_F_FASTPATH | BM_CONN_F_SRC_HOST | BM_CONN_F_REDIRECT |
		   BM_CONN_F_NO_REDIRECT) <= 0xff); /* bm_sock_conn.flags is a __u8 */
}

static void test_sock_cgroup_id_rejects_non_cgroup2(void)
{
	uint64_t id = 0;

	CU_ASSERT_EQUAL(sock_cgroup_id("/proc", &id), -EMEDIUMTYPE);
	CU_ASSERT_EQUAL(sock_cgroup_id("/nonexistent-bpfmesh-path", &id), -ENOENT);
	CU_ASSERT_EQUAL(id, 0);
}

static void test_sock_cmd_wants_cgroup(void)
{
	char *with[] = {"attach", "--cgroup", "/x", NULL};
	char *without[] = {"attach", "eth0", "--mode", "generic", NULL};

	CU_ASSERT_TRUE(cmd_sock_wants(3, with));
	CU_ASSERT_FALSE(cmd_sock_wants(4, without));
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"sizes", test_sock_abi_sizes},
		{"offsets", test_sock_abi_offsets},
		{"map_names", test_sock_abi_map_names},
		{"flags_disjoint", test_sock_abi_flags_disjoint},
		{"cgroup_id_rejects_non_cgroup2", test_sock_cgroup_id_rejects_non_cgroup2},
		{"cmd_wants_cgroup", test_sock_cmd_wants_cgroup},
		{NULL, NULL},
	};

	return bm_test_add_suite("sock_abi", NULL, NULL, cases);
}
