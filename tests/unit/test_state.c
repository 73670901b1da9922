/* Unit tests for plugin/state.c: link state transitions and messages. */
#define _GNU_SOURCE
#include "test_support.h"

#include "dcb_config.h"
#include "dcb_state.h"

#include <stdio.h>
#include <string.h>

static dcb_result_t ok_result(double elapsed) {
  dcb_result_t r;
  dcb_result_init(&r);
  r.cls = DCB_CLASS_NONE;
  r.http_status = 204;
  r.attempts = 1;
  r.elapsed = elapsed;
  return r;
}

static dcb_result_t failed_result(dcb_class_t cls, long status,
                                  double elapsed) {
  dcb_result_t r;
  dcb_result_init(&r);
  r.cls = cls;
  r.http_status = status;
  r.attempts = 1;
  r.elapsed = elapsed;
  return r;
}

/* ---- dcb_result_init --------------------------------------------------- */

static void test_result_init(void **state) {
  (void)state;
  dcb_result_t r;
  memset(&r, 0x5a, sizeof(r));
  dcb_result_init(&r);
  assert_int_equal(r.cls, DCB_CLASS_NONE);
  assert_int_equal(r.http_status, 0);
  assert_int_equal(r.attempts, 0);
  ts_assert_double(r.elapsed, 0, 0);
  assert_true(r.billing_account_id < 0);
  assert_string_equal(r.api.code, "");
  assert_string_equal(r.api.message, "");
  assert_string_equal(r.detail, "");
}

/* ---- dcb_state_apply --------------------------------------------------- */

static void test_first_success(void **state) {
  (void)state;
  dcb_state_t st = {0};
  dcb_result_t r = ok_result(0.25);
  assert_int_equal(dcb_state_apply(&st, &r, 1000.0), DCB_NOTIFY_NONE);
  assert_int_equal(st.link, DCB_LINK_OK);
  assert_int_equal(st.checks_succeeded, 1);
  assert_int_equal(st.checks_failed, 0);
  assert_int_equal(st.consecutive_failures, 0);
  ts_assert_double(st.response_time, 0.25, 0);
  ts_assert_double(st.last_success, 1000.0, 0);
  assert_false(st.failure_notified);
}

static void test_first_failure(void **state) {
  (void)state;
  dcb_state_t st = {0};
  dcb_result_t r = failed_result(DCB_CLASS_AUTH, 401, 0.5);
  assert_int_equal(dcb_state_apply(&st, &r, 1000.0), DCB_NOTIFY_FAILURE);
  assert_int_equal(st.link, DCB_LINK_FAILED);
  assert_int_equal(st.checks_succeeded, 0);
  assert_int_equal(st.checks_failed, 1);
  assert_int_equal(st.consecutive_failures, 1);
  ts_assert_double(st.response_time, 0.5, 0);
  ts_assert_double(st.last_success, 0, 0);
  assert_true(st.failure_notified);
}

static void test_repeated_failures_notify_once(void **state) {
  (void)state;
  dcb_state_t st = {0};
  dcb_result_t r = failed_result(DCB_CLASS_NETWORK, 0, 1.0);
  assert_int_equal(dcb_state_apply(&st, &r, 10), DCB_NOTIFY_FAILURE);
  for (uint64_t i = 2; i <= 5; i++) {
    r.elapsed = (double)i;
    assert_int_equal(dcb_state_apply(&st, &r, 10.0 * (double)i),
                     DCB_NOTIFY_NONE);
    assert_int_equal(st.consecutive_failures, i);
    assert_int_equal(st.checks_failed, i);
    ts_assert_double(st.response_time, (double)i, 0);
  }
  assert_int_equal(st.link, DCB_LINK_FAILED);
  assert_int_equal(st.checks_succeeded, 0);
  ts_assert_double(st.last_success, 0, 0);
}

static void test_success_after_failures(void **state) {
  (void)state;
  dcb_state_t st = {0};
  dcb_result_t ok = ok_result(0.1);
  dcb_result_t bad = failed_result(DCB_CLASS_SERVER, 503, 0.2);
  assert_int_equal(dcb_state_apply(&st, &ok, 100), DCB_NOTIFY_NONE);
  assert_int_equal(dcb_state_apply(&st, &bad, 200), DCB_NOTIFY_FAILURE);
  assert_int_equal(dcb_state_apply(&st, &bad, 300), DCB_NOTIFY_NONE);
  assert_int_equal(st.consecutive_failures, 2);
  ts_assert_double(st.last_success, 100, 0); /* failures keep it */
  assert_int_equal(dcb_state_apply(&st, &ok, 400), DCB_NOTIFY_OKAY);
  assert_int_equal(st.link, DCB_LINK_OK);
  assert_int_equal(st.consecutive_failures, 0);
  ts_assert_double(st.last_success, 400, 0);
  assert_int_equal(st.checks_succeeded, 2);
  assert_int_equal(st.checks_failed, 2);
  assert_false(st.failure_notified);
  /* Staying healthy notifies nothing more. */
  assert_int_equal(dcb_state_apply(&st, &ok, 500), DCB_NOTIFY_NONE);
  ts_assert_double(st.last_success, 500, 0);
}

static void test_flapping(void **state) {
  (void)state;
  dcb_state_t st = {0};
  dcb_result_t ok = ok_result(0.1);
  dcb_result_t bad = failed_result(DCB_CLASS_MISMATCH, 204, 0.1);
  static const dcb_notify_t want[] = {DCB_NOTIFY_FAILURE, DCB_NOTIFY_OKAY,
                                      DCB_NOTIFY_FAILURE, DCB_NOTIFY_OKAY};
  for (size_t i = 0; i < 4; i++) {
    const dcb_result_t *r = (i % 2 == 0) ? &bad : &ok;
    assert_int_equal(dcb_state_apply(&st, r, 100.0 + (double)i), want[i]);
    assert_int_equal(st.consecutive_failures, i % 2 == 0 ? 1 : 0);
  }
  assert_int_equal(st.checks_failed, 2);
  assert_int_equal(st.checks_succeeded, 2);
  ts_assert_double(st.last_success, 103, 0);
}

static void test_every_failure_class_counts(void **state) {
  (void)state;
  for (int c = DCB_CLASS_CONFIG; c < DCB_CLASS_COUNT; c++) {
    dcb_state_t st = {0};
    dcb_result_t r = failed_result((dcb_class_t)c, 0, 0);
    assert_int_equal(dcb_state_apply(&st, &r, 1), DCB_NOTIFY_FAILURE);
    assert_int_equal(st.link, DCB_LINK_FAILED);
  }
}

/* ---- dcb_format_message ------------------------------------------------ */

static void test_message_enforce_auth_example(void **state) {
  (void)state;
  dcb_result_t r = failed_result(DCB_CLASS_AUTH, 401, 0.3);
  snprintf(r.api.code, sizeof(r.api.code), "invalid_api_key");
  snprintf(r.api.message, sizeof(r.api.message), "Key revoked");
  char buf[256];
  dcb_format_message(buf, sizeof(buf), "acme-eu", "enforce", &r);
  assert_string_equal(buf, "billing link for account \"acme-eu\" failed: "
                           "auth: HTTP 401 invalid_api_key: Key revoked");
}

static void test_message_verify_mode(void **state) {
  (void)state;
  dcb_result_t r = failed_result(DCB_CLASS_AUTH, 401, 0.3);
  snprintf(r.api.code, sizeof(r.api.code), "invalid_api_key");
  snprintf(r.api.message, sizeof(r.api.message), "Key revoked");
  char buf[256];
  dcb_format_message(buf, sizeof(buf), "acme-eu", "verify", &r);
  assert_string_equal(buf, "billing link check for account \"acme-eu\" "
                           "failed: auth: HTTP 401 invalid_api_key: "
                           "Key revoked");
}

static void test_message_network_uses_detail(void **state) {
  (void)state;
  dcb_result_t r = failed_result(DCB_CLASS_NETWORK, 0, 30);
  snprintf(r.detail, sizeof(r.detail), "Could not connect to server");
  char buf[256];
  dcb_format_message(buf, sizeof(buf), "a", "enforce", &r);
  assert_string_equal(buf, "billing link for account \"a\" failed: network: "
                           "Could not connect to server");
  ts_assert_no_substring(buf, "HTTP");
}

static void test_message_api_message_preferred_over_detail(void **state) {
  (void)state;
  dcb_result_t r = failed_result(DCB_CLASS_REJECTED, 404, 0.1);
  snprintf(r.api.message, sizeof(r.api.message), "No such account");
  snprintf(r.detail, sizeof(r.detail), "local detail");
  char buf[256];
  dcb_format_message(buf, sizeof(buf), "b", "enforce", &r);
  assert_string_equal(buf, "billing link for account \"b\" failed: rejected: "
                           "HTTP 404: No such account");
}

static void test_message_status_only(void **state) {
  (void)state;
  dcb_result_t r = failed_result(DCB_CLASS_SERVER, 503, 0.1);
  char buf[256];
  dcb_format_message(buf, sizeof(buf), "c", "enforce", &r);
  assert_string_equal(
      buf, "billing link for account \"c\" failed: server: HTTP 503");
}

static void test_message_mismatch_class_name(void **state) {
  (void)state;
  dcb_result_t r = failed_result(DCB_CLASS_MISMATCH, 200, 0.1);
  snprintf(r.detail, sizeof(r.detail), "account 42, expected 43");
  char buf[256];
  dcb_format_message(buf, sizeof(buf), "d", "verify", &r);
  assert_string_equal(buf, "billing link check for account \"d\" failed: "
                           "billing_account_mismatch: HTTP 200: "
                           "account 42, expected 43");
}

static void test_message_okay(void **state) {
  (void)state;
  dcb_result_t r = ok_result(0.1);
  char buf[256];
  r.billing_account_id = 1234567;
  dcb_format_message(buf, sizeof(buf), "acme-eu", "enforce", &r);
  assert_string_equal(buf, "billing link for account \"acme-eu\" is OK again "
                           "(billing account 1234567)");
  r.billing_account_id = -1;
  dcb_format_message(buf, sizeof(buf), "acme-eu", "enforce", &r);
  assert_string_equal(buf, "billing link for account \"acme-eu\" is OK again");
  dcb_format_message(buf, sizeof(buf), "acme-eu", "verify", &r);
  assert_string_equal(buf,
                      "billing link check for account \"acme-eu\" is OK again");
}

static void test_message_long_fits_256(void **state) {
  (void)state;
  char api_text[301];
  for (size_t i = 0; i < 300; i++)
    api_text[i] = (char)('a' + i % 26);
  api_text[300] = '\0';
  char name[DCB_NAME_MAX + 1];
  memset(name, 'n', DCB_NAME_MAX);
  name[DCB_NAME_MAX] = '\0';

  dcb_result_t r = failed_result(DCB_CLASS_MISMATCH, 409, 0.1);
  memset(r.api.code, 'k', sizeof(r.api.code) - 1);
  r.api.code[sizeof(r.api.code) - 1] = '\0';
  dcb_sanitize(r.api.message, sizeof(r.api.message), api_text, 300);
  assert_int_equal(strlen(r.api.message), DCB_API_MSG_MAX - 1);

  char buf[256 + 16];
  memset(buf, 'Z', sizeof(buf));
  dcb_format_message(buf, 256, name, "verify", &r);
  assert_int_equal(strlen(buf), 255);
  for (size_t i = 256; i < sizeof(buf); i++)
    assert_int_equal(buf[i], 'Z');
  /* The start is intact: the truncation cuts the tail. */
  assert_memory_equal(buf, "billing link check for account \"nnn", 35);
}

/* Regression: cutting the text at the buffer size used to split a multi-byte
 * character of the (valid UTF-8) API message, leaving a lone lead byte. */
static void test_message_truncation_keeps_utf8(void **state) {
  (void)state;
  char text[400];
  size_t o = 0;
  while (o + 2 < 300) {
    memcpy(text + o, "\xc3\xa9", 2);
    o += 2;
  }
  dcb_result_t r = failed_result(DCB_CLASS_AUTH, 401, 0.1);
  dcb_sanitize(r.api.message, sizeof(r.api.message), text, o);
  /* Try every account name length: one of them makes the cut odd. */
  for (size_t len = 1; len <= DCB_NAME_MAX; len++) {
    char name[DCB_NAME_MAX + 1];
    memset(name, 'n', len);
    name[len] = '\0';
    char buf[256];
    dcb_format_message(buf, sizeof(buf), name, "enforce", &r);
    if (!ts_utf8_valid(buf, strlen(buf)))
      fail_msg("name length %zu: message is not valid UTF-8", len);
  }
}

static void test_message_tiny_buffer(void **state) {
  (void)state;
  dcb_result_t r = failed_result(DCB_CLASS_AUTH, 401, 0.1);
  char buf[8];
  memset(buf, 'Z', sizeof(buf));
  dcb_format_message(buf, 4, "x", "enforce", &r);
  assert_string_equal(buf, "bil");
  assert_int_equal(buf[4], 'Z');
}

static void test_last_class_follows_each_check(void **state) {
  (void)state;
  dcb_state_t st = {0};
  dcb_result_t r;
  dcb_result_init(&r);
  r.cls = DCB_CLASS_SERVER;
  dcb_state_apply(&st, &r, 100);
  assert_int_equal(st.last_class, DCB_CLASS_SERVER);
  r.cls = DCB_CLASS_AUTH;
  dcb_state_apply(&st, &r, 101);
  assert_int_equal(st.last_class, DCB_CLASS_AUTH);
  r.cls = DCB_CLASS_NONE;
  dcb_state_apply(&st, &r, 102);
  assert_int_equal(st.last_class, DCB_CLASS_NONE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_last_class_follows_each_check),
      cmocka_unit_test(test_result_init),
      cmocka_unit_test(test_first_success),
      cmocka_unit_test(test_first_failure),
      cmocka_unit_test(test_repeated_failures_notify_once),
      cmocka_unit_test(test_success_after_failures),
      cmocka_unit_test(test_flapping),
      cmocka_unit_test(test_every_failure_class_counts),
      cmocka_unit_test(test_message_enforce_auth_example),
      cmocka_unit_test(test_message_verify_mode),
      cmocka_unit_test(test_message_network_uses_detail),
      cmocka_unit_test(test_message_api_message_preferred_over_detail),
      cmocka_unit_test(test_message_status_only),
      cmocka_unit_test(test_message_mismatch_class_name),
      cmocka_unit_test(test_message_okay),
      cmocka_unit_test(test_message_long_fits_256),
      cmocka_unit_test(test_message_tiny_buffer),
      cmocka_unit_test(test_message_truncation_keeps_utf8),
  };
  return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
