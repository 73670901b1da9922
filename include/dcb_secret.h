/* API keys in memory and on disk.
 * Ownership: a dcb_secret_t owns its buffer; dcb_secret_clear() wipes and frees
 * it. */
#ifndef DCB_SECRET_H
#define DCB_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define DCB_KEY_MAX_LEN 512

typedef struct {
  char *buf; /* NUL-terminated, or NULL when empty */
  size_t len;
} dcb_secret_t;

/* Copy len bytes of src into s (clearing what s held). Returns 0 or ENOMEM. */
int dcb_secret_set(dcb_secret_t *s, const char *src, size_t len);
/* Wipe and free. Safe on an empty secret. */
void dcb_secret_clear(dcb_secret_t *s);
/* Overwrite n bytes so the compiler cannot elide it. */
void dcb_wipe(void *p, size_t n);

/* Check a key's characters after trimming: printable ASCII without spaces.
 * Returns 0, or -1 with a reason (never the key) written to err. */
int dcb_key_check(const char *key, size_t len, char *err, size_t errlen);

/* Identity of a key file, to notice rotation without re-reading it. */
typedef struct {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
  bool valid;
} dcb_file_id_t;

/* Read a key file: regular file (symlinks followed), not readable or writable
 * by others, at most DCB_KEY_MAX_LEN bytes after trimming surrounding
 * whitespace, no NUL/control/non-ASCII inside. On success fills out (replacing
 * its content) and id, returns 0. On failure returns -1, leaves out untouched
 * and writes a reason naming the path (never the content) to err. */
int dcb_keyfile_read(const char *path, dcb_secret_t *out, dcb_file_id_t *id,
                     char *err, size_t errlen);

/* True when the file at path no longer matches id (or cannot be stat'ed). */
bool dcb_keyfile_changed(const char *path, const dcb_file_id_t *id);

#endif
