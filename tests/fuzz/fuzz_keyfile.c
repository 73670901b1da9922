/* Key files: whatever the file holds, a key is accepted only in its
 * documented form, and the error text never repeats the content. */
#define _GNU_SOURCE
#include "fuzz_support.h"

#include "dcb_secret.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fd < 0) {
    fd = memfd_create("dcb-fuzz-key", 0);
    FZ_ASSERT(fd >= 0);
  }
  /* The first byte picks the file mode, the rest is the content. */
  mode_t mode = size > 0 && (data[0] & 1) ? 0644 : 0600;
  const uint8_t *content = size > 0 ? data + 1 : data;
  size_t len = size > 0 ? size - 1 : 0;
  FZ_ASSERT(fchmod(fd, mode) == 0);
  FZ_ASSERT(ftruncate(fd, 0) == 0);
  FZ_ASSERT(pwrite(fd, content, len, 0) == (ssize_t)len);

  char path[64], err[512];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  dcb_secret_t key = {0};
  dcb_file_id_t id = {0};
  if (dcb_keyfile_read(path, &key, &id, err, sizeof(err)) == 0) {
    FZ_ASSERT(mode == 0600);
    FZ_ASSERT(key.buf != NULL && key.len == strlen(key.buf));
    char why[128];
    FZ_ASSERT(dcb_key_check(key.buf, key.len, why, sizeof(why)) == 0);
    FZ_ASSERT(!dcb_keyfile_changed(path, &id));
  } else {
    FZ_ASSERT(key.buf == NULL);
    /* The reason is one of the fixed texts: never the file's content. */
    static const char *const reasons[] = {"cannot be opened",
                                          "cannot be examined",
                                          "is not a regular file",
                                          "is accessible by others",
                                          "cannot be read",
                                          "is too large",
                                          "is empty",
                                          "is longer than",
                                          "contains a NUL",
                                          "contains a line break",
                                          "contains a space",
                                          "cannot be stored"};
    char head[96];
    snprintf(head, sizeof(head), "key file \"%s\" ", path);
    FZ_ASSERT(strncmp(err, head, strlen(head)) == 0);
    const char *why = err + strlen(head);
    bool known = false;
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
      known = known || strncmp(why, reasons[i], strlen(reasons[i])) == 0;
    FZ_ASSERT(known);
  }
  dcb_secret_clear(&key);
  return 0;
}
