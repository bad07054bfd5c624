// SPDX-License-Identifier: GPL-2.0-only
/* The sidecar's swappable identity (idhold.h): a swap while a handshake
 * holds the old identity keeps it intact until that reference is dropped;
 * new references get the new one; the last reference frees (ASan/LSan in
 * the Debug build see a use after free or a leak); concurrent users and
 * swaps stay consistent.
 * ctest-labels: unit sidecar
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bm_test.h"
#include "idhold.h"

/* A loaded-looking identity (what sc_idhold_load makes), serial s. */
static struct sc_idref *fake(struct sc_idhold *h, uint64_t s)
{
	struct sc_idref *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	ident_crl_init(&r->id.crl);
	r->id.doc.n_certs = 1;
	r->id.doc.certs[0].serial = s;
	snprintf(r->id.doc.certs[0].subject, sizeof(r->id.doc.certs[0].subject),
		 "spiffe://t/ns/shop/sa/web");
	r->id.doc_bytes = malloc(16); /* freed by the last reference */
	r->id.doc_len = 16;
	memset(r->id.sk, 0xa5, sizeof(r->id.sk));
	r->id.not_after = 1000 + (int64_t)s;
	r->refs = 1;
	r->lock = &h->lock;
	return r;
}

static void test_sidecar_idhold_swap(void)
{
	struct sc_idhold h;
	struct sc_idref *old, *cur;
	char subject[300];
	uint64_t serial = 0;
	int64_t not_after = 0;

	sc_idhold_init(&h);
	CU_ASSERT_PTR_NULL(sc_idhold_get(&h));
	CU_ASSERT_FALSE(sc_idhold_describe(&h, subject, sizeof(subject), &serial, &not_after));
	sc_idhold_swap(&h, fake(&h, 1));
	old = sc_idhold_get(&h); /* a handshake in progress */
	CU_ASSERT_PTR_NOT_NULL_FATAL(old);
	CU_ASSERT_EQUAL(old->id.doc.certs[0].serial, 1);

	sc_idhold_swap(&h, fake(&h, 2)); /* the reload */
	/* the handshake's identity is intact: key not wiped, bytes not freed */
	CU_ASSERT_EQUAL(old->id.doc.certs[0].serial, 1);
	CU_ASSERT_EQUAL(old->id.sk[0], 0xa5);
	CU_ASSERT_PTR_NOT_NULL(old->id.doc_bytes);
	CU_ASSERT_EQUAL(old->refs, 1);
	cur = sc_idhold_get(&h); /* a new handshake */
	CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
	CU_ASSERT_EQUAL(cur->id.doc.certs[0].serial, 2);
	CU_ASSERT_EQUAL(cur->refs, 2);
	CU_ASSERT_TRUE(sc_idhold_describe(&h, subject, sizeof(subject), &serial, &not_after));
	CU_ASSERT_EQUAL(serial, 2);
	CU_ASSERT_EQUAL(not_after, 1002);
	CU_ASSERT_STRING_EQUAL(subject, "spiffe://t/ns/shop/sa/web");
	sc_idref_put(old); /* the last reference: freed (LSan: no leak) */
	sc_idref_put(cur);
	CU_ASSERT_EQUAL(cur->refs, 1); /* the holder's */
	sc_idref_put(NULL);
	sc_idhold_release(&h);
}

struct stress {
	struct sc_idhold *h;
	atomic_bool stop;
	atomic_uint bad, uses;
};

/* Handshake stand-ins: take the current identity, read it, drop it. */
static void *user(void *arg)
{
	struct stress *st = arg;
	struct sc_idref *r;

	while (!atomic_load(&st->stop)) {
		r = sc_idhold_get(st->h);
		if (!r || r->id.sk[0] != 0xa5 ||
		    r->id.not_after != 1000 + (int64_t)r->id.doc.certs[0].serial)
			atomic_fetch_add(&st->bad, 1);
		sc_idref_put(r);
		atomic_fetch_add(&st->uses, 1);
	}
	return NULL;
}

static void test_sidecar_idhold_concurrent(void)
{
	struct sc_idhold h;
	struct stress st = {.h = &h};
	pthread_t th[4];
	time_t deadline;
	int i, n = 0;

	sc_idhold_init(&h);
	sc_idhold_swap(&h, fake(&h, 1));
	for (i = 0; i < 4; i++)
		if (!pthread_create(&th[i], NULL, user, &st))
			n++;
	CU_ASSERT_EQUAL_FATAL(n, 4);
	/*
	 * Swap while the users run: at least 2000 swaps and 2000 uses (threads
	 * may start late on a loaded machine), at most 10 s.
	 */
	deadline = time(NULL) + 10;
	for (i = 2; (i < 2000 || atomic_load(&st.uses) < 2000) && time(NULL) < deadline; i++)
		sc_idhold_swap(&h, fake(&h, (uint64_t)i));
	atomic_store(&st.stop, true);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&st.bad), 0);
	CU_ASSERT_TRUE(atomic_load(&st.uses) >= 2000);
	sc_idhold_release(&h);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"swap", test_sidecar_idhold_swap},
		{"concurrent", test_sidecar_idhold_concurrent},
		{NULL, NULL},
	};

	return bm_test_add_suite("sidecar_idhold", NULL, NULL, cases);
}
