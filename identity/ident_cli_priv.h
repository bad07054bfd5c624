/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared plumbing of the identity subcommands (ident_cli*.c only). */
#ifndef BM_IDENT_CLI_PRIV_H
#define BM_IDENT_CLI_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "ident_cert.h"
#include "ident_cli.h"
#include "ident_crl.h"
#include "ident_store.h"
#include "ident_trust.h"

/* The state every action starts from. */
struct icli {
	const char *state_dir;
	char dir[IDENT_PATH_MAX]; /* STATE_DIR/identity */
	struct ident_trust trust;
	int64_t now;
};

/*
 * Resolve and check the identity directory (creating it with is_create) and,
 * with need_trust, load the trust bundle. Prints why on failure. Returns 0
 * or -errno.
 */
int icli_open(struct icli *c, const char *state_dir, int is_create, int need_trust);

/* dir/name into path; prints on failure. Returns 0 or -ENAMETOOLONG. */
int icli_path(const struct icli *c, const char *name, char *path, size_t cap);

/* Print "bpfmesh: identity ACTION: WHAT: strerror(-err)" and return exit status 2. */
int icli_fail(const char *action, const char *what, int err);

/* Load a secret key from dir (root.key, node.key); prints on failure. */
int icli_load_key(const struct icli *c, const char *name, uint8_t *sk);

/* Store a document at path and its secret key at path.key. Returns 0 or -errno. */
int icli_save_pair(const char *path, const struct ident_doc *d, const uint8_t *sk);

/*
 * Add serials to the revocation list with the root key: load, add, bump
 * version, sign, store. *version receives the new list version. Returns 0
 * or -errno (printed).
 */
int icli_revoke_serials(const struct icli *c, const uint64_t *serials, unsigned int n,
			uint64_t *version);

/* Write an empty signed revocation list (version 1). */
int icli_crl_init(const struct icli *c, const uint8_t *root_sk);

/*
 * Certify a node with the local root key and store node.key and node.doc.
 * The replaced node serial is returned in *old_serial (0: none). Prints
 * why on failure. Returns 0 or -errno.
 */
int icli_enroll_node(const struct icli *c, const char *node, int64_t ttl_s, uint64_t *old_serial);

/* Format a unix time as ISO 8601 UTC into buf (>= 32 bytes). */
const char *icli_time(int64_t t, char *buf, size_t cap);

/* Actions. argv[0] is the action name. */
int icli_init(int argc, char **argv, const char *state_dir);
int icli_enroll(int argc, char **argv, const char *state_dir);
int icli_issue(int argc, char **argv, const char *state_dir);
int icli_rotate(int argc, char **argv, const char *state_dir);
int icli_show(int argc, char **argv, const char *state_dir);
int icli_verify(int argc, char **argv, const char *state_dir);
int icli_revoke(int argc, char **argv, const char *state_dir);

#endif /* BM_IDENT_CLI_PRIV_H */
