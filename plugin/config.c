/* Parsing and validating the <Plugin digicert_billing> block. */
#include "dcb_config.h"
#include "dcb_classify.h"
#include "dcb_log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_STRING 4096
#define MAX_URL 900

const char *const dcb_config_option_names[] = {
    /* plugin level */
    "URL", "CertCentralURL", "CheckInterval", "Timeout", "MaxConcurrency",
    "MaxRequestsPerSecond", "MaxRetries", "MaxRetryAfter", "CACert", "Proxy",
    "VerifyPeer", "VerifyHost", "AllowPlainHTTP", "Account",
    /* account level (URL, CertCentralURL and CheckInterval are shared) */
    "PartnerAPIKeyFile", "CertCentralAPIKeyFile", "PartnerAPIKey",
    "CertCentralAPIKey", "Mode", "ExpectedBillingAccountID", NULL};

const char *dcb_mode_name(dcb_mode_t m) {
  return m == DCB_MODE_VERIFY ? "verify" : "enforce";
}

void dcb_config_init(dcb_config_t *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->check_interval = 3600;
  cfg->timeout_ms = 30000;
  cfg->max_concurrency = 8;
  cfg->max_rps = 10;
  cfg->max_retries = 2;
  cfg->max_retry_after = 120;
  cfg->verify_peer = true;
  cfg->verify_host = true;
}

const char *dcb_config_url(const dcb_config_t *cfg,
                           const dcb_account_cfg_t *acct) {
  if (acct != NULL && acct->url != NULL)
    return acct->url;
  return cfg->url != NULL ? cfg->url : DCB_DEFAULT_URL;
}

const char *dcb_config_cc_url(const dcb_config_t *cfg,
                              const dcb_account_cfg_t *acct) {
  if (acct != NULL && acct->cc_url != NULL)
    return acct->cc_url;
  return cfg->cc_url != NULL ? cfg->cc_url : DCB_DEFAULT_CC_URL;
}

static void account_free(dcb_account_cfg_t *a) {
  free(a->name);
  free(a->url);
  free(a->cc_url);
  free(a->partner_key_file);
  free(a->cc_key_file);
  dcb_secret_clear(&a->partner_key_inline);
  dcb_secret_clear(&a->cc_key_inline);
  memset(a, 0, sizeof(*a));
}

void dcb_config_free(dcb_config_t *cfg) {
  free(cfg->url);
  free(cfg->cc_url);
  free(cfg->cacert);
  free(cfg->proxy);
  for (size_t i = 0; i < cfg->n_accounts; i++)
    account_free(&cfg->accounts[i]);
  free(cfg->accounts);
  free(cfg->name_index);
  memset(cfg, 0, sizeof(*cfg));
}

/* "" at plugin level, "Account \"x\": " inside an account. */
typedef struct {
  char prefix[DCB_NAME_MAX + 16];
} where_t;

static int one_value(const oconfig_item_t *ci, const where_t *w, int type,
                     const char *what) {
  if (ci->values_num != 1 || ci->values[0].type != type) {
    dcb_log(LOG_ERR, "%soption \"%s\" needs exactly one %s argument", w->prefix,
            ci->key, what);
    return -1;
  }
  if (ci->children_num != 0) {
    dcb_log(LOG_ERR, "%soption \"%s\" does not take a block", w->prefix,
            ci->key);
    return -1;
  }
  return 0;
}

static int get_string(const oconfig_item_t *ci, const where_t *w, char **out,
                      size_t maxlen) {
  if (one_value(ci, w, OCONFIG_TYPE_STRING, "string") != 0)
    return -1;
  const char *s = ci->values[0].value.string;
  size_t n = strlen(s);
  if (n == 0 || n > maxlen) {
    dcb_log(LOG_ERR, "%soption \"%s\" must be 1 to %zu characters long",
            w->prefix, ci->key, maxlen);
    return -1;
  }
  char *copy = strdup(s);
  if (copy == NULL) {
    dcb_log(LOG_ERR, "%soption \"%s\": out of memory", w->prefix, ci->key);
    return -1;
  }
  free(*out);
  *out = copy;
  return 0;
}

static int get_number(const oconfig_item_t *ci, const where_t *w, double *out,
                      double min, double max, bool integer) {
  if (one_value(ci, w, OCONFIG_TYPE_NUMBER, "number") != 0)
    return -1;
  double v = ci->values[0].value.number;
  if (!isfinite(v) || v < min || v > max || (integer && v != floor(v))) {
    dcb_log(LOG_ERR, "%soption \"%s\" must be %s between %g and %g", w->prefix,
            ci->key, integer ? "a whole number" : "a number", min, max);
    return -1;
  }
  *out = v;
  return 0;
}

static int get_bool(const oconfig_item_t *ci, const where_t *w, bool *out) {
  if (one_value(ci, w, OCONFIG_TYPE_BOOLEAN, "boolean (true or false)") != 0)
    return -1;
  *out = ci->values[0].value.boolean != 0;
  return 0;
}

/* Inline key: copied into wiped memory (dcb_config_parse scrubs the tree). */
static int get_inline_key(const oconfig_item_t *ci, const where_t *w,
                          dcb_secret_t *out) {
  if (one_value(ci, w, OCONFIG_TYPE_STRING, "string") != 0)
    return -1;
  char *s = ci->values[0].value.string;
  size_t n = strlen(s);
  char why[96];
  int ret = 0;
  if (dcb_key_check(s, n, why, sizeof(why)) != 0) {
    dcb_log(LOG_ERR, "%soption \"%s\": the key %s", w->prefix, ci->key, why);
    ret = -1;
  } else if (dcb_secret_set(out, s, n) != 0) {
    dcb_log(LOG_ERR, "%soption \"%s\": out of memory", w->prefix, ci->key);
    ret = -1;
  }
  return ret;
}

static bool is_inline_key(const char *key) {
  return strcasecmp(key, "PartnerAPIKey") == 0 ||
         strcasecmp(key, "CertCentralAPIKey") == 0;
}

/* Wipe every inline key in the tree, whatever happened while parsing:
 * collectd keeps the tree until all plugins are configured. */
static void scrub_inline_keys(const oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    if (is_inline_key(c->key)) {
      for (int v = 0; v < c->values_num; v++)
        if (c->values[v].type == OCONFIG_TYPE_STRING)
          dcb_wipe(c->values[v].value.string,
                   strlen(c->values[v].value.string));
    }
    scrub_inline_keys(c);
  }
}

static bool name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > DCB_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}

static int parse_block(dcb_config_t *cfg, const oconfig_item_t *ci);

static size_t name_hash(const char *p) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  return (size_t)h;
}

/* The slot holding name, or the empty slot where it would go. */
static size_t *name_slot(const dcb_config_t *cfg, const char *name) {
  size_t mask = cfg->name_cap - 1, i = name_hash(name) & mask;
  while (cfg->name_index[i] != 0 &&
         strcmp(cfg->accounts[cfg->name_index[i] - 1].name, name) != 0)
    i = (i + 1) & mask;
  return &cfg->name_index[i];
}

/* Make room for one more name (rehash at half full). */
static int name_reserve(dcb_config_t *cfg) {
  if (2 * (cfg->n_accounts + 1) <= cfg->name_cap)
    return 0;
  size_t cap = cfg->name_cap ? 2 * cfg->name_cap : 64;
  size_t *t = calloc(cap, sizeof(*t));
  if (t == NULL)
    return -1;
  free(cfg->name_index);
  cfg->name_index = t;
  cfg->name_cap = cap;
  for (size_t i = 0; i < cfg->n_accounts; i++)
    *name_slot(cfg, cfg->accounts[i].name) = i + 1;
  return 0;
}

static int parse_account(dcb_config_t *cfg, const oconfig_item_t *ci) {
  where_t w = {.prefix = ""};
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
    dcb_log(LOG_ERR, "<Account> needs exactly one string argument: its name");
    return -1;
  }
  const char *name = ci->values[0].value.string;
  if (!name_ok(name)) {
    dcb_log(LOG_ERR,
            "<Account> name must be 1 to %d characters of A-Z a-z 0-9 . _ -",
            DCB_NAME_MAX);
    return -1;
  }
  if (name_reserve(cfg) != 0) {
    dcb_log(LOG_ERR, "<Account \"%s\">: out of memory", name);
    return -1;
  }
  if (*name_slot(cfg, name) != 0) {
    dcb_log(LOG_ERR, "<Account \"%s\"> is defined twice; names must be unique",
            name);
    return -1;
  }
  snprintf(w.prefix, sizeof(w.prefix), "Account \"%s\": ", name);

  dcb_account_cfg_t a = {.expected_billing_id = -1};
  int ret = -1;
  a.name = strdup(name);
  if (a.name == NULL)
    goto out;

  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    int rc;
    double d;
    char *mode = NULL;
    if (strcasecmp(c->key, "PartnerAPIKeyFile") == 0) {
      rc = get_string(c, &w, &a.partner_key_file, MAX_STRING);
    } else if (strcasecmp(c->key, "CertCentralAPIKeyFile") == 0) {
      rc = get_string(c, &w, &a.cc_key_file, MAX_STRING);
    } else if (strcasecmp(c->key, "PartnerAPIKey") == 0) {
      rc = get_inline_key(c, &w, &a.partner_key_inline);
    } else if (strcasecmp(c->key, "CertCentralAPIKey") == 0) {
      rc = get_inline_key(c, &w, &a.cc_key_inline);
    } else if (strcasecmp(c->key, "Mode") == 0) {
      rc = get_string(c, &w, &mode, 16);
      if (rc == 0 && strcasecmp(mode, "enforce") == 0) {
        a.mode = DCB_MODE_ENFORCE;
      } else if (rc == 0 && strcasecmp(mode, "verify") == 0) {
        a.mode = DCB_MODE_VERIFY;
      } else if (rc == 0) {
        dcb_log(LOG_ERR, "%soption \"Mode\" must be \"enforce\" or \"verify\"",
                w.prefix);
        rc = -1;
      }
      free(mode);
    } else if (strcasecmp(c->key, "ExpectedBillingAccountID") == 0) {
      rc = get_number(c, &w, &d, 1, 9007199254740991.0, true);
      if (rc == 0)
        a.expected_billing_id = (int64_t)d;
    } else if (strcasecmp(c->key, "CheckInterval") == 0) {
      rc = get_number(c, &w, &a.check_interval, 1, 604800, false);
    } else if (strcasecmp(c->key, "URL") == 0) {
      rc = get_string(c, &w, &a.url, MAX_URL);
    } else if (strcasecmp(c->key, "CertCentralURL") == 0) {
      rc = get_string(c, &w, &a.cc_url, MAX_URL);
    } else {
      dcb_log(LOG_ERR, "%sunknown option \"%s\"", w.prefix, c->key);
      rc = -1;
    }
    if (rc != 0)
      goto out;
  }

  if (a.partner_key_file != NULL && a.partner_key_inline.buf != NULL) {
    dcb_log(LOG_ERR, "%sset PartnerAPIKeyFile or PartnerAPIKey, not both",
            w.prefix);
    goto out;
  }
  if (a.cc_key_file != NULL && a.cc_key_inline.buf != NULL) {
    dcb_log(LOG_ERR,
            "%sset CertCentralAPIKeyFile or CertCentralAPIKey, not both",
            w.prefix);
    goto out;
  }
  if (a.partner_key_file == NULL && a.partner_key_inline.buf == NULL) {
    dcb_log(LOG_ERR, "%sPartnerAPIKeyFile is required", w.prefix);
    goto out;
  }
  if (a.cc_key_file == NULL && a.cc_key_inline.buf == NULL) {
    dcb_log(LOG_ERR, "%sCertCentralAPIKeyFile is required", w.prefix);
    goto out;
  }
  if (a.partner_key_inline.buf != NULL || a.cc_key_inline.buf != NULL)
    dcb_log(LOG_WARNING,
            "%sAPI key given inline in the configuration; prefer "
            "PartnerAPIKeyFile/CertCentralAPIKeyFile (mode 0600)",
            w.prefix);

  size_t cap = cfg->cap_accounts;
  if (cfg->n_accounts == cap)
    cap = cap ? 2 * cap : 16;
  dcb_account_cfg_t *grown = realloc(cfg->accounts, cap * sizeof(*grown));
  if (grown == NULL) {
    dcb_log(LOG_ERR, "%sout of memory", w.prefix);
    goto out;
  }
  cfg->accounts = grown;
  cfg->cap_accounts = cap;
  *name_slot(cfg, a.name) = cfg->n_accounts + 1;
  cfg->accounts[cfg->n_accounts++] = a;
  memset(&a, 0, sizeof(a));
  ret = 0;
out:
  account_free(&a);
  return ret;
}

int dcb_config_parse(dcb_config_t *cfg, const oconfig_item_t *ci) {
  int rc = parse_block(cfg, ci);
  scrub_inline_keys(ci);
  return rc;
}

static int parse_block(dcb_config_t *cfg, const oconfig_item_t *ci) {
  const where_t w = {.prefix = ""};
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    int rc;
    double d;
    if (strcasecmp(c->key, "URL") == 0) {
      rc = get_string(c, &w, &cfg->url, MAX_URL);
    } else if (strcasecmp(c->key, "CertCentralURL") == 0) {
      rc = get_string(c, &w, &cfg->cc_url, MAX_URL);
    } else if (strcasecmp(c->key, "CheckInterval") == 0) {
      rc = get_number(c, &w, &cfg->check_interval, 1, 604800, false);
    } else if (strcasecmp(c->key, "Timeout") == 0) {
      rc = get_number(c, &w, &d, 100, 600000, true);
      if (rc == 0)
        cfg->timeout_ms = (long)d;
    } else if (strcasecmp(c->key, "MaxConcurrency") == 0) {
      rc = get_number(c, &w, &d, 1, 1024, true);
      if (rc == 0)
        cfg->max_concurrency = (int)d;
    } else if (strcasecmp(c->key, "MaxRequestsPerSecond") == 0) {
      rc = get_number(c, &w, &cfg->max_rps, 0, 100000, false);
    } else if (strcasecmp(c->key, "MaxRetries") == 0) {
      rc = get_number(c, &w, &d, 0, 10, true);
      if (rc == 0)
        cfg->max_retries = (int)d;
    } else if (strcasecmp(c->key, "MaxRetryAfter") == 0) {
      rc = get_number(c, &w, &cfg->max_retry_after, 0, DCB_RETRY_AFTER_MAX,
                      false);
    } else if (strcasecmp(c->key, "CACert") == 0) {
      rc = get_string(c, &w, &cfg->cacert, MAX_STRING);
    } else if (strcasecmp(c->key, "Proxy") == 0) {
      rc = get_string(c, &w, &cfg->proxy, MAX_STRING);
    } else if (strcasecmp(c->key, "VerifyPeer") == 0) {
      rc = get_bool(c, &w, &cfg->verify_peer);
    } else if (strcasecmp(c->key, "VerifyHost") == 0) {
      rc = get_bool(c, &w, &cfg->verify_host);
    } else if (strcasecmp(c->key, "AllowPlainHTTP") == 0) {
      rc = get_bool(c, &w, &cfg->allow_plain_http);
    } else if (strcasecmp(c->key, "Account") == 0) {
      rc = parse_account(cfg, c);
    } else {
      dcb_log(LOG_ERR, "unknown option \"%s\"", c->key);
      rc = -1;
    }
    if (rc != 0)
      return -1;
  }
  return 0;
}

/* Scheme check; the URL itself goes to libcurl, which reports bad syntax. */
static int check_url(const char *where, const char *opt, const char *url,
                     bool allow_plain) {
  if (strncasecmp(url, "https://", 8) == 0)
    return 0;
  if (strncasecmp(url, "http://", 7) == 0) {
    if (allow_plain)
      return 0;
    dcb_log(LOG_ERR,
            "%soption \"%s\" uses plain http://; keys would travel "
            "unencrypted. Use https:// or set AllowPlainHTTP true",
            where, opt);
    return -1;
  }
  dcb_log(LOG_ERR, "%soption \"%s\" must be an https:// URL", where, opt);
  return -1;
}

int dcb_config_validate(const dcb_config_t *cfg) {
  bool plain = cfg->allow_plain_http;
  if (check_url("", "URL", dcb_config_url(cfg, NULL), plain) != 0 ||
      check_url("", "CertCentralURL", dcb_config_cc_url(cfg, NULL), plain) != 0)
    return -1;
  for (size_t i = 0; i < cfg->n_accounts; i++) {
    const dcb_account_cfg_t *a = &cfg->accounts[i];
    char where[DCB_NAME_MAX + 16];
    snprintf(where, sizeof(where), "Account \"%s\": ", a->name);
    if ((a->url && check_url(where, "URL", a->url, plain) != 0) ||
        (a->cc_url &&
         check_url(where, "CertCentralURL", a->cc_url, plain) != 0))
      return -1;
  }
  if (cfg->proxy != NULL && strstr(cfg->proxy, "@") != NULL) {
    /* Proxy credentials would end up in logs and process listings. */
    dcb_log(LOG_ERR, "option \"Proxy\" must not contain credentials");
    return -1;
  }
  if (cfg->n_accounts == 0)
    dcb_log(LOG_WARNING, "no <Account> configured; nothing to check");
  return 0;
}
