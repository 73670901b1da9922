/* collectd-digicert-billing: stand-in for collectd 5.x "daemon/plugin.h".
 * See collectd.h in this directory for why these headers exist and how they
 * are checked against collectd-dev. Declares the value, notification and
 * registration API the plugin uses, nothing more. */
#ifndef DCB_COMPAT_PLUGIN_H
#define DCB_COMPAT_PLUGIN_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/liboconfig/oconfig.h"

#include <pthread.h>

/* ---- scalar and tag typedefs (also checked in prototype-only mode) ---- */
typedef unsigned long long counter_t;
typedef double gauge_t;
typedef int64_t derive_t;
typedef uint64_t absolute_t;

typedef union value_u value_t;
typedef struct value_list_s value_list_t;
typedef struct data_source_s data_source_t;
typedef struct data_set_s data_set_t;
typedef struct notification_meta_s notification_meta_t;
typedef struct notification_s notification_t;
typedef struct meta_data_s meta_data_t; /* opaque */

typedef int (*plugin_init_cb)(void);
typedef int (*plugin_shutdown_cb)(void);

#ifndef DCB_COMPAT_PROTOTYPES_ONLY
/* syslog(3) levels, as plugin_log() expects them. */
#ifndef LOG_ERR
#define LOG_ERR 3
#endif
#ifndef LOG_WARNING
#define LOG_WARNING 4
#endif
#ifndef LOG_NOTICE
#define LOG_NOTICE 5
#endif
#ifndef LOG_INFO
#define LOG_INFO 6
#endif
#ifndef LOG_DEBUG
#define LOG_DEBUG 7
#endif

/* notification_t.message size and severities. */
#define NOTIF_MAX_MSG_LEN 256
#define NOTIF_FAILURE 1
#define NOTIF_WARNING 2
#define NOTIF_OKAY 4

/* One value; which member is valid depends on the type's data source. */
union value_u {
  counter_t counter;
  gauge_t gauge;
  derive_t derive;
  absolute_t absolute;
};

/* What plugin_dispatch_values() takes: values of one type instance. Empty
 * host and interval are filled in by the daemon. */
struct value_list_s {
  value_t *values;
  size_t values_len;
  cdtime_t time;
  cdtime_t interval;
  char host[DATA_MAX_NAME_LEN];
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  meta_data_t *meta;
};

/* Everything zero: no values, no meta data, time and interval "now". */
#define VALUE_LIST_INIT                                                        \
  { .values = NULL, .values_len = 0 }

/* An entry of types.db, as plugin_get_ds() returns it. */
struct data_source_s {
  char name[DATA_MAX_NAME_LEN];
  int type;
  double min;
  double max;
};

struct data_set_s {
  char type[DATA_MAX_NAME_LEN];
  size_t ds_num;
  data_source_t *ds;
};

/* Meta data attached to a notification: a singly linked list owned by the
 * notification, built with plugin_notification_meta_add_*(). */
enum notification_meta_type_e {
  NM_TYPE_STRING,
  NM_TYPE_SIGNED_INT,
  NM_TYPE_UNSIGNED_INT,
  NM_TYPE_DOUBLE,
  NM_TYPE_BOOLEAN
};

struct notification_meta_s {
  char name[DATA_MAX_NAME_LEN];
  enum notification_meta_type_e type;
  union {
    const char *nm_string;
    int64_t nm_signed_int;
    uint64_t nm_unsigned_int;
    double nm_double;
    bool nm_boolean;
  } nm_value;
  notification_meta_t *next;
};

struct notification_s {
  int severity; /* NOTIF_* */
  cdtime_t time;
  char message[NOTIF_MAX_MSG_LEN];
  char host[DATA_MAX_NAME_LEN];
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  notification_meta_t *meta;
};

/* Seconds (a double) to collectd time: 2^30 units per second. */
#define DOUBLE_TO_CDTIME_T(d) ((cdtime_t)((d)*1073741824.0))
/* collectd time to whole milliseconds, rounded to the nearest. */
#define CDTIME_T_TO_MS(t)                                                      \
  ((uint64_t)((((t) >> 30) * 1000) +                                           \
              (((((t)&0x3fffffff) * 1000) + (1 << 29)) >> 30)))

/* Log through the daemon, prefixed with the name of the plugin whose
 * callback is running. */
#define P_ERROR(...) daemon_log(LOG_ERR, __VA_ARGS__)
#define P_WARNING(...) daemon_log(LOG_WARNING, __VA_ARGS__)
#define P_NOTICE(...) daemon_log(LOG_NOTICE, __VA_ARGS__)
#define P_INFO(...) daemon_log(LOG_INFO, __VA_ARGS__)
#endif /* !DCB_COMPAT_PROTOTYPES_ONLY */

/* ---- functions the daemon exports to plugins ---- */
cdtime_t cdtime(void);
/* Interval of the read callback that is running (the global Interval unless
 * the plugin's LoadPlugin block sets one). */
cdtime_t plugin_get_interval(void);

int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *));
int plugin_register_init(const char *name, plugin_init_cb callback);
int plugin_register_read(const char *name, int (*callback)(void));
int plugin_register_shutdown(const char *name, plugin_shutdown_cb callback);

int plugin_dispatch_values(value_list_t const *vl);
int plugin_dispatch_notification(const notification_t *notif);
const data_set_t *plugin_get_ds(const char *name);

int plugin_notification_meta_add_string(notification_t *n, const char *name,
                                        const char *value);
int plugin_notification_meta_add_signed_int(notification_t *n, const char *name,
                                            int64_t value);
int plugin_notification_meta_free(notification_meta_t *n);

void plugin_log(int level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void daemon_log(int level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name);

/* The one symbol a plugin exports. */
void module_register(void);

#endif /* DCB_COMPAT_PLUGIN_H */
