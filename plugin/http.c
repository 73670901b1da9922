/* One libcurl request per call, on a handle reused for keep-alive. */
#include "dcb_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
  const char *name;
  const char *path;
  long expected;
  bool cc_base;
} reqs[] = {
    [DCB_REQ_API_KEY] = {"GET /api-key", "/api-key", 200, false},
    [DCB_REQ_USER_ME] = {"GET /user/me", "/user/me", 200, true},
    [DCB_REQ_LINK] = {"PUT /finance/account-link", "/finance/account-link", 204,
                      false},
};

long dcb_http_expected_status(dcb_req_t req) { return reqs[req].expected; }
const char *dcb_http_req_name(dcb_req_t req) { return reqs[req].name; }

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg) {
  dcb_http_t *h = arg;
  size_t n = size * nmemb;
  size_t room = DCB_BODY_MAX - h->body_len;
  if (n > room) {
    /* Keep what fits and stop the transfer: the status is already known. */
    memcpy(h->body + h->body_len, data, room);
    h->body_len += room;
    h->body[h->body_len] = '\0';
    h->body_truncated = true;
    return 0;
  }
  memcpy(h->body + h->body_len, data, n);
  h->body_len += n;
  h->body[h->body_len] = '\0';
  return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg) {
  dcb_http_t *h = arg;
  size_t n = size * nmemb;
  static const char name[] = "retry-after:";
  if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    h->retry_after[0] = '\0'; /* a new response (after 1xx) starts */
  } else if (n > sizeof(name) - 1 &&
             strncasecmp(data, name, sizeof(name) - 1) == 0) {
    size_t len = n - (sizeof(name) - 1);
    if (len >= sizeof(h->retry_after))
      len = sizeof(h->retry_after) - 1;
    memcpy(h->retry_after, data + sizeof(name) - 1, len);
    h->retry_after[len] = '\0';
  }
  return n;
}

int dcb_http_init(dcb_http_t *h) {
  memset(h, 0, sizeof(*h));
  h->curl = curl_easy_init();
  return h->curl != NULL ? 0 : -1;
}

static void wipe_headers(dcb_http_t *h) {
  for (size_t i = 0; i < 2; i++) {
    if (h->hdr_buf[i] != NULL) {
      dcb_wipe(h->hdr_buf[i], h->hdr_len[i]);
      free(h->hdr_buf[i]);
    }
    h->hdr_buf[i] = NULL;
    h->hdr_len[i] = 0;
  }
  memset(h->hdr, 0, sizeof(h->hdr));
}

void dcb_http_cleanup(dcb_http_t *h) {
  wipe_headers(h);
  if (h->curl != NULL)
    curl_easy_cleanup(h->curl);
  h->curl = NULL;
}

/* "Name: key" in a buffer we can wipe; libcurl gets a pointer, not a copy. */
static int key_header(dcb_http_t *h, size_t slot, const char *name,
                      const dcb_secret_t *key) {
  size_t len = strlen(name) + 2 + key->len + 1;
  char *buf = malloc(len);
  if (buf == NULL)
    return -1;
  snprintf(buf, len, "%s: %s", name, key->buf);
  h->hdr_buf[slot] = buf;
  h->hdr_len[slot] = len;
  return 0;
}

static void append_node(dcb_http_t *h, size_t *n, char *line) {
  if (*n >= sizeof(h->hdr) / sizeof(h->hdr[0]))
    abort(); /* a programming error, caught by the unit tests */
  h->hdr[*n].data = line;
  h->hdr[*n].next = NULL;
  if (*n > 0)
    h->hdr[*n - 1].next = &h->hdr[*n];
  (*n)++;
}

int dcb_http_prepare(dcb_http_t *h, const dcb_config_t *cfg,
                     const dcb_account_cfg_t *acct, dcb_req_t req,
                     const dcb_secret_t *partner_key,
                     const dcb_secret_t *cc_key, const char *user_agent,
                     char *err, size_t errlen) {
  static char accept_line[] = "Accept: application/json";
  static char no_ctype[] = "Content-Type:"; /* drop libcurl's form type */
  static char no_expect[] = "Expect:";
  const char *failed = NULL;
  CURLcode rc = CURLE_OK;
  CURL *c = h->curl;

  wipe_headers(h);
  h->body_len = 0;
  h->body[0] = '\0';
  h->body_truncated = false;
  h->retry_after[0] = '\0';
  h->errbuf[0] = '\0';
  h->req = req;

  const char *base = reqs[req].cc_base ? dcb_config_cc_url(cfg, acct)
                                       : dcb_config_url(cfg, acct);
  size_t blen = strlen(base);
  while (blen > 0 && base[blen - 1] == '/')
    blen--;
  if ((size_t)snprintf(h->url, sizeof(h->url), "%.*s%s", (int)blen, base,
                       reqs[req].path) >= sizeof(h->url)) {
    snprintf(err, errlen, "URL too long");
    return -1;
  }

  size_t n = 0;
  if (req != DCB_REQ_USER_ME) {
    if (key_header(h, 0, "X-PARTNER-APIKEY", partner_key) != 0)
      goto oom;
    append_node(h, &n, h->hdr_buf[0]);
  }
  if (req != DCB_REQ_API_KEY) {
    if (key_header(h, 1, "X-DC-DEVKEY", cc_key) != 0)
      goto oom;
    append_node(h, &n, h->hdr_buf[1]);
  }
  append_node(h, &n, accept_line);
  if (req == DCB_REQ_LINK) {
    append_node(h, &n, no_ctype);
    append_node(h, &n, no_expect);
  }

  const char *protocols = cfg->allow_plain_http ? "http,https" : "https";
#define SET(opt, val)                                                          \
  do {                                                                         \
    if ((rc = curl_easy_setopt(c, opt, val)) != CURLE_OK) {                    \
      failed = #opt;                                                           \
      goto fail;                                                               \
    }                                                                          \
  } while (0)
  SET(CURLOPT_URL, h->url);
  SET(CURLOPT_HTTPHEADER, &h->hdr[0]);
  if (req == DCB_REQ_LINK) {
    SET(CURLOPT_CUSTOMREQUEST, "PUT");
    SET(CURLOPT_POSTFIELDS, "");
    SET(CURLOPT_POSTFIELDSIZE, 0L);
  } else {
    SET(CURLOPT_CUSTOMREQUEST, NULL);
    SET(CURLOPT_HTTPGET, 1L);
  }
  if (h->configured_for == cfg)
    return 0; /* everything below is the same for every request */
  curl_easy_reset(c);
  SET(CURLOPT_URL, h->url);
  SET(CURLOPT_PROTOCOLS_STR, protocols);
  SET(CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_NOSIGNAL, 1L);
  /* HTTP/2: wait for the connection being set up and multiplex on it
   * instead of opening MaxConcurrency connections. */
  SET(CURLOPT_PIPEWAIT, 1L);
  SET(CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
  SET(CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms);
  SET(CURLOPT_HTTPHEADER, &h->hdr[0]);
  SET(CURLOPT_USERAGENT, user_agent);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, h);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, h);
  SET(CURLOPT_ERRORBUFFER, h->errbuf);
  SET(CURLOPT_PRIVATE, h);
  SET(CURLOPT_SSL_VERIFYPEER, cfg->verify_peer ? 1L : 0L);
  SET(CURLOPT_SSL_VERIFYHOST, cfg->verify_host ? 2L : 0L);
  /* Only the configured proxy, never one from the environment. */
  SET(CURLOPT_PROXY, cfg->proxy ? cfg->proxy : "");
  if (cfg->cacert != NULL)
    SET(CURLOPT_CAINFO, cfg->cacert);
  if (req == DCB_REQ_LINK) {
    SET(CURLOPT_CUSTOMREQUEST, "PUT");
    SET(CURLOPT_POSTFIELDS, "");
    SET(CURLOPT_POSTFIELDSIZE, 0L);
  } else {
    SET(CURLOPT_HTTPGET, 1L);
  }
#undef SET
  h->configured_for = cfg;
  return 0;

fail:
  h->configured_for = NULL;
  snprintf(err, errlen, "libcurl refused %s: %s", failed,
           curl_easy_strerror(rc));
  wipe_headers(h);
  return -1;
oom:
  snprintf(err, errlen, "out of memory");
  wipe_headers(h);
  return -1;
}

void dcb_http_finish(dcb_http_t *h, int rc, dcb_http_outcome_t *out) {
  long status = 0;
  double total = 0;
  if (rc == CURLE_WRITE_ERROR && h->body_truncated)
    rc = CURLE_OK;
  if (curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
    status = 0;
  if (curl_easy_getinfo(h->curl, CURLINFO_TOTAL_TIME, &total) != CURLE_OK)
    total = 0;
  out->curl_code = rc;
  out->status = status;
  out->total_time = total;
  wipe_headers(h);
}
