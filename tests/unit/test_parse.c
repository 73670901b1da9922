/* Unit tests for plugin/parse.c: sanitising and lenient JSON parsing. */
#define _GNU_SOURCE
#include "test_support.h"

#include "dcb_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- dcb_sanitize ------------------------------------------------------ */

#define GUARD 'Z'

/* Sanitise src (its strlen) into a buffer of dstlen and compare exactly.
 * Bytes past dstlen must stay untouched. */
static void expect_sanitized_n(const char *src, size_t srclen, size_t dstlen,
                               const char *want) {
  char buf[512];
  assert_true(dstlen + 8 <= sizeof(buf));
  memset(buf, GUARD, sizeof(buf));
  dcb_sanitize(buf, dstlen, src, srclen);
  if (memchr(buf, '\0', dstlen) == NULL)
    fail_msg("sanitize(dstlen %zu) did not terminate the output", dstlen);
  if (strcmp(buf, want) != 0)
    fail_msg("sanitize(\"%s\", dstlen %zu) gave \"%s\", wanted \"%s\"", src,
             dstlen, buf, want);
  for (size_t i = dstlen; i < sizeof(buf); i++)
    if (buf[i] != GUARD)
      fail_msg("sanitize(dstlen %zu) wrote past the end at %zu", dstlen, i);
}

static void expect_sanitized(const char *src, size_t dstlen, const char *want) {
  expect_sanitized_n(src, strlen(src), dstlen, want);
}

/* The output must be prefix, then one or more '?', then suffix: bad bytes are
 * replaced (how many '?' per bad sequence is not part of the contract). */
static void expect_replaced(const char *src, const char *prefix,
                            const char *suffix) {
  char buf[128];
  dcb_sanitize(buf, sizeof(buf), src, strlen(src));
  size_t n = strlen(buf), pl = strlen(prefix), sl = strlen(suffix);
  if (n < pl + sl + 1 || strncmp(buf, prefix, pl) != 0 ||
      strcmp(buf + n - sl, suffix) != 0)
    fail_msg("sanitize gave \"%s\", wanted \"%s?..%s\"", buf, prefix, suffix);
  for (size_t i = pl; i < n - sl; i++)
    if (buf[i] != '?')
      fail_msg("sanitize gave \"%s\": byte %zu is 0x%02x, not '?'", buf, i,
               (unsigned char)buf[i]);
  assert_true(ts_utf8_valid(buf, n));
}

static void test_sanitize_plain_text_kept(void **state) {
  (void)state;
  expect_sanitized("Hello, world! (42) [ok] {x} ~#", 64,
                   "Hello, world! (42) [ok] {x} ~#");
  expect_sanitized("", 16, "");
}

static void test_sanitize_ansi_escape(void **state) {
  (void)state;
  expect_sanitized("\x1b[31mred\x1b[0m", 64, "?[31mred?[0m");
}

static void test_sanitize_controls_replaced(void **state) {
  (void)state;
  expect_sanitized("a\x01"
                   "b\x7f"
                   "c\x08"
                   "d",
                   64, "a?b?c?d");
  expect_sanitized("bell\x07", 64, "bell?");
}

static void test_sanitize_whitespace_runs(void **state) {
  (void)state;
  expect_sanitized("a\r\n\t b", 64, "a b");
  expect_sanitized("one\n\n\ntwo\tthree", 64, "one two three");
  expect_sanitized("  \t\r\nleading", 64, "leading");
  expect_sanitized("trailing \r\n", 64, "trailing");
  expect_sanitized(" \t\r\n ", 64, "");
}

static void test_sanitize_invalid_utf8(void **state) {
  (void)state;
  expect_sanitized("a\xff"
                   "b",
                   64, "a?b");
  expect_sanitized("\xfe", 64, "?");
  expect_replaced("x\xc0\xafy", "x", "y");         /* overlong '/' */
  expect_replaced("x\xe0\x80\xafy", "x", "y");     /* overlong, 3 bytes */
  expect_replaced("x\xed\xa0\x80y", "x", "y");     /* surrogate D800 */
  expect_replaced("x\xf4\x90\x80\x80y", "x", "y"); /* above U+10FFFF */
  expect_replaced("x\xe2\x82", "x", "");           /* truncated at end */
  expect_replaced("x\xe2\x82y", "x", "y");         /* truncated inside */
  expect_replaced("x\x80y", "x", "y");             /* lone continuation */
}

static void test_sanitize_c1_controls(void **state) {
  (void)state;
  expect_replaced("a\xc2\x85"
                  "b",
                  "a", "b"); /* U+0085 NEL */
  expect_replaced("a\xc2\x9b"
                  "b",
                  "a", "b"); /* U+009B CSI */
  /* U+00A0 is printable, not C1: kept. */
  expect_sanitized("a\xc2\xa0"
                   "b",
                   64,
                   "a\xc2\xa0"
                   "b");
}

static void test_sanitize_valid_multibyte_kept(void **state) {
  (void)state;
  const char *s = "caf\xc3\xa9 \xe2\x82\xac"
                  "5 \xf0\x9f\x98\x80!";
  expect_sanitized(s, 64, s);
}

static void test_sanitize_truncation(void **state) {
  (void)state;
  expect_sanitized("abc", 1, "");
  expect_sanitized("\xc3\xa9", 1, "");
  expect_sanitized("\xc3\xa9", 2, ""); /* é needs 2 + NUL */
  expect_sanitized("a\xc3\xa9", 2, "a");
  expect_sanitized("\xc3\xa9", 3, "\xc3\xa9");
  expect_sanitized("\xe2\x82\xac\xe2\x82\xac", 5, "\xe2\x82\xac"); /* €€ */
  expect_sanitized("a\xe2\x82\xac", 5, "a\xe2\x82\xac"); /* exactly fits */
  expect_sanitized("ab\xe2\x82\xac", 5, "ab");           /* one byte short */
  expect_sanitized("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 5, "\xf0\x9f\x98\x80");
  expect_sanitized("ab\xf0\x9f\x98\x80", 5, "ab");
  expect_sanitized("abcdef", 5, "abcd");
  expect_sanitized("abcdef", 2, "a");
}

static void test_sanitize_zero_dstlen_writes_nothing(void **state) {
  (void)state;
  char buf[4] = {GUARD, GUARD, GUARD, GUARD};
  dcb_sanitize(buf, 0, "abc", 3);
  for (size_t i = 0; i < sizeof(buf); i++)
    assert_int_equal(buf[i], GUARD);
}

static void test_sanitize_respects_srclen_and_null(void **state) {
  (void)state;
  expect_sanitized_n("abcdef", 3, 64, "abc");
  expect_sanitized_n("\xc3\xa9", 1, 64, "?"); /* cut inside é by srclen */
  char buf[8];
  memset(buf, GUARD, sizeof(buf));
  dcb_sanitize(buf, sizeof(buf), NULL, 10);
  assert_string_equal(buf, "");
}

/* Property check on pseudo-random input: the output is always terminated,
 * valid UTF-8, free of ASCII/C1 controls and double spaces. */
static void test_sanitize_random_bytes(void **state) {
  (void)state;
  unsigned seed = 12345;
  for (int iter = 0; iter < 2000; iter++) {
    unsigned char src[96];
    size_t srclen = (size_t)(rand_r(&seed) % (int)sizeof(src));
    for (size_t i = 0; i < srclen; i++)
      src[i] = (unsigned char)rand_r(&seed);
    size_t dstlen = 1 + (size_t)(rand_r(&seed) % 40);
    char dst[48];
    memset(dst, GUARD, sizeof(dst));
    dcb_sanitize(dst, dstlen, (const char *)src, srclen);
    size_t n = strnlen(dst, dstlen);
    assert_true(n < dstlen);
    assert_true(ts_utf8_valid(dst, n));
    for (size_t i = dstlen; i < sizeof(dst); i++)
      assert_int_equal(dst[i], GUARD);
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)dst[i];
      assert_false(c < 0x20 || c == 0x7f);
      if (c == 0xc2 && i + 1 < n)
        assert_false((unsigned char)dst[i + 1] <= 0x9f);
      if (c == ' ')
        assert_true(i > 0 && i + 1 < n && dst[i + 1] != ' ');
    }
  }
}

/* ---- dcb_parse_error_body ---------------------------------------------- */

static bool parse_err(const char *body, dcb_api_error_t *out) {
  memset(out, 'X', sizeof(*out)); /* must be re-initialised */
  return dcb_parse_error_body(body, body ? strlen(body) : 0, out);
}

static void expect_error(const char *body, const char *code, const char *msg) {
  dcb_api_error_t e;
  if (!parse_err(body, &e))
    fail_msg("no error found in %s", body);
  assert_string_equal(e.code, code);
  assert_string_equal(e.message, msg);
}

static void expect_no_error_n(const char *body, size_t len) {
  dcb_api_error_t e;
  memset(&e, 'X', sizeof(e));
  if (dcb_parse_error_body(body, len, &e))
    fail_msg("an error was found (code \"%.64s\") in a body of %zu bytes",
             e.code, len);
  assert_int_equal(e.code[0], '\0');
  assert_int_equal(e.message[0], '\0');
  assert_non_null(memchr(e.code, '\0', sizeof(e.code)));
  assert_non_null(memchr(e.message, '\0', sizeof(e.message)));
}

static void expect_no_error(const char *body) {
  expect_no_error_n(body, body ? strlen(body) : 0);
}

static void test_errors_array(void **state) {
  (void)state;
  expect_error("{\"errors\":[{\"code\":\"invalid_api_key\","
               "\"message\":\"Key revoked\"}]}",
               "invalid_api_key", "Key revoked");
  /* The first error wins. */
  expect_error("{\"errors\":[{\"code\":\"a\",\"message\":\"first\"},"
               "{\"code\":\"b\",\"message\":\"second\"}]}",
               "a", "first");
}

static void test_errors_array_skips_non_objects(void **state) {
  (void)state;
  expect_error("{\"errors\":[42,{\"code\":\"c2\",\"message\":\"m2\"}]}", "c2",
               "m2");
  expect_error("{\"errors\":[null,{\"code\":\"c3\",\"message\":\"m3\"}]}", "c3",
               "m3");
  expect_error("{\"errors\":[[],true,{\"code\":\"c4\",\"message\":\"m4\"}]}",
               "c4", "m4");
}

static void test_errors_single_object(void **state) {
  (void)state;
  expect_error("{\"errors\":{\"code\":\"one\",\"message\":\"single\"}}", "one",
               "single");
}

static void test_error_object_and_string(void **state) {
  (void)state;
  expect_error("{\"error\":{\"code\":\"e1\",\"message\":\"obj\"}}", "e1",
               "obj");
  expect_error("{\"error\":\"just text\"}", "", "just text");
}

static void test_error_fallback_after_empty_errors(void **state) {
  (void)state;
  expect_error("{\"errors\":[],\"error\":\"fallback\"}", "", "fallback");
}

static void test_error_description_field(void **state) {
  (void)state;
  expect_error("{\"errors\":[{\"code\":\"d\",\"description\":\"described\"}]}",
               "d", "described");
  /* "message" wins over "description". */
  expect_error("{\"errors\":[{\"code\":\"d\",\"description\":\"x\","
               "\"message\":\"msg\"}]}",
               "d", "msg");
}

static void test_error_integer_code(void **state) {
  (void)state;
  expect_error("{\"errors\":[{\"code\":1234,\"message\":\"numeric\"}]}", "1234",
               "numeric");
  expect_error("{\"errors\":[{\"code\":-7}]}", "-7", "");
}

static void test_error_code_only_or_message_only(void **state) {
  (void)state;
  expect_error("{\"errors\":[{\"code\":\"only_code\"}]}", "only_code", "");
  expect_error("{\"errors\":[{\"message\":\"only message\"}]}", "",
               "only message");
}

static void test_error_values_are_sanitised(void **state) {
  (void)state;
  expect_error("{\"error\":{\"code\":\"x\\ny\",\"message\":"
               "\"line1\\r\\nline2 \\u001b[0m \\u0007 end\"}}",
               "x y", "line1 line2 ?[0m ? end");
}

static void test_error_long_code_truncated(void **state) {
  (void)state;
  char body[512];
  char code[201];
  memset(code, 'c', 200);
  code[200] = '\0';
  snprintf(body, sizeof(body), "{\"errors\":[{\"code\":\"%s\"}]}", code);
  dcb_api_error_t e;
  assert_true(parse_err(body, &e));
  assert_int_equal(strlen(e.code), DCB_API_CODE_MAX - 1);
  assert_memory_equal(e.code, code, DCB_API_CODE_MAX - 1);
}

static void test_error_empty_and_null(void **state) {
  (void)state;
  expect_no_error("");
  expect_no_error(NULL);
  expect_no_error_n("{\"error\":\"x\"}", 0);
}

static void test_error_not_json(void **state) {
  (void)state;
  expect_no_error("not json at all");
  expect_no_error("<html><body>502 Bad Gateway</body></html>");
  expect_no_error("{error: 'x'}");
  expect_no_error("42");
  expect_no_error("\"error\"");
  expect_no_error("null");
}

static void test_error_truncated_json(void **state) {
  (void)state;
  expect_no_error("{\"errors\":[{\"code\":\"c\",\"message\":\"m\"");
  expect_no_error("{\"errors\":[{\"code\":\"c\",\"message\":\"m\"}]");
  expect_no_error("{\"error\":\"tex");
  expect_no_error("{");
}

static void test_error_len_limits_input(void **state) {
  (void)state;
  /* Only len bytes count: the tail is not part of the body. */
  const char *s = "{\"error\":\"x\"}{\"garbage";
  dcb_api_error_t e;
  memset(&e, 'X', sizeof(e));
  assert_true(dcb_parse_error_body(s, 13, &e));
  assert_string_equal(e.message, "x");
  expect_no_error_n(s, 12);
}

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_error_deep_nesting(void **state) {
  (void)state;
  const size_t depth = 10000;
  const char *head = "{\"errors\":";
  size_t hl = strlen(head);
  size_t len = hl + 2 * depth + 1;
  char *body = ts_xmalloc(len + 1);
  memcpy(body, head, hl);
  memset(body + hl, '[', depth);
  memset(body + hl + depth, ']', depth);
  body[len - 1] = '}';
  body[len] = '\0';
  double t0 = mono_now();
  expect_no_error_n(body, len);

  /* Deep objects too: {"a":{"a":...}} */
  size_t ol = 5 * depth + 1 + depth;
  char *obj = ts_xmalloc(ol + 1);
  for (size_t i = 0; i < depth; i++)
    memcpy(obj + 5 * i, "{\"a\":", 5);
  obj[5 * depth] = '1';
  memset(obj + 5 * depth + 1, '}', depth);
  obj[ol] = '\0';
  expect_no_error_n(obj, ol);
  int64_t id = -1;
  assert_int_equal(dcb_parse_account_id(obj, ol, &id), -1);
  assert_false(dcb_parse_api_keys_ok(obj, ol));
  assert_true(mono_now() - t0 < 5.0);
  free(body);
  free(obj);
}

static void test_error_nesting_within_limit(void **state) {
  (void)state;
  /* A few levels (well under DCB_JSON_MAX_DEPTH) still parse. */
  expect_error("{\"errors\":[{\"code\":\"c\",\"message\":\"m\","
               "\"meta\":{\"a\":{\"b\":[1,2,{\"c\":3}]}}}]}",
               "c", "m");
}

/* An otherwise usable error body whose extra field nests `levels` arrays. */
static char *body_with_nesting(size_t levels) {
  const char *head = "{\"errors\":[{\"code\":\"c\",\"message\":\"m\",\"x\":";
  const char *tail = "}]}";
  size_t hl = strlen(head), tl = strlen(tail);
  char *b = ts_xmalloc(hl + 2 * levels + tl + 1);
  memcpy(b, head, hl);
  memset(b + hl, '[', levels);
  memset(b + hl + levels, ']', levels);
  memcpy(b + hl + 2 * levels, tail, tl + 1);
  return b;
}

static void test_error_depth_limit(void **state) {
  (void)state;
  /* The body itself uses 3 levels ({ [ {); stay well inside the limit... */
  char *b = body_with_nesting(DCB_JSON_MAX_DEPTH - 8);
  expect_error(b, "c", "m");
  free(b);
  /* ...and go past it: the whole body is refused, not half-read. */
  b = body_with_nesting(DCB_JSON_MAX_DEPTH + 4);
  expect_no_error(b);
  free(b);
}

static void test_error_huge_message_truncated(void **state) {
  (void)state;
  const size_t n = 100 * 1024;
  const char *head = "{\"errors\":[{\"code\":\"big\",\"message\":\"";
  const char *tail = "\"}]}";
  size_t hl = strlen(head), tl = strlen(tail);
  char *body = ts_xmalloc(hl + n + tl + 1);
  memcpy(body, head, hl);
  memset(body + hl, 'm', n);
  memcpy(body + hl + n, tail, tl + 1);
  dcb_api_error_t e;
  assert_true(parse_err(body, &e));
  assert_string_equal(e.code, "big");
  assert_true(strlen(e.message) < DCB_API_MSG_MAX);
  assert_true(strlen(e.message) >= DCB_API_MSG_MAX / 2);
  for (size_t i = 0; e.message[i] != '\0'; i++)
    assert_int_equal(e.message[i], 'm');
  free(body);

  /* Same with two-byte characters: the cut must not split one. */
  body = ts_xmalloc(hl + n + tl + 1);
  memcpy(body, head, hl);
  for (size_t i = 0; i < n; i += 2)
    memcpy(body + hl + i, "\xc3\xa9", 2);
  memcpy(body + hl + n, tail, tl + 1);
  assert_true(parse_err(body, &e));
  size_t ml = strlen(e.message);
  assert_true(ml < DCB_API_MSG_MAX);
  assert_true(ml > 0 && ml % 2 == 0);
  assert_true(ts_utf8_valid(e.message, ml));
  free(body);
}

static void test_error_binary_garbage(void **state) {
  (void)state;
  unsigned seed = 777;
  unsigned char buf[4096];
  for (int iter = 0; iter < 50; iter++) {
    for (size_t i = 0; i < sizeof(buf); i++)
      buf[i] = (unsigned char)rand_r(&seed);
    buf[17] = '\0';
    buf[0] = '{';
    dcb_api_error_t e;
    memset(&e, 'X', sizeof(e));
    dcb_parse_error_body((const char *)buf, sizeof(buf), &e);
    assert_non_null(memchr(e.code, '\0', sizeof(e.code)));
    assert_non_null(memchr(e.message, '\0', sizeof(e.message)));
  }
  static const char nul_inside[] = "{\"error\":\"ab\0cd\"}";
  expect_no_error_n(nul_inside, sizeof(nul_inside) - 1);
  static const char nul_first[] = "\0{\"error\":\"x\"}";
  expect_no_error_n(nul_first, sizeof(nul_first) - 1);
}

static void test_error_top_level_array(void **state) {
  (void)state;
  expect_no_error("[{\"code\":\"c\",\"message\":\"m\"}]");
  expect_no_error("[]");
}

static void test_error_unusable_shapes(void **state) {
  (void)state;
  expect_no_error("{}");
  expect_no_error("{\"errors\":[]}");
  expect_no_error("{\"errors\":[1,2,3]}");
  expect_no_error("{\"errors\":null}");
  expect_no_error("{\"error\":\"\"}");
  expect_no_error("{\"error\":\"  \\n \"}");
  expect_no_error("{\"error\":{\"code\":true,\"message\":[\"x\"]}}");
}

/* ---- dcb_parse_account_id ---------------------------------------------- */

static void expect_id(const char *body, int64_t want) {
  int64_t id = -99;
  if (dcb_parse_account_id(body, strlen(body), &id) != 0)
    fail_msg("no account id in %s", body);
  assert_true(id == want);
}

static void expect_no_id(const char *body) {
  int64_t id = -99;
  int rc = dcb_parse_account_id(body, body ? strlen(body) : 0, &id);
  if (rc != -1)
    fail_msg("account id %lld accepted from %s", (long long)id,
             body ? body : "(null)");
}

static void test_account_id_integer(void **state) {
  (void)state;
  expect_id("{\"account_id\":12345}", 12345);
  expect_id("{\"id\":1,\"account_id\":0,\"name\":\"x\"}", 0);
  expect_id("{\"account_id\":9007199254740993}", INT64_C(9007199254740993));
}

static void test_account_id_string(void **state) {
  (void)state;
  expect_id("{\"account_id\":\"67890\"}", 67890);
  expect_id("{\"account_id\":\"007\"}", 7);
}

static void test_account_id_rejected(void **state) {
  (void)state;
  expect_no_id("{\"account_id\":-5}");
  expect_no_id("{\"account_id\":\"-5\"}");
  expect_no_id("{\"account_id\":12.5}");
  expect_no_id("{\"account_id\":1e3}");
  expect_no_id("{\"account_id\":\"12.5\"}");
  expect_no_id("{\"account_id\":\"12a\"}");
  expect_no_id("{\"account_id\":\" 12\"}");
  expect_no_id("{\"account_id\":\"+12\"}");
  expect_no_id("{\"account_id\":\"\"}");
  expect_no_id("{\"account_id\":true}");
  expect_no_id("{\"account_id\":null}");
  expect_no_id("{\"account_id\":{\"id\":5}}");
  expect_no_id("{\"account_id\":[5]}");
}

static void test_account_id_missing_or_not_object(void **state) {
  (void)state;
  expect_no_id("{\"id\":5}");
  expect_no_id("{}");
  expect_no_id("[{\"account_id\":5}]");
  expect_no_id("5");
  expect_no_id("\"5\"");
  expect_no_id("");
  expect_no_id(NULL);
  expect_no_id("garbage");
  expect_no_id("{\"account_id\":5");
}

static void test_account_id_huge_string(void **state) {
  (void)state;
  expect_no_id("{\"account_id\":\"99999999999999999999\"}");
}

/* Regression: a JSON integer beyond INT64_MAX used to be clamped by json-c
 * to INT64_MAX and accepted as if it were the account ID. */
static void test_account_id_huge_number(void **state) {
  (void)state;
  expect_no_id("{\"account_id\":99999999999999999999}");
  expect_no_id("{\"account_id\":9223372036854775808}");
}

/* ---- dcb_parse_api_keys_ok --------------------------------------------- */

static bool keys_ok(const char *body) {
  return dcb_parse_api_keys_ok(body, body ? strlen(body) : 0);
}

static void test_api_keys_ok(void **state) {
  (void)state;
  assert_true(keys_ok("{\"api_keys\":[]}"));
  assert_true(keys_ok("{\"api_keys\":[{\"id\":1,\"name\":\"k\"}],"
                      "\"page\":{\"total\":1}}"));
}

static void test_api_keys_not_ok(void **state) {
  (void)state;
  assert_false(keys_ok("{\"api_keys\":{}}"));
  assert_false(keys_ok("{\"api_keys\":null}"));
  assert_false(keys_ok("{\"api_keys\":\"[]\"}"));
  assert_false(keys_ok("{\"keys\":[]}"));
  assert_false(keys_ok("{}"));
  assert_false(keys_ok("[]"));
  assert_false(keys_ok("[{\"api_keys\":[]}]"));
  assert_false(keys_ok(""));
  assert_false(keys_ok(NULL));
  assert_false(keys_ok("{\"api_keys\":["));
  assert_false(keys_ok("<html></html>"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sanitize_plain_text_kept),
      cmocka_unit_test(test_sanitize_ansi_escape),
      cmocka_unit_test(test_sanitize_controls_replaced),
      cmocka_unit_test(test_sanitize_whitespace_runs),
      cmocka_unit_test(test_sanitize_invalid_utf8),
      cmocka_unit_test(test_sanitize_c1_controls),
      cmocka_unit_test(test_sanitize_valid_multibyte_kept),
      cmocka_unit_test(test_sanitize_truncation),
      cmocka_unit_test(test_sanitize_zero_dstlen_writes_nothing),
      cmocka_unit_test(test_sanitize_respects_srclen_and_null),
      cmocka_unit_test(test_sanitize_random_bytes),
      cmocka_unit_test(test_errors_array),
      cmocka_unit_test(test_errors_array_skips_non_objects),
      cmocka_unit_test(test_errors_single_object),
      cmocka_unit_test(test_error_object_and_string),
      cmocka_unit_test(test_error_fallback_after_empty_errors),
      cmocka_unit_test(test_error_description_field),
      cmocka_unit_test(test_error_integer_code),
      cmocka_unit_test(test_error_code_only_or_message_only),
      cmocka_unit_test(test_error_values_are_sanitised),
      cmocka_unit_test(test_error_long_code_truncated),
      cmocka_unit_test(test_error_empty_and_null),
      cmocka_unit_test(test_error_not_json),
      cmocka_unit_test(test_error_truncated_json),
      cmocka_unit_test(test_error_len_limits_input),
      cmocka_unit_test(test_error_deep_nesting),
      cmocka_unit_test(test_error_nesting_within_limit),
      cmocka_unit_test(test_error_depth_limit),
      cmocka_unit_test(test_error_huge_message_truncated),
      cmocka_unit_test(test_error_binary_garbage),
      cmocka_unit_test(test_error_top_level_array),
      cmocka_unit_test(test_error_unusable_shapes),
      cmocka_unit_test(test_account_id_integer),
      cmocka_unit_test(test_account_id_string),
      cmocka_unit_test(test_account_id_rejected),
      cmocka_unit_test(test_account_id_missing_or_not_object),
      cmocka_unit_test(test_account_id_huge_string),
      cmocka_unit_test(test_account_id_huge_number),
      cmocka_unit_test(test_api_keys_ok),
      cmocka_unit_test(test_api_keys_not_ok),
  };
  return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
