/* Runs a fuzz target over every file of a corpus directory (or over the files
 * named on the command line) so seed corpora serve as regression tests in
 * builds without libFuzzer. Exit 0 when every input ran; the target itself
 * aborts (via sanitizers or assert) on a bug. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz driver: cannot open %s\n", path);
    return -1;
  }
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *nb = realloc(buf, cap *= 2);
      if (!nb) { free(buf); buf = NULL; }
      buf = nb;
    }
  }
  fclose(f);
  if (!buf) return -1;
  /* copy into an exact-size allocation so ASan catches any overread */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) { free(buf); return -1; }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

int main(int argc, char **argv) {
  int ran = 0, failed = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "fuzz driver: %s: no such file or directory\n", argv[i]);
      return 2;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *e;
      while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
        if (run_file(path)) failed++; else ran++;
      }
      if (d) closedir(d);
    } else {
      if (run_file(argv[i])) failed++; else ran++;
    }
  }
  printf("fuzz driver: %d inputs ran, %d unreadable\n", ran, failed);
  return failed || ran == 0 ? 1 : 0;
}
