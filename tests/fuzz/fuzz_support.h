/* Shared by the fuzz targets: the libFuzzer entry point and invariant checks.
 * Built with clang -fsanitize=fuzzer, or with replay.c's main() for ctest. */
#ifndef DCB_FUZZ_SUPPORT_H
#define DCB_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort (a finding) unless s is valid UTF-8 without control characters. */
void fz_assert_clean_text(const char *s);

#define FZ_ASSERT(cond)                                                        \
  do {                                                                         \
    if (!(cond))                                                               \
      abort();                                                                 \
  } while (0)

#endif
