/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Continuous authorization: turns handshake results into auth map entries
 * and keeps them true. An entry (src sec_id, dst sec_id) lives until the
 * earlier of both documents' not_after and now + the policy TTL; it is
 * due for re-authentication reauth_margin before that; it goes at once when
 * a serial of either chain is revoked or an identity rotates.
 *
 * The auth map itself is reached through ops so that this library needs no
 * libbpf: control/ plugs in the pinned bm_auth map, tests plug in a table.
 * Expiry is written in CLOCK_BOOTTIME nanoseconds (what bpf_ktime_get_boot_ns
 * returns); documents speak wall-clock seconds, so every conversion takes
 * one sample of both clocks (struct ident_clock). Not thread-safe.
 */
#ifndef BM_IDENT_AUTHZ_H
#define BM_IDENT_AUTHZ_H

#include <stdint.h>

#include "ident_crl.h"
#include "ident_hs.h"

#define IDENT_AUTHZ_PEER_TO_LOCAL (1U << 0) /* what this node's ingress sees */
#define IDENT_AUTHZ_LOCAL_TO_PEER (1U << 1)

struct ident_authz_ops {
	int (*write_auth)(void *ctx, uint32_t src_id, uint32_t dst_id, uint64_t expires_boot_ns,
			  uint64_t handshake_id);
	int (*delete_auth)(void *ctx, uint32_t src_id, uint32_t dst_id);
	void *ctx;
};

struct ident_authz_config {
	uint64_t policy_ttl_ns; /* upper bound of an entry's life; 0: no bound */
	uint64_t reauth_margin_ns; /* re-authenticate this long before expiry */
	unsigned int directions; /* IDENT_AUTHZ_*; 0: PEER_TO_LOCAL */
};

/* One sample of both clocks. */
struct ident_clock {
	int64_t real_ns; /* CLOCK_REALTIME */
	uint64_t boot_ns; /* CLOCK_BOOTTIME */
};

/* One authenticated pair, as the caller sees it when it is due. */
struct ident_authz_session {
	uint32_t local_id, peer_id;
	uint64_t expires_boot_ns;
	uint64_t reauth_boot_ns;
	uint64_t handshake_id;
	uint64_t serials[2 * IDENT_CHAIN_MAX]; /* every serial of both chains */
	unsigned int n_serials;
	int is_due_reported; /* due_fn already called for this grant */
};

typedef void (*ident_authz_due_fn)(void *ctx, const struct ident_authz_session *s);

/* Sample both clocks now. Cannot fail on Linux. */
void ident_clock_now(struct ident_clock *c);

/* A new authorizer; NULL with errno ENOMEM. ops and cfg are copied. */
struct ident_authz *ident_authz_new(const struct ident_authz_ops *ops,
				    const struct ident_authz_config *cfg);

/* Free the authorizer. Entries already written stay in the map. NULL-safe. */
void ident_authz_free(struct ident_authz *az);

/*
 * Record a successful handshake: write the entries with their expiry and
 * remember the session (replacing one for the same pair: re-authentication
 * extends it). Returns 0, -EKEYEXPIRED (the documents or the TTL leave no
 * lifetime), -ENOMEM, or the write_auth error (nothing remembered).
 */
int ident_authz_grant(struct ident_authz *az, const struct ident_hs_result *res,
		      const struct ident_clock *now);

/*
 * Housekeeping at now: delete sessions that have expired, and call due (may
 * be NULL) once per grant for sessions whose re-authentication time came.
 * Returns the number of sessions deleted, or a delete_auth error.
 */
int ident_authz_tick(struct ident_authz *az, const struct ident_clock *now, ident_authz_due_fn due,
		     void *ctx);

/*
 * Delete at once every session with a serial revoked by crl. Returns the
 * number deleted or a delete_auth error.
 */
int ident_authz_revoke(struct ident_authz *az, const struct ident_crl *crl);

/*
 * Delete at once every session involving numeric identity id (its document
 * rotated, or its workload left). Returns the number deleted or an error.
 */
int ident_authz_forget(struct ident_authz *az, uint32_t id);

/* The earliest boot-time instant tick has work (UINT64_MAX: none). */
uint64_t ident_authz_next_deadline(const struct ident_authz *az);

/* Number of live sessions. */
unsigned int ident_authz_count(const struct ident_authz *az);

#endif /* BM_IDENT_AUTHZ_H */
