/* One HTTP request on a reusable libcurl easy handle, with capped body,
 * Retry-After capture and key headers kept in wiped, plugin-owned memory.
 * Ownership: a dcb_http_t owns its CURL handle and buffers; the config and
 * secrets passed to dcb_http_prepare() are borrowed until dcb_http_finish(). */
#ifndef DCB_HTTP_H
#define DCB_HTTP_H

#include "dcb_config.h"
#include "dcb_secret.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#define DCB_BODY_MAX 8192

typedef enum { DCB_REQ_API_KEY, DCB_REQ_USER_ME, DCB_REQ_LINK } dcb_req_t;

typedef struct {
  CURL *curl;
  struct curl_slist hdr[5]; /* nodes we own: libcurl only reads them */
  char *hdr_buf[2];         /* "X-...: <key>" lines, wiped after use */
  size_t hdr_len[2];
  char body[DCB_BODY_MAX + 1];
  size_t body_len;
  bool body_truncated;
  char retry_after[64];
  char errbuf[CURL_ERROR_SIZE];
  char url[1024];
  dcb_req_t req;
  void *owner;                /* caller's tag (the account slot) */
  const void *configured_for; /* config the fixed options were set for */
} dcb_http_t;

typedef struct {
  int curl_code;
  long status;
  double total_time;
} dcb_http_outcome_t;

int dcb_http_init(dcb_http_t *h);
void dcb_http_cleanup(dcb_http_t *h);

/* Set up h for one request of kind req for account acct (NULL: plugin-wide
 * URLs). Returns 0, or -1 with err filled
 * (setup failures are reported, never ignored). */
int dcb_http_prepare(dcb_http_t *h, const dcb_config_t *cfg,
                     const dcb_account_cfg_t *acct, dcb_req_t req,
                     const dcb_secret_t *partner_key,
                     const dcb_secret_t *cc_key, const char *user_agent,
                     char *err, size_t errlen);

/* After the transfer ended with curl code rc: read status/timing, wipe the
 * key headers. A body cut at DCB_BODY_MAX is not a transport error. */
void dcb_http_finish(dcb_http_t *h, int rc, dcb_http_outcome_t *out);

/* The status that counts as success for a request kind. */
long dcb_http_expected_status(dcb_req_t req);
const char *dcb_http_req_name(dcb_req_t req);

#endif
