/* number_internal.h — inside src/base: the one writer of decimal numbers with
 * thousands separators, shared by money.c and resource.c. */
#ifndef P2PGRID_NUMBER_INTERNAL_H
#define P2PGRID_NUMBER_INTERNAL_H

#include <stddef.h>

/* 10^e (e <= 38). */
unsigned __int128 pg_pow10_u128(unsigned e);
/* Appends q / 10^dec to s at n with ',' between groups of three integer
 * digits and '.' before exactly dec decimals ("1,234.500"); s must hold
 * n + 60 + dec bytes. Returns the new length (no NUL written). */
size_t pg_put_grouped(char *s, size_t n, unsigned __int128 q, unsigned dec);

/* The snprintf-like ending of a formatter: copies s[0..n) into buf, cut to
 * cap - 1 bytes and NUL-terminated when cap > 0; returns n (the full length). */
size_t pg_put_out(const char *s, size_t n, char *buf, size_t cap);

#endif
