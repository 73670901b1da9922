/* The <Plugin digicert_billing> block, parsed and validated.
 * Ownership: dcb_config_t owns every string and secret in it; free with
 * dcb_config_free(). The oconfig tree passed in is only borrowed. */
#ifndef DCB_CONFIG_H
#define DCB_CONFIG_H

#include "dcb_secret.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectd/liboconfig/oconfig.h"

#define DCB_DEFAULT_URL "https://www.digicert.com/partner-subscription/api/v1"
#define DCB_DEFAULT_CC_URL "https://www.digicert.com/services/v2"
#define DCB_NAME_MAX 63 /* fits plugin_instance (128) with room to spare */

typedef enum { DCB_MODE_ENFORCE = 0, DCB_MODE_VERIFY = 1 } dcb_mode_t;

const char *dcb_mode_name(dcb_mode_t m);

typedef struct {
  char *name;
  char *url;              /* NULL: the plugin-level URL */
  char *cc_url;           /* NULL: the plugin-level CertCentralURL */
  char *partner_key_file; /* exactly one of file / inline per key */
  char *cc_key_file;
  dcb_secret_t partner_key_inline;
  dcb_secret_t cc_key_inline;
  dcb_mode_t mode;
  int64_t expected_billing_id; /* < 0: not set */
  double check_interval;       /* seconds; 0: use the plugin-wide value */
} dcb_account_cfg_t;

typedef struct {
  char *url;
  char *cc_url;
  double check_interval; /* seconds */
  long timeout_ms;
  int max_concurrency;
  double max_rps; /* 0: unlimited */
  int max_retries;
  double max_retry_after; /* seconds: longest Retry-After honoured */
  char *cacert;
  char *proxy;
  bool verify_peer;
  bool verify_host;
  bool allow_plain_http;
  dcb_account_cfg_t *accounts;
  size_t n_accounts;
  size_t cap_accounts;
  size_t *name_index; /* open addressing: account index + 1, 0 = empty */
  size_t name_cap;    /* a power of two, at least twice n_accounts */
} dcb_config_t;

/* Fill in the documented defaults. */
void dcb_config_init(dcb_config_t *cfg);
/* Add one <Plugin> block to cfg (may be called for several blocks).
 * Returns 0, or -1 after logging an error that names the option. */
int dcb_config_parse(dcb_config_t *cfg, const oconfig_item_t *ci);
/* Cross-option checks once every block is read. Returns 0 or -1 (logged). */
int dcb_config_validate(const dcb_config_t *cfg);
void dcb_config_free(dcb_config_t *cfg);

/* The API bases an account uses (its own, else the plugin's, else default). */
const char *dcb_config_url(const dcb_config_t *cfg,
                           const dcb_account_cfg_t *acct);
const char *dcb_config_cc_url(const dcb_config_t *cfg,
                              const dcb_account_cfg_t *acct);

/* NULL-terminated list of every option name the plugin accepts, plugin level
 * then account level (used by the documentation check). */
extern const char *const dcb_config_option_names[];

#endif
