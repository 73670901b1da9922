/* Error classes, retry decisions, Retry-After and backoff: no I/O here. */
#include "dcb_classify.h"

#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <string.h>

static const char *const class_names[DCB_CLASS_COUNT] = {
    [DCB_CLASS_NONE] = "none",
    [DCB_CLASS_CONFIG] = "config",
    [DCB_CLASS_AUTH] = "auth",
    [DCB_CLASS_REJECTED] = "rejected",
    [DCB_CLASS_RATE_LIMITED] = "rate_limited",
    [DCB_CLASS_SERVER] = "server",
    [DCB_CLASS_NETWORK] = "network",
    [DCB_CLASS_TLS] = "tls",
    [DCB_CLASS_UNEXPECTED] = "unexpected_response",
    [DCB_CLASS_MISMATCH] = "billing_account_mismatch",
};

const char *dcb_class_name(dcb_class_t c) {
  if ((int)c < 0 || c >= DCB_CLASS_COUNT)
    return "unknown";
  return class_names[c];
}

bool dcb_class_is_transient(dcb_class_t c) {
  return c == DCB_CLASS_NETWORK || c == DCB_CLASS_SERVER ||
         c == DCB_CLASS_RATE_LIMITED;
}

static dcb_class_t classify_transport(int rc, bool *retryable) {
  switch (rc) {
  /* The peer could not be trusted: retrying cannot fix it. */
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_USE_SSL_FAILED:
    *retryable = false;
    return DCB_CLASS_TLS;
  /* The network may get better within seconds. */
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_PROXY:
    *retryable = true;
    return DCB_CLASS_NETWORK;
  /* Our own setup is wrong (bad URL, protocol refused). */
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_BAD_FUNCTION_ARGUMENT:
  case CURLE_NOT_BUILT_IN:
    *retryable = false;
    return DCB_CLASS_CONFIG;
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_TOO_MANY_REDIRECTS:
    *retryable = false;
    return DCB_CLASS_UNEXPECTED;
  default:
    *retryable = false;
    return DCB_CLASS_NETWORK;
  }
}

dcb_class_t dcb_classify(int curl_code, long status, long expected,
                         bool *retryable) {
  *retryable = false;
  if (curl_code != CURLE_OK)
    return classify_transport(curl_code, retryable);
  if (status == expected)
    return DCB_CLASS_NONE;
  if (status == 401 || status == 403)
    return DCB_CLASS_AUTH;
  if (status == 429) {
    *retryable = true;
    return DCB_CLASS_RATE_LIMITED;
  }
  if (status >= 400 && status < 500)
    return DCB_CLASS_REJECTED;
  if (status >= 500 && status < 600) {
    *retryable = true;
    return DCB_CLASS_SERVER;
  }
  /* 1xx final, other 2xx, 3xx (redirects are never followed), nonsense. */
  return DCB_CLASS_UNEXPECTED;
}

int dcb_retry_after_parse(const char *value, time_t now, double *seconds) {
  if (value == NULL)
    return -1;
  while (*value == ' ' || *value == '\t')
    value++;
  size_t len = strlen(value);
  while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' ||
                     value[len - 1] == '\r' || value[len - 1] == '\n'))
    len--;
  if (len == 0 || len >= 64)
    return -1;

  char v[64];
  memcpy(v, value, len);
  v[len] = '\0';

  if (isdigit((unsigned char)v[0])) {
    double s = 0;
    for (size_t i = 0; i < len; i++) {
      if (!isdigit((unsigned char)v[i]))
        return -1;
      if (s < DCB_RETRY_AFTER_MAX) /* stop growing: no overflow */
        s = s * 10 + (v[i] - '0');
    }
    *seconds = s > DCB_RETRY_AFTER_MAX ? DCB_RETRY_AFTER_MAX : s;
    return 0;
  }

  /* An HTTP-date needs a weekday name and a comma-or-space structure. */
  if (!isalpha((unsigned char)v[0]))
    return -1;
  time_t when = curl_getdate(v, NULL);
  if (when == (time_t)-1)
    return -1;
  double d = difftime(when, now);
  if (d < 0)
    d = 0;
  *seconds = d > DCB_RETRY_AFTER_MAX ? DCB_RETRY_AFTER_MAX : d;
  return 0;
}

double dcb_backoff(int attempt, double base, double cap, double rnd01) {
  if (attempt < 1)
    attempt = 1;
  if (rnd01 < 0 || rnd01 >= 1 || isnan(rnd01))
    rnd01 = 0;
  double d = base;
  for (int i = 1; i < attempt && d < cap; i++)
    d *= 2;
  if (d > cap)
    d = cap;
  return d * (0.5 + rnd01 / 2);
}
