/* collectd-digicert-billing: stand-in for collectd 5.x
 * "daemon/utils_complain.h" (rate-limited error logging). See collectd.h in
 * this directory for why these headers exist and how they are checked. */
#ifndef DCB_COMPAT_UTILS_COMPLAIN_H
#define DCB_COMPAT_UTILS_COMPLAIN_H

#include "collectd/core/daemon/collectd.h"

#ifndef DCB_COMPAT_PROTOTYPES_ONLY
/* State of one complaint: when it was last logged and how long to stay
 * quiet; interval 0 means "not complaining". */
typedef struct {
  cdtime_t last;
  cdtime_t interval;
  bool complained_once;
} c_complain_t;

#define C_COMPLAIN_INIT(c)                                                     \
  do {                                                                         \
    (c)->complained_once = false;                                              \
    (c)->interval = 0;                                                         \
    (c)->last = 0;                                                             \
  } while (0)

/* True while a complaint is active, i.e. c_release() would log. */
#define c_would_release(c) ((c)->interval != 0)

/* Log the end of a complaint, once, and only if there was one. */
#define c_release(level, c, ...)                                               \
  do {                                                                         \
    if (c_would_release(c))                                                    \
      c_do_release((level), (c), __VA_ARGS__);                                 \
  } while (0)
#endif /* !DCB_COMPAT_PROTOTYPES_ONLY */

/* Log, then back off exponentially (up to a day) while it repeats. */
void c_complain(int level, c_complain_t *c, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
void c_do_release(int level, c_complain_t *c, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* DCB_COMPAT_UTILS_COMPLAIN_H */
