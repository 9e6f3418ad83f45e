/* array.c — growable arrays (p2pgrid/base/array.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/array.h"

int pg_grow(void *arr, size_t *cap, size_t need, size_t elem, size_t max) {
  if (need <= *cap) return PG_OK;
  size_t lim = elem ? SIZE_MAX / elem : SIZE_MAX;
  if (max && max < lim) lim = max;
  if (need > lim) return PG_ERR_TOO_LARGE;
  size_t nc = *cap > 16 ? *cap : 16;
  while (nc < need) nc = nc > lim / 2 ? lim : nc * 2;
  if (nc > lim) nc = lim;
  void *old;
  memcpy(&old, arr, sizeof old); /* arr is a T **: read it without type punning */
  void *nv = realloc(old, nc * elem);
  if (!nv) return PG_ERR_NOMEM;
  memset((char *)nv + *cap * elem, 0, (nc - *cap) * elem);
  memcpy(arr, &nv, sizeof nv);
  *cap = nc;
  return PG_OK;
}
