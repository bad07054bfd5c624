// SPDX-License-Identifier: GPL-2.0-only
/* Hybrid logical clock and the LWW order; see hlc.h. */
#include <string.h>
#include <time.h>

#include "hlc.h"

/* max(last + 1, wall << 16): physical time when it moved, else count. */
uint64_t hlc_send(uint64_t last, uint64_t wall_ms)
{
	uint64_t pt = wall_ms << HLC_LOGICAL_BITS;

	return pt > last ? pt : last + 1;
}

/* max(last, remote, wall << 16), plus one logical step unless wall time leads. */
uint64_t hlc_recv(uint64_t last, uint64_t remote, uint64_t wall_ms)
{
	uint64_t pt = wall_ms << HLC_LOGICAL_BITS;
	uint64_t m = last > remote ? last : remote;

	return pt > m ? pt : m + 1;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void hlc_init(struct hlc *c)
{
	pthread_mutex_init(&c->lock, NULL);
	c->last = 0;
}

/* A fresh local timestamp. Cannot fail. */
uint64_t hlc_now(struct hlc *c)
{
	uint64_t t;

	pthread_mutex_lock(&c->lock);
	t = c->last = hlc_send(c->last, wall_ms());
	pthread_mutex_unlock(&c->lock);
	return t;
}

/* Move the clock past a received timestamp. Cannot fail. */
void hlc_observe(struct hlc *c, uint64_t remote)
{
	pthread_mutex_lock(&c->lock);
	c->last = hlc_recv(c->last, remote, wall_ms());
	pthread_mutex_unlock(&c->lock);
}

/* Timestamp first, then origin name. */
int lww_compare(uint64_t a_ts, const char *a_origin, uint64_t b_ts, const char *b_origin)
{
	if (a_ts != b_ts)
		return a_ts < b_ts ? -1 : 1;
	return strcmp(a_origin, b_origin);
}
