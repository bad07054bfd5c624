/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals shared by xdp_loader.c and tables_install.c only. */
#ifndef BM_DATAPLANE_PRIV_H
#define BM_DATAPLANE_PRIV_H

#include "dataplane.h"

/* The mmap()ed bm_config of an open data plane (never NULL after dp_open). */
volatile struct bm_config *dp_config(struct dataplane *dp);

/* What dp_install() keeps between installs (tables_install.c). */
struct dp_slots;

/* Where dp keeps its install state: NULL until the first dp_install(). Cannot fail. */
struct dp_slots **dp_slots(struct dataplane *dp);

/* tables_install.c: wait for a pending grace period, close, free. NULL-safe. */
void dp_slots_free(struct dp_slots *st);

#endif /* BM_DATAPLANE_PRIV_H */
