/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every struct that crosses the BPF/userland line, in one include. */
#ifndef BM_ABI_ABI_H
#define BM_ABI_ABI_H

#include "types.h"
#include "drop.h"
#include "ipcache.h"
#include "policy.h"
#include "auth.h"
#include "flow.h"
#include "telemetry.h"
#include "config.h"
#include "sock.h"
#include "guard.h"

#endif /* BM_ABI_ABI_H */
