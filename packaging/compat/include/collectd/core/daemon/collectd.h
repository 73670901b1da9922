/* collectd-digicert-billing: stand-in for collectd 5.x "daemon/collectd.h".
 *
 * Why: RHEL, Fedora and most non-Debian distributions package collectd
 * without its plugin headers. These files under packaging/compat/include
 * declare only what plugin/ uses, laid out exactly as in collectd 5.12
 * (5.6 to 5.13 share this ABI). Build against them with
 *   cmake -DCOLLECTD_INCLUDE_DIR=<source>/packaging/compat/include ...
 * The test packaging_compat_headers_match_collectd_dev compares every type,
 * field offset, size and macro with Debian's collectd-dev and compiles the
 * function declarations against the real ones.
 *
 * DCB_COMPAT_PROTOTYPES_ONLY: set by that test only. It hides the macros and
 * struct bodies so the remaining declarations (functions, variables, scalar
 * typedefs) can be checked for conflicts against collectd-dev's headers.
 */
#ifndef DCB_COMPAT_COLLECTD_H
#define DCB_COMPAT_COLLECTD_H

/* The real header brings in the common libc headers; plugin code counts on
 * that, so do the same. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef DCB_COMPAT_PROTOTYPES_ONLY
/* Length of host, plugin, type and instance names, terminator included.
 * Part of the ABI: it sizes the char arrays in value_list_t and
 * notification_t. */
#ifndef DATA_MAX_NAME_LEN
#define DATA_MAX_NAME_LEN 128
#endif
#endif /* !DCB_COMPAT_PROTOTYPES_ONLY */

/* collectd time: seconds as a 34.30 fixed-point number. */
typedef uint64_t cdtime_t;

/* The daemon's host name (Hostname option or the system's). */
extern char *hostname_g;

#endif /* DCB_COMPAT_COLLECTD_H */
