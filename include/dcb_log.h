/* Logging seam: the plugin glue routes this to collectd, unit tests capture it.
 * Ownership: messages are formatted by the callee; callers keep their strings.
 */
#ifndef DCB_LOG_H
#define DCB_LOG_H

#include <syslog.h>

/* Log one line with the "digicert_billing plugin: " prefix. Never pass a key.
 */
void dcb_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
