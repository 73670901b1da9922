/* Lenient response-body parsing and output sanitising (json-c). */
#include "dcb_parse.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (max n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len;
  unsigned min;
  unsigned cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2, min = 0x80, cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, min = 0x800, cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  if (cp >= 0x80 && cp <= 0x9f) /* C1 controls */
    return 0;
  return len;
}

void dcb_utf8_cut_tail(char *s) {
  size_t n = strlen(s);
  size_t lead = n;
  /* Step back over at most three continuation bytes to the lead byte. */
  while (lead > 0 && n - lead < 3 &&
         ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
    lead--;
  if (lead == 0)
    return;
  unsigned char c = (unsigned char)s[lead - 1];
  size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  if (n - (lead - 1) < want)
    s[lead - 1] = '\0';
}

void dcb_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen) {
  size_t o = 0;
  bool pending_space = false;
  if (dstlen == 0)
    return;
  const unsigned char *s = (const unsigned char *)src;
  for (size_t i = 0; src != NULL && i < srclen && s[i] != '\0';) {
    unsigned char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = o > 0;
      i++;
      continue;
    }
    size_t n = (c < 0x20 || c == 0x7f) ? 0 : utf8_len(s + i, srclen - i);
    /* A C1 control (U+0080..U+009F) is two bytes but one character. */
    size_t skip =
        (c == 0xc2 && i + 1 < srclen && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
            ? 2
            : 1;
    size_t need = (n == 0 ? 1 : n) + (pending_space ? 1 : 0);
    if (o + need > dstlen - 1)
      break;
    if (pending_space)
      dst[o++] = ' ';
    pending_space = false;
    if (n == 0) {
      dst[o++] = '?';
      i += skip;
    } else {
      memcpy(dst + o, s + i, n);
      o += n;
      i += n;
    }
  }
  dst[o] = '\0';
}

static json_object *parse_json(const char *body, size_t len) {
  if (body == NULL || len == 0 || len > (size_t)INT32_MAX)
    return NULL;
  json_tokener *tok = json_tokener_new_ex(DCB_JSON_MAX_DEPTH);
  if (tok == NULL)
    return NULL;
  json_object *root = json_tokener_parse_ex(tok, body, (int)len);
  if (root != NULL && json_tokener_get_error(tok) != json_tokener_success) {
    json_object_put(root);
    root = NULL;
  }
  json_tokener_free(tok);
  return root;
}

/* Copy a scalar (string or integer) field into dst, sanitised. */
static bool copy_field(json_object *obj, const char *key, char *dst,
                       size_t dstlen) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
    return false;
  if (!json_object_is_type(v, json_type_string) &&
      !json_object_is_type(v, json_type_int))
    return false;
  const char *s = json_object_get_string(v);
  size_t n = json_object_is_type(v, json_type_string)
                 ? (size_t)json_object_get_string_len(v)
                 : strlen(s);
  dcb_sanitize(dst, dstlen, s, n);
  return dst[0] != '\0';
}

static bool from_error_object(json_object *e, dcb_api_error_t *out) {
  if (json_object_is_type(e, json_type_string)) {
    dcb_sanitize(out->message, sizeof(out->message), json_object_get_string(e),
                 (size_t)json_object_get_string_len(e));
    return out->message[0] != '\0';
  }
  if (!json_object_is_type(e, json_type_object))
    return false;
  bool got = copy_field(e, "code", out->code, sizeof(out->code));
  if (copy_field(e, "message", out->message, sizeof(out->message)) ||
      copy_field(e, "description", out->message, sizeof(out->message)))
    got = true;
  return got;
}

bool dcb_parse_error_body(const char *body, size_t len, dcb_api_error_t *out) {
  memset(out, 0, sizeof(*out));
  json_object *root = parse_json(body, len);
  bool found = false;
  if (root == NULL || !json_object_is_type(root, json_type_object))
    goto out;

  json_object *e = NULL;
  if (json_object_object_get_ex(root, "errors", &e) && e != NULL) {
    if (json_object_is_type(e, json_type_array)) {
      size_t n = json_object_array_length(e);
      for (size_t i = 0; i < n && !found; i++)
        found = from_error_object(json_object_array_get_idx(e, i), out);
    } else {
      found = from_error_object(e, out);
    }
  }
  if (!found && json_object_object_get_ex(root, "error", &e) && e != NULL)
    found = from_error_object(e, out);
  if (!found) /* a bare {"code":..,"message":..} */
    found = from_error_object(root, out);

out:
  if (root != NULL)
    json_object_put(root);
  return found;
}

int dcb_parse_account_id(const char *body, size_t len, int64_t *id) {
  json_object *root = parse_json(body, len);
  json_object *v = NULL;
  int ret = -1;
  if (root == NULL || !json_object_is_type(root, json_type_object) ||
      !json_object_object_get_ex(root, "account_id", &v) || v == NULL)
    goto out;
  /* Both forms go through the text, so out-of-range numbers are refused
   * instead of being clamped by json-c. */
  if (json_object_is_type(v, json_type_int) ||
      json_object_is_type(v, json_type_string)) {
    const char *s = json_object_get_string(v);
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0) {
      *id = n;
      ret = 0;
    }
  }
out:
  if (root != NULL)
    json_object_put(root);
  return ret;
}

bool dcb_parse_api_keys_ok(const char *body, size_t len) {
  json_object *root = parse_json(body, len);
  json_object *v = NULL;
  bool ok = root != NULL && json_object_is_type(root, json_type_object) &&
            json_object_object_get_ex(root, "api_keys", &v) &&
            json_object_is_type(v, json_type_array);
  if (root != NULL)
    json_object_put(root);
  return ok;
}
