/* opts.c — the checks every subcommand's options get (app.h "options"): an
 * option given twice is refused naming both values, pairs of options that
 * exclude each other or need each other are refused naming both. */
#include <stdio.h>
#include <string.h>

#include "app.h"

const char *pg_app_opt_name(const pg_app_opts *o, int ch, char *buf, size_t cap) {
  for (const struct option *l = o->longopts; l && l->name; l++)
    if (l->val == ch && !l->flag) {
      snprintf(buf, cap, "--%s", l->name);
      return buf;
    }
  snprintf(buf, cap, "-%c", ch > 32 && ch < 127 ? (char)ch : '?');
  return buf;
}

static bool repeatable(const pg_app_opts *o, int ch) {
  for (const int *r = o->repeatable; r && *r; r++)
    if (*r == ch) return true;
  return false;
}

static long find(const pg_app_opts *o, int ch) {
  for (size_t i = 0; i < o->n; i++)
    if (o->ch[i] == ch) return (long)i;
  return -1;
}

int pg_app_getopt(pg_app_opts *o, int argc, char **argv, const char *shortopts) {
  int ch = getopt_long(argc, argv, shortopts, o->longopts, NULL);
  if (ch == -1 || ch == '?' || ch == ':' || ch == 'h' || repeatable(o, ch)) return ch;
  long i = find(o, ch);
  if (i >= 0) {
    char name[64];
    pg_app_opt_name(o, ch, name, sizeof name);
    if (o->val[i] && optarg)
      fprintf(stderr, "p2pgrid %s: %s given twice ('%s' and '%s'); give it once\n", o->cmd, name,
              o->val[i], optarg);
    else
      fprintf(stderr, "p2pgrid %s: %s given twice; give it once\n", o->cmd, name);
    return PG_APP_OPT_BAD;
  }
  if (o->n < PG_APP_OPTS_MAX) {
    o->ch[o->n] = ch;
    o->val[o->n++] = optarg;
  }
  return ch;
}

const char *pg_app_opt_given(const pg_app_opts *o, int ch) {
  long i = find(o, ch);
  if (i < 0) return NULL;
  return o->val[i] ? o->val[i] : "";
}

int pg_app_opt_conflict(const pg_app_opts *o, int a, int b) {
  if (!pg_app_opt_given(o, a) || !pg_app_opt_given(o, b)) return PG_EXIT_OK;
  char na[64], nb[64];
  fprintf(stderr, "p2pgrid %s: %s and %s exclude each other; give one\n", o->cmd,
          pg_app_opt_name(o, a, na, sizeof na), pg_app_opt_name(o, b, nb, sizeof nb));
  return PG_EXIT_USAGE;
}

int pg_app_opt_needs(const pg_app_opts *o, int a, int b) {
  if (!pg_app_opt_given(o, a) || pg_app_opt_given(o, b)) return PG_EXIT_OK;
  char na[64], nb[64];
  fprintf(stderr, "p2pgrid %s: %s needs %s\n", o->cmd, pg_app_opt_name(o, a, na, sizeof na),
          pg_app_opt_name(o, b, nb, sizeof nb));
  return PG_EXIT_USAGE;
}
