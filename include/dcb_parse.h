/* Lenient parsing of API response bodies (json-c), with sanitised output.
 * Ownership: results are copied into caller-provided fixed buffers. */
#ifndef DCB_PARSE_H
#define DCB_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DCB_API_CODE_MAX 64
#define DCB_API_MSG_MAX 160
#define DCB_JSON_MAX_DEPTH 16

typedef struct {
  char code[DCB_API_CODE_MAX];
  char message[DCB_API_MSG_MAX];
} dcb_api_error_t;

/* Copy src into dst (size dstlen > 0) keeping printable ASCII and valid UTF-8,
 * replacing control characters and invalid bytes with '?' (runs of whitespace
 * become one space), truncating on a character boundary. */
void dcb_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen);

/* Drop an incomplete UTF-8 sequence left at the end of s by truncation. */
void dcb_utf8_cut_tail(char *s);

/* Extract the first error's code and message from an error body shaped
 * {"errors":[{...}]}, {"errors":{...}}, {"error":{...}} or {"error":"text"}.
 * Returns true when something was found; out is always initialised. */
bool dcb_parse_error_body(const char *body, size_t len, dcb_api_error_t *out);

/* Read "account_id" (an integer, or a string of digits) from a /user/me
 * body. Returns 0 and sets *id, or -1 when the body has no usable ID. */
int dcb_parse_account_id(const char *body, size_t len, int64_t *id);

/* True when a GET /api-key body is a JSON object with an "api_keys" array. */
bool dcb_parse_api_keys_ok(const char *body, size_t len);

#endif
