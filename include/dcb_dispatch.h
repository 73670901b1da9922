/* Turning account state into collectd values and notifications.
 * Ownership: borrows everything; collectd copies what it keeps. */
#ifndef DCB_DISPATCH_H
#define DCB_DISPATCH_H

#include "dcb_config.h"
#include "dcb_state.h"

#define DCB_PLUGIN_NAME "digicert_billing"

/* Dispatch the account's values (nothing before its first check). */
void dcb_dispatch_values(const dcb_account_cfg_t *acct, const dcb_state_t *st);
/* Dispatch a FAILURE or OKAY notification with the documented meta. */
void dcb_dispatch_notification(const dcb_account_cfg_t *acct, dcb_notify_t kind,
                               const dcb_result_t *r);

#endif
