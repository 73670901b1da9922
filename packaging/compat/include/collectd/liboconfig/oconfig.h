/* collectd-digicert-billing: stand-in for collectd 5.x "liboconfig/oconfig.h".
 * See collectd/core/daemon/collectd.h in this directory tree for why these
 * headers exist and how they are checked. Only the parsed-tree types are
 * declared; the plugin never parses files itself. */
#ifndef DCB_COMPAT_OCONFIG_H
#define DCB_COMPAT_OCONFIG_H

typedef struct oconfig_value_s oconfig_value_t;
typedef struct oconfig_item_s oconfig_item_t;

#ifndef DCB_COMPAT_PROTOTYPES_ONLY
/* oconfig_value_t.type */
#define OCONFIG_TYPE_STRING 0
#define OCONFIG_TYPE_NUMBER 1
#define OCONFIG_TYPE_BOOLEAN 2

/* One argument of a configuration line: a string, a number or a boolean. */
struct oconfig_value_s {
  union {
    char *string;
    double number;
    int boolean;
  } value;
  int type;
};

/* One line ("Key value ...") or block ("<Key value ...> ... </Key>"). */
struct oconfig_item_s {
  char *key;
  oconfig_value_t *values;
  int values_num;
  oconfig_item_t *parent;
  oconfig_item_t *children; /* an array of children_num items */
  int children_num;
};
#endif /* !DCB_COMPAT_PROTOTYPES_ONLY */

#endif /* DCB_COMPAT_OCONFIG_H */
