/* Per-account check results, counters and the FAILURE/OKAY decision.
 * Ownership: plain values only; the caller owns both structs. */
#ifndef DCB_STATE_H
#define DCB_STATE_H

#include "dcb_classify.h"
#include "dcb_parse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one completed check found. */
typedef struct {
  dcb_class_t cls;            /* DCB_CLASS_NONE on success */
  long http_status;           /* of the deciding request; 0 when none */
  int attempts;               /* HTTP requests made in this check */
  double elapsed;             /* seconds spent in HTTP requests */
  int64_t billing_account_id; /* < 0: unknown */
  double finished;            /* Unix time the check completed */
  dcb_api_error_t api;
  char detail[128]; /* transport or local reason, sanitised, no secrets */
} dcb_result_t;

typedef enum {
  DCB_LINK_UNKNOWN = 0, /* no check completed yet */
  DCB_LINK_OK,
  DCB_LINK_FAILED
} dcb_link_t;

typedef struct {
  dcb_link_t link;
  uint64_t checks_succeeded;
  uint64_t checks_failed;
  uint64_t consecutive_failures;
  double response_time;   /* of the last completed check */
  double last_success;    /* Unix time; 0: never */
  dcb_class_t last_class; /* of the last completed check */
  bool failure_notified;  /* a FAILURE was sent and no OKAY since */
} dcb_state_t;

typedef enum {
  DCB_NOTIFY_NONE = 0,
  DCB_NOTIFY_FAILURE,
  DCB_NOTIFY_OKAY
} dcb_notify_t;

void dcb_result_init(dcb_result_t *r);
/* Fold a completed check into st at Unix time now; says what to notify. */
dcb_notify_t dcb_state_apply(dcb_state_t *st, const dcb_result_t *r,
                             double now);

/* Human-readable notification text (fits collectd's 256-byte message). */
void dcb_format_message(char *buf, size_t len, const char *account,
                        const char *mode, const dcb_result_t *r);

#endif
