/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sorts with the comparison inlined, for the policy compiler's hot paths
 * (glibc's qsort() calls a function pointer per comparison and copies
 * elements with memcpy; on a 100k-rule policy that was a third of the
 * compile). CC_SORT_DEFINE(name, T, LESS) defines
 *
 *   static void name(T *v, size_t n, const void *ctx);
 *
 * sorting v[0..n) ascending by LESS(ctx, const T *a, const T *b), a strict
 * weak order. Introsort: quicksort with a median-of-three pivot, heapsort
 * when the recursion gets too deep (O(n log n) worst case), insertion sort
 * for short runs. Not stable: use it only where equal elements are
 * interchangeable. No allocation, no failure.
 */
#ifndef BM_CC_SORT_H
#define BM_CC_SORT_H

#include <stddef.h>

#define CC_SORT_SHORT 16

#define CC_SORT_DEFINE(name, T, LESS)                                                      \
	static inline void name##_insertion(T *v, size_t n, const void *ctx)               \
	{                                                                                  \
		size_t i, j;                                                               \
		T x;                                                                       \
                                                                                           \
		(void)ctx; /* LESS may not use it */                                       \
		for (i = 1; i < n; i++) {                                                  \
			x = v[i];                                                          \
			for (j = i; j && LESS(ctx, &x, &v[j - 1]); j--)                    \
				v[j] = v[j - 1];                                           \
			v[j] = x;                                                          \
		}                                                                          \
	}                                                                                  \
                                                                                           \
	static void name##_sift(T *v, size_t root, size_t n, const void *ctx)              \
	{                                                                                  \
		size_t child;                                                              \
		T x = v[root];                                                             \
                                                                                           \
		(void)ctx; /* LESS may not use it */                                       \
		while ((child = 2 * root + 1) < n) {                                       \
			if (child + 1 < n && LESS(ctx, &v[child], &v[child + 1]))          \
				child++;                                                   \
			if (!LESS(ctx, &x, &v[child]))                                     \
				break;                                                     \
			v[root] = v[child];                                                \
			root = child;                                                      \
		}                                                                          \
		v[root] = x;                                                               \
	}                                                                                  \
                                                                                           \
	static void name##_heap(T *v, size_t n, const void *ctx)                           \
	{                                                                                  \
		size_t i;                                                                  \
		T x;                                                                       \
                                                                                           \
		for (i = n / 2; i-- > 0;)                                                  \
			name##_sift(v, i, n, ctx);                                         \
		for (i = n; i-- > 1;) {                                                    \
			x = v[0];                                                          \
			v[0] = v[i];                                                       \
			v[i] = x;                                                          \
			name##_sift(v, 0, i, ctx);                                         \
		}                                                                          \
	}                                                                                  \
                                                                                           \
	static void name##_intro(T *v, size_t n, unsigned int depth, const void *ctx)      \
	{                                                                                  \
		size_t i, j, mid;                                                          \
		T x, pivot;                                                                \
                                                                                           \
		while (n > CC_SORT_SHORT) {                                                \
			if (!depth--) {                                                    \
				name##_heap(v, n, ctx);                                    \
				return;                                                    \
			}                                                                  \
			/* median of three into v[0]: then v[0] is a sentinel both ways */ \
			mid = n / 2;                                                       \
			if (LESS(ctx, &v[mid], &v[0])) {                                   \
				x = v[mid];                                                \
				v[mid] = v[0];                                             \
				v[0] = x;                                                  \
			}                                                                  \
			if (LESS(ctx, &v[n - 1], &v[mid])) {                               \
				x = v[n - 1];                                              \
				v[n - 1] = v[mid];                                         \
				v[mid] = x;                                                \
				if (LESS(ctx, &v[mid], &v[0])) {                           \
					x = v[mid];                                        \
					v[mid] = v[0];                                     \
					v[0] = x;                                          \
				}                                                          \
			}                                                                  \
			/* v[0] <= v[mid] <= v[n - 1]; the pivot goes to v[0] */           \
			x = v[mid];                                                        \
			v[mid] = v[0];                                                     \
			v[0] = x;                                                          \
			pivot = v[0];                                                      \
			i = 0;                                                             \
			j = n;                                                             \
			for (;;) {                                                         \
				do                                                         \
					i++;                                               \
				while (i < n && LESS(ctx, &v[i], &pivot));                 \
				do                                                         \
					j--;                                               \
				while (LESS(ctx, &pivot, &v[j]));                          \
				if (i >= j)                                                \
					break;                                             \
				x = v[i];                                                  \
				v[i] = v[j];                                               \
				v[j] = x;                                                  \
			}                                                                  \
			/* v[1..j] <= pivot <= v[j + 1..n); put the pivot at j */          \
			v[0] = v[j];                                                       \
			v[j] = pivot;                                                      \
			/* recurse into the smaller side, loop on the larger */            \
			if (j < n - j - 1) {                                               \
				name##_intro(v, j, depth, ctx);                            \
				v += j + 1;                                                \
				n -= j + 1;                                                \
			} else {                                                           \
				name##_intro(v + j + 1, n - j - 1, depth, ctx);            \
				n = j;                                                     \
			}                                                                  \
		}                                                                          \
		name##_insertion(v, n, ctx);                                               \
	}                                                                                  \
                                                                                           \
	static void __attribute__((unused)) name(T *v, size_t n, const void *ctx)          \
	{                                                                                  \
		unsigned int depth = 0;                                                    \
		size_t k;                                                                  \
                                                                                           \
		for (k = n; k > 1; k >>= 1)                                                \
			depth += 2;                                                        \
		name##_intro(v, n, depth, ctx);                                            \
	}

#endif /* BM_CC_SORT_H */
