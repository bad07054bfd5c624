/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals shared by xdp_loader.c and tables_install.c only. */
#ifndef BM_DATAPLANE_PRIV_H
#define BM_DATAPLANE_PRIV_H

#include "dataplane.h"

/* The mmap()ed bm_config of an open data plane (never NULL after dp_open). */
volatile struct bm_config *dp_config(struct dataplane *dp);

#endif /* BM_DATAPLANE_PRIV_H */
