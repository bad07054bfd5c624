/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hybrid logical clocks (Kulkarni et al.): a 64-bit timestamp whose upper
 * 48 bits are wall-clock milliseconds and lower 16 bits a logical counter.
 * Timestamps a replica issues only grow, stay close to wall time, and
 * exceed every timestamp the replica has seen, so "later by HLC" respects
 * causality across replicas.
 */
#ifndef BM_SC_HLC_H
#define BM_SC_HLC_H

#include <pthread.h>
#include <stdint.h>

#define HLC_LOGICAL_BITS 16

struct hlc {
	pthread_mutex_t lock;
	uint64_t last;
};

/* The timestamp for a local event, given the last one and wall ms. Pure. */
uint64_t hlc_send(uint64_t last, uint64_t wall_ms);

/* The clock after receiving remote at wall ms. Pure. */
uint64_t hlc_recv(uint64_t last, uint64_t remote, uint64_t wall_ms);

/* Thread-safe wrappers over a struct hlc using CLOCK_REALTIME. */
void hlc_init(struct hlc *c);
uint64_t hlc_now(struct hlc *c);
void hlc_observe(struct hlc *c, uint64_t remote);

/*
 * Last-writer-wins order of two versions: by timestamp, ties broken by the
 * origin replica's name. Returns <0, 0 or >0 like strcmp. Pure.
 */
int lww_compare(uint64_t a_ts, const char *a_origin, uint64_t b_ts, const char *b_origin);

#endif /* BM_SC_HLC_H */
