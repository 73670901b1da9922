/* Unit tests for plugin/http.c without any network: request set-up (URL,
 * header list), the outcome/wipe step and the request tables. */
#define _GNU_SOURCE
#include "test_support.h"

#include "dcb_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PARTNER_KEY "PartnerKey-0123456789"
#define CC_KEY "DevKey-abcdefABCDEF"
#define UA "collectd-digicert-billing-test/1.0"

typedef struct {
  dcb_http_t h;
  dcb_config_t cfg;
  dcb_secret_t pk, ck;
} fx_t;

static char *xstrdup(const char *s) {
  char *p = strdup(s);
  if (p == NULL)
    fail_msg("out of memory");
  return p;
}

static int group_setup(void **state) {
  (void)state;
  return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  curl_global_cleanup();
  return 0;
}

static int setup(void **state) {
  fx_t *fx = calloc(1, sizeof(*fx));
  if (fx == NULL)
    return -1;
  dcb_config_init(&fx->cfg);
  fx->cfg.url = strdup("https://partner.example.test/api/v1/");
  fx->cfg.cc_url = strdup("https://cc.example.test/services/v2/");
  if (fx->cfg.url == NULL || fx->cfg.cc_url == NULL ||
      dcb_secret_set(&fx->pk, PARTNER_KEY, strlen(PARTNER_KEY)) != 0 ||
      dcb_secret_set(&fx->ck, CC_KEY, strlen(CC_KEY)) != 0 ||
      dcb_http_init(&fx->h) != 0) {
    dcb_config_free(&fx->cfg);
    free(fx);
    return -1;
  }
  ts_log_reset();
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fx_t *fx = *state;
  dcb_http_cleanup(&fx->h);
  dcb_config_free(&fx->cfg);
  dcb_secret_clear(&fx->pk);
  dcb_secret_clear(&fx->ck);
  free(fx);
  ts_log_reset();
  return 0;
}

static int prepare(fx_t *fx, dcb_req_t req, char *err, size_t errlen) {
  return dcb_http_prepare(&fx->h, &fx->cfg, NULL, req, &fx->pk, &fx->ck, UA,
                          err, errlen);
}

static void prepare_ok(fx_t *fx, dcb_req_t req) {
  char err[256] = "";
  if (prepare(fx, req, err, sizeof(err)) != 0)
    fail_msg("dcb_http_prepare(%d) failed: %s", (int)req, err);
}

/* Walk the header list from h->hdr[0]; at most 5 nodes, all non-NULL. */
static size_t headers(const dcb_http_t *h, const char *out[8]) {
  size_t n = 0;
  for (const struct curl_slist *s = &h->hdr[0]; s != NULL; s = s->next) {
    if (n >= 5)
      fail_msg("header list longer than the 5 nodes available");
    if (s->data == NULL)
      fail_msg("header node %zu has no data", n);
    out[n++] = s->data;
  }
  return n;
}

static size_t count_prefix(const char *const *list, size_t n,
                           const char *prefix) {
  size_t hits = 0;
  for (size_t i = 0; i < n; i++)
    if (strncasecmp(list[i], prefix, strlen(prefix)) == 0)
      hits++;
  return hits;
}

static bool has_exact(const char *const *list, size_t n, const char *line) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], line) == 0)
      return true;
  return false;
}

static bool any_contains(const char *const *list, size_t n,
                         const char *needle) {
  for (size_t i = 0; i < n; i++)
    if (strstr(list[i], needle) != NULL)
      return true;
  return false;
}

/* ---- tables ------------------------------------------------------------ */

static void test_expected_status(void **state) {
  (void)state;
  assert_int_equal(dcb_http_expected_status(DCB_REQ_API_KEY), 200);
  assert_int_equal(dcb_http_expected_status(DCB_REQ_USER_ME), 200);
  assert_int_equal(dcb_http_expected_status(DCB_REQ_LINK), 204);
}

static void test_request_names(void **state) {
  (void)state;
  ts_assert_substring(dcb_http_req_name(DCB_REQ_API_KEY), "/api-key");
  ts_assert_substring(dcb_http_req_name(DCB_REQ_USER_ME), "/user/me");
  ts_assert_substring(dcb_http_req_name(DCB_REQ_LINK), "/finance/account-link");
  ts_assert_substring(dcb_http_req_name(DCB_REQ_LINK), "PUT");
  ts_assert_substring(dcb_http_req_name(DCB_REQ_API_KEY), "GET");
}

/* ---- init -------------------------------------------------------------- */

static void test_init_state(void **state) {
  fx_t *fx = *state;
  assert_non_null(fx->h.curl);
  assert_null(fx->h.hdr_buf[0]);
  assert_null(fx->h.hdr_buf[1]);
  assert_int_equal(fx->h.body_len, 0);
  assert_false(fx->h.body_truncated);
}

/* ---- prepare: URLs ----------------------------------------------------- */

static void test_url_api_key(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_API_KEY);
  assert_string_equal(fx->h.url, "https://partner.example.test/api/v1/api-key");
  assert_int_equal(fx->h.req, DCB_REQ_API_KEY);
}

static void test_url_user_me_uses_certcentral_base(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_USER_ME);
  assert_string_equal(fx->h.url, "https://cc.example.test/services/v2/user/me");
  assert_int_equal(fx->h.req, DCB_REQ_USER_ME);
}

static void test_url_link(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_LINK);
  assert_string_equal(
      fx->h.url, "https://partner.example.test/api/v1/finance/account-link");
  assert_int_equal(fx->h.req, DCB_REQ_LINK);
}

static void test_url_without_or_with_many_slashes(void **state) {
  fx_t *fx = *state;
  free(fx->cfg.url);
  fx->cfg.url = xstrdup("https://partner.example.test/api/v1");
  prepare_ok(fx, DCB_REQ_API_KEY);
  assert_string_equal(fx->h.url, "https://partner.example.test/api/v1/api-key");
  free(fx->cfg.url);
  fx->cfg.url = xstrdup("https://partner.example.test/api/v1///");
  prepare_ok(fx, DCB_REQ_LINK);
  assert_string_equal(
      fx->h.url, "https://partner.example.test/api/v1/finance/account-link");
}

static void test_url_defaults(void **state) {
  fx_t *fx = *state;
  free(fx->cfg.url);
  free(fx->cfg.cc_url);
  fx->cfg.url = NULL;
  fx->cfg.cc_url = NULL;
  prepare_ok(fx, DCB_REQ_API_KEY);
  assert_string_equal(fx->h.url, DCB_DEFAULT_URL "/api-key");
  prepare_ok(fx, DCB_REQ_LINK);
  assert_string_equal(fx->h.url, DCB_DEFAULT_URL "/finance/account-link");
  prepare_ok(fx, DCB_REQ_USER_ME);
  assert_string_equal(fx->h.url, DCB_DEFAULT_CC_URL "/user/me");
}

static void test_url_too_long_refused(void **state) {
  fx_t *fx = *state;
  char *big = ts_xmalloc(2000);
  strcpy(big, "https://");
  memset(big + 8, 'a', 1500);
  big[1508] = '\0';
  free(fx->cfg.url);
  fx->cfg.url = big;
  char err[256] = "";
  assert_int_equal(prepare(fx, DCB_REQ_LINK, err, sizeof(err)), -1);
  assert_true(err[0] != '\0');
  ts_assert_substring(err, "URL");
  /* Nothing half-built is left behind. */
  assert_null(fx->h.hdr_buf[0]);
  assert_null(fx->h.hdr_buf[1]);
}

/* ---- prepare: headers -------------------------------------------------- */

static void test_headers_api_key(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_API_KEY);
  const char *hd[8];
  size_t n = headers(&fx->h, hd);
  assert_true(has_exact(hd, n, "X-PARTNER-APIKEY: " PARTNER_KEY));
  assert_true(has_exact(hd, n, "Accept: application/json"));
  assert_int_equal(count_prefix(hd, n, "X-PARTNER-APIKEY:"), 1);
  assert_int_equal(count_prefix(hd, n, "X-DC-DEVKEY:"), 0);
  assert_int_equal(count_prefix(hd, n, "Content-Type:"), 0);
  assert_int_equal(count_prefix(hd, n, "Expect:"), 0);
  assert_false(any_contains(hd, n, CC_KEY));
  assert_int_equal(n, 2);
}

static void test_headers_user_me(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_USER_ME);
  const char *hd[8];
  size_t n = headers(&fx->h, hd);
  assert_true(has_exact(hd, n, "X-DC-DEVKEY: " CC_KEY));
  assert_true(has_exact(hd, n, "Accept: application/json"));
  assert_int_equal(count_prefix(hd, n, "X-DC-DEVKEY:"), 1);
  assert_int_equal(count_prefix(hd, n, "X-PARTNER-APIKEY:"), 0);
  assert_int_equal(count_prefix(hd, n, "Content-Type:"), 0);
  assert_int_equal(count_prefix(hd, n, "Expect:"), 0);
  assert_false(any_contains(hd, n, PARTNER_KEY));
  assert_int_equal(n, 2);
}

static void test_headers_link(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_LINK);
  const char *hd[8];
  size_t n = headers(&fx->h, hd);
  assert_true(has_exact(hd, n, "X-PARTNER-APIKEY: " PARTNER_KEY));
  assert_true(has_exact(hd, n, "X-DC-DEVKEY: " CC_KEY));
  assert_true(has_exact(hd, n, "Accept: application/json"));
  assert_int_equal(count_prefix(hd, n, "Content-Type:"), 1);
  /* An empty Expect: suppresses "100-continue" on the PUT. */
  assert_true(has_exact(hd, n, "Expect:"));
  assert_int_equal(n, 5);
}

static void test_key_header_buffers(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_LINK);
  const char *p = "X-PARTNER-APIKEY: " PARTNER_KEY;
  const char *c = "X-DC-DEVKEY: " CC_KEY;
  assert_non_null(fx->h.hdr_buf[0]);
  assert_non_null(fx->h.hdr_buf[1]);
  assert_string_equal(fx->h.hdr_buf[0], p);
  assert_string_equal(fx->h.hdr_buf[1], c);
  /* The recorded length covers at least the text and its NUL. */
  assert_true(fx->h.hdr_len[0] >= strlen(p) + 1);
  assert_true(fx->h.hdr_len[1] >= strlen(c) + 1);
  /* The list points at those buffers (no copies elsewhere). */
  const char *hd[8];
  size_t n = headers(&fx->h, hd);
  bool p_seen = false, c_seen = false;
  for (size_t i = 0; i < n; i++) {
    p_seen |= hd[i] == fx->h.hdr_buf[0];
    c_seen |= hd[i] == fx->h.hdr_buf[1];
  }
  assert_true(p_seen && c_seen);
}

static void test_prepare_with_all_options(void **state) {
  fx_t *fx = *state;
  fx->cfg.allow_plain_http = true;
  fx->cfg.verify_peer = false;
  fx->cfg.verify_host = false;
  fx->cfg.proxy = xstrdup("http://proxy.example.test:3128");
  fx->cfg.cacert = xstrdup("/nonexistent/ca.pem");
  fx->cfg.timeout_ms = 1234;
  prepare_ok(fx, DCB_REQ_LINK);
  prepare_ok(fx, DCB_REQ_USER_ME);
  prepare_ok(fx, DCB_REQ_API_KEY);
  assert_string_equal(fx->h.url, "https://partner.example.test/api/v1/api-key");
}

/* ---- prepare twice, finish, cleanup ------------------------------------ */

static void test_prepare_twice_resets(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_LINK);
  /* Pretend a response arrived. */
  memcpy(fx->h.body, "{}", 3);
  fx->h.body_len = 2;
  fx->h.body_truncated = true;
  snprintf(fx->h.retry_after, sizeof(fx->h.retry_after), "17");
  prepare_ok(fx, DCB_REQ_API_KEY);
  assert_int_equal(fx->h.body_len, 0);
  assert_int_equal(fx->h.body[0], '\0');
  assert_false(fx->h.body_truncated);
  assert_int_equal(fx->h.retry_after[0], '\0');
  assert_non_null(fx->h.hdr_buf[0]);
  assert_null(fx->h.hdr_buf[1]); /* the DEVKEY line of the PUT is gone */
  assert_int_equal(fx->h.hdr_len[1], 0);
  const char *hd[8];
  size_t n = headers(&fx->h, hd);
  assert_int_equal(n, 2);
  assert_false(any_contains(hd, n, CC_KEY));
  /* Same kind twice in a row. */
  prepare_ok(fx, DCB_REQ_API_KEY);
  n = headers(&fx->h, hd);
  assert_int_equal(n, 2);
}

static void test_finish_wipes_headers(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_LINK);
  assert_non_null(fx->h.hdr_buf[0]);
  assert_non_null(fx->h.hdr_buf[1]);
  dcb_http_outcome_t out;
  memset(&out, 0x5a, sizeof(out));
  dcb_http_finish(&fx->h, CURLE_COULDNT_CONNECT, &out);
  assert_int_equal(out.curl_code, CURLE_COULDNT_CONNECT);
  assert_int_equal(out.status, 0);
  assert_true(out.total_time >= 0 && out.total_time < 1e6);
  assert_null(fx->h.hdr_buf[0]);
  assert_null(fx->h.hdr_buf[1]);
  assert_int_equal(fx->h.hdr_len[0], 0);
  assert_int_equal(fx->h.hdr_len[1], 0);
  /* No node still points at freed key memory. */
  for (size_t i = 0; i < 5; i++)
    assert_null(fx->h.hdr[i].data);
  /* The handle can be prepared again. */
  prepare_ok(fx, DCB_REQ_USER_ME);
  assert_string_equal(fx->h.hdr_buf[1], "X-DC-DEVKEY: " CC_KEY);
}

static void test_finish_truncated_body_is_not_an_error(void **state) {
  fx_t *fx = *state;
  dcb_http_outcome_t out;
  prepare_ok(fx, DCB_REQ_API_KEY);
  fx->h.body_truncated = true;
  dcb_http_finish(&fx->h, CURLE_WRITE_ERROR, &out);
  assert_int_equal(out.curl_code, CURLE_OK);

  /* A write error without truncation stays an error. */
  prepare_ok(fx, DCB_REQ_API_KEY);
  dcb_http_finish(&fx->h, CURLE_WRITE_ERROR, &out);
  assert_int_equal(out.curl_code, CURLE_WRITE_ERROR);

  /* Truncation does not hide other errors. */
  prepare_ok(fx, DCB_REQ_API_KEY);
  fx->h.body_truncated = true;
  dcb_http_finish(&fx->h, CURLE_OPERATION_TIMEDOUT, &out);
  assert_int_equal(out.curl_code, CURLE_OPERATION_TIMEDOUT);
}

static void test_finish_without_prepare(void **state) {
  fx_t *fx = *state;
  dcb_http_outcome_t out;
  dcb_http_finish(&fx->h, CURLE_OK, &out);
  assert_int_equal(out.curl_code, CURLE_OK);
  assert_int_equal(out.status, 0);
  assert_null(fx->h.hdr_buf[0]);
}

static void test_cleanup(void **state) {
  fx_t *fx = *state;
  prepare_ok(fx, DCB_REQ_LINK);
  dcb_http_cleanup(&fx->h);
  assert_null(fx->h.curl);
  assert_null(fx->h.hdr_buf[0]);
  assert_null(fx->h.hdr_buf[1]);
  dcb_http_cleanup(&fx->h); /* twice is harmless (teardown does it again) */
  assert_null(fx->h.curl);
}

static void test_nothing_logged(void **state) {
  fx_t *fx = *state;
  ts_log_watch(PARTNER_KEY);
  ts_log_watch(CC_KEY);
  prepare_ok(fx, DCB_REQ_LINK);
  dcb_http_outcome_t out;
  dcb_http_finish(&fx->h, CURLE_COULDNT_CONNECT, &out);
  assert_int_equal(ts_log_watch_hits(), 0);
}

static void test_account_urls_override_plugin_urls(void **state) {
  fx_t *fx = *state;
  dcb_account_cfg_t acct = {.name = "eu"};
  char err[256] = "";
  acct.cc_url = "https://certcentral.example.eu/services/v2";
  assert_int_equal(dcb_http_prepare(&fx->h, &fx->cfg, &acct, DCB_REQ_USER_ME,
                                    &fx->pk, &fx->ck, UA, err, sizeof(err)),
                   0);
  assert_string_equal(fx->h.url,
                      "https://certcentral.example.eu/services/v2/user/me");
  /* No account URL: the plugin-level one is used. */
  assert_int_equal(dcb_http_prepare(&fx->h, &fx->cfg, &acct, DCB_REQ_LINK,
                                    &fx->pk, &fx->ck, UA, err, sizeof(err)),
                   0);
  assert_string_equal(
      fx->h.url, "https://partner.example.test/api/v1/finance/account-link");
  acct.url = "https://partner.example.eu/api/v1";
  assert_int_equal(dcb_http_prepare(&fx->h, &fx->cfg, &acct, DCB_REQ_LINK,
                                    &fx->pk, &fx->ck, UA, err, sizeof(err)),
                   0);
  assert_string_equal(fx->h.url,
                      "https://partner.example.eu/api/v1/finance/account-link");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expected_status),
      cmocka_unit_test(test_request_names),
      T(test_account_urls_override_plugin_urls),
      T(test_init_state),
      T(test_url_api_key),
      T(test_url_user_me_uses_certcentral_base),
      T(test_url_link),
      T(test_url_without_or_with_many_slashes),
      T(test_url_defaults),
      T(test_url_too_long_refused),
      T(test_headers_api_key),
      T(test_headers_user_me),
      T(test_headers_link),
      T(test_key_header_buffers),
      T(test_prepare_with_all_options),
      T(test_prepare_twice_resets),
      T(test_finish_wipes_headers),
      T(test_finish_truncated_body_is_not_an_error),
      T(test_finish_without_prepare),
      T(test_cleanup),
      T(test_nothing_logged),
  };
  return cmocka_run_group_tests_name("http", tests, group_setup,
                                     group_teardown);
}
