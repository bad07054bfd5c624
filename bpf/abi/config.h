/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Runtime configuration and the atomic policy swap.
 *
 * Every map that holds policy classes exists BM_GEN_SLOTS times, as inner
 * maps in the slots of an ARRAY_OF_MAPS (bm_*_o). bm_config.generation
 * selects the slot: slot = BM_GEN_SLOT(generation). A program reads the
 * generation once per packet and uses that slot for every lookup, so each
 * packet sees one complete generation. Userland refills the slot of
 * generation + 1 (no program has read it for a grace period), then stores
 * generation + 1 with a single aligned 32-bit write through the mmap()ed
 * config map. Sixteen slots rather than two: the grace period that must
 * follow a store before its slot comes round again then has fifteen
 * installs' time (with four, and still with eight, back-to-back installs on a
 * 2-vCPU machine waited for it: docs/BENCHMARKS.md "Agent").
 * generation 0 means "nothing loaded": everything passes.
 */
#ifndef BM_ABI_CONFIG_H
#define BM_ABI_CONFIG_H

#include <linux/types.h>

/* Slots per generational map (a power of two) and the slot of a generation. */
#define BM_GEN_SLOTS 16
#define BM_GEN_SLOT(gen) ((gen) & (BM_GEN_SLOTS - 1))

/* bm_config.flags */
#define BM_CFG_F_FLOW_CACHE (1U << 0) /* use and fill bm_flows */
#define BM_CFG_F_EVENTS (1U << 1) /* emit events to bm_events */

/*
 * Deny events each CPU may emit per second by default (bm_config.
 * deny_event_rate). A deny flood would otherwise put every packet on the
 * ring and keep its reader busy; the ones over the rate are counted in
 * bm_event_budget instead. The deny counters count every packet anyway.
 */
#define BM_DENY_EVENT_RATE_DEFAULT 10000

struct bm_config {
	__u32 generation; /* written only with an atomic 32-bit store */
	__u32 abi_version; /* BM_ABI_VERSION of the writer */
	__u32 flags; /* BM_CFG_F_* */
	__u32 allow_sample; /* emit 1 in N allow events; 0: none */
	__u32 deny_event_rate; /* deny events per CPU per second; 0: no limit */
	__u32 pad; /* zero */
};
_Static_assert(sizeof(struct bm_config) == 24, "bm_config layout");

/* Pinned map names (under the pin directory), each < 16 bytes. */
#define BM_MAP_CONFIG "bm_config"
#define BM_MAP_HOST4 "bm_host4_o"
#define BM_MAP_HOST6 "bm_host6_o"
#define BM_MAP_CIDR4 "bm_cidr4_o"
#define BM_MAP_CIDR6 "bm_cidr6_o"
#define BM_MAP_POLICY "bm_policy_o"
#define BM_MAP_PORTS "bm_ports_o"
#define BM_MAP_RANGES "bm_ranges_o"
#define BM_MAP_AUTH "bm_auth"
#define BM_MAP_FLOWS "bm_flows"
#define BM_MAP_FRAGS "bm_frags"
#define BM_MAP_PAIR_SLOTS "bm_pair_slots"
#define BM_MAP_PAIR_STATS "bm_pair_stats"
#define BM_MAP_REASONS "bm_reasons"
#define BM_MAP_ALLOC "bm_alloc"
#define BM_MAP_EVENTS "bm_events"
#define BM_MAP_EVENT_BUDGET "bm_event_budget"

/* Capacities of the maps that are not generational. */
#define BM_AUTH_MAX 262144
#define BM_FLOWS_MAX 524288
#define BM_FRAGS_MAX 16384
#define BM_EVENTS_BYTES (1U << 22)

/* Limits the parser walks; beyond them a packet is dropped with a reason. */
#define BM_MAX_VLAN_TAGS 2
#define BM_MAX_IPV6_EXTHDRS 8

#endif /* BM_ABI_CONFIG_H */
