/* Log capture, heap-built oconfig trees and small shared assertions. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- log capture ------------------------------------------------------- */

static struct {
  char msg[TS_LOG_KEEP][TS_LOG_MSG_MAX];
  int level[TS_LOG_KEEP];
  size_t total; /* ever logged since reset; slot of message k is k % KEEP */
  char *watch[TS_LOG_WATCH_MAX];
  size_t n_watch;
  size_t watch_hits;
} cap;

void dcb_log(int level, const char *fmt, ...) {
  char line[TS_LOG_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);

  size_t slot = cap.total % TS_LOG_KEEP;
  memcpy(cap.msg[slot], line, sizeof(line));
  cap.level[slot] = level;
  cap.total++;

  for (size_t i = 0; i < cap.n_watch; i++) {
    if (strstr(line, cap.watch[i]) != NULL) {
      cap.watch_hits++;
      break;
    }
  }
  if (getenv("DCB_TEST_VERBOSE") != NULL)
    fprintf(stderr, "[log %d] %s\n", level, line);
}

void ts_log_reset(void) {
  for (size_t i = 0; i < cap.n_watch; i++)
    free(cap.watch[i]);
  memset(&cap, 0, sizeof(cap));
}

size_t ts_log_total(void) { return cap.total; }

size_t ts_log_count(void) {
  return cap.total < TS_LOG_KEEP ? cap.total : TS_LOG_KEEP;
}

/* Ring slot of held message i (0 = oldest held). */
static size_t slot_of(size_t i) {
  size_t held = ts_log_count();
  size_t first = cap.total - held;
  return (first + i) % TS_LOG_KEEP;
}

const char *ts_log_message(size_t i) {
  if (i >= ts_log_count())
    return NULL;
  return cap.msg[slot_of(i)];
}

int ts_log_level(size_t i) {
  if (i >= ts_log_count())
    return -1;
  return cap.level[slot_of(i)];
}

const char *ts_log_last(void) {
  size_t n = ts_log_count();
  return n == 0 ? NULL : ts_log_message(n - 1);
}

int ts_log_last_level(void) {
  size_t n = ts_log_count();
  return n == 0 ? -1 : ts_log_level(n - 1);
}

size_t ts_log_count_level(int level) {
  size_t hits = 0;
  for (size_t i = 0; i < ts_log_count(); i++)
    if (ts_log_level(i) == level)
      hits++;
  return hits;
}

int ts_log_find(const char *needle) {
  for (size_t i = 0; i < ts_log_count(); i++)
    if (strstr(ts_log_message(i), needle) != NULL)
      return (int)i;
  return -1;
}

bool ts_log_contains(const char *needle) { return ts_log_find(needle) >= 0; }

bool ts_log_contains2(const char *needle1, const char *needle2) {
  for (size_t i = 0; i < ts_log_count(); i++) {
    const char *m = ts_log_message(i);
    if (strstr(m, needle1) != NULL && strstr(m, needle2) != NULL)
      return true;
  }
  return false;
}

bool ts_log_has_since(size_t mark, int level, const char *needle1,
                      const char *needle2) {
  size_t held = ts_log_count();
  size_t first_held = cap.total - held; /* sequence number of index 0 */
  for (size_t i = 0; i < held; i++) {
    if (first_held + i < mark)
      continue;
    if (level >= 0 && ts_log_level(i) != level)
      continue;
    const char *m = ts_log_message(i);
    if (needle1 != NULL && strstr(m, needle1) == NULL)
      continue;
    if (needle2 != NULL && strstr(m, needle2) == NULL)
      continue;
    return true;
  }
  return false;
}

void ts_log_watch(const char *s) {
  assert_true(cap.n_watch < TS_LOG_WATCH_MAX);
  char *copy = strdup(s);
  assert_non_null(copy);
  cap.watch[cap.n_watch++] = copy;
}

size_t ts_log_watch_hits(void) { return cap.watch_hits; }

void ts_log_dump(void) {
  for (size_t i = 0; i < ts_log_count(); i++)
    fprintf(stderr, "  log[%zu] level %d: %s\n", i, ts_log_level(i),
            ts_log_message(i));
}

/* ---- oconfig trees ----------------------------------------------------- */

void *ts_xmalloc(size_t n) {
  void *p = malloc(n == 0 ? 1 : n);
  if (p == NULL)
    fail_msg("out of memory allocating %zu bytes", n);
  return p;
}

static char *xstrndup(const char *s, size_t n) {
  char *p = ts_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

oconfig_item_t *ts_cfg_new(const char *key) {
  oconfig_item_t *ci = ts_xmalloc(sizeof(*ci));
  memset(ci, 0, sizeof(*ci));
  ci->key = xstrndup(key, strlen(key));
  return ci;
}

oconfig_item_t *ts_cfg_child(oconfig_item_t *parent, const char *key) {
  size_t n = (size_t)parent->children_num;
  oconfig_item_t *grown =
      realloc(parent->children, (n + 1) * sizeof(*parent->children));
  if (grown == NULL)
    fail_msg("out of memory growing children");
  parent->children = grown;
  /* The array may have moved: grandchildren must point at the new places. */
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < grown[i].children_num; j++)
      grown[i].children[j].parent = &grown[i];
  oconfig_item_t *c = &grown[n];
  memset(c, 0, sizeof(*c));
  c->key = xstrndup(key, strlen(key));
  c->parent = parent;
  parent->children_num++;
  return c;
}

static oconfig_value_t *new_value(oconfig_item_t *ci, int type) {
  size_t n = (size_t)ci->values_num;
  oconfig_value_t *grown = realloc(ci->values, (n + 1) * sizeof(*ci->values));
  if (grown == NULL)
    fail_msg("out of memory growing values");
  ci->values = grown;
  ci->values_num++;
  memset(&grown[n], 0, sizeof(grown[n]));
  grown[n].type = type;
  return &grown[n];
}

void ts_cfg_add_string_n(oconfig_item_t *ci, const char *s, size_t len) {
  oconfig_value_t *v = new_value(ci, OCONFIG_TYPE_STRING);
  v->value.string = xstrndup(s, len);
}

void ts_cfg_add_string(oconfig_item_t *ci, const char *s) {
  ts_cfg_add_string_n(ci, s, strlen(s));
}

void ts_cfg_add_number(oconfig_item_t *ci, double v) {
  new_value(ci, OCONFIG_TYPE_NUMBER)->value.number = v;
}

void ts_cfg_add_boolean(oconfig_item_t *ci, bool b) {
  new_value(ci, OCONFIG_TYPE_BOOLEAN)->value.boolean = b ? 1 : 0;
}

oconfig_item_t *ts_cfg_str(oconfig_item_t *parent, const char *key,
                           const char *value) {
  oconfig_item_t *c = ts_cfg_child(parent, key);
  ts_cfg_add_string(c, value);
  return c;
}

oconfig_item_t *ts_cfg_num(oconfig_item_t *parent, const char *key, double v) {
  oconfig_item_t *c = ts_cfg_child(parent, key);
  ts_cfg_add_number(c, v);
  return c;
}

oconfig_item_t *ts_cfg_bool(oconfig_item_t *parent, const char *key, bool b) {
  oconfig_item_t *c = ts_cfg_child(parent, key);
  ts_cfg_add_boolean(c, b);
  return c;
}

/* Free what an item owns, not the item itself. */
static void free_contents(oconfig_item_t *ci) {
  free(ci->key);
  for (int i = 0; i < ci->values_num; i++)
    if (ci->values[i].type == OCONFIG_TYPE_STRING)
      free(ci->values[i].value.string);
  free(ci->values);
  for (int i = 0; i < ci->children_num; i++)
    free_contents(&ci->children[i]);
  free(ci->children);
}

void ts_cfg_free(oconfig_item_t *ci) {
  if (ci == NULL)
    return;
  free_contents(ci);
  free(ci);
}

/* ---- misc -------------------------------------------------------------- */

void ts_assert_double_impl(double a, double b, double eps, const char *expr,
                           const char *file, int line) {
  if (isnan(a) || isnan(b) || fabs(a - b) > eps) {
    print_error("%s is %.17g, expected %.17g (+/- %g)\n", expr, a, b, eps);
    _fail(file, line);
  }
}

void ts_assert_no_substring_impl(const char *hay, const char *needle,
                                 const char *file, int line) {
  if (hay != NULL && strstr(hay, needle) != NULL) {
    print_error("\"%s\" must not contain \"%s\"\n", hay, needle);
    _fail(file, line);
  }
}

void ts_assert_substring_impl(const char *hay, const char *needle,
                              const char *file, int line) {
  if (hay == NULL || strstr(hay, needle) == NULL) {
    print_error("\"%s\" should contain \"%s\"\n", hay ? hay : "(null)", needle);
    _fail(file, line);
  }
}

bool ts_utf8_valid(const char *p, size_t n) {
  const unsigned char *s = (const unsigned char *)p;
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > n)
      return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}
