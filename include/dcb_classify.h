/* Pure decisions about a finished HTTP exchange: error class, retry, backoff.
 * Ownership: no allocation; all inputs are borrowed. */
#ifndef DCB_CLASSIFY_H
#define DCB_CLASSIFY_H

#include <stdbool.h>
#include <time.h>

typedef enum {
  DCB_CLASS_NONE = 0, /* success */
  DCB_CLASS_CONFIG,
  DCB_CLASS_AUTH,
  DCB_CLASS_REJECTED,
  DCB_CLASS_RATE_LIMITED,
  DCB_CLASS_SERVER,
  DCB_CLASS_NETWORK,
  DCB_CLASS_TLS,
  DCB_CLASS_UNEXPECTED,
  DCB_CLASS_MISMATCH,
  DCB_CLASS_COUNT
} dcb_class_t;

/* Stable lower-case name used in notification meta and docs. */
const char *dcb_class_name(dcb_class_t c);

/* True for failures on the API's or the network's side (network, server,
 * rate_limited): the kind that hits many accounts at once. */
bool dcb_class_is_transient(dcb_class_t c);

/* Classify one request. curl_code is a CURLcode (0 = transfer completed),
 * status the HTTP status (0 if none), expected the only status that counts as
 * success. *retryable tells whether another attempt may help. */
dcb_class_t dcb_classify(int curl_code, long status, long expected,
                         bool *retryable);

/* Retry-After caps: longer waits are cut to this many seconds. */
#define DCB_RETRY_AFTER_MAX 300.0

/* Parse a Retry-After value (delta-seconds or HTTP-date, relative to now).
 * Returns 0 and the wait in seconds (>= 0, capped at DCB_RETRY_AFTER_MAX),
 * or -1 when the value is not valid. */
int dcb_retry_after_parse(const char *value, time_t now, double *seconds);

/* Exponential backoff with jitter for retry number attempt (1 = first retry):
 * base * 2^(attempt-1), capped at cap, then scaled by a factor in [0.5, 1.0]
 * picked by rnd01 (a uniform number in [0,1)). */
double dcb_backoff(int attempt, double base, double cap, double rnd01);

#endif
