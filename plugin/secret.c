/* API keys: wiped buffers and strict key-file reading. */
#include "dcb_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void dcb_wipe(void *p, size_t n) {
  if (p != NULL && n > 0)
    explicit_bzero(p, n);
}

void dcb_secret_clear(dcb_secret_t *s) {
  if (s->buf != NULL) {
    dcb_wipe(s->buf, s->len + 1);
    free(s->buf);
  }
  s->buf = NULL;
  s->len = 0;
}

int dcb_secret_set(dcb_secret_t *s, const char *src, size_t len) {
  if (len > (size_t)DCB_KEY_MAX_LEN * 64) /* no real key comes near this */
    return EINVAL;
  /* len + 1 is at least 1: clang-analyzer 14 loses the bound above. */
  // NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI)
  char *copy = malloc(len + 1);
  if (copy == NULL)
    return ENOMEM;
  memcpy(copy, src, len);
  copy[len] = '\0';
  dcb_secret_clear(s);
  s->buf = copy;
  s->len = len;
  return 0;
}

static int is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int dcb_key_check(const char *key, size_t len, char *err, size_t errlen) {
  if (len == 0) {
    snprintf(err, errlen, "is empty");
    return -1;
  }
  if (len > DCB_KEY_MAX_LEN) {
    snprintf(err, errlen, "is longer than %d bytes", DCB_KEY_MAX_LEN);
    return -1;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)key[i];
    if (c == '\0') {
      snprintf(err, errlen, "contains a NUL byte at offset %zu", i);
      return -1;
    }
    if (c == '\r' || c == '\n') {
      snprintf(err, errlen, "contains a line break inside the key (offset %zu)",
               i);
      return -1;
    }
    if (c <= 0x20 || c >= 0x7f) {
      snprintf(err, errlen,
               "contains a space, control or non-ASCII character at offset %zu",
               i);
      return -1;
    }
  }
  return 0;
}

static void fill_id(dcb_file_id_t *id, const struct stat *st) {
  id->dev = st->st_dev;
  id->ino = st->st_ino;
  id->size = st->st_size;
  id->mtime = st->st_mtim;
  id->ctime = st->st_ctim;
  id->valid = true;
}

bool dcb_keyfile_changed(const char *path, const dcb_file_id_t *id) {
  struct stat st;
  if (!id->valid || stat(path, &st) != 0)
    return true;
  return st.st_dev != id->dev || st.st_ino != id->ino ||
         st.st_size != id->size || st.st_mtim.tv_sec != id->mtime.tv_sec ||
         st.st_mtim.tv_nsec != id->mtime.tv_nsec ||
         st.st_ctim.tv_sec != id->ctime.tv_sec ||
         st.st_ctim.tv_nsec != id->ctime.tv_nsec;
}

int dcb_keyfile_read(const char *path, dcb_secret_t *out, dcb_file_id_t *id,
                     char *err, size_t errlen) {
  /* Room for the key plus generous surrounding whitespace; more is refused. */
  char buf[DCB_KEY_MAX_LEN + 256];
  size_t got = 0;
  char why[128] = "";
  int ret = -1;
  struct stat st;

  /* O_NONBLOCK: a FIFO must not hang the worker; O_NOCTTY for devices. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    snprintf(why, sizeof(why), "cannot be opened: %s", strerror(errno));
    goto out;
  }
  if (fstat(fd, &st) != 0) {
    snprintf(why, sizeof(why), "cannot be examined: %s", strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(why, sizeof(why), "is not a regular file");
    goto out;
  }
  if (st.st_mode & (S_IROTH | S_IWOTH)) {
    snprintf(why, sizeof(why),
             "is accessible by others (mode %04o); run chmod 600 on it",
             (unsigned)(st.st_mode & 07777));
    goto out;
  }
  for (;;) {
    ssize_t n = read(fd, buf + got, sizeof(buf) - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      snprintf(why, sizeof(why), "cannot be read: %s", strerror(errno));
      goto out;
    }
    if (n == 0)
      break;
    got += (size_t)n;
    if (got == sizeof(buf)) {
      snprintf(why, sizeof(why), "is too large for an API key (over %zu bytes)",
               sizeof(buf) - 1);
      goto out;
    }
  }

  size_t start = 0, end = got;
  while (start < end && is_space((unsigned char)buf[start]))
    start++;
  while (end > start && is_space((unsigned char)buf[end - 1]))
    end--;
  size_t len = end - start; /* start <= end by construction */
  if (dcb_key_check(buf + start, len, why, sizeof(why)) != 0)
    goto out;
  if (dcb_secret_set(out, buf + start, len) != 0) {
    snprintf(why, sizeof(why), "cannot be stored: out of memory");
    goto out;
  }
  fill_id(id, &st);
  ret = 0;

out:
  dcb_wipe(buf, sizeof(buf));
  if (fd >= 0)
    close(fd);
  if (ret != 0)
    snprintf(err, errlen, "key file \"%s\" %s", path, why);
  return ret;
}
