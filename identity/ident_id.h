/* SPDX-License-Identifier: GPL-2.0-only */
/* Numeric data-plane identities derived from SPIFFE IDs. */
#ifndef BM_IDENT_ID_H
#define BM_IDENT_ID_H

#include <stdint.h>

/*
 * Derive the 32-bit security identity of a SPIFFE ID: BLAKE2b-256 of the ID
 * (personalised "bpfmesh-id-v1"), folded to 32 bits and moved out of the
 * reserved range (< BM_ID_FIRST_WORKLOAD). The same on every node.
 * Returns 0, -EINVAL if spiffe_id is not a valid spiffe:// URI, or -EIO.
 */
int ident_numeric_id(const char *spiffe_id, uint32_t *out);

/*
 * Probe k of spiffe_id's numeric identity: probe 0 is ident_numeric_id();
 * probe k > 0 hashes the ID followed by a NUL byte and k as 4 little-endian
 * bytes, same key and fold. ident_registry walks probes to resolve
 * collisions (docs/identity.md). Returns 0, -EINVAL or -EIO.
 */
int ident_numeric_id_probe(const char *spiffe_id, uint32_t k, uint32_t *out);

/* Is text a syntactically valid SPIFFE ID (spiffe://trust-domain/path)? */
int ident_spiffe_id_valid(const char *text);

#endif /* BM_IDENT_ID_H */
