/* apps/app.h — subcommands of the p2pgrid binary. Each command lives in its
 * own apps/cmd_<name>.c and is listed once in the table in apps/p2pgrid.c.
 * run() gets argv with argv[0] = the command name and returns the exit status
 * (0 ok, 1 runtime failure, 2 usage or configuration error); usage() prints
 * the command's help to f. */
#ifndef P2PGRID_APP_H
#define P2PGRID_APP_H

#include <stdio.h>

typedef struct pg_app_cmd {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
  void (*usage)(FILE *f);
} pg_app_cmd;

#define PG_EXIT_OK 0
#define PG_EXIT_FAIL 1
#define PG_EXIT_USAGE 2

int pg_cmd_node(int argc, char **argv);
void pg_cmd_node_usage(FILE *f);
int pg_cmd_demo(int argc, char **argv);
void pg_cmd_demo_usage(FILE *f);
int pg_cmd_mam(int argc, char **argv);
void pg_cmd_mam_usage(FILE *f);
int pg_cmd_wallet(int argc, char **argv);
void pg_cmd_wallet_usage(FILE *f);
int pg_cmd_market(int argc, char **argv);
void pg_cmd_market_usage(FILE *f);

#endif
