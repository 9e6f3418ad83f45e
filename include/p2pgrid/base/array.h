/* p2pgrid/base/array.h — growable arrays: the one amortised-doubling realloc
 * for a pointer, a count the caller keeps and a capacity.
 *
 * Contract:
 * - pg_grow(&arr, &cap, need, sizeof *arr, max): when need > cap, the
 *   capacity doubles from max(cap, 16) until it holds need, clamped to max
 *   (0 = no limit but SIZE_MAX / elem), the array is realloc'd and the new
 *   elements [old cap, new cap) are zeroed. arr is the address of any object
 *   pointer (T **), NULL-valued before the first call.
 * Ownership: the caller owns the array and frees it with free().
 * Errors: PG_ERR_TOO_LARGE when need > max (or the bytes would overflow
 *   size_t), PG_ERR_NOMEM when realloc fails; arr and cap are unchanged on
 *   any error, so the caller's array stays valid and is still freed once.
 * Threads: no shared state; the array itself is the caller's to guard. */
#ifndef P2PGRID_BASE_ARRAY_H
#define P2PGRID_BASE_ARRAY_H

#include <stddef.h>

#include "p2pgrid/base/err.h"

PG_NODISCARD int pg_grow(void *arr, size_t *cap, size_t need, size_t elem, size_t max);

#endif
