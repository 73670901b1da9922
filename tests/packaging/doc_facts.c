/* Prints what the manual page must document, taken from the code itself:
 *   option NAME   every entry of dcb_config_option_names[]
 *   class NAME    every error class name (notification meta "error_class")
 * Used by check_manpage.py. */
#include "dcb_classify.h"
#include "dcb_config.h"
#include "dcb_log.h"

#include <stdio.h>

/* dcb_core expects its user to provide the log sink; nothing logs here. */
void dcb_log(int level, const char *fmt, ...) {
  (void)level;
  (void)fmt;
}

int main(void) {
  for (const char *const *name = dcb_config_option_names; *name != NULL; name++)
    printf("option %s\n", *name);
  for (int c = 0; c < DCB_CLASS_COUNT; c++)
    printf("class %s\n", dcb_class_name((dcb_class_t)c));
  return 0;
}
