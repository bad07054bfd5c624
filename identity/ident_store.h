/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Files of the identity state: STATE_DIR/identity/ (0700) holds
 *   trust.bundle  the trust anchor (domain + root public key)
 *   root.key      root signing key, only where the trust domain was created
 *   node.key      this node's signing key     node.doc   its certificate
 *   crl.bin       the newest signed revocation list
 * Every file is written 0600 through a temporary file and rename(2). Secret
 * files and the directory are refused when group or others have any access
 * or when another user owns them.
 */
#ifndef BM_IDENT_STORE_H
#define BM_IDENT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ident_cert.h"
#include "ident_crl.h"
#include "ident_trust.h"

#define IDENT_KEY_MAGIC "BMSK"
#define IDENT_KEY_FILE_LEN 72 /* magic 4, format 1, pad 3, Ed25519 secret key 64 */
#define IDENT_PATH_MAX 4096

#define IDENT_FILE_TRUST "trust.bundle"
#define IDENT_FILE_ROOT_KEY "root.key"
#define IDENT_FILE_NODE_KEY "node.key"
#define IDENT_FILE_NODE_DOC "node.doc"
#define IDENT_FILE_CRL "crl.bin"

/*
 * Resolve STATE_DIR/identity into dir. With is_create, create STATE_DIR and
 * it (0700) when missing. Refuses (-EPERM) an identity directory with any
 * group/other permission bit or another owner, and a state directory that
 * group or others may write. Returns 0, -ENAMETOOLONG or -errno of mkdir/stat.
 */
int ident_store_dir(const char *state_dir, int is_create, char *dir, size_t cap);

/* Join dir and name into out. Returns 0 or -ENAMETOOLONG. */
int ident_store_path(const char *dir, const char *name, char *out, size_t cap);

/*
 * Read a whole file of at most max bytes into a malloc'd *buf (caller frees;
 * callers of secret files sodium_memzero it first). With is_secret, refuse
 * (-EPERM) a file readable by group/others or owned by another user.
 * Returns 0, -EFBIG, -ENOMEM or -errno.
 */
int ident_file_read(const char *path, int is_secret, size_t max, uint8_t **buf, size_t *len);

/* Write buf to path atomically with mode 0600. Returns 0 or -errno. */
int ident_file_write(const char *path, const void *buf, size_t len);

/* Does path exist? Cannot fail. */
int ident_file_exists(const char *path);

/* Store / load a 64-byte Ed25519 secret key (secret file rules apply). */
int ident_key_save(const char *path, const uint8_t *sk);
int ident_key_load(const char *path, uint8_t *sk);

/* Load a document file and decode it. Returns 0, -EBADMSG or -errno. */
int ident_doc_load(const char *path, struct ident_doc *d);

/* Encode and store a document. Returns 0 or -errno. */
int ident_doc_save(const char *path, const struct ident_doc *d);

/* Load dir's trust bundle. Returns 0, -ENOENT (not initialised), -EBADMSG. */
int ident_trust_load(const char *dir, struct ident_trust *t);

/*
 * Load and verify dir's revocation list into crl (released first). A missing
 * file gives an empty list. Returns 0 or the ident_crl_decode error.
 */
int ident_crl_load(const char *dir, const struct ident_trust *t, struct ident_crl *crl);

#endif /* BM_IDENT_STORE_H */
