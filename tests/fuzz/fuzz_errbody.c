/* Response bodies: error-body parser, account_id, api_keys, and the
 * notification text built from what they return. */
#include "fuzz_support.h"

#include "dcb_parse.h"
#include "dcb_state.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *body = (const char *)data;
  dcb_result_t r;
  dcb_result_init(&r);
  r.cls = DCB_CLASS_AUTH;
  r.http_status = 401;

  bool found = dcb_parse_error_body(body, size, &r.api);
  FZ_ASSERT(strlen(r.api.code) < sizeof(r.api.code));
  FZ_ASSERT(strlen(r.api.message) < sizeof(r.api.message));
  fz_assert_clean_text(r.api.code);
  fz_assert_clean_text(r.api.message);
  if (!found)
    FZ_ASSERT(r.api.code[0] == '\0' && r.api.message[0] == '\0');

  int64_t id = -1;
  if (dcb_parse_account_id(body, size, &id) == 0)
    FZ_ASSERT(id >= 0);
  (void)dcb_parse_api_keys_ok(body, size);

  char msg[256];
  dcb_format_message(msg, sizeof(msg), "acct", "enforce", &r);
  FZ_ASSERT(strlen(msg) < sizeof(msg));
  fz_assert_clean_text(msg);

  char clean[64];
  dcb_sanitize(clean, sizeof(clean), body, size);
  fz_assert_clean_text(clean);
  return 0;
}
