/* Retry-After values (delta-seconds and HTTP dates). */
#include "fuzz_support.h"

#include "dcb_classify.h"

#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char v[128];
  if (size >= sizeof(v))
    size = sizeof(v) - 1;
  memcpy(v, data, size);
  v[size] = '\0';
  double s = -1;
  if (dcb_retry_after_parse(v, 1800000000, &s) == 0)
    FZ_ASSERT(!isnan(s) && s >= 0 && s <= DCB_RETRY_AFTER_MAX);
  /* Backoff from the same bytes: always within its documented bounds. */
  if (size >= 2) {
    int attempt = data[0] % 16;
    double rnd = data[1] / 256.0;
    double b = dcb_backoff(attempt, 1.0, 30.0, rnd);
    FZ_ASSERT(b >= 0.5 && b <= 30.0);
  }
  return 0;
}
