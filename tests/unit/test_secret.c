/* Unit tests for plugin/secret.c: secrets in memory, key checks, key files. */
#define _GNU_SOURCE
#include "test_support.h"

#include "dcb_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- fixture: a private temporary directory per test ------------------- */

typedef struct {
  char dir[256];
  char path[PATH_MAX]; /* scratch for path_in() */
  char path2[PATH_MAX];
} fx_t;

static int setup_dir(void **state) {
  fx_t *fx = calloc(1, sizeof(*fx));
  if (fx == NULL)
    return -1;
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] == '\0')
    tmp = "/tmp";
  snprintf(fx->dir, sizeof(fx->dir), "%s/dcb_secret_XXXXXX", tmp);
  if (mkdtemp(fx->dir) == NULL) {
    free(fx);
    return -1;
  }
  *state = fx;
  return 0;
}

static int remove_entry(const char *p, const struct stat *sb, int flag,
                        struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static int teardown_dir(void **state) {
  fx_t *fx = *state;
  int rc = nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(fx);
  return rc == 0 ? 0 : -1;
}

static const char *path_in(fx_t *fx, const char *name) {
  snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
  return fx->path;
}

/* Create dir/name with exactly these bytes and this mode; returns the path
 * (in fx->path, overwritten by the next call). */
static const char *make_file(fx_t *fx, const char *name, const char *data,
                             size_t len, mode_t mode) {
  const char *p = path_in(fx, name);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, data + done, len - done);
    assert_true(n > 0);
    done += (size_t)n;
  }
  assert_int_equal(fchmod(fd, mode), 0); /* independent of the umask */
  assert_int_equal(close(fd), 0);
  return p;
}

static const char *make_text(fx_t *fx, const char *name, const char *text,
                             mode_t mode) {
  return make_file(fx, name, text, strlen(text), mode);
}

/* The read must fail, name the path, keep `out` as it was and never echo any
 * of the given fragments of the file's content. */
static void expect_read_fails(const char *path, const char *secret1,
                              const char *secret2) {
  dcb_secret_t out = {0};
  dcb_file_id_t id = {0};
  char err[512] = "";
  assert_int_equal(dcb_secret_set(&out, "previous", 8), 0);
  char *before = out.buf;

  alarm(10); /* a blocking open/read would be a bug: die instead of hang */
  int rc = dcb_keyfile_read(path, &out, &id, err, sizeof(err));
  alarm(0);

  assert_int_equal(rc, -1);
  assert_ptr_equal(out.buf, before);
  assert_int_equal(out.len, 8);
  assert_string_equal(out.buf, "previous");
  assert_false(id.valid);
  assert_true(strlen(err) > strlen(path));
  ts_assert_substring(err, path);
  if (secret1 != NULL)
    ts_assert_no_substring(err, secret1);
  if (secret2 != NULL)
    ts_assert_no_substring(err, secret2);
  dcb_secret_clear(&out);
}

/* The read must succeed with exactly `expected` as the key. */
static void expect_read_ok(const char *path, const char *expected) {
  dcb_secret_t out = {0};
  dcb_file_id_t id = {0};
  char err[512] = "untouched";
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  int rc = dcb_keyfile_read(path, &out, &id, err, sizeof(err));
  if (rc != 0)
    fail_msg("reading %s failed: %s", path, err);
  assert_non_null(out.buf);
  assert_int_equal(out.len, strlen(expected));
  assert_memory_equal(out.buf, expected, out.len);
  assert_int_equal(out.buf[out.len], '\0');
  assert_true(id.valid);
  assert_true(id.ino == st.st_ino);
  assert_true(id.dev == st.st_dev);
  assert_true(id.size == st.st_size);
  dcb_secret_clear(&out);
}

/* ---- dcb_secret_set / clear / wipe ------------------------------------- */

static void test_secret_set_copies_and_terminates(void **state) {
  (void)state;
  dcb_secret_t s = {0};
  char src[] = "abcdefgh";
  assert_int_equal(dcb_secret_set(&s, src, 5), 0);
  assert_non_null(s.buf);
  assert_ptr_not_equal(s.buf, src);
  assert_int_equal(s.len, 5);
  assert_string_equal(s.buf, "abcde");
  /* A copy: changing the source afterwards does not change the secret. */
  src[0] = 'Z';
  assert_string_equal(s.buf, "abcde");
  dcb_secret_clear(&s);
}

static void test_secret_set_replaces_previous(void **state) {
  (void)state;
  dcb_secret_t s = {0};
  assert_int_equal(dcb_secret_set(&s, "first-value", 11), 0);
  assert_int_equal(dcb_secret_set(&s, "2nd", 3), 0);
  assert_int_equal(s.len, 3);
  assert_string_equal(s.buf, "2nd");
  dcb_secret_clear(&s);
}

static void test_secret_set_embedded_nul_uses_len(void **state) {
  (void)state;
  dcb_secret_t s = {0};
  assert_int_equal(dcb_secret_set(&s, "ab\0cd", 5), 0);
  assert_int_equal(s.len, 5);
  assert_memory_equal(s.buf, "ab\0cd", 6); /* terminated after len bytes */
  dcb_secret_clear(&s);
}

static void test_secret_clear_resets_and_is_idempotent(void **state) {
  (void)state;
  dcb_secret_t s = {0};
  dcb_secret_clear(&s); /* empty secret: no-op */
  assert_null(s.buf);
  assert_int_equal(s.len, 0);
  assert_int_equal(dcb_secret_set(&s, "value", 5), 0);
  dcb_secret_clear(&s);
  assert_null(s.buf);
  assert_int_equal(s.len, 0);
  dcb_secret_clear(&s);
  assert_null(s.buf);
}

static void test_wipe_zeroes_and_tolerates_null(void **state) {
  (void)state;
  char buf[16];
  memset(buf, 'x', sizeof(buf));
  dcb_wipe(buf, 10);
  for (size_t i = 0; i < 10; i++)
    assert_int_equal(buf[i], 0);
  for (size_t i = 10; i < sizeof(buf); i++)
    assert_int_equal(buf[i], 'x');
  dcb_wipe(NULL, 10);
  dcb_wipe(buf + 10, 0);
  assert_int_equal(buf[10], 'x');
}

/* ---- dcb_key_check ----------------------------------------------------- */

static void expect_key_bad(const char *key, size_t len, const char *fragment) {
  char err[256] = "";
  assert_int_equal(dcb_key_check(key, len, err, sizeof(err)), -1);
  assert_true(err[0] != '\0');
  if (fragment != NULL)
    ts_assert_no_substring(err, fragment);
}

static void test_key_check_rejects_bad_keys(void **state) {
  (void)state;
  expect_key_bad("", 0, NULL);
  expect_key_bad("KEYpartA KEYpartB", 17, "KEYpart");
  expect_key_bad("KEYpartA\tKEYpartB", 17, "KEYpart");
  expect_key_bad("KEYpartA\rKEYpartB", 17, "KEYpart");
  expect_key_bad("KEYpartA\nKEYpartB", 17, "KEYpart");
  expect_key_bad("KEYpartA\0KEYpartB", 17, "KEYpart");
  expect_key_bad("KEYpartA\x7fKEYpartB", 17, "KEYpart");
  expect_key_bad("KEYpartA\x01KEYpartB", 17, "KEYpart");
  expect_key_bad("KEYpartA\xc3\xa9KEYpart", 17, "KEYpart");
  expect_key_bad("KEYpartA\xffKEYpartB", 17, "KEYpart");
  /* Leading/trailing whitespace is the caller's job: not accepted here. */
  expect_key_bad(" KEYpartA", 9, "KEYpart");
  expect_key_bad("KEYpartA\n", 9, "KEYpart");
}

static void test_key_check_length_limit(void **state) {
  (void)state;
  char key[DCB_KEY_MAX_LEN + 2];
  memset(key, 'K', sizeof(key));
  char err[256] = "";
  assert_int_equal(dcb_key_check(key, DCB_KEY_MAX_LEN, err, sizeof(err)), 0);
  expect_key_bad(key, DCB_KEY_MAX_LEN + 1, "KKKKKKKK");
}

static void test_key_check_accepts_printable_ascii(void **state) {
  (void)state;
  char err[256] = "";
  const char *key = "Az09!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  assert_int_equal(dcb_key_check(key, strlen(key), err, sizeof(err)), 0);
  assert_int_equal(dcb_key_check("x", 1, err, sizeof(err)), 0);
}

static void test_key_check_small_err_buffer(void **state) {
  (void)state;
  char err[8];
  memset(err, 'Q', sizeof(err));
  assert_int_equal(dcb_key_check("a b", 3, err, sizeof(err)), -1);
  assert_int_equal(err[7], '\0');
  assert_int_equal(strlen(err), 7);
}

/* ---- dcb_keyfile_read: accepted files ---------------------------------- */

static void test_keyfile_trims_whitespace(void **state) {
  fx_t *fx = *state;
  static const char *const variants[] = {
      "KeyValue-01",       "KeyValue-01\n",          "KeyValue-01\r\n",
      "  KeyValue-01  \n", "\t KeyValue-01\r\n\r\n", "\n\nKeyValue-01\t",
  };
  for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
    char name[32];
    snprintf(name, sizeof(name), "good%zu", i);
    expect_read_ok(make_text(fx, name, variants[i], 0600), "KeyValue-01");
  }
}

static void test_keyfile_owner_and_group_modes_accepted(void **state) {
  fx_t *fx = *state;
  expect_read_ok(make_text(fx, "ro", "ReadOnlyKey\n", 0400), "ReadOnlyKey");
  expect_read_ok(make_text(fx, "grp", "GroupKey\n", 0640), "GroupKey");
}

static void test_keyfile_replaces_previous_content(void **state) {
  fx_t *fx = *state;
  const char *p = make_text(fx, "k", "NewKey\n", 0600);
  dcb_secret_t out = {0};
  dcb_file_id_t id = {0};
  char err[256];
  assert_int_equal(dcb_secret_set(&out, "an older and longer key", 23), 0);
  assert_int_equal(dcb_keyfile_read(p, &out, &id, err, sizeof(err)), 0);
  assert_int_equal(out.len, 6);
  assert_string_equal(out.buf, "NewKey");
  dcb_secret_clear(&out);
}

static void test_keyfile_max_length_key_accepted(void **state) {
  fx_t *fx = *state;
  char data[DCB_KEY_MAX_LEN + 200 + 1];
  char key[DCB_KEY_MAX_LEN + 1];
  memset(key, 'k', DCB_KEY_MAX_LEN);
  key[DCB_KEY_MAX_LEN] = '\0';
  /* Some padding around it is trimmed, not counted. */
  memset(data, ' ', 100);
  memcpy(data + 100, key, DCB_KEY_MAX_LEN);
  memset(data + 100 + DCB_KEY_MAX_LEN, '\n', 100);
  data[sizeof(data) - 1] = '\0';
  expect_read_ok(make_text(fx, "max", data, 0600), key);
}

static void test_keyfile_symlink_to_private_file(void **state) {
  fx_t *fx = *state;
  const char *target = make_text(fx, "target", "LinkedKey\n", 0600);
  snprintf(fx->path2, sizeof(fx->path2), "%s", target);
  const char *link = path_in(fx, "link");
  assert_int_equal(symlink(fx->path2, link), 0);
  expect_read_ok(link, "LinkedKey");
}

/* ---- dcb_keyfile_read: refused files ----------------------------------- */

static void test_keyfile_missing(void **state) {
  fx_t *fx = *state;
  expect_read_fails(path_in(fx, "does-not-exist"), NULL, NULL);
}

static void test_keyfile_empty_and_blank(void **state) {
  fx_t *fx = *state;
  expect_read_fails(make_text(fx, "empty", "", 0600), NULL, NULL);
  expect_read_fails(make_text(fx, "blank", "  \n\t\r\n \n", 0600), NULL, NULL);
}

static void test_keyfile_world_readable_refused(void **state) {
  fx_t *fx = *state;
  const char *p = make_text(fx, "open", "SecretWorldReadable\n", 0644);
  expect_read_fails(p, "SecretWorldReadable", NULL);
}

static void test_keyfile_world_writable_refused(void **state) {
  fx_t *fx = *state;
  const char *p = make_text(fx, "writable", "SecretWorldWritable\n", 0602);
  expect_read_fails(p, "SecretWorldWritable", NULL);
}

/* The refusal names the reason, not just any failure further down. */
static void expect_reason(const char *path, const char *reason) {
  dcb_secret_t out = {0};
  dcb_file_id_t id = {0};
  char err[512] = "";
  alarm(10);
  assert_int_equal(dcb_keyfile_read(path, &out, &id, err, sizeof(err)), -1);
  alarm(0);
  ts_assert_substring(err, reason);
  dcb_secret_clear(&out);
}

static void test_keyfile_directory_refused(void **state) {
  fx_t *fx = *state;
  const char *p = path_in(fx, "adir");
  assert_int_equal(mkdir(p, 0700), 0);
  expect_read_fails(p, NULL, NULL);
  expect_reason(p, "is not a regular file");
}

static void test_keyfile_fifo_refused_without_blocking(void **state) {
  fx_t *fx = *state;
  const char *p = path_in(fx, "fifo");
  assert_int_equal(mkfifo(p, 0600), 0);
  time_t t0 = time(NULL);
  expect_read_fails(p, NULL, NULL); /* arms alarm(10) around the call */
  assert_true(time(NULL) - t0 < 5);
  expect_reason(p, "is not a regular file");
}

static void test_keyfile_symlink_to_open_file_refused(void **state) {
  fx_t *fx = *state;
  const char *target = make_text(fx, "target", "SecretBehindLink\n", 0644);
  snprintf(fx->path2, sizeof(fx->path2), "%s", target);
  const char *link = path_in(fx, "link");
  assert_int_equal(symlink(fx->path2, link), 0);
  expect_read_fails(link, "SecretBehindLink", NULL);
}

static void test_keyfile_dangling_symlink_refused(void **state) {
  fx_t *fx = *state;
  snprintf(fx->path2, sizeof(fx->path2), "%s/nowhere", fx->dir);
  const char *link = path_in(fx, "dangling");
  assert_int_equal(symlink(fx->path2, link), 0);
  expect_read_fails(link, NULL, NULL);
}

static void test_keyfile_nul_byte_refused(void **state) {
  fx_t *fx = *state;
  static const char data[] = "SecretHalfOne\0SecretHalfTwo\n";
  expect_read_fails(make_file(fx, "nul", data, sizeof(data) - 1, 0600),
                    "SecretHalf", NULL);
  static const char tail[] = "SecretHalfOne\0";
  expect_read_fails(make_file(fx, "nul2", tail, sizeof(tail) - 1, 0600),
                    "SecretHalf", NULL);
}

static void test_keyfile_inner_line_break_refused(void **state) {
  fx_t *fx = *state;
  expect_read_fails(make_text(fx, "cr", "SecretHalfOne\rSecretHalfTwo\n", 0600),
                    "SecretHalf", NULL);
  expect_read_fails(make_text(fx, "lf", "SecretHalfOne\nSecretHalfTwo\n", 0600),
                    "SecretHalf", NULL);
  expect_read_fails(make_text(fx, "sp", "SecretHalfOne SecretHalfTwo\n", 0600),
                    "SecretHalf", NULL);
}

static void test_keyfile_control_and_non_ascii_refused(void **state) {
  fx_t *fx = *state;
  expect_read_fails(make_text(fx, "ctl", "SecretA\x01SecretB\n", 0600),
                    "SecretA", "SecretB");
  expect_read_fails(make_text(fx, "del", "SecretA\x7fSecretB\n", 0600),
                    "SecretA", "SecretB");
  expect_read_fails(make_text(fx, "utf", "SecretA\xc3\xa9SecretB\n", 0600),
                    "SecretA", "SecretB");
}

static void test_keyfile_too_long_key_refused(void **state) {
  fx_t *fx = *state;
  char data[DCB_KEY_MAX_LEN + 3];
  memset(data, 'L', DCB_KEY_MAX_LEN + 1);
  data[DCB_KEY_MAX_LEN + 1] = '\n';
  data[DCB_KEY_MAX_LEN + 2] = '\0';
  expect_read_fails(make_text(fx, "long", data, 0600), "LLLLLLLL", NULL);
}

static void test_keyfile_huge_file_refused(void **state) {
  fx_t *fx = *state;
  size_t n = 64 * 1024;
  char *data = ts_xmalloc(n);
  memset(data, 'H', n);
  const char *p = make_file(fx, "huge", data, n, 0600);
  free(data);
  expect_read_fails(p, "HHHHHHHH", NULL);
}

static void test_keyfile_error_buffer_is_bounded(void **state) {
  fx_t *fx = *state;
  char err[16];
  memset(err, 'Q', sizeof(err));
  dcb_secret_t out = {0};
  dcb_file_id_t id = {0};
  assert_int_equal(
      dcb_keyfile_read(path_in(fx, "missing"), &out, &id, err, sizeof(err)),
      -1);
  assert_int_equal(strlen(err), sizeof(err) - 1);
  assert_null(out.buf);
}

/* ---- dcb_keyfile_changed ----------------------------------------------- */

/* Read dir/key into id; leaves the path in fx->path2. */
static void read_id(fx_t *fx, const char *content, dcb_file_id_t *id) {
  const char *p = make_text(fx, "key", content, 0600);
  snprintf(fx->path2, sizeof(fx->path2), "%s", p);
  dcb_secret_t out = {0};
  char err[256];
  assert_int_equal(dcb_keyfile_read(fx->path2, &out, id, err, sizeof(err)), 0);
  dcb_secret_clear(&out);
}

static void test_changed_false_when_untouched(void **state) {
  fx_t *fx = *state;
  dcb_file_id_t id = {0};
  read_id(fx, "StableKey\n", &id);
  assert_false(dcb_keyfile_changed(fx->path2, &id));
  /* Reading it again does not count as a change either. */
  assert_false(dcb_keyfile_changed(fx->path2, &id));
}

static void test_changed_after_rename_over(void **state) {
  fx_t *fx = *state;
  dcb_file_id_t id = {0};
  read_id(fx, "OldKey\n", &id);
  const char *tmp = make_text(fx, "key.tmp", "NewKey\n", 0600);
  assert_int_equal(rename(tmp, fx->path2), 0);
  assert_true(dcb_keyfile_changed(fx->path2, &id));
}

static void test_changed_after_same_size_rename_over(void **state) {
  fx_t *fx = *state;
  dcb_file_id_t id = {0};
  read_id(fx, "KeyAAA\n", &id);
  const char *tmp = make_text(fx, "key.tmp", "KeyBBB\n", 0600);
  assert_int_equal(rename(tmp, fx->path2), 0);
  assert_true(dcb_keyfile_changed(fx->path2, &id));
}

static void test_changed_after_mtime_touch(void **state) {
  fx_t *fx = *state;
  dcb_file_id_t id = {0};
  read_id(fx, "TouchedKey\n", &id);
  struct timespec times[2] = {
      {.tv_sec = id.mtime.tv_sec - 1000, .tv_nsec = 0},
      {.tv_sec = id.mtime.tv_sec - 1000, .tv_nsec = 0},
  };
  assert_int_equal(utimensat(AT_FDCWD, fx->path2, times, 0), 0);
  assert_true(dcb_keyfile_changed(fx->path2, &id));
}

static void test_changed_after_delete(void **state) {
  fx_t *fx = *state;
  dcb_file_id_t id = {0};
  read_id(fx, "DeletedKey\n", &id);
  assert_int_equal(unlink(fx->path2), 0);
  assert_true(dcb_keyfile_changed(fx->path2, &id));
}

static void test_changed_true_for_invalid_id(void **state) {
  fx_t *fx = *state;
  dcb_file_id_t id = {0};
  read_id(fx, "SomeKey\n", &id);
  id.valid = false;
  assert_true(dcb_keyfile_changed(fx->path2, &id));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_secret_set_copies_and_terminates),
      cmocka_unit_test(test_secret_set_replaces_previous),
      cmocka_unit_test(test_secret_set_embedded_nul_uses_len),
      cmocka_unit_test(test_secret_clear_resets_and_is_idempotent),
      cmocka_unit_test(test_wipe_zeroes_and_tolerates_null),
      cmocka_unit_test(test_key_check_rejects_bad_keys),
      cmocka_unit_test(test_key_check_length_limit),
      cmocka_unit_test(test_key_check_accepts_printable_ascii),
      cmocka_unit_test(test_key_check_small_err_buffer),
      T(test_keyfile_trims_whitespace),
      T(test_keyfile_owner_and_group_modes_accepted),
      T(test_keyfile_replaces_previous_content),
      T(test_keyfile_max_length_key_accepted),
      T(test_keyfile_symlink_to_private_file),
      T(test_keyfile_missing),
      T(test_keyfile_empty_and_blank),
      T(test_keyfile_world_readable_refused),
      T(test_keyfile_world_writable_refused),
      T(test_keyfile_directory_refused),
      T(test_keyfile_fifo_refused_without_blocking),
      T(test_keyfile_symlink_to_open_file_refused),
      T(test_keyfile_dangling_symlink_refused),
      T(test_keyfile_nul_byte_refused),
      T(test_keyfile_inner_line_break_refused),
      T(test_keyfile_control_and_non_ascii_refused),
      T(test_keyfile_too_long_key_refused),
      T(test_keyfile_huge_file_refused),
      T(test_keyfile_error_buffer_is_bounded),
      T(test_changed_false_when_untouched),
      T(test_changed_after_rename_over),
      T(test_changed_after_same_size_rename_over),
      T(test_changed_after_mtime_touch),
      T(test_changed_after_delete),
      T(test_changed_true_for_invalid_id),
  };
  return cmocka_run_group_tests_name("secret", tests, NULL, NULL);
}
