/* Prints the ABI of the collectd declarations the plugin uses: sizes,
 * alignments and field offsets, macro values, and what the macros do.
 * check_compat_headers.cmake compiles it twice, against collectd-dev and
 * against packaging/compat/include, and requires identical output.
 *
 * It is never linked with collectd: the few daemon functions that the
 * macros call are defined here as recorders. */
#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"
#include "collectd/liboconfig/oconfig.h"

#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* clang-format 14 cannot lay out _Generic. */
/* clang-format off */
#define KIND(t)                                                                \
  _Generic((t)0,                                                               \
           float: "float", double: "double", long double: "ldouble",           \
           signed char: "schar", unsigned char: "uchar",                       \
           short: "short", unsigned short: "ushort",                           \
           int: "int", unsigned: "uint",                                       \
           long: "long", unsigned long: "ulong",                               \
           long long: "llong", unsigned long long: "ullong",                   \
           default: "other")
/* clang-format on */

#define SCALAR(t)                                                              \
  printf("scalar %s size=%zu align=%zu kind=%s\n", #t, sizeof(t), alignof(t),  \
         KIND(t))
#define AGGREGATE(t)                                                           \
  printf("type %s size=%zu align=%zu\n", #t, sizeof(t), alignof(t))
#define FIELD(t, f)                                                            \
  printf("field %s.%s offset=%zu size=%zu\n", #t, #f, offsetof(t, f),          \
         sizeof(((t *)0)->f))
#define VALUE(m) printf("value %s=%lld\n", #m, (long long)(m))

/* ---- recorders for the functions the macros expand to ---- */
void daemon_log(int level, const char *format, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, format);
  vsnprintf(buf, sizeof(buf), format, ap);
  va_end(ap);
  printf("call daemon_log(%d, \"%s\")\n", level, buf);
}

void c_do_release(int level, c_complain_t *c, const char *format, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, format);
  vsnprintf(buf, sizeof(buf), format, ap);
  va_end(ap);
  printf("call c_do_release(%d, interval=%llu, \"%s\")\n", level,
         (unsigned long long)c->interval, buf);
}

char *sstrerror(int errnum, char *buf, size_t buflen) {
  printf("call sstrerror(%d, %zu)\n", errnum, buflen);
  snprintf(buf, buflen, "error %d", errnum);
  return buf;
}

static void layout(void) {
  SCALAR(cdtime_t);
  SCALAR(counter_t);
  SCALAR(gauge_t);
  SCALAR(derive_t);
  SCALAR(absolute_t);

  AGGREGATE(value_t);
  FIELD(value_t, counter);
  FIELD(value_t, gauge);
  FIELD(value_t, derive);
  FIELD(value_t, absolute);

  AGGREGATE(value_list_t);
  FIELD(value_list_t, values);
  FIELD(value_list_t, values_len);
  FIELD(value_list_t, time);
  FIELD(value_list_t, interval);
  FIELD(value_list_t, host);
  FIELD(value_list_t, plugin);
  FIELD(value_list_t, plugin_instance);
  FIELD(value_list_t, type);
  FIELD(value_list_t, type_instance);
  FIELD(value_list_t, meta);

  AGGREGATE(data_source_t);
  FIELD(data_source_t, name);
  FIELD(data_source_t, type);
  FIELD(data_source_t, min);
  FIELD(data_source_t, max);
  AGGREGATE(data_set_t);
  FIELD(data_set_t, type);
  FIELD(data_set_t, ds_num);
  FIELD(data_set_t, ds);

  AGGREGATE(enum notification_meta_type_e);
  VALUE(NM_TYPE_STRING);
  VALUE(NM_TYPE_SIGNED_INT);
  VALUE(NM_TYPE_UNSIGNED_INT);
  VALUE(NM_TYPE_DOUBLE);
  VALUE(NM_TYPE_BOOLEAN);
  AGGREGATE(notification_meta_t);
  FIELD(notification_meta_t, name);
  FIELD(notification_meta_t, type);
  FIELD(notification_meta_t, nm_value);
  FIELD(notification_meta_t, nm_value.nm_string);
  FIELD(notification_meta_t, nm_value.nm_signed_int);
  FIELD(notification_meta_t, nm_value.nm_unsigned_int);
  FIELD(notification_meta_t, nm_value.nm_double);
  FIELD(notification_meta_t, nm_value.nm_boolean);
  FIELD(notification_meta_t, next);

  AGGREGATE(notification_t);
  FIELD(notification_t, severity);
  FIELD(notification_t, time);
  FIELD(notification_t, message);
  FIELD(notification_t, host);
  FIELD(notification_t, plugin);
  FIELD(notification_t, plugin_instance);
  FIELD(notification_t, type);
  FIELD(notification_t, type_instance);
  FIELD(notification_t, meta);

  AGGREGATE(c_complain_t);
  FIELD(c_complain_t, last);
  FIELD(c_complain_t, interval);
  FIELD(c_complain_t, complained_once);

  AGGREGATE(oconfig_value_t);
  FIELD(oconfig_value_t, value);
  FIELD(oconfig_value_t, value.string);
  FIELD(oconfig_value_t, value.number);
  FIELD(oconfig_value_t, value.boolean);
  FIELD(oconfig_value_t, type);
  AGGREGATE(oconfig_item_t);
  FIELD(oconfig_item_t, key);
  FIELD(oconfig_item_t, values);
  FIELD(oconfig_item_t, values_num);
  FIELD(oconfig_item_t, parent);
  FIELD(oconfig_item_t, children);
  FIELD(oconfig_item_t, children_num);
}

static void constants(void) {
  VALUE(DATA_MAX_NAME_LEN);
  VALUE(NOTIF_MAX_MSG_LEN);
  VALUE(NOTIF_FAILURE);
  VALUE(NOTIF_WARNING);
  VALUE(NOTIF_OKAY);
  VALUE(LOG_ERR);
  VALUE(LOG_WARNING);
  VALUE(LOG_NOTICE);
  VALUE(LOG_INFO);
  VALUE(LOG_DEBUG);
  VALUE(OCONFIG_TYPE_STRING);
  VALUE(OCONFIG_TYPE_NUMBER);
  VALUE(OCONFIG_TYPE_BOOLEAN);
  VALUE(ERRBUF_SIZE);
}

static void behaviour(void) {
  /* VALUE_LIST_INIT: everything empty. */
  value_list_t vl = VALUE_LIST_INIT;
  printf("VALUE_LIST_INIT values=%d len=%zu time=%llu interval=%llu "
         "names=%d%d%d%d%d meta=%d\n",
         vl.values == NULL, vl.values_len, (unsigned long long)vl.time,
         (unsigned long long)vl.interval, vl.host[0], vl.plugin[0],
         vl.plugin_instance[0], vl.type[0], vl.type_instance[0],
         vl.meta == NULL);

  /* C_COMPLAIN_INIT resets a used complaint. */
  c_complain_t c;
  memset(&c, 0xa5, sizeof(c));
  C_COMPLAIN_INIT(&c);
  printf("C_COMPLAIN_INIT last=%llu interval=%llu once=%d\n",
         (unsigned long long)c.last, (unsigned long long)c.interval,
         (int)c.complained_once);

  /* c_release logs only while a complaint is active. */
  printf("c_would_release(idle)=%d\n", c_would_release(&c) ? 1 : 0);
  c_release(LOG_INFO, &c, "released %d", 1);
  c.interval = 7;
  printf("c_would_release(active)=%d\n", c_would_release(&c) ? 1 : 0);
  c_release(LOG_INFO, &c, "released %d", 2);

  /* P_* log through daemon_log at their level. */
  P_ERROR("e %s", "x");
  P_WARNING("w %d", 1);
  P_NOTICE("n");
  P_INFO("i %u", 2u);

  /* STRERRNO: sstrerror(errno) into an ERRBUF_SIZE scratch buffer. */
  errno = ENOENT;
  printf("STRERRNO -> %s\n", STRERRNO);
  printf("STRERROR(EACCES) -> %s\n", STRERROR(EACCES));

  /* DOUBLE_TO_CDTIME_T: seconds to 2^-30 s units. */
  static const double secs[] = {0.0, 1.5, 0.000001, 1764876543.25};
  for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
    printf("DOUBLE_TO_CDTIME_T(%.6f) = %llu\n", secs[i],
           (unsigned long long)DOUBLE_TO_CDTIME_T(secs[i]));

  /* CDTIME_T_TO_MS: rounds to the nearest millisecond. */
  static const cdtime_t times[] = {0,
                                   536870,
                                   536871,
                                   1073741824,
                                   (cdtime_t)10 << 30 | 0x3fffffff,
                                   (cdtime_t)1764876543 << 30 | 12345};
  for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
    printf("CDTIME_T_TO_MS(%llu) = %llu\n", (unsigned long long)times[i],
           (unsigned long long)CDTIME_T_TO_MS(times[i]));

  int seven[7];
  char grid[3][5];
  printf("STATIC_ARRAY_SIZE %zu %zu\n", STATIC_ARRAY_SIZE(seven),
         STATIC_ARRAY_SIZE(grid));
}

int main(void) {
  layout();
  constants();
  behaviour();
  return 0;
}
