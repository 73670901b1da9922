/* Invariant checks and a silent dcb_log for the fuzz targets. */
#include "fuzz_support.h"

#include "dcb_log.h"

#include <string.h>

void dcb_log(int level, const char *fmt, ...) {
  (void)level;
  (void)fmt;
}

void fz_assert_clean_text(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    FZ_ASSERT(c >= 0x20 && c != 0x7f);
    size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    FZ_ASSERT(c < 0x80 || c >= 0xc2);
    for (size_t i = 1; i < n; i++)
      FZ_ASSERT((p[i] & 0xc0) == 0x80);
    if (n == 2)
      FZ_ASSERT(!(c == 0xc2 && p[1] < 0xa0)); /* no C1 controls */
    p += n;
  }
}
