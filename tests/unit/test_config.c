/* Unit tests for plugin/config.c: the <Plugin digicert_billing> block. */
#define _GNU_SOURCE
#include "test_support.h"

#include "dcb_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reset_log(void **state) {
  (void)state;
  ts_log_reset();
  return 0;
}

/* ---- tree building ----------------------------------------------------- */

static oconfig_item_t *new_plugin(void) {
  oconfig_item_t *root = ts_cfg_new("Plugin");
  ts_cfg_add_string(root, "digicert_billing");
  return root;
}

/* <Account name> with nothing inside; valid until root gets another child. */
static oconfig_item_t *new_account(oconfig_item_t *root, const char *name) {
  return ts_cfg_str(root, "Account", name);
}

static void add_key_files(oconfig_item_t *acct) {
  ts_cfg_str(acct, "PartnerAPIKeyFile", "/etc/collectd/partner.key");
  ts_cfg_str(acct, "CertCentralAPIKeyFile", "/etc/collectd/cc.key");
}

/* A complete, valid account. */
static void add_simple_account(oconfig_item_t *root, const char *name) {
  add_key_files(new_account(root, name));
}

static bool all_zero(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != '\0')
      return false;
  return true;
}

/* ---- parse helpers ----------------------------------------------------- */

/* Parse root into a fresh config; on success the caller frees cfg. */
static void parse_ok(oconfig_item_t *root, dcb_config_t *cfg) {
  dcb_config_init(cfg);
  size_t mark = ts_log_total();
  if (dcb_config_parse(cfg, root) != 0) {
    ts_log_dump();
    fail_msg("dcb_config_parse refused a valid block");
  }
  if (ts_log_has_since(mark, LOG_ERR, NULL, NULL)) {
    ts_log_dump();
    fail_msg("a valid block logged an error");
  }
}

/* Parsing must fail and log an error mentioning both needles (NULL: skip).
 * Frees root. */
static void expect_fail(oconfig_item_t *root, const char *needle1,
                        const char *needle2, const char *what) {
  dcb_config_t cfg;
  dcb_config_init(&cfg);
  size_t mark = ts_log_total();
  int rc = dcb_config_parse(&cfg, root);
  if (rc != -1) {
    dcb_config_free(&cfg);
    ts_cfg_free(root);
    fail_msg("%s: parse returned %d, expected -1", what, rc);
  }
  if (!ts_log_has_since(mark, LOG_ERR, needle1, needle2)) {
    ts_log_dump();
    dcb_config_free(&cfg);
    ts_cfg_free(root);
    fail_msg("%s: no error logged that mentions \"%s\" and \"%s\"", what,
             needle1 ? needle1 : "", needle2 ? needle2 : "");
  }
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

/* ---- plugin-level helpers: one option, then expect failure ------------- */

static void plugin_bad_str(const char *key, const char *value) {
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, key, value);
  add_simple_account(root, "acct-x");
  expect_fail(root, key, NULL, key);
}

static void plugin_bad_num(const char *key, double v) {
  char what[96];
  snprintf(what, sizeof(what), "%s %g", key, v);
  oconfig_item_t *root = new_plugin();
  ts_cfg_num(root, key, v);
  add_simple_account(root, "acct-x");
  expect_fail(root, key, NULL, what);
}

static void plugin_bad_bool(const char *key, bool b) {
  oconfig_item_t *root = new_plugin();
  ts_cfg_bool(root, key, b);
  add_simple_account(root, "acct-x");
  expect_fail(root, key, NULL, key);
}

static void plugin_ok_num(const char *key, double v) {
  oconfig_item_t *root = new_plugin();
  ts_cfg_num(root, key, v);
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

/* ---- account-level helpers: the bad option comes first ----------------- */

static oconfig_item_t *account_tree(oconfig_item_t **acct) {
  oconfig_item_t *root = new_plugin();
  *acct = new_account(root, "acct-x");
  return root;
}

static void account_bad_str(const char *key, const char *value) {
  oconfig_item_t *acct;
  oconfig_item_t *root = account_tree(&acct);
  ts_cfg_str(acct, key, value);
  add_key_files(acct);
  expect_fail(root, key, "acct-x", key);
}

static void account_bad_num(const char *key, double v) {
  char what[96];
  snprintf(what, sizeof(what), "account %s %g", key, v);
  oconfig_item_t *acct;
  oconfig_item_t *root = account_tree(&acct);
  ts_cfg_num(acct, key, v);
  add_key_files(acct);
  expect_fail(root, key, "acct-x", what);
}

static void account_bad_bool(const char *key, bool b) {
  oconfig_item_t *acct;
  oconfig_item_t *root = account_tree(&acct);
  ts_cfg_bool(acct, key, b);
  add_key_files(acct);
  expect_fail(root, key, "acct-x", key);
}

static void account_ok_num(const char *key, double v) {
  oconfig_item_t *acct;
  oconfig_item_t *root = account_tree(&acct);
  ts_cfg_num(acct, key, v);
  add_key_files(acct);
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_int_equal(cfg.n_accounts, 1);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

static const char *const plugin_string_opts[] = {"URL", "CertCentralURL",
                                                 "CACert", "Proxy"};
static const char *const plugin_number_opts[] = {
    "CheckInterval",        "Timeout",    "MaxConcurrency",
    "MaxRequestsPerSecond", "MaxRetries", "MaxRetryAfter"};
static const char *const plugin_bool_opts[] = {"VerifyPeer", "VerifyHost",
                                               "AllowPlainHTTP"};
static const char *const account_string_opts[] = {
    "PartnerAPIKeyFile", "CertCentralAPIKeyFile", "PartnerAPIKey",
    "CertCentralAPIKey", "Mode"};
static const char *const account_number_opts[] = {"ExpectedBillingAccountID",
                                                  "CheckInterval"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- defaults and successful parsing ----------------------------------- */

static void test_defaults(void **state) {
  (void)state;
  dcb_config_t cfg;
  memset(&cfg, 0x5a, sizeof(cfg));
  dcb_config_init(&cfg);
  ts_assert_double(cfg.check_interval, 3600, 0);
  assert_int_equal(cfg.timeout_ms, 30000);
  assert_int_equal(cfg.max_concurrency, 8);
  ts_assert_double(cfg.max_rps, 10, 0);
  assert_int_equal(cfg.max_retries, 2);
  ts_assert_double(cfg.max_retry_after, 120, 0);
  assert_true(cfg.verify_peer);
  assert_true(cfg.verify_host);
  assert_false(cfg.allow_plain_http);
  assert_null(cfg.url);
  assert_null(cfg.cc_url);
  assert_null(cfg.cacert);
  assert_null(cfg.proxy);
  assert_null(cfg.accounts);
  assert_int_equal(cfg.n_accounts, 0);
  dcb_config_free(&cfg);
}

static void test_default_urls(void **state) {
  (void)state;
  assert_string_equal(DCB_DEFAULT_URL,
                      "https://www.digicert.com/partner-subscription/api/v1");
  assert_string_equal(DCB_DEFAULT_CC_URL,
                      "https://www.digicert.com/services/v2");
}

static void test_empty_block(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_int_equal(cfg.n_accounts, 0);
  assert_int_equal(cfg.timeout_ms, 30000);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

static void test_all_plugin_options(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, "URL", "https://partner.example.test/api/v1");
  ts_cfg_str(root, "CertCentralURL", "https://cc.example.test/services/v2");
  ts_cfg_num(root, "CheckInterval", 600);
  ts_cfg_num(root, "Timeout", 5000);
  ts_cfg_num(root, "MaxConcurrency", 4);
  ts_cfg_num(root, "MaxRequestsPerSecond", 2.5);
  ts_cfg_num(root, "MaxRetries", 5);
  ts_cfg_num(root, "MaxRetryAfter", 30);
  ts_cfg_str(root, "CACert", "/etc/ssl/certs/ca.pem");
  ts_cfg_str(root, "Proxy", "http://proxy.example.test:3128");
  ts_cfg_bool(root, "VerifyPeer", false);
  ts_cfg_bool(root, "VerifyHost", false);
  ts_cfg_bool(root, "AllowPlainHTTP", true);
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_string_equal(cfg.url, "https://partner.example.test/api/v1");
  assert_string_equal(cfg.cc_url, "https://cc.example.test/services/v2");
  ts_assert_double(cfg.check_interval, 600, 0);
  assert_int_equal(cfg.timeout_ms, 5000);
  assert_int_equal(cfg.max_concurrency, 4);
  ts_assert_double(cfg.max_rps, 2.5, 0);
  assert_int_equal(cfg.max_retries, 5);
  ts_assert_double(cfg.max_retry_after, 30, 0);
  assert_string_equal(cfg.cacert, "/etc/ssl/certs/ca.pem");
  assert_string_equal(cfg.proxy, "http://proxy.example.test:3128");
  assert_false(cfg.verify_peer);
  assert_false(cfg.verify_host);
  assert_true(cfg.allow_plain_http);
  assert_int_equal(cfg.n_accounts, 0);
  /* The config owns copies, not the tree's strings. */
  assert_ptr_not_equal(cfg.url, root->children[0].values[0].value.string);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

static void test_later_value_wins(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, "URL", "https://first.example.test");
  ts_cfg_str(root, "URL", "https://second.example.test");
  ts_cfg_num(root, "Timeout", 1000);
  ts_cfg_num(root, "Timeout", 2000);
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_string_equal(cfg.url, "https://second.example.test");
  assert_int_equal(cfg.timeout_ms, 2000);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

static void test_all_account_options(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  oconfig_item_t *a = new_account(root, "acme-eu");
  ts_cfg_str(a, "PartnerAPIKeyFile", "/etc/collectd/acme-partner.key");
  ts_cfg_str(a, "CertCentralAPIKeyFile", "/etc/collectd/acme-cc.key");
  ts_cfg_str(a, "Mode", "verify");
  ts_cfg_num(a, "ExpectedBillingAccountID", 123456);
  ts_cfg_num(a, "CheckInterval", 120);
  oconfig_item_t *b = new_account(root, "Beta_2.x");
  ts_cfg_str(b, "PartnerAPIKey", "PartnerInlineKey123");
  ts_cfg_str(b, "CertCentralAPIKey", "CertCentralInlineKey456");
  ts_cfg_str(b, "Mode", "enforce");
  add_simple_account(root, "gamma");

  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_int_equal(cfg.n_accounts, 3);
  dcb_account_cfg_t *x = &cfg.accounts[0];
  assert_string_equal(x->name, "acme-eu");
  assert_string_equal(x->partner_key_file, "/etc/collectd/acme-partner.key");
  assert_string_equal(x->cc_key_file, "/etc/collectd/acme-cc.key");
  assert_null(x->partner_key_inline.buf);
  assert_null(x->cc_key_inline.buf);
  assert_int_equal(x->mode, DCB_MODE_VERIFY);
  assert_true(x->expected_billing_id == 123456);
  ts_assert_double(x->check_interval, 120, 0);

  x = &cfg.accounts[1];
  assert_string_equal(x->name, "Beta_2.x");
  assert_null(x->partner_key_file);
  assert_null(x->cc_key_file);
  assert_non_null(x->partner_key_inline.buf);
  assert_string_equal(x->partner_key_inline.buf, "PartnerInlineKey123");
  assert_int_equal(x->partner_key_inline.len, 19);
  assert_string_equal(x->cc_key_inline.buf, "CertCentralInlineKey456");
  assert_int_equal(x->cc_key_inline.len, 23);
  assert_int_equal(x->mode, DCB_MODE_ENFORCE);

  x = &cfg.accounts[2];
  assert_string_equal(x->name, "gamma");
  assert_int_equal(x->mode, DCB_MODE_ENFORCE); /* default */
  assert_true(x->expected_billing_id < 0);     /* not set */
  ts_assert_double(x->check_interval, 0, 0);   /* plugin-wide */

  /* Inline keys earn a warning naming the account, without the key. */
  assert_true(ts_log_contains2("Beta_2.x", "inline"));
  assert_int_equal(ts_log_count_level(LOG_WARNING), 1);
  assert_false(ts_log_contains("InlineKey"));
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

static void test_option_names_case_insensitive(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, "url", "https://lower.example.test");
  ts_cfg_str(root, "CERTCENTRALURL", "https://upper.example.test");
  ts_cfg_num(root, "checkinterval", 77);
  ts_cfg_num(root, "tImEoUt", 1234);
  ts_cfg_num(root, "maxconcurrency", 3);
  ts_cfg_num(root, "MAXREQUESTSPERSECOND", 0);
  ts_cfg_num(root, "maxretries", 0);
  ts_cfg_str(root, "cacert", "/ca.pem");
  ts_cfg_str(root, "PROXY", "http://p.example.test:8080");
  ts_cfg_bool(root, "verifypeer", false);
  ts_cfg_bool(root, "VERIFYHOST", false);
  ts_cfg_bool(root, "allowplainhttp", true);
  oconfig_item_t *a = ts_cfg_str(root, "ACCOUNT", "mixed");
  ts_cfg_str(a, "partnerapikeyfile", "/p.key");
  ts_cfg_str(a, "CERTCENTRALAPIKEYFILE", "/c.key");
  ts_cfg_str(a, "mode", "VERIFY");
  ts_cfg_num(a, "expectedbillingaccountid", 5);
  ts_cfg_num(a, "CHECKINTERVAL", 9);
  oconfig_item_t *b = ts_cfg_str(root, "account", "inline");
  ts_cfg_str(b, "partnerapikey", "CaseKeyOne");
  ts_cfg_str(b, "CERTCENTRALAPIKEY", "CaseKeyTwo");
  ts_cfg_str(b, "Mode", "Enforce");

  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_string_equal(cfg.url, "https://lower.example.test");
  assert_string_equal(cfg.cc_url, "https://upper.example.test");
  ts_assert_double(cfg.check_interval, 77, 0);
  assert_int_equal(cfg.timeout_ms, 1234);
  assert_int_equal(cfg.max_concurrency, 3);
  ts_assert_double(cfg.max_rps, 0, 0);
  assert_int_equal(cfg.max_retries, 0);
  assert_string_equal(cfg.cacert, "/ca.pem");
  assert_string_equal(cfg.proxy, "http://p.example.test:8080");
  assert_false(cfg.verify_peer);
  assert_false(cfg.verify_host);
  assert_true(cfg.allow_plain_http);
  assert_int_equal(cfg.n_accounts, 2);
  assert_string_equal(cfg.accounts[0].partner_key_file, "/p.key");
  assert_string_equal(cfg.accounts[0].cc_key_file, "/c.key");
  assert_int_equal(cfg.accounts[0].mode, DCB_MODE_VERIFY);
  assert_true(cfg.accounts[0].expected_billing_id == 5);
  ts_assert_double(cfg.accounts[0].check_interval, 9, 0);
  assert_string_equal(cfg.accounts[1].partner_key_inline.buf, "CaseKeyOne");
  assert_string_equal(cfg.accounts[1].cc_key_inline.buf, "CaseKeyTwo");
  assert_int_equal(cfg.accounts[1].mode, DCB_MODE_ENFORCE);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

static void test_two_blocks_accumulate(void **state) {
  (void)state;
  oconfig_item_t *one = new_plugin();
  ts_cfg_num(one, "Timeout", 1000);
  add_simple_account(one, "first");
  oconfig_item_t *two = new_plugin();
  ts_cfg_num(two, "MaxRetries", 7);
  add_simple_account(two, "second");
  add_simple_account(two, "third");

  dcb_config_t cfg;
  dcb_config_init(&cfg);
  assert_int_equal(dcb_config_parse(&cfg, one), 0);
  assert_int_equal(dcb_config_parse(&cfg, two), 0);
  assert_int_equal(cfg.n_accounts, 3);
  assert_string_equal(cfg.accounts[0].name, "first");
  assert_string_equal(cfg.accounts[1].name, "second");
  assert_string_equal(cfg.accounts[2].name, "third");
  assert_int_equal(cfg.timeout_ms, 1000);
  assert_int_equal(cfg.max_retries, 7);
  assert_int_equal(ts_log_count_level(LOG_ERR), 0);
  dcb_config_free(&cfg);
  ts_cfg_free(one);
  ts_cfg_free(two);
}

static void test_number_boundaries_accepted(void **state) {
  (void)state;
  plugin_ok_num("Timeout", 100);
  plugin_ok_num("Timeout", 600000);
  plugin_ok_num("MaxConcurrency", 1);
  plugin_ok_num("MaxConcurrency", 1024);
  plugin_ok_num("MaxRetries", 0);
  plugin_ok_num("MaxRetries", 10);
  plugin_ok_num("CheckInterval", 1);
  plugin_ok_num("CheckInterval", 1.5);
  plugin_ok_num("CheckInterval", 604800);
  plugin_ok_num("MaxRequestsPerSecond", 0);
  plugin_ok_num("MaxRetryAfter", 0);
  plugin_ok_num("MaxRetryAfter", 300);
  plugin_ok_num("MaxRequestsPerSecond", 0.5);
  account_ok_num("ExpectedBillingAccountID", 1);
  account_ok_num("ExpectedBillingAccountID", 9007199254740991.0);
  account_ok_num("CheckInterval", 1);
}

static void test_account_name_limits_accepted(void **state) {
  (void)state;
  char name[DCB_NAME_MAX + 1];
  memset(name, 'n', DCB_NAME_MAX);
  name[DCB_NAME_MAX] = '\0';
  oconfig_item_t *root = new_plugin();
  add_simple_account(root, name);
  add_simple_account(root, "x");
  add_simple_account(root, "A-Z_a.z-0_9");
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_int_equal(cfg.n_accounts, 3);
  assert_string_equal(cfg.accounts[0].name, name);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

static void test_url_length_limit(void **state) {
  (void)state;
  char url[1024];
  size_t prefix = strlen("https://");
  memcpy(url, "https://", prefix);
  memset(url + prefix, 'u', 900 - prefix);
  url[900] = '\0';
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, "URL", url);
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_int_equal(strlen(cfg.url), 900);
  dcb_config_free(&cfg);
  ts_cfg_free(root);

  url[900] = 'u';
  url[901] = '\0';
  plugin_bad_str("URL", url);
}

/* ---- errors ------------------------------------------------------------ */

static void test_unknown_options(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, "BogusOption", "x");
  expect_fail(root, "BogusOption", NULL, "plugin-level unknown option");

  oconfig_item_t *acct;
  root = account_tree(&acct);
  add_key_files(acct);
  ts_cfg_num(acct, "BogusAccountOption", 1);
  expect_fail(root, "BogusAccountOption", "acct-x",
              "account-level unknown option");

  /* Account-only options are unknown at plugin level and vice versa. */
  root = new_plugin();
  ts_cfg_str(root, "Mode", "verify");
  expect_fail(root, "Mode", NULL, "Mode at plugin level");
  root = account_tree(&acct);
  add_key_files(acct);
  ts_cfg_num(acct, "Timeout", 1000);
  expect_fail(root, "Timeout", "acct-x", "Timeout inside an account");
}

static void test_wrong_types_plugin_level(void **state) {
  (void)state;
  for (size_t i = 0; i < N_OF(plugin_string_opts); i++) {
    oconfig_item_t *root = new_plugin();
    ts_cfg_num(root, plugin_string_opts[i], 5);
    expect_fail(root, plugin_string_opts[i], NULL, plugin_string_opts[i]);
    plugin_bad_bool(plugin_string_opts[i], true);
  }
  for (size_t i = 0; i < N_OF(plugin_number_opts); i++) {
    plugin_bad_str(plugin_number_opts[i], "10");
    plugin_bad_bool(plugin_number_opts[i], true);
  }
  for (size_t i = 0; i < N_OF(plugin_bool_opts); i++) {
    plugin_bad_str(plugin_bool_opts[i], "true");
    plugin_bad_num(plugin_bool_opts[i], 1);
  }
}

static void test_wrong_types_account_level(void **state) {
  (void)state;
  for (size_t i = 0; i < N_OF(account_string_opts); i++) {
    account_bad_num(account_string_opts[i], 5);
    account_bad_bool(account_string_opts[i], false);
  }
  for (size_t i = 0; i < N_OF(account_number_opts); i++) {
    account_bad_str(account_number_opts[i], "5");
    account_bad_bool(account_number_opts[i], true);
  }
  /* The account name itself must be a string. */
  oconfig_item_t *root = new_plugin();
  oconfig_item_t *a = ts_cfg_num(root, "Account", 5);
  add_key_files(a);
  expect_fail(root, "Account", NULL, "numeric account name");
}

static void test_value_count(void **state) {
  (void)state;
  /* Two values. */
  oconfig_item_t *root = new_plugin();
  oconfig_item_t *c = ts_cfg_str(root, "URL", "https://a.example.test");
  ts_cfg_add_string(c, "https://b.example.test");
  expect_fail(root, "URL", NULL, "URL with two values");

  root = new_plugin();
  c = ts_cfg_num(root, "Timeout", 1000);
  ts_cfg_add_number(c, 2000);
  expect_fail(root, "Timeout", NULL, "Timeout with two values");

  root = new_plugin();
  c = ts_cfg_bool(root, "VerifyPeer", true);
  ts_cfg_add_boolean(c, false);
  expect_fail(root, "VerifyPeer", NULL, "VerifyPeer with two values");

  oconfig_item_t *acct;
  root = account_tree(&acct);
  c = ts_cfg_str(acct, "Mode", "verify");
  ts_cfg_add_string(c, "enforce");
  add_key_files(acct);
  expect_fail(root, "Mode", "acct-x", "Mode with two values");

  root = new_plugin();
  oconfig_item_t *a = ts_cfg_str(root, "Account", "one");
  ts_cfg_add_string(a, "two");
  add_key_files(a);
  expect_fail(root, "Account", NULL, "Account with two names");

  /* No value at all. */
  root = new_plugin();
  ts_cfg_child(root, "CACert");
  expect_fail(root, "CACert", NULL, "CACert without a value");
  root = new_plugin();
  ts_cfg_child(root, "MaxRetries");
  expect_fail(root, "MaxRetries", NULL, "MaxRetries without a value");

  /* An option given a block. */
  root = new_plugin();
  c = ts_cfg_str(root, "Proxy", "http://p.example.test");
  ts_cfg_num(c, "Nested", 1);
  expect_fail(root, "Proxy", NULL, "Proxy with a block");
}

static void test_numbers_out_of_range(void **state) {
  (void)state;
  plugin_bad_num("Timeout", 0);
  plugin_bad_num("Timeout", 99);
  plugin_bad_num("Timeout", 1e9);
  plugin_bad_num("Timeout", -1000);
  plugin_bad_num("MaxConcurrency", 0);
  plugin_bad_num("MaxConcurrency", 5000);
  plugin_bad_num("MaxConcurrency", -1);
  plugin_bad_num("MaxRetries", -1);
  plugin_bad_num("MaxRetries", 11);
  plugin_bad_num("CheckInterval", 0);
  plugin_bad_num("CheckInterval", -60);
  plugin_bad_num("CheckInterval", 1e12);
  plugin_bad_num("MaxRequestsPerSecond", -1);
  plugin_bad_num("MaxRetryAfter", -1);
  plugin_bad_num("MaxRetryAfter", 301);
  plugin_bad_num("MaxRequestsPerSecond", 1e9);
  plugin_bad_num("Timeout", NAN);
  plugin_bad_num("Timeout", INFINITY);
  plugin_bad_num("CheckInterval", -INFINITY);
  account_bad_num("CheckInterval", 0);
  account_bad_num("ExpectedBillingAccountID", 0);
  account_bad_num("ExpectedBillingAccountID", -3);
  account_bad_num("ExpectedBillingAccountID", 1e300);
}

static void test_numbers_not_whole(void **state) {
  (void)state;
  plugin_bad_num("Timeout", 1500.5);
  plugin_bad_num("MaxConcurrency", 2.5);
  plugin_bad_num("MaxRetries", 1.5);
  account_bad_num("ExpectedBillingAccountID", 12.5);
}

static void test_empty_strings(void **state) {
  (void)state;
  for (size_t i = 0; i < N_OF(plugin_string_opts); i++)
    plugin_bad_str(plugin_string_opts[i], "");
  for (size_t i = 0; i < N_OF(account_string_opts); i++)
    account_bad_str(account_string_opts[i], "");
}

static void test_huge_strings(void **state) {
  (void)state;
  const size_t n = 100 * 1024;
  char *big = ts_xmalloc(n + 1);
  memset(big, 'b', n);
  big[n] = '\0';
  for (size_t i = 0; i < N_OF(plugin_string_opts); i++)
    plugin_bad_str(plugin_string_opts[i], big);
  for (size_t i = 0; i < N_OF(account_string_opts); i++)
    account_bad_str(account_string_opts[i], big);
  /* As an account name. */
  oconfig_item_t *root = new_plugin();
  add_simple_account(root, big);
  expect_fail(root, "Account", NULL, "huge account name");
  free(big);
}

static void test_duplicate_account_same_block(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  add_simple_account(root, "twice");
  add_simple_account(root, "twice");
  expect_fail(root, "twice", NULL, "duplicate account");
}

static void test_duplicate_account_across_blocks(void **state) {
  (void)state;
  oconfig_item_t *one = new_plugin();
  add_simple_account(one, "shared");
  oconfig_item_t *two = new_plugin();
  add_simple_account(two, "other");
  add_simple_account(two, "shared");
  dcb_config_t cfg;
  dcb_config_init(&cfg);
  assert_int_equal(dcb_config_parse(&cfg, one), 0);
  size_t mark = ts_log_total();
  assert_int_equal(dcb_config_parse(&cfg, two), -1);
  assert_true(ts_log_has_since(mark, LOG_ERR, "shared", NULL));
  /* The accounts before the failure stay consistent and freeable. */
  assert_int_equal(cfg.n_accounts, 2);
  assert_string_equal(cfg.accounts[0].name, "shared");
  assert_string_equal(cfg.accounts[1].name, "other");
  dcb_config_free(&cfg);
  ts_cfg_free(one);
  ts_cfg_free(two);
}

static void test_bad_account_names(void **state) {
  (void)state;
  char long_name[DCB_NAME_MAX + 2];
  memset(long_name, 'n', DCB_NAME_MAX + 1);
  long_name[DCB_NAME_MAX + 1] = '\0';
  const char *const names[] = {"",          "a/b",      "a b",
                               long_name,   "../x",     "tab\there",
                               "new\nline", "quote\"d", "caf\xc3\xa9"};
  for (size_t i = 0; i < N_OF(names); i++) {
    oconfig_item_t *root = new_plugin();
    add_simple_account(root, names[i]);
    expect_fail(root, "Account", NULL, names[i]);
  }
}

static void test_bad_mode(void **state) {
  (void)state;
  account_bad_str("Mode", "foo");
  account_bad_str("Mode", "enforced");
  account_bad_str("Mode", "verify ");
  account_bad_str("Mode", "a-very-long-mode-value");
}

static void test_file_and_inline_key_together(void **state) {
  (void)state;
  oconfig_item_t *acct;
  oconfig_item_t *root = account_tree(&acct);
  add_key_files(acct);
  ts_cfg_str(acct, "PartnerAPIKey", "BothPartnerKey");
  ts_log_watch("BothPartnerKey");
  expect_fail(root, "PartnerAPIKey", "acct-x", "partner file + inline");

  root = account_tree(&acct);
  add_key_files(acct);
  ts_cfg_str(acct, "CertCentralAPIKey", "BothCCKey");
  ts_log_watch("BothCCKey");
  expect_fail(root, "CertCentralAPIKey", "acct-x", "cc file + inline");
  assert_int_equal(ts_log_watch_hits(), 0);
}

static void test_missing_keys(void **state) {
  (void)state;
  oconfig_item_t *acct;
  oconfig_item_t *root = account_tree(&acct);
  ts_cfg_str(acct, "CertCentralAPIKeyFile", "/c.key");
  expect_fail(root, "PartnerAPIKey", "acct-x", "no partner key");

  root = account_tree(&acct);
  ts_cfg_str(acct, "PartnerAPIKeyFile", "/p.key");
  expect_fail(root, "CertCentralAPIKey", "acct-x", "no cc key");

  root = account_tree(&acct);
  ts_cfg_str(acct, "Mode", "verify");
  expect_fail(root, "APIKey", "acct-x", "no keys at all");
}

static void test_inline_key_bad_characters(void **state) {
  (void)state;
  const char *const keys[] = {
      "LeakA LeakB",    "LeakA\nLeakB",       "LeakA\tLeakB", "LeakA\rLeakB",
      "LeakA\x7fLeakB", "LeakA\xc3\xa9LeakB", " LeakALeakB"};
  ts_log_watch("LeakA");
  ts_log_watch("LeakB");
  for (size_t i = 0; i < N_OF(keys); i++) {
    oconfig_item_t *acct;
    oconfig_item_t *root = account_tree(&acct);
    ts_cfg_str(acct, "PartnerAPIKey", keys[i]);
    ts_cfg_str(acct, "CertCentralAPIKeyFile", "/c.key");
    expect_fail(root, "PartnerAPIKey", "acct-x", "bad partner key");

    root = account_tree(&acct);
    ts_cfg_str(acct, "PartnerAPIKeyFile", "/p.key");
    ts_cfg_str(acct, "CertCentralAPIKey", keys[i]);
    expect_fail(root, "CertCentralAPIKey", "acct-x", "bad cc key");
  }
  assert_int_equal(ts_log_watch_hits(), 0);
}

/* ---- secrets: never logged, scrubbed from the tree --------------------- */

static void test_inline_keys_never_logged(void **state) {
  (void)state;
  ts_log_watch("TopSecretPartner");
  ts_log_watch("TopSecretCC");
  ts_log_watch("QQQQQQQQQQQQQQQQ");

  /* Valid inline keys: a warning is logged, without the keys. */
  oconfig_item_t *acct;
  oconfig_item_t *root = account_tree(&acct);
  ts_cfg_str(acct, "PartnerAPIKey", "TopSecretPartner1");
  ts_cfg_str(acct, "CertCentralAPIKey", "TopSecretCC1");
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_true(ts_log_count_level(LOG_WARNING) >= 1);
  dcb_config_free(&cfg);
  ts_cfg_free(root);

  /* Key followed by an account-level error. */
  root = account_tree(&acct);
  ts_cfg_str(acct, "PartnerAPIKey", "TopSecretPartner2");
  ts_cfg_str(acct, "CertCentralAPIKey", "TopSecretCC2");
  ts_cfg_str(acct, "Mode", "nonsense");
  expect_fail(root, "Mode", NULL, "key then bad mode");

  /* Key too long. */
  char big[DCB_KEY_MAX_LEN * 2];
  memset(big, 'Q', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  root = account_tree(&acct);
  ts_cfg_str(acct, "PartnerAPIKey", big);
  ts_cfg_str(acct, "CertCentralAPIKeyFile", "/c.key");
  expect_fail(root, "PartnerAPIKey", NULL, "long key");

  /* Duplicate account carrying keys. */
  root = new_plugin();
  acct = new_account(root, "dup");
  ts_cfg_str(acct, "PartnerAPIKey", "TopSecretPartner3");
  ts_cfg_str(acct, "CertCentralAPIKey", "TopSecretCC3");
  acct = new_account(root, "dup");
  ts_cfg_str(acct, "PartnerAPIKey", "TopSecretPartner4");
  ts_cfg_str(acct, "CertCentralAPIKey", "TopSecretCC4");
  expect_fail(root, "dup", NULL, "duplicate account with keys");

  /* Missing CertCentral key next to an inline partner key. */
  root = account_tree(&acct);
  ts_cfg_str(acct, "PartnerAPIKey", "TopSecretPartner5");
  expect_fail(root, "CertCentralAPIKey", NULL, "partner key only");

  /* The validation step does not echo them either. */
  root = account_tree(&acct);
  ts_cfg_str(acct, "PartnerAPIKey", "TopSecretPartner6");
  ts_cfg_str(acct, "CertCentralAPIKey", "TopSecretCC6");
  ts_cfg_str(root, "URL", "http://plain.example.test");
  parse_ok(root, &cfg);
  assert_int_equal(dcb_config_validate(&cfg), -1);
  dcb_config_free(&cfg);
  ts_cfg_free(root);

  assert_true(ts_log_total() > 0);
  assert_int_equal(ts_log_watch_hits(), 0);
}

static void test_inline_keys_wiped_from_tree(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  oconfig_item_t *a = new_account(root, "wipe");
  ts_cfg_str(a, "PartnerAPIKey", "WipeMePartner");
  ts_cfg_str(a, "CertCentralAPIKey", "WipeMeCertCentral");
  ts_cfg_str(a, "Mode", "verify");
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  oconfig_item_t *acct = &root->children[0];
  assert_true(all_zero(acct->children[0].values[0].value.string,
                       strlen("WipeMePartner")));
  assert_true(all_zero(acct->children[1].values[0].value.string,
                       strlen("WipeMeCertCentral")));
  /* Only the keys: other strings are left alone. */
  assert_string_equal(acct->children[2].values[0].value.string, "verify");
  assert_string_equal(acct->values[0].value.string, "wipe");
  /* The config kept its own copies. */
  assert_string_equal(cfg.accounts[0].partner_key_inline.buf, "WipeMePartner");
  assert_string_equal(cfg.accounts[0].cc_key_inline.buf, "WipeMeCertCentral");
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

static void test_rejected_inline_key_still_wiped(void **state) {
  (void)state;
  oconfig_item_t *acct;
  oconfig_item_t *root = account_tree(&acct);
  ts_cfg_str(acct, "PartnerAPIKey", "Wipe Me Anyway");
  ts_cfg_str(acct, "CertCentralAPIKeyFile", "/c.key");
  dcb_config_t cfg;
  dcb_config_init(&cfg);
  assert_int_equal(dcb_config_parse(&cfg, root), -1);
  assert_true(all_zero(root->children[0].children[0].values[0].value.string,
                       strlen("Wipe Me Anyway")));
  assert_int_equal(cfg.n_accounts, 0);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

/* Regression: when parsing stopped at an error, inline keys in options not
 * reached yet (later in the account, or in later accounts) and keys with the
 * wrong number of values used to stay in the tree. */
static void test_keys_after_error_wiped(void **state) {
  (void)state;
  oconfig_item_t *acct;
  oconfig_item_t *root = account_tree(&acct);
  ts_cfg_str(acct, "Mode", "nonsense");
  ts_cfg_str(acct, "PartnerAPIKey", "NotReachedKey");
  ts_cfg_str(acct, "CertCentralAPIKeyFile", "/c.key");
  dcb_config_t cfg;
  dcb_config_init(&cfg);
  assert_int_equal(dcb_config_parse(&cfg, root), -1);
  assert_true(all_zero(root->children[0].children[1].values[0].value.string,
                       strlen("NotReachedKey")));
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

/* ---- dcb_config_validate ----------------------------------------------- */

/* Parse root (must succeed), then validate; returns validate's result. */
static int validate_tree(oconfig_item_t *root) {
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  int rc = dcb_config_validate(&cfg);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
  return rc;
}

static void test_validate_defaults_with_account(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  add_simple_account(root, "a");
  assert_int_equal(validate_tree(root), 0);
  assert_int_equal(ts_log_count(), 0);
}

static void test_validate_plain_http(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, "URL", "http://partner.example.test/api");
  add_simple_account(root, "a");
  size_t mark = ts_log_total();
  assert_int_equal(validate_tree(root), -1);
  assert_true(ts_log_has_since(mark, LOG_ERR, "URL", "http://"));

  root = new_plugin();
  ts_cfg_str(root, "CertCentralURL", "http://cc.example.test/v2");
  add_simple_account(root, "a");
  mark = ts_log_total();
  assert_int_equal(validate_tree(root), -1);
  assert_true(ts_log_has_since(mark, LOG_ERR, "CertCentralURL", NULL));

  root = new_plugin();
  ts_cfg_str(root, "URL", "http://partner.example.test/api");
  ts_cfg_str(root, "CertCentralURL", "http://cc.example.test/v2");
  ts_cfg_bool(root, "AllowPlainHTTP", true);
  add_simple_account(root, "a");
  mark = ts_log_total();
  assert_int_equal(validate_tree(root), 0);
  assert_false(ts_log_has_since(mark, LOG_ERR, NULL, NULL));
}

static void test_account_level_urls(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  oconfig_item_t *acct = new_account(root, "eu");
  add_key_files(acct);
  ts_cfg_str(acct, "CertCentralURL", "https://certcentral.example.eu/v2");
  add_simple_account(root, "us");
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  assert_string_equal(dcb_config_cc_url(&cfg, &cfg.accounts[0]),
                      "https://certcentral.example.eu/v2");
  assert_string_equal(dcb_config_cc_url(&cfg, &cfg.accounts[1]),
                      DCB_DEFAULT_CC_URL);
  assert_string_equal(dcb_config_url(&cfg, &cfg.accounts[0]), DCB_DEFAULT_URL);
  assert_int_equal(dcb_config_validate(&cfg), 0);
  dcb_config_free(&cfg);
  ts_cfg_free(root);

  /* A plain-http account URL is refused, naming the account. */
  root = new_plugin();
  acct = new_account(root, "eu");
  add_key_files(acct);
  ts_cfg_str(acct, "URL", "http://partner.example.eu/api");
  size_t mark = ts_log_total();
  assert_int_equal(validate_tree(root), -1);
  assert_true(ts_log_has_since(mark, LOG_ERR, "Account \"eu\"", "URL"));
}

static void test_validate_other_schemes(void **state) {
  (void)state;
  const char *const bad[] = {"ftp://files.example.test/api",
                             "file:///etc/passwd", "partner.example.test/api",
                             "httpsx://x.example.test", "gopher://x"};
  for (size_t i = 0; i < N_OF(bad); i++) {
    oconfig_item_t *root = new_plugin();
    ts_cfg_str(root, "URL", bad[i]);
    ts_cfg_bool(root, "AllowPlainHTTP", true);
    add_simple_account(root, "a");
    size_t mark = ts_log_total();
    if (validate_tree(root) != -1)
      fail_msg("URL %s was accepted", bad[i]);
    assert_true(ts_log_has_since(mark, LOG_ERR, "URL", NULL));
  }
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, "CertCentralURL", "ftp://cc.example.test");
  add_simple_account(root, "a");
  assert_int_equal(validate_tree(root), -1);

  root = new_plugin();
  ts_cfg_str(root, "URL", "HTTPS://Partner.Example.Test/api");
  add_simple_account(root, "a");
  assert_int_equal(validate_tree(root), 0);
}

static void test_validate_proxy_credentials(void **state) {
  (void)state;
  ts_log_watch("s3cr3tpw");
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, "Proxy", "http://user:s3cr3tpw@proxy.example.test:3128");
  add_simple_account(root, "a");
  size_t mark = ts_log_total();
  assert_int_equal(validate_tree(root), -1);
  assert_true(ts_log_has_since(mark, LOG_ERR, "Proxy", NULL));
  assert_int_equal(ts_log_watch_hits(), 0);

  root = new_plugin();
  ts_cfg_str(root, "Proxy", "http://proxy.example.test:3128");
  add_simple_account(root, "a");
  assert_int_equal(validate_tree(root), 0);
}

static void test_validate_no_accounts_warns(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  assert_int_equal(validate_tree(root), 0);
  assert_int_equal(ts_log_count_level(LOG_WARNING), 1);
  assert_int_equal(ts_log_count_level(LOG_ERR), 0);
  assert_true(ts_log_contains("Account"));
}

/* ---- misc -------------------------------------------------------------- */

static void test_mode_names(void **state) {
  (void)state;
  assert_string_equal(dcb_mode_name(DCB_MODE_ENFORCE), "enforce");
  assert_string_equal(dcb_mode_name(DCB_MODE_VERIFY), "verify");
}

static void test_option_name_list(void **state) {
  (void)state;
  const char *const want[] = {"URL",
                              "CertCentralURL",
                              "CheckInterval",
                              "Timeout",
                              "MaxConcurrency",
                              "MaxRequestsPerSecond",
                              "MaxRetries",
                              "MaxRetryAfter",
                              "CACert",
                              "Proxy",
                              "VerifyPeer",
                              "VerifyHost",
                              "AllowPlainHTTP",
                              "Account",
                              "PartnerAPIKeyFile",
                              "CertCentralAPIKeyFile",
                              "PartnerAPIKey",
                              "CertCentralAPIKey",
                              "Mode",
                              "ExpectedBillingAccountID"};
  size_t n = 0;
  while (dcb_config_option_names[n] != NULL)
    n++;
  assert_int_equal(n, N_OF(want));
  for (size_t i = 0; i < N_OF(want); i++) {
    bool found = false;
    for (size_t k = 0; k < n; k++)
      if (strcmp(dcb_config_option_names[k], want[i]) == 0)
        found = true;
    if (!found)
      fail_msg("option %s is missing from dcb_config_option_names", want[i]);
  }
}

static void test_free_is_safe_twice(void **state) {
  (void)state;
  oconfig_item_t *root = new_plugin();
  ts_cfg_str(root, "URL", "https://x.example.test");
  add_simple_account(root, "a");
  dcb_config_t cfg;
  parse_ok(root, &cfg);
  dcb_config_free(&cfg);
  assert_null(cfg.url);
  assert_null(cfg.accounts);
  assert_int_equal(cfg.n_accounts, 0);
  dcb_config_free(&cfg);
  ts_cfg_free(root);
}

#define T(f) cmocka_unit_test_setup_teardown(f, reset_log, reset_log)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_defaults),
      T(test_default_urls),
      T(test_empty_block),
      T(test_all_plugin_options),
      T(test_later_value_wins),
      T(test_all_account_options),
      T(test_option_names_case_insensitive),
      T(test_two_blocks_accumulate),
      T(test_number_boundaries_accepted),
      T(test_account_name_limits_accepted),
      T(test_url_length_limit),
      T(test_unknown_options),
      T(test_wrong_types_plugin_level),
      T(test_wrong_types_account_level),
      T(test_value_count),
      T(test_numbers_out_of_range),
      T(test_numbers_not_whole),
      T(test_empty_strings),
      T(test_huge_strings),
      T(test_duplicate_account_same_block),
      T(test_duplicate_account_across_blocks),
      T(test_bad_account_names),
      T(test_bad_mode),
      T(test_file_and_inline_key_together),
      T(test_missing_keys),
      T(test_inline_key_bad_characters),
      T(test_inline_keys_never_logged),
      T(test_inline_keys_wiped_from_tree),
      T(test_rejected_inline_key_still_wiped),
      T(test_keys_after_error_wiped),
      T(test_validate_defaults_with_account),
      T(test_validate_plain_http),
      T(test_account_level_urls),
      T(test_validate_other_schemes),
      T(test_validate_proxy_credentials),
      T(test_validate_no_accounts_warns),
      T(test_mode_names),
      T(test_option_name_list),
      T(test_free_is_safe_twice),
  };
  return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
