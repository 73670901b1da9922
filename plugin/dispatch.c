/* Account state -> collectd values and notifications. */
#include "dcb_dispatch.h"

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

static void put(const char *account, const char *type, const char *ti,
                value_t v, cdtime_t now) {
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = &v;
  vl.values_len = 1;
  vl.time = now;
  sstrncpy(vl.plugin, DCB_PLUGIN_NAME, sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, account, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, type, sizeof(vl.type));
  sstrncpy(vl.type_instance, ti, sizeof(vl.type_instance));
  plugin_dispatch_values(&vl);
}

void dcb_dispatch_values(const dcb_account_cfg_t *acct, const dcb_state_t *st) {
  if (st->link == DCB_LINK_UNKNOWN)
    return; /* no false 0 before the first check */
  cdtime_t now = cdtime();
  const char *name = acct->name;
  put(name, "bool", "linked",
      (value_t){.gauge = st->link == DCB_LINK_OK ? 1.0 : 0.0}, now);
  put(name, "bool", "transient_failure",
      (value_t){.gauge = dcb_class_is_transient(st->last_class) ? 1.0 : 0.0},
      now);
  put(name, "response_time", "api", (value_t){.gauge = st->response_time}, now);
  put(name, "derive", "checks_succeeded",
      (value_t){.derive = (derive_t)st->checks_succeeded}, now);
  put(name, "derive", "checks_failed",
      (value_t){.derive = (derive_t)st->checks_failed}, now);
  put(name, "count", "consecutive_failures",
      (value_t){.gauge = (gauge_t)st->consecutive_failures}, now);
  if (st->last_success > 0)
    put(name, "timestamp", "last_success", (value_t){.gauge = st->last_success},
        now);
}

void dcb_dispatch_notification(const dcb_account_cfg_t *acct, dcb_notify_t kind,
                               const dcb_result_t *r) {
  notification_t n = {
      .severity = kind == DCB_NOTIFY_OKAY ? NOTIF_OKAY : NOTIF_FAILURE,
      /* When the check completed, not when the read got to it. */
      .time = r->finished > 0 ? DOUBLE_TO_CDTIME_T(r->finished) : cdtime(),
  };
  const char *mode = dcb_mode_name(acct->mode);
  sstrncpy(n.host, hostname_g, sizeof(n.host));
  sstrncpy(n.plugin, DCB_PLUGIN_NAME, sizeof(n.plugin));
  sstrncpy(n.plugin_instance, acct->name, sizeof(n.plugin_instance));
  sstrncpy(n.type, "bool", sizeof(n.type));
  sstrncpy(n.type_instance, "linked", sizeof(n.type_instance));
  dcb_format_message(n.message, sizeof(n.message), acct->name, mode, r);

  int rc = plugin_notification_meta_add_string(&n, "account", acct->name);
  rc |= plugin_notification_meta_add_string(&n, "mode", mode);
  rc |= plugin_notification_meta_add_string(&n, "error_class",
                                            dcb_class_name(r->cls));
  if (r->http_status > 0)
    rc |= plugin_notification_meta_add_signed_int(&n, "http_status",
                                                  r->http_status);
  if (r->api.code[0])
    rc |=
        plugin_notification_meta_add_string(&n, "api_error_code", r->api.code);
  if (r->api.message[0])
    rc |= plugin_notification_meta_add_string(&n, "api_error_message",
                                              r->api.message);
  if (r->detail[0])
    rc |= plugin_notification_meta_add_string(&n, "detail", r->detail);
  rc |= plugin_notification_meta_add_signed_int(&n, "attempts", r->attempts);
  if (r->billing_account_id >= 0)
    rc |= plugin_notification_meta_add_signed_int(&n, "billing_account_id",
                                                  r->billing_account_id);
  if (rc != 0)
    P_WARNING("account \"%s\": could not attach all notification meta",
              acct->name);
  plugin_dispatch_notification(&n);
  plugin_notification_meta_free(n.meta);
}
