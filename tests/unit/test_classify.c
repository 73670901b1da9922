/* Unit tests for plugin/classify.c: error classes, Retry-After, backoff. */
#define _GNU_SOURCE
#include "test_support.h"

#include "dcb_classify.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A fixed "now": 2023-11-14 22:13:20 UTC. */
static const time_t NOW = 1700000000;

static void check_class(int curl_code, long status, long expected,
                        dcb_class_t want, bool want_retry) {
  bool retry = !want_retry; /* must be overwritten */
  dcb_class_t got = dcb_classify(curl_code, status, expected, &retry);
  if (got != want || retry != want_retry)
    fail_msg("classify(curl=%d, status=%ld, expected=%ld) gave %s/%s, "
             "wanted %s/%s",
             curl_code, status, expected, dcb_class_name(got),
             retry ? "retry" : "final", dcb_class_name(want),
             want_retry ? "retry" : "final");
}

/* ---- dcb_classify: HTTP status ----------------------------------------- */

static void test_expected_status_is_success(void **state) {
  (void)state;
  check_class(CURLE_OK, 204, 204, DCB_CLASS_NONE, false);
  check_class(CURLE_OK, 200, 200, DCB_CLASS_NONE, false);
}

static void test_other_2xx_is_unexpected(void **state) {
  (void)state;
  check_class(CURLE_OK, 200, 204, DCB_CLASS_UNEXPECTED, false);
  check_class(CURLE_OK, 204, 200, DCB_CLASS_UNEXPECTED, false);
  check_class(CURLE_OK, 201, 204, DCB_CLASS_UNEXPECTED, false);
}

static void test_redirects_are_unexpected(void **state) {
  (void)state;
  static const long codes[] = {301, 302, 303, 307, 308};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    check_class(CURLE_OK, codes[i], 204, DCB_CLASS_UNEXPECTED, false);
}

static void test_auth_statuses(void **state) {
  (void)state;
  check_class(CURLE_OK, 401, 204, DCB_CLASS_AUTH, false);
  check_class(CURLE_OK, 403, 204, DCB_CLASS_AUTH, false);
  check_class(CURLE_OK, 401, 200, DCB_CLASS_AUTH, false);
}

static void test_rejected_statuses(void **state) {
  (void)state;
  static const long codes[] = {400, 404, 405, 409, 422, 499};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    check_class(CURLE_OK, codes[i], 204, DCB_CLASS_REJECTED, false);
}

static void test_rate_limited_is_retryable(void **state) {
  (void)state;
  check_class(CURLE_OK, 429, 204, DCB_CLASS_RATE_LIMITED, true);
  check_class(CURLE_OK, 429, 200, DCB_CLASS_RATE_LIMITED, true);
}

static void test_server_errors_are_retryable(void **state) {
  (void)state;
  static const long codes[] = {500, 502, 503, 504, 599};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    check_class(CURLE_OK, codes[i], 204, DCB_CLASS_SERVER, true);
}

static void test_nonsense_status_is_unexpected(void **state) {
  (void)state;
  check_class(CURLE_OK, 0, 204, DCB_CLASS_UNEXPECTED, false);
  check_class(CURLE_OK, 100, 204, DCB_CLASS_UNEXPECTED, false);
  check_class(CURLE_OK, 600, 204, DCB_CLASS_UNEXPECTED, false);
  check_class(CURLE_OK, 999, 204, DCB_CLASS_UNEXPECTED, false);
}

/* ---- dcb_classify: transport errors ------------------------------------ */

static void test_network_errors_are_retryable(void **state) {
  (void)state;
  static const int codes[] = {
      CURLE_COULDNT_CONNECT,    CURLE_COULDNT_RESOLVE_HOST,
      CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR,
      CURLE_GOT_NOTHING,        CURLE_SEND_ERROR,
  };
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    /* The status is ignored when the transfer failed. */
    check_class(codes[i], 0, 204, DCB_CLASS_NETWORK, true);
    check_class(codes[i], 204, 204, DCB_CLASS_NETWORK, true);
  }
}

static void test_tls_errors_are_final(void **state) {
  (void)state;
  static const int codes[] = {
      CURLE_PEER_FAILED_VERIFICATION,
      CURLE_SSL_CONNECT_ERROR,
      CURLE_SSL_CACERT_BADFILE,
  };
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    check_class(codes[i], 0, 204, DCB_CLASS_TLS, false);
}

static void test_setup_errors_are_config(void **state) {
  (void)state;
  check_class(CURLE_UNSUPPORTED_PROTOCOL, 0, 204, DCB_CLASS_CONFIG, false);
  check_class(CURLE_URL_MALFORMAT, 0, 200, DCB_CLASS_CONFIG, false);
}

/* ---- dcb_class_name ---------------------------------------------------- */

static void test_class_names_exact(void **state) {
  (void)state;
  static const struct {
    dcb_class_t c;
    const char *name;
  } names[] = {
      {DCB_CLASS_NONE, "none"},
      {DCB_CLASS_CONFIG, "config"},
      {DCB_CLASS_AUTH, "auth"},
      {DCB_CLASS_REJECTED, "rejected"},
      {DCB_CLASS_RATE_LIMITED, "rate_limited"},
      {DCB_CLASS_SERVER, "server"},
      {DCB_CLASS_NETWORK, "network"},
      {DCB_CLASS_TLS, "tls"},
      {DCB_CLASS_UNEXPECTED, "unexpected_response"},
      {DCB_CLASS_MISMATCH, "billing_account_mismatch"},
  };
  assert_int_equal(sizeof(names) / sizeof(names[0]), DCB_CLASS_COUNT);
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    assert_non_null(dcb_class_name(names[i].c));
    assert_string_equal(dcb_class_name(names[i].c), names[i].name);
  }
}

static void test_class_name_out_of_range(void **state) {
  (void)state;
  assert_string_equal(dcb_class_name(DCB_CLASS_COUNT), "unknown");
  assert_string_equal(dcb_class_name((dcb_class_t)(DCB_CLASS_COUNT + 7)),
                      "unknown");
  assert_string_equal(dcb_class_name((dcb_class_t)-1), "unknown");
}

/* ---- dcb_retry_after_parse --------------------------------------------- */

static void expect_retry(const char *value, double want) {
  double s = -12345;
  int rc = dcb_retry_after_parse(value, NOW, &s);
  if (rc != 0)
    fail_msg("Retry-After \"%s\" was refused", value);
  if (fabs(s - want) > 1e-9)
    fail_msg("Retry-After \"%s\" gave %.17g, wanted %.17g", value, s, want);
}

static void expect_retry_invalid(const char *value) {
  double s = -12345;
  if (dcb_retry_after_parse(value, NOW, &s) != -1)
    fail_msg("Retry-After \"%s\" was accepted (%g)", value ? value : "(null)",
             s);
}

typedef enum { DATE_IMF, DATE_RFC850, DATE_ASCTIME } date_form_t;

/* NOW + offset (UTC) as an HTTP date in one of the three RFC 9110 forms. */
static void date_string(char *buf, size_t len, date_form_t form, long offset) {
  time_t t = NOW + offset;
  struct tm tm;
  assert_non_null(gmtime_r(&t, &tm));
  switch (form) {
  case DATE_IMF: /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    assert_true(strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
    break;
  case DATE_RFC850: { /* "Sunday, 06-Nov-94 08:49:37 GMT" */
    char head[32], tail[32];
    assert_true(strftime(head, sizeof(head), "%A, %d-%b-", &tm) > 0);
    assert_true(strftime(tail, sizeof(tail), "%H:%M:%S GMT", &tm) > 0);
    int n = snprintf(buf, len, "%.31s%02d %.31s", head, tm.tm_year % 100, tail);
    assert_true(n > 0 && (size_t)n < len);
    break;
  }
  case DATE_ASCTIME: /* "Sun Nov  6 08:49:37 1994" */
    assert_true(strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm) > 0);
    break;
  }
}

static void test_retry_after_seconds(void **state) {
  (void)state;
  expect_retry("0", 0);
  expect_retry("5", 5);
  expect_retry(" 7 ", 7);
  expect_retry("\t9\r\n", 9);
  expect_retry("120", 120);
  expect_retry("300", DCB_RETRY_AFTER_MAX);
  expect_retry("007", 7);
}

static void test_retry_after_seconds_capped(void **state) {
  (void)state;
  expect_retry("301", DCB_RETRY_AFTER_MAX);
  expect_retry("86400", DCB_RETRY_AFTER_MAX);
  expect_retry("99999999999999999999", DCB_RETRY_AFTER_MAX);
  expect_retry("99999999999999999999999999999999999999999999",
               DCB_RETRY_AFTER_MAX);
}

static void test_retry_after_invalid(void **state) {
  (void)state;
  expect_retry_invalid(NULL);
  expect_retry_invalid("");
  expect_retry_invalid("   ");
  expect_retry_invalid("-1");
  expect_retry_invalid("+5");
  expect_retry_invalid("1.5");
  expect_retry_invalid("5s");
  expect_retry_invalid("5 5");
  expect_retry_invalid("abc");
  expect_retry_invalid("0x10");
}

static void test_retry_after_http_date_future(void **state) {
  (void)state;
  char v[64];
  date_string(v, sizeof(v), DATE_IMF, 30);
  expect_retry(v, 30);
  date_string(v, sizeof(v), DATE_IMF, 299);
  expect_retry(v, 299);
}

static void test_retry_after_http_date_past_is_zero(void **state) {
  (void)state;
  char v[64];
  date_string(v, sizeof(v), DATE_IMF, -3600);
  expect_retry(v, 0);
  expect_retry("Sun, 06 Nov 1994 08:49:37 GMT", 0);
}

static void test_retry_after_http_date_far_is_capped(void **state) {
  (void)state;
  char v[64];
  date_string(v, sizeof(v), DATE_IMF, 365L * 86400);
  expect_retry(v, DCB_RETRY_AFTER_MAX);
}

static void test_retry_after_rfc850_and_asctime(void **state) {
  (void)state;
  char v[64];
  /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
  date_string(v, sizeof(v), DATE_RFC850, 45);
  expect_retry(v, 45);
  /* asctime: "Sun Nov  6 08:49:37 1994" */
  date_string(v, sizeof(v), DATE_ASCTIME, 60);
  expect_retry(v, 60);
}

static void test_retry_after_too_long_value(void **state) {
  (void)state;
  char v[200];
  memset(v, '1', sizeof(v) - 1);
  v[sizeof(v) - 1] = '\0';
  double s = 0;
  /* Either refused or capped: never above the cap. */
  if (dcb_retry_after_parse(v, NOW, &s) == 0)
    assert_true(s <= DCB_RETRY_AFTER_MAX);
}

/* ---- dcb_backoff ------------------------------------------------------- */

static double nominal(int attempt, double base, double cap) {
  double d = base * pow(2, attempt - 1);
  return d < cap ? d : cap;
}

static void test_backoff_bounds(void **state) {
  (void)state;
  static const double params[][2] = {{1, 60}, {0.5, 30}, {1.5, 100}, {2, 2}};
  for (size_t p = 0; p < sizeof(params) / sizeof(params[0]); p++) {
    double base = params[p][0], cap = params[p][1];
    for (int n = 1; n <= 10; n++) {
      double full = nominal(n, base, cap);
      double lo = dcb_backoff(n, base, cap, 0.0);
      double hi = dcb_backoff(n, base, cap, 0.999);
      double mid = dcb_backoff(n, base, cap, 0.5);
      if (fabs(lo - 0.5 * full) > 1e-9)
        fail_msg("attempt %d base %g cap %g: rnd 0 gave %g, wanted %g", n, base,
                 cap, lo, 0.5 * full);
      if (fabs(hi - 0.9995 * full) > 1e-9)
        fail_msg("attempt %d base %g cap %g: rnd .999 gave %g, wanted %g", n,
                 base, cap, hi, 0.9995 * full);
      if (fabs(mid - 0.75 * full) > 1e-9)
        fail_msg("attempt %d base %g cap %g: rnd .5 gave %g, wanted %g", n,
                 base, cap, mid, 0.75 * full);
      assert_true(lo >= 0.5 * full - 1e-12 && hi <= full + 1e-12);
    }
  }
}

static void test_backoff_never_above_cap(void **state) {
  (void)state;
  static const double rnds[] = {0, 0.1, 0.5, 0.9, 0.999999};
  for (int n = 1; n <= 64; n++)
    for (size_t r = 0; r < sizeof(rnds) / sizeof(rnds[0]); r++) {
      double d = dcb_backoff(n, 1, 60, rnds[r]);
      assert_true(d <= 60.0);
      assert_true(d >= 0.5);
      assert_false(isnan(d) || isinf(d));
    }
  /* A huge attempt number must not overflow into inf or 0. */
  double d = dcb_backoff(100000, 1, 60, 0);
  ts_assert_double(d, 30, 1e-9);
}

static void test_backoff_upper_bound_monotone(void **state) {
  (void)state;
  double prev = 0;
  for (int n = 1; n <= 20; n++) {
    double hi = dcb_backoff(n, 1, 45, 0.999);
    assert_true(hi >= prev);
    prev = hi;
  }
  ts_assert_double(prev, 45 * 0.9995, 1e-9);
}

static void test_backoff_bad_rnd_is_zero(void **state) {
  (void)state;
  double lo = dcb_backoff(3, 1, 60, 0); /* 4 * 0.5 */
  ts_assert_double(lo, 2, 1e-12);
  ts_assert_double(dcb_backoff(3, 1, 60, -0.1), lo, 0);
  ts_assert_double(dcb_backoff(3, 1, 60, 1.0), lo, 0);
  ts_assert_double(dcb_backoff(3, 1, 60, 7.5), lo, 0);
  ts_assert_double(dcb_backoff(3, 1, 60, NAN), lo, 0);
  ts_assert_double(dcb_backoff(3, 1, 60, INFINITY), lo, 0);
  ts_assert_double(dcb_backoff(3, 1, 60, -INFINITY), lo, 0);
}

static void test_backoff_attempt_below_one(void **state) {
  (void)state;
  ts_assert_double(dcb_backoff(0, 2, 60, 0), 1, 1e-12);
  ts_assert_double(dcb_backoff(-5, 2, 60, 0), 1, 1e-12);
}

static void test_transient_classes(void **state) {
  (void)state;
  for (int c = 0; c < DCB_CLASS_COUNT; c++) {
    bool want = c == DCB_CLASS_NETWORK || c == DCB_CLASS_SERVER ||
                c == DCB_CLASS_RATE_LIMITED;
    assert_int_equal(dcb_class_is_transient((dcb_class_t)c), want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expected_status_is_success),
      cmocka_unit_test(test_other_2xx_is_unexpected),
      cmocka_unit_test(test_redirects_are_unexpected),
      cmocka_unit_test(test_auth_statuses),
      cmocka_unit_test(test_rejected_statuses),
      cmocka_unit_test(test_rate_limited_is_retryable),
      cmocka_unit_test(test_server_errors_are_retryable),
      cmocka_unit_test(test_nonsense_status_is_unexpected),
      cmocka_unit_test(test_network_errors_are_retryable),
      cmocka_unit_test(test_tls_errors_are_final),
      cmocka_unit_test(test_setup_errors_are_config),
      cmocka_unit_test(test_class_names_exact),
      cmocka_unit_test(test_class_name_out_of_range),
      cmocka_unit_test(test_retry_after_seconds),
      cmocka_unit_test(test_retry_after_seconds_capped),
      cmocka_unit_test(test_retry_after_invalid),
      cmocka_unit_test(test_retry_after_http_date_future),
      cmocka_unit_test(test_retry_after_http_date_past_is_zero),
      cmocka_unit_test(test_retry_after_http_date_far_is_capped),
      cmocka_unit_test(test_retry_after_rfc850_and_asctime),
      cmocka_unit_test(test_retry_after_too_long_value),
      cmocka_unit_test(test_backoff_bounds),
      cmocka_unit_test(test_backoff_never_above_cap),
      cmocka_unit_test(test_backoff_upper_bound_monotone),
      cmocka_unit_test(test_backoff_bad_rnd_is_zero),
      cmocka_unit_test(test_backoff_attempt_below_one),
      cmocka_unit_test(test_transient_classes),
  };
  return cmocka_run_group_tests_name("classify", tests, NULL, NULL);
}
