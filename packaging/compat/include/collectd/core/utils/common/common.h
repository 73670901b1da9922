/* collectd-digicert-billing: stand-in for collectd 5.x
 * "utils/common/common.h". Only the string helpers the plugin uses. See
 * collectd/core/daemon/collectd.h for why these headers exist and how they
 * are checked. */
#ifndef DCB_COMPAT_COMMON_H
#define DCB_COMPAT_COMMON_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"

#ifndef DCB_COMPAT_PROTOTYPES_ONLY
#define STATIC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef ERRBUF_SIZE
#define ERRBUF_SIZE 256
#endif
/* strerror() text in a buffer that lives as long as the enclosing block. */
#define STRERROR(e) sstrerror((e), (char[ERRBUF_SIZE]){'\0'}, ERRBUF_SIZE)
#define STRERRNO STRERROR(errno)
#endif /* !DCB_COMPAT_PROTOTYPES_ONLY */

/* strncpy() that always terminates dest (n > 0). Returns dest. */
char *sstrncpy(char *dest, const char *src, size_t n);
/* Thread-safe strerror() into buf. Returns buf. */
char *sstrerror(int errnum, char *buf, size_t buflen);

#endif /* DCB_COMPAT_COMMON_H */
