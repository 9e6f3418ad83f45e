/* p2pgrid backup | restore — one-file backups of a daemon's data directory
 * (src/base/backup.c, p2pgrid/base/backup.h). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "p2pgrid/base/backup.h"
#include "p2pgrid/base/backup_serve.h"

void pg_cmd_backup_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid backup --data-dir DIR --out FILE\n"
          "       p2pgrid backup --check FILE\n"
          "\n"
          "Writes every file a daemon (node, grid, producer, consumer, source) keeps in\n"
          "its data directory into one backup FILE, while the daemon runs: each SQLite\n"
          "database through SQLite's online backup API (a consistent snapshot; the\n"
          "daemon goes on writing), other files (coordinator.key) as they are. FILE is\n"
          "an SQLite database of its own (format p2pgrid-backup 1) with a SHA-256 per\n"
          "file; it is written to FILE.tmp (mode 0600: it holds keys) and renamed, so\n"
          "FILE is always whole. Seeds and certificates named in the config ([wallet]\n"
          "seed_file, [tls] key) live outside the data dir: back them up yourself.\n"
          "A data dir holding a subdirectory or a symlink is refused.\n"
          "A running node holds its store for its own process (no other process can\n"
          "read it): asked through files of its data dir (BACKUP-SERVER, -REQUEST,\n"
          "-RESULT; docs/OPERATIONS.md), it writes the backup into its data dir\n"
          "(BACKUP-DATA), which is then moved to FILE; progress is printed every 5 s.\n"
          "A node that is not running (or was killed) is copied directly. FILE may not\n"
          "be in DIR itself.\n"
          "\n"
          "options:\n"
          "  -d, --data-dir DIR       the daemon's data directory ([ROLE] data_dir)\n"
          "  -o, --out FILE           the backup to write (replaced when it exists)\n"
          "      --check FILE         check a backup (schema, names, sizes, SHA-256 of\n"
          "                           every file) and print what it holds\n"
          "  -h, --help               this help\n"
          "\n"
          "Restore with `p2pgrid restore --in FILE --data-dir DIR` (see its --help).\n"
          "Exit status: 0 ok, 1 failure (a bad backup, an unreadable directory), 2 bad\n"
          "usage.\n");
}

void pg_cmd_restore_usage(FILE *f) {
  fprintf(f,
          "usage: p2pgrid restore --in FILE --data-dir DIR [--force]\n"
          "\n"
          "Restores a backup of `p2pgrid backup` into a daemon's data directory. The\n"
          "whole backup is checked first (an entry named with '/' or '..', over its\n"
          "size cap, with chunks missing or a wrong SHA-256, or any schema object a\n"
          "backup does not have is refused with the reason, and nothing is written).\n"
          "Then the files are written (mode 0600) into a new directory beside DIR,\n"
          "each database checked with PRAGMA integrity_check, and swapped with DIR in\n"
          "one rename: DIR is either the old or the whole restored content.\n"
          "Refused while a daemon holds DIR/LOCK (stop it first), and when DIR holds\n"
          "files unless --force.\n"
          "A restored grid resumes without paying or billing twice: its bill\n"
          "references and payout indexes are derived from its seed, so what it billed\n"
          "or paid after the backup is found again on the Tangle (docs/OPERATIONS.md).\n"
          "\n"
          "options:\n"
          "  -i, --in FILE            the backup\n"
          "  -d, --data-dir DIR       the data directory to restore (created if missing)\n"
          "  -f, --force              replace a data directory that is not empty\n"
          "  -h, --help               this help\n"
          "\n"
          "Exit status: 0 ok, 1 failure (a bad backup, the directory in use or not\n"
          "empty), 2 bad usage.\n");
}

static void print_info(const char *what, const char *file, const pg_backup_info *i) {
  printf("%s %s: %zu files (%zu databases), %llu bytes, taken at %lld ms (Unix time)\n", what,
         file, i->entries, i->databases, (unsigned long long)i->bytes, (long long)i->created_ms);
}

static void progress(void *ctx, uint64_t bytes) {
  (void)ctx;
  fprintf(stderr, "p2pgrid backup: the daemon is writing the backup: %.1f MiB so far\n",
          (double)bytes / (1024.0 * 1024.0));
}

/* Asks the daemon that holds dir when it serves backups, else copies dir. */
static int backup_dir(const char *dir, const char *file, pg_backup_info *info, pg_diag *d) {
  int rc = pg_backup_ask(dir, file, 3000, progress, NULL, info, d);
  if (rc != PG_ERR_NOT_FOUND) return rc;
  pg_diag_clear(d);
  return pg_backup_create(dir, file, info, d);
}

static int parse(const char *cmd, int argc, char **argv, const char **dir, const char **file,
                 const char **check, bool *force, void (*usage)(FILE *)) {
  enum { OPT_CHECK = 1000 };
  static const struct option opts[] = {
      {"data-dir", required_argument, NULL, 'd'}, {"out", required_argument, NULL, 'o'},
      {"in", required_argument, NULL, 'i'},       {"check", required_argument, NULL, OPT_CHECK},
      {"force", no_argument, NULL, 'f'},          {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  bool restore = strcmp(cmd, "restore") == 0;
  int ch;
  opterr = 0;
  optind = 1;
  pg_app_opts os = {.cmd = cmd, .longopts = opts};
  while ((ch = pg_app_getopt(&os, argc, argv, ":d:o:i:fh")) != -1) {
    if (ch == PG_APP_OPT_BAD) return PG_EXIT_USAGE;
    if (ch == 'd') *dir = optarg;
    else if (ch == 'o' && !restore) *file = optarg;
    else if (ch == 'i' && restore) *file = optarg;
    else if (ch == OPT_CHECK && !restore) *check = optarg;
    else if (ch == 'f' && restore) *force = true;
    else if (ch == 'h') {
      usage(stdout);
      return -1;
    } else {
      fprintf(stderr, "p2pgrid %s: %s '%s'\n\n", cmd, ch == ':' ? "option needs a value:" : "unknown option",
              argv[optind - 1]);
      usage(stderr);
      return PG_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "p2pgrid %s: unexpected argument '%s'\n", cmd, argv[optind]);
    return PG_EXIT_USAGE;
  }
  if (pg_app_opt_conflict(&os, OPT_CHECK, 'd') || pg_app_opt_conflict(&os, OPT_CHECK, 'o'))
    return PG_EXIT_USAGE;
  if (!*check && (!*dir || !*file)) {
    fprintf(stderr, "p2pgrid %s: --data-dir and %s are required\n\n", cmd, restore ? "--in" : "--out");
    usage(stderr);
    return PG_EXIT_USAGE;
  }
  return PG_EXIT_OK;
}

int pg_cmd_backup(int argc, char **argv) {
  const char *dir = NULL, *file = NULL, *check = NULL;
  bool force = false;
  int st = parse("backup", argc, argv, &dir, &file, &check, &force, pg_cmd_backup_usage);
  if (st) return st < 0 ? PG_EXIT_OK : st;
  pg_backup_info info = {0};
  pg_diag d = {{0}};
  int rc = check ? pg_backup_check(check, &info, &d) : backup_dir(dir, file, &info, &d);
  if (rc) {
    fprintf(stderr, "p2pgrid backup: %s\n", d.msg);
    return PG_EXIT_FAIL;
  }
  print_info(check ? "checked" : "wrote", check ? check : file, &info);
  return PG_EXIT_OK;
}

int pg_cmd_restore(int argc, char **argv) {
  const char *dir = NULL, *file = NULL, *check = NULL;
  bool force = false;
  int st = parse("restore", argc, argv, &dir, &file, &check, &force, pg_cmd_restore_usage);
  if (st) return st < 0 ? PG_EXIT_OK : st;
  pg_backup_info info = {0};
  pg_diag d = {{0}};
  if (pg_backup_restore(file, dir, force, &info, &d) != PG_OK) {
    fprintf(stderr, "p2pgrid restore: %s\n", d.msg);
    return PG_EXIT_FAIL;
  }
  print_info("restored", dir, &info);
  return PG_EXIT_OK;
}
