// SPDX-License-Identifier: GPL-2.0-only
/* The swappable, reference-counted current identity; see idhold.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "idhold.h"

/* See idhold.h. */
void sc_idhold_init(struct sc_idhold *h)
{
	pthread_mutex_init(&h->lock, NULL);
	h->cur = NULL;
}

/* See idhold.h. */
int sc_idhold_load(struct sc_idhold *h, const struct sc_identity_config *cfg, struct sc_idref **out,
		   char *why, size_t why_len)
{
	struct sc_idref *r = calloc(1, sizeof(*r));
	int err;

	if (!r) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	err = sc_identity_load(cfg, &r->id, why, why_len);
	if (err) {
		sc_identity_release(&r->id);
		free(r);
		return err;
	}
	r->refs = 1;
	r->lock = &h->lock;
	*out = r;
	return 0;
}

/* Drop one reference with the lock held; true: it was the last. */
static bool put_locked(struct sc_idref *r)
{
	return --r->refs == 0;
}

static void destroy(struct sc_idref *r)
{
	sc_identity_release(&r->id);
	free(r);
}

/* See idhold.h. */
void sc_idhold_swap(struct sc_idhold *h, struct sc_idref *next)
{
	struct sc_idref *old;
	bool is_last;

	pthread_mutex_lock(&h->lock);
	old = h->cur;
	h->cur = next;
	is_last = old && put_locked(old);
	pthread_mutex_unlock(&h->lock);
	if (is_last)
		destroy(old);
}

/* See idhold.h. */
struct sc_idref *sc_idhold_get(struct sc_idhold *h)
{
	struct sc_idref *r;

	pthread_mutex_lock(&h->lock);
	r = h->cur;
	if (r)
		r->refs++;
	pthread_mutex_unlock(&h->lock);
	return r;
}

/* See idhold.h. */
void sc_idref_put(struct sc_idref *r)
{
	bool is_last;

	if (!r)
		return;
	pthread_mutex_lock(r->lock);
	is_last = put_locked(r);
	pthread_mutex_unlock(r->lock);
	if (is_last)
		destroy(r);
}

/* See idhold.h. */
bool sc_idhold_describe(struct sc_idhold *h, char *subject, size_t len, uint64_t *serial,
			int64_t *not_after)
{
	bool has = false;

	pthread_mutex_lock(&h->lock);
	if (h->cur) {
		snprintf(subject, len, "%s", h->cur->id.doc.certs[0].subject);
		*serial = h->cur->id.doc.certs[0].serial;
		*not_after = h->cur->id.not_after;
		has = true;
	}
	pthread_mutex_unlock(&h->lock);
	return has;
}

/* See idhold.h. */
void sc_idhold_release(struct sc_idhold *h)
{
	sc_idhold_swap(h, NULL);
	pthread_mutex_destroy(&h->lock);
}
