/* Shared helpers for the cmocka unit tests.
 *
 * 1. A dcb_log() that records messages instead of sending them to collectd.
 *    The newest TS_LOG_KEEP messages are kept; older ones are dropped, but
 *    the total count and the "watched string" hit counter cover every message
 *    ever logged since the last ts_log_reset().
 * 2. Builders for oconfig_item_t trees that live entirely on the heap (keys
 *    and string values included), because the config parser may scrub strings
 *    in place. Free a tree with ts_cfg_free().
 * 3. A few small assertions and utilities the test files share. */
#ifndef DCB_TEST_SUPPORT_H
#define DCB_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after its prerequisites above */

#include "collectd/liboconfig/oconfig.h"
#include "dcb_log.h"

/* ---- log capture ------------------------------------------------------- */

#define TS_LOG_KEEP 64
#define TS_LOG_MSG_MAX 1024
#define TS_LOG_WATCH_MAX 8

/* Forget every captured message and every watched string. */
void ts_log_reset(void);
/* Messages logged since the last reset (including dropped old ones). */
size_t ts_log_total(void);
/* Messages still held (at most TS_LOG_KEEP). */
size_t ts_log_count(void);
/* Held messages with exactly this syslog level. */
size_t ts_log_count_level(int level);
/* Held message i, 0 = oldest still held; NULL when out of range. */
const char *ts_log_message(size_t i);
/* Level of held message i, -1 when out of range. */
int ts_log_level(size_t i);
/* Newest message, or NULL when nothing was logged. */
const char *ts_log_last(void);
int ts_log_last_level(void);
/* Index of the first held message containing needle, or -1. */
int ts_log_find(const char *needle);
/* True when some held message contains needle. */
bool ts_log_contains(const char *needle);
/* True when one held message contains both needles. */
bool ts_log_contains2(const char *needle1, const char *needle2);
/* True when a message logged after ts_log_total() returned mark (and still
 * held) has this level (-1: any) and contains needle1 and needle2 (NULL:
 * no condition). */
bool ts_log_has_since(size_t mark, int level, const char *needle1,
                      const char *needle2);
/* Count every future message containing s (a copy is kept), until reset. */
void ts_log_watch(const char *s);
/* Messages that contained any watched string. */
size_t ts_log_watch_hits(void);
/* Print the held messages on stderr (handy when a test fails). */
void ts_log_dump(void);

/* ---- oconfig trees ----------------------------------------------------- */

/* A detached item (e.g. the <Plugin> block) with a heap-copied key. */
oconfig_item_t *ts_cfg_new(const char *key);
/* Append a child with key; returns it. The pointer stays valid only until
 * the next child is appended to the same parent (children are an array). */
oconfig_item_t *ts_cfg_child(oconfig_item_t *parent, const char *key);
/* Append values to an item (strings are copied to the heap). */
void ts_cfg_add_string(oconfig_item_t *ci, const char *s);
/* Append a string of exactly len bytes (may be huge); content is copied. */
void ts_cfg_add_string_n(oconfig_item_t *ci, const char *s, size_t len);
void ts_cfg_add_number(oconfig_item_t *ci, double v);
void ts_cfg_add_boolean(oconfig_item_t *ci, bool b);
/* Shorthands: append child "key" holding one value; return the child. */
oconfig_item_t *ts_cfg_str(oconfig_item_t *parent, const char *key,
                           const char *value);
oconfig_item_t *ts_cfg_num(oconfig_item_t *parent, const char *key, double v);
oconfig_item_t *ts_cfg_bool(oconfig_item_t *parent, const char *key, bool b);
/* Free a tree made with ts_cfg_new() (recursively, strings included). */
void ts_cfg_free(oconfig_item_t *ci);

/* ---- misc -------------------------------------------------------------- */

/* Fail unless |a - b| <= eps (cmocka 1.1 only compares floats). */
#define ts_assert_double(a, b, eps)                                            \
  ts_assert_double_impl((a), (b), (eps), #a, __FILE__, __LINE__)
void ts_assert_double_impl(double a, double b, double eps, const char *expr,
                           const char *file, int line);

/* Fail when haystack (len bytes) contains needle. */
#define ts_assert_no_substring(hay, needle)                                    \
  ts_assert_no_substring_impl((hay), (needle), __FILE__, __LINE__)
void ts_assert_no_substring_impl(const char *hay, const char *needle,
                                 const char *file, int line);
#define ts_assert_substring(hay, needle)                                       \
  ts_assert_substring_impl((hay), (needle), __FILE__, __LINE__)
void ts_assert_substring_impl(const char *hay, const char *needle,
                              const char *file, int line);

/* True when the n bytes at p are valid UTF-8 (no overlongs/surrogates). */
bool ts_utf8_valid(const char *p, size_t n);

/* malloc that fails the test on NULL. */
void *ts_xmalloc(size_t n);

#endif
