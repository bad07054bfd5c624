// SPDX-License-Identifier: GPL-2.0-only
/* Continuous authorization: auth map entries that follow identity state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ident_authz.h"

#define NS_PER_S 1000000000LL

struct ident_authz {
	struct ident_authz_ops ops;
	struct ident_authz_config cfg;
	struct ident_authz_session *s;
	unsigned int n, cap;
};

/* See ident_authz.h. */
void ident_clock_now(struct ident_clock *c)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_BOOTTIME, &bt);
	clock_gettime(CLOCK_REALTIME, &rt);
	c->real_ns = (int64_t)rt.tv_sec * NS_PER_S + rt.tv_nsec;
	c->boot_ns = (uint64_t)bt.tv_sec * NS_PER_S + (uint64_t)bt.tv_nsec;
}

/* See ident_authz.h. */
struct ident_authz *ident_authz_new(const struct ident_authz_ops *ops,
				    const struct ident_authz_config *cfg)
{
	struct ident_authz *az = calloc(1, sizeof(*az));

	if (!az) {
		errno = ENOMEM;
		return NULL;
	}
	az->ops = *ops;
	az->cfg = *cfg;
	if (!az->cfg.directions)
		az->cfg.directions = IDENT_AUTHZ_PEER_TO_LOCAL;
	return az;
}

/* See ident_authz.h. */
void ident_authz_free(struct ident_authz *az)
{
	if (!az)
		return;
	free(az->s);
	free(az);
}

/* Apply fn to each map entry of s (one per configured direction). */
static int write_entries(struct ident_authz *az, const struct ident_authz_session *s)
{
	int ret = 0;

	if (az->cfg.directions & IDENT_AUTHZ_PEER_TO_LOCAL)
		ret = az->ops.write_auth(az->ops.ctx, s->peer_id, s->local_id, s->expires_boot_ns,
					 s->handshake_id);
	if (!ret && (az->cfg.directions & IDENT_AUTHZ_LOCAL_TO_PEER))
		ret = az->ops.write_auth(az->ops.ctx, s->local_id, s->peer_id, s->expires_boot_ns,
					 s->handshake_id);
	return ret;
}

static int delete_entries(struct ident_authz *az, const struct ident_authz_session *s)
{
	int ret = 0, r;

	if (az->cfg.directions & IDENT_AUTHZ_PEER_TO_LOCAL) {
		r = az->ops.delete_auth(az->ops.ctx, s->peer_id, s->local_id);
		ret = r == -ENOENT ? 0 : r;
	}
	if (az->cfg.directions & IDENT_AUTHZ_LOCAL_TO_PEER) {
		r = az->ops.delete_auth(az->ops.ctx, s->local_id, s->peer_id);
		if (!ret && r != -ENOENT)
			ret = r;
	}
	return ret;
}

/*
 * Lifetime of a grant in boot time: the earlier of the documents' not_after
 * (converted through the clock sample) and the policy TTL.
 */
static int expiry(const struct ident_authz *az, const struct ident_hs_result *res,
		  const struct ident_clock *now, struct ident_authz_session *s)
{
	int64_t left_ns, margin;

	if (res->not_after > INT64_MAX / NS_PER_S)
		left_ns = INT64_MAX;
	else
		left_ns = res->not_after * NS_PER_S - now->real_ns;
	if (az->cfg.policy_ttl_ns && (uint64_t)left_ns > az->cfg.policy_ttl_ns)
		left_ns = (int64_t)az->cfg.policy_ttl_ns;
	if (left_ns <= 0)
		return -EKEYEXPIRED;
	margin = (int64_t)az->cfg.reauth_margin_ns;
	if (margin > left_ns / 2)
		margin = left_ns / 2;
	s->expires_boot_ns = now->boot_ns + (uint64_t)left_ns;
	s->reauth_boot_ns = s->expires_boot_ns - (uint64_t)margin;
	return 0;
}

static void collect_serials(const struct ident_hs_result *res, struct ident_authz_session *s)
{
	unsigned int i;

	s->n_serials = 0;
	for (i = 0; i < res->local.n_certs; i++)
		s->serials[s->n_serials++] = res->local.certs[i].serial;
	for (i = 0; i < res->peer.n_certs; i++)
		s->serials[s->n_serials++] = res->peer.certs[i].serial;
}

static struct ident_authz_session *find_pair(struct ident_authz *az, uint32_t local, uint32_t peer)
{
	unsigned int i;

	for (i = 0; i < az->n; i++) {
		if (az->s[i].local_id == local && az->s[i].peer_id == peer)
			return &az->s[i];
	}
	return NULL;
}

static struct ident_authz_session *append(struct ident_authz *az)
{
	struct ident_authz_session *grown;

	if (az->n == az->cap) {
		unsigned int cap = az->cap ? az->cap * 2 : 16;

		grown = realloc(az->s, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		az->s = grown;
		az->cap = cap;
	}
	return &az->s[az->n++];
}

/* See ident_authz.h. */
int ident_authz_grant(struct ident_authz *az, const struct ident_hs_result *res,
		      const struct ident_clock *now)
{
	struct ident_authz_session s = {0}, *slot;
	int ret;

	s.local_id = res->local_id;
	s.peer_id = res->peer_id;
	s.handshake_id = res->handshake_id;
	ret = expiry(az, res, now, &s);
	if (ret)
		return ret;
	collect_serials(res, &s);
	slot = find_pair(az, s.local_id, s.peer_id);
	if (!slot) {
		slot = append(az);
		if (!slot)
			return -ENOMEM;
		slot->local_id = 0; /* marks it unused until written */
	}
	ret = write_entries(az, &s);
	if (ret) {
		if (!slot->local_id)
			az->n--;
		return ret;
	}
	*slot = s;
	return 0;
}

/* Delete session i (entries first) and close the gap. */
static int drop(struct ident_authz *az, unsigned int i)
{
	int ret = delete_entries(az, &az->s[i]);

	if (ret)
		return ret;
	az->s[i] = az->s[--az->n];
	return 0;
}

/* Delete every session pred selects; returns how many, or an error. */
static int drop_where(struct ident_authz *az,
		      int (*pred)(const struct ident_authz_session *, const void *),
		      const void *arg)
{
	unsigned int i = 0;
	int n = 0, ret;

	while (i < az->n) {
		if (!pred(&az->s[i], arg)) {
			i++;
			continue;
		}
		ret = drop(az, i);
		if (ret)
			return ret;
		n++;
	}
	return n;
}

static int is_expired(const struct ident_authz_session *s, const void *arg)
{
	const struct ident_clock *now = arg;

	return s->expires_boot_ns <= now->boot_ns;
}

/* See ident_authz.h. */
int ident_authz_tick(struct ident_authz *az, const struct ident_clock *now, ident_authz_due_fn due,
		     void *ctx)
{
	unsigned int i;
	int ret;

	ret = drop_where(az, is_expired, now);
	if (ret < 0)
		return ret;
	for (i = 0; i < az->n; i++) {
		if (az->s[i].reauth_boot_ns > now->boot_ns || az->s[i].is_due_reported)
			continue;
		az->s[i].is_due_reported = 1;
		if (due)
			due(ctx, &az->s[i]);
	}
	return ret;
}

static int is_revoked(const struct ident_authz_session *s, const void *arg)
{
	unsigned int i;

	for (i = 0; i < s->n_serials; i++) {
		if (ident_crl_contains(arg, s->serials[i]))
			return 1;
	}
	return 0;
}

/* See ident_authz.h. */
int ident_authz_revoke(struct ident_authz *az, const struct ident_crl *crl)
{
	return drop_where(az, is_revoked, crl);
}

static int involves(const struct ident_authz_session *s, const void *arg)
{
	uint32_t id = *(const uint32_t *)arg;

	return s->local_id == id || s->peer_id == id;
}

/* See ident_authz.h. */
int ident_authz_forget(struct ident_authz *az, uint32_t id)
{
	return drop_where(az, involves, &id);
}

/* See ident_authz.h. */
uint64_t ident_authz_next_deadline(const struct ident_authz *az)
{
	uint64_t t = UINT64_MAX;
	unsigned int i;

	for (i = 0; i < az->n; i++) {
		uint64_t at = az->s[i].is_due_reported ? az->s[i].expires_boot_ns
						       : az->s[i].reauth_boot_ns;

		if (at < t)
			t = at;
	}
	return t;
}

/* See ident_authz.h. */
unsigned int ident_authz_count(const struct ident_authz *az)
{
	return az->n;
}
