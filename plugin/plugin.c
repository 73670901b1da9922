/* collectd glue: registration, config, init, read and shutdown callbacks.
 * Everything else lives in the engine and pure modules. */
#include "dcb_config.h"
#include "dcb_dispatch.h"
#include "dcb_engine.h"
#include "dcb_log.h"
#include "dcb_version.h"

#include "collectd/core/daemon/collectd.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>

#define EVENT_BATCH 256

static dcb_config_t g_cfg;
static bool g_cfg_ready;
static long g_first_wait_ms;
static dcb_engine_t *g_engine;
static pthread_t g_thread;
static bool g_thread_running;
static bool g_curl_ready;
static bool g_first_read_done;
static c_complain_t *g_complain; /* one per account */
static dcb_state_t *g_states;
static dcb_event_t *g_events;

void dcb_log(int level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  /* clang-analyzer 14 misreads va_start here (valist.Uninitialized). */
  // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  plugin_log(level, DCB_PLUGIN_NAME " plugin: %s", msg);
}

static int dcb_config_cb(oconfig_item_t *ci) {
  if (!g_cfg_ready) {
    dcb_config_init(&g_cfg);
    g_cfg_ready = true;
  }
  return dcb_config_parse(&g_cfg, ci);
}

static void report_event(const dcb_event_t *ev) {
  const dcb_account_cfg_t *acct = dcb_engine_account(g_engine, ev->account);
  char msg[NOTIF_MAX_MSG_LEN];
  dcb_format_message(msg, sizeof(msg), acct->name, dcb_mode_name(acct->mode),
                     &ev->result);
  c_complain_t *c = &g_complain[ev->account];
  if (ev->notify == DCB_NOTIFY_OKAY)
    c_release(LOG_INFO, c, DCB_PLUGIN_NAME " plugin: %s", msg);
  else if (ev->result.cls != DCB_CLASS_NONE)
    c_complain(LOG_ERR, c, DCB_PLUGIN_NAME " plugin: %s", msg);
  if (ev->notify != DCB_NOTIFY_NONE)
    dcb_dispatch_notification(acct, ev->notify, &ev->result);
}

static int dcb_read_cb(void) {
  if (g_engine == NULL)
    return -1;
  if (!g_first_read_done) {
    /* Let the first round finish so the first values are real, but never
     * hold the read thread past its interval (collectd would warn). */
    long wait_ms = g_first_wait_ms;
    long budget_ms = (long)(CDTIME_T_TO_MS(plugin_get_interval()) * 8 / 10);
    if (budget_ms < wait_ms)
      wait_ms = budget_ms;
    if (!dcb_engine_wait_first_round(g_engine, wait_ms))
      P_NOTICE("first round of checks still running after %ld ms; reporting "
               "the accounts that finished",
               wait_ms);
    g_first_read_done = true;
  }
  size_t got;
  do {
    got = dcb_engine_drain(g_engine, g_events, EVENT_BATCH);
    for (size_t i = 0; i < got; i++)
      report_event(&g_events[i]);
  } while (got == EVENT_BATCH);

  size_t n = dcb_engine_count(g_engine);
  dcb_engine_snapshot(g_engine, g_states);
  for (size_t i = 0; i < n; i++)
    dcb_dispatch_values(dcb_engine_account(g_engine, i), &g_states[i]);
  return 0;
}

static int check_types(void) {
  static const char *const types[] = {"bool", "response_time", "derive",
                                      "count", "timestamp"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(types); i++) {
    if (plugin_get_ds(types[i]) == NULL) {
      P_ERROR("type \"%s\" is missing from types.db; check the TypesDB "
              "option (it must include collectd's default types.db)",
              types[i]);
      return -1;
    }
  }
  return 0;
}

static int dcb_init_cb(void) {
  if (!g_cfg_ready) {
    dcb_config_init(&g_cfg);
    g_cfg_ready = true;
  }
  if (dcb_config_validate(&g_cfg) != 0 || check_types() != 0)
    return -1;
  if (!g_cfg.verify_peer || !g_cfg.verify_host)
    P_WARNING("TLS verification is turned off (VerifyPeer/VerifyHost); API "
              "keys can be captured by anyone on the network path");

  CURLcode cc = curl_global_init(CURL_GLOBAL_ALL);
  if (cc != CURLE_OK) {
    P_ERROR("curl_global_init failed: %s", curl_easy_strerror(cc));
    return -1;
  }
  g_curl_ready = true;

  size_t n = g_cfg.n_accounts;
  g_first_wait_ms = g_cfg.timeout_ms;
  g_complain = calloc(n ? n : 1, sizeof(*g_complain));
  g_states = calloc(n ? n : 1, sizeof(*g_states));
  g_events = calloc(EVENT_BATCH, sizeof(*g_events));
  if (g_complain == NULL || g_states == NULL || g_events == NULL) {
    P_ERROR("out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    C_COMPLAIN_INIT(&g_complain[i]);

  uint64_t seed = (uint64_t)cdtime() ^ ((uint64_t)getpid() << 32);
  g_engine = dcb_engine_new(&g_cfg, DCB_USER_AGENT, seed);
  if (g_engine == NULL)
    return -1;
  g_cfg_ready = false; /* the engine owns the config now */

  /* Thread names are limited to 15 characters. */
  int rc =
      plugin_thread_create(&g_thread, dcb_engine_run, g_engine, "dcb_worker");
  if (rc != 0) {
    P_ERROR("cannot start the worker thread: %s", STRERRNO);
    return -1;
  }
  g_thread_running = true;
  P_INFO("checking %zu account(s)", n);
  return plugin_register_read(DCB_PLUGIN_NAME, dcb_read_cb);
}

static int dcb_shutdown_cb(void) {
  if (g_engine != NULL) {
    dcb_engine_stop(g_engine);
    if (g_thread_running)
      pthread_join(g_thread, NULL);
    g_thread_running = false;
    dcb_engine_free(g_engine);
    g_engine = NULL;
  }
  if (g_cfg_ready)
    dcb_config_free(&g_cfg);
  g_cfg_ready = false;
  free(g_complain);
  free(g_states);
  free(g_events);
  g_complain = NULL;
  g_states = NULL;
  g_events = NULL;
  if (g_curl_ready)
    curl_global_cleanup();
  g_curl_ready = false;
  return 0;
}

__attribute__((visibility("default"))) void module_register(void) {
  plugin_register_complex_config(DCB_PLUGIN_NAME, dcb_config_cb);
  plugin_register_init(DCB_PLUGIN_NAME, dcb_init_cb);
  plugin_register_shutdown(DCB_PLUGIN_NAME, dcb_shutdown_cb);
}
