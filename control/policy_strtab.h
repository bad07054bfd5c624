/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A string table: each distinct string gets a 32-bit id, 1, 2, ... in the
 * order of first interning (0 is never an id: "not interned yet"). The table
 * keeps its own copy of every string, so ids stay valid whatever happens to
 * the strings they were interned from. The policy model (policy_model.h)
 * keeps one, so the compiler compares and hashes ids instead of strings.
 */
#ifndef BM_POLICY_STRTAB_H
#define BM_POLICY_STRTAB_H

#include <stddef.h>
#include <stdint.h>

struct pm_strtab;

/* An empty table. Returns NULL with errno = ENOMEM. */
struct pm_strtab *pm_strtab_new(void);

/* Free the table and its copies. NULL-safe. */
void pm_strtab_free(struct pm_strtab *t);

/* The id of s (NUL-terminated), interning it if new. Returns the id (>= 1), or 0 on ENOMEM. */
uint32_t pm_strtab_intern(struct pm_strtab *t, const char *s);

/* The id of s, or 0 if s was never interned. */
uint32_t pm_strtab_find(const struct pm_strtab *t, const char *s);

/* The string of id (1 .. pm_strtab_count()); NULL for any other id. */
const char *pm_strtab_str(const struct pm_strtab *t, uint32_t id);

/* How many distinct strings the table holds (the highest id). */
uint32_t pm_strtab_count(const struct pm_strtab *t);

#endif /* BM_POLICY_STRTAB_H */
