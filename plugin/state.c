/* Account state transitions and notification text: pure logic. */
#include "dcb_state.h"

#include <stdio.h>
#include <string.h>

void dcb_result_init(dcb_result_t *r) {
  memset(r, 0, sizeof(*r));
  r->billing_account_id = -1;
}

dcb_notify_t dcb_state_apply(dcb_state_t *st, const dcb_result_t *r,
                             double now) {
  st->response_time = r->elapsed;
  st->last_class = r->cls;
  if (r->cls == DCB_CLASS_NONE) {
    st->link = DCB_LINK_OK;
    st->checks_succeeded++;
    st->consecutive_failures = 0;
    st->last_success = now;
    if (st->failure_notified) {
      st->failure_notified = false;
      return DCB_NOTIFY_OKAY;
    }
    return DCB_NOTIFY_NONE;
  }
  st->link = DCB_LINK_FAILED;
  st->checks_failed++;
  st->consecutive_failures++;
  if (!st->failure_notified) {
    st->failure_notified = true;
    return DCB_NOTIFY_FAILURE;
  }
  return DCB_NOTIFY_NONE;
}

void dcb_format_message(char *buf, size_t len, const char *account,
                        const char *mode, const dcb_result_t *r) {
  const char *what =
      strcmp(mode, "verify") == 0 ? "billing link check" : "billing link";
  if (r->cls == DCB_CLASS_NONE) {
    if (r->billing_account_id >= 0)
      snprintf(buf, len,
               "%s for account \"%s\" is OK again (billing account %lld)", what,
               account, (long long)r->billing_account_id);
    else
      snprintf(buf, len, "%s for account \"%s\" is OK again", what, account);
    return;
  }

  char status[32] = "";
  if (r->http_status > 0)
    snprintf(status, sizeof(status), ": HTTP %ld", r->http_status);
  const char *code = r->api.code[0] ? r->api.code : "";
  const char *msg = r->api.message[0] ? r->api.message : r->detail;
  snprintf(buf, len, "%s for account \"%s\" failed: %s%s%s%s%s%s", what,
           account, dcb_class_name(r->cls), status, code[0] ? " " : "", code,
           msg[0] ? ": " : "", msg);
  dcb_utf8_cut_tail(buf); /* the cut may have split a character */
}
