/* The worker: schedules checks, drives libcurl multi, applies retries and
 * limits, and hands results to the read callback under one mutex. */
#include "dcb_engine.h"
#include "dcb_http.h"
#include "dcb_log.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A key file, shared by every account that names it (one CertCentral key
 * file usually serves all of them): read once, stat'ed at most once a
 * second. */
typedef struct {
  const char *path; /* borrowed from the config */
  dcb_secret_t key;
  dcb_file_id_t id;
  double checked; /* monotonic time of the last successful check */
} keyfile_t;

#define KEY_RECHECK_S 1.0
#define NO_KEYFILE ((size_t)-1)

typedef struct {
  dcb_account_cfg_t *cfg;
  size_t partner_kf, cc_kf; /* index in keyfiles, or NO_KEYFILE (inline) */
  double interval;
  double due; /* monotonic seconds */
  size_t heap_pos;
  bool in_heap;
  /* The check in progress. */
  dcb_req_t steps[2];
  int n_steps, step;
  int retries;
  bool in_check;
  double started;
  dcb_result_t res;
  /* Published under the engine mutex. */
  dcb_state_t state;
  bool first_done;
} account_t;

struct dcb_engine {
  dcb_config_t cfg;
  char *user_agent;
  account_t *acct;
  size_t n;
  size_t *heap; /* account indices ordered by due */
  size_t heap_len;
  dcb_http_t *slots;
  size_t n_slots;
  size_t *free_slots;
  size_t n_free;
  CURLM *multi;
  keyfile_t *keyfiles;
  size_t n_keyfiles;
  double next_start;  /* rate limit: earliest next request start */
  double pause_until; /* after a 429: no request starts before this */
  uint64_t rng;
  atomic_bool stop;

  pthread_mutex_t lock;
  pthread_cond_t round_cv;
  size_t first_pending;
  dcb_event_t *events; /* ring buffer */
  size_t ev_cap, ev_head, ev_len;
  dcb_engine_stats_t stats;
};

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: jitter only, no security role. */
static double rnd01(dcb_engine_t *e) {
  e->rng ^= e->rng >> 12;
  e->rng ^= e->rng << 25;
  e->rng ^= e->rng >> 27;
  return (double)((e->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ---- binary heap of accounts by due time ---- */

static void heap_set(dcb_engine_t *e, size_t pos, size_t idx) {
  e->heap[pos] = idx;
  e->acct[idx].heap_pos = pos;
}

static void heap_up(dcb_engine_t *e, size_t pos) {
  size_t idx = e->heap[pos];
  while (pos > 0) {
    size_t parent = (pos - 1) / 2;
    if (e->acct[e->heap[parent]].due <= e->acct[idx].due)
      break;
    heap_set(e, pos, e->heap[parent]);
    pos = parent;
  }
  heap_set(e, pos, idx);
}

static void heap_down(dcb_engine_t *e, size_t pos) {
  size_t idx = e->heap[pos];
  for (;;) {
    size_t l = 2 * pos + 1, r = l + 1, best = pos;
    double best_due = e->acct[idx].due;
    if (l < e->heap_len && e->acct[e->heap[l]].due < best_due)
      best = l, best_due = e->acct[e->heap[l]].due;
    if (r < e->heap_len && e->acct[e->heap[r]].due < best_due)
      best = r;
    if (best == pos)
      break;
    heap_set(e, pos, e->heap[best]);
    pos = best;
  }
  heap_set(e, pos, idx);
}

static void heap_push(dcb_engine_t *e, size_t idx, double due) {
  e->acct[idx].due = due;
  e->acct[idx].in_heap = true;
  e->heap[e->heap_len] = idx;
  e->acct[idx].heap_pos = e->heap_len++;
  heap_up(e, e->heap_len - 1);
}

static size_t heap_pop(dcb_engine_t *e) {
  size_t top = e->heap[0];
  e->acct[top].in_heap = false;
  if (--e->heap_len > 0) {
    heap_set(e, 0, e->heap[e->heap_len]);
    heap_down(e, 0);
  }
  return top;
}

/* ---- construction ---- */

static uint64_t hash_str(const char *p) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  return h;
}

/* One keyfile_t per distinct path, found through a temporary hash table. */
static int build_keyfiles(dcb_engine_t *e) {
  size_t cap = 16;
  while (cap < 4 * e->n + 16)
    cap *= 2;
  size_t *table = malloc(cap * sizeof(*table));
  e->keyfiles = calloc(2 * e->n + 1, sizeof(*e->keyfiles));
  if (table == NULL || e->keyfiles == NULL) {
    free(table);
    return -1;
  }
  for (size_t i = 0; i < cap; i++)
    table[i] = NO_KEYFILE;
  for (size_t i = 0; i < e->n; i++) {
    account_t *a = &e->acct[i];
    const char *paths[2] = {e->cfg.accounts[i].partner_key_file,
                            e->cfg.accounts[i].cc_key_file};
    size_t *refs[2] = {&a->partner_kf, &a->cc_kf};
    for (int k = 0; k < 2; k++) {
      *refs[k] = NO_KEYFILE;
      if (paths[k] == NULL)
        continue;
      size_t slot = (size_t)hash_str(paths[k]) & (cap - 1);
      while (table[slot] != NO_KEYFILE &&
             strcmp(e->keyfiles[table[slot]].path, paths[k]) != 0)
        slot = (slot + 1) & (cap - 1);
      if (table[slot] == NO_KEYFILE) {
        table[slot] = e->n_keyfiles;
        e->keyfiles[e->n_keyfiles++].path = paths[k];
      }
      *refs[k] = table[slot];
    }
  }
  free(table);
  return 0;
}

dcb_engine_t *dcb_engine_new(dcb_config_t *cfg, const char *user_agent,
                             uint64_t seed) {
  dcb_engine_t *e = calloc(1, sizeof(*e));
  if (e == NULL)
    return NULL;
  pthread_condattr_t ca;
  bool sync_ok = pthread_condattr_init(&ca) == 0;
  if (sync_ok) {
    sync_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&e->round_cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
  }
  if (!sync_ok || pthread_mutex_init(&e->lock, NULL) != 0) {
    dcb_log(LOG_ERR, "cannot create synchronisation objects");
    free(e);
    return NULL;
  }
  e->n = cfg->n_accounts;
  size_t slots = (size_t)cfg->max_concurrency;
  e->ev_cap = 2 * e->n + 64;
  e->acct = calloc(e->n ? e->n : 1, sizeof(*e->acct));
  e->heap = calloc(e->n ? e->n : 1, sizeof(*e->heap));
  e->slots = calloc(slots, sizeof(*e->slots));
  e->free_slots = calloc(slots, sizeof(*e->free_slots));
  e->events = calloc(e->ev_cap, sizeof(*e->events));
  e->user_agent = strdup(user_agent);
  e->multi = curl_multi_init();
  if (e->acct == NULL || e->heap == NULL || e->slots == NULL ||
      e->free_slots == NULL || e->events == NULL || e->user_agent == NULL ||
      e->multi == NULL) {
    dcb_log(LOG_ERR, "cannot allocate the check engine");
    goto fail;
  }
  for (size_t i = 0; i < slots; i++, e->n_slots++) {
    if (dcb_http_init(&e->slots[i]) != 0) {
      dcb_log(LOG_ERR, "curl_easy_init failed");
      goto fail;
    }
    e->free_slots[e->n_free++] = i;
  }
  CURLMcode mc = curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)slots);
  if (mc == CURLM_OK)
    mc =
        curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)slots);
  if (mc != CURLM_OK) {
    dcb_log(LOG_ERR, "curl_multi_setopt failed: %s", curl_multi_strerror(mc));
    goto fail;
  }

  e->cfg = *cfg;
  memset(cfg, 0, sizeof(*cfg));
  e->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
  e->first_pending = e->n;
  if (build_keyfiles(e) != 0) {
    dcb_log(LOG_ERR, "cannot allocate the check engine");
    goto fail;
  }
  double now = mono_now();
  for (size_t i = 0; i < e->n; i++) {
    account_t *a = &e->acct[i];
    a->cfg = &e->cfg.accounts[i];
    a->interval = a->cfg->check_interval > 0 ? a->cfg->check_interval
                                             : e->cfg.check_interval;
    heap_push(e, i, now); /* everyone is checked at start */
  }
  return e;

fail:
  dcb_engine_free(e);
  return NULL;
}

void dcb_engine_free(dcb_engine_t *e) {
  if (e == NULL)
    return;
  for (size_t i = 0; i < e->n_slots; i++)
    dcb_http_cleanup(&e->slots[i]);
  if (e->multi != NULL)
    curl_multi_cleanup(e->multi);
  for (size_t i = 0; e->keyfiles != NULL && i < e->n_keyfiles; i++)
    dcb_secret_clear(&e->keyfiles[i].key);
  free(e->keyfiles);
  dcb_config_free(&e->cfg);
  pthread_mutex_destroy(&e->lock);
  pthread_cond_destroy(&e->round_cv);
  free(e->acct);
  free(e->heap);
  free(e->slots);
  free(e->free_slots);
  free(e->events);
  free(e->user_agent);
  free(e);
}

/* ---- checks ---- */

/* Make sure a key is loaded; files are re-read when they change (noticed
 * within KEY_RECHECK_S). */
static const dcb_secret_t *load_key(dcb_engine_t *e, size_t ref,
                                    const dcb_secret_t *inline_key, double now,
                                    char *err, size_t errlen) {
  if (ref == NO_KEYFILE)
    return inline_key;
  keyfile_t *k = &e->keyfiles[ref];
  if (k->key.buf != NULL && now - k->checked < KEY_RECHECK_S)
    return &k->key;
  if (k->key.buf == NULL || dcb_keyfile_changed(k->path, &k->id)) {
    if (dcb_keyfile_read(k->path, &k->key, &k->id, err, errlen) != 0) {
      dcb_secret_clear(&k->key);
      k->id.valid = false;
      return NULL;
    }
  }
  k->checked = now;
  return &k->key;
}

static void push_event(dcb_engine_t *e, size_t idx, dcb_notify_t notify) {
  if (e->ev_len == e->ev_cap) { /* full: the oldest event gives way */
    e->ev_head = (e->ev_head + 1) % e->ev_cap;
    e->ev_len--;
    e->stats.events_dropped++;
  }
  dcb_event_t *ev = &e->events[(e->ev_head + e->ev_len) % e->ev_cap];
  ev->account = idx;
  ev->notify = notify;
  ev->result = e->acct[idx].res;
  e->ev_len++;
}

static void finish_check(dcb_engine_t *e, size_t idx, double now) {
  account_t *a = &e->acct[idx];
  a->in_check = false;
  a->res.finished = wall_now();
  pthread_mutex_lock(&e->lock);
  dcb_notify_t notify = dcb_state_apply(&a->state, &a->res, a->res.finished);
  if (notify != DCB_NOTIFY_NONE || a->res.cls != DCB_CLASS_NONE)
    push_event(e, idx, notify);
  e->stats.checks++;
  if (!a->first_done) {
    a->first_done = true;
    if (--e->first_pending == 0)
      pthread_cond_broadcast(&e->round_cv);
  }
  pthread_mutex_unlock(&e->lock);

  /* Spread the next check over up to 10% of the interval (max 60 s). */
  double spread = a->interval * 0.1;
  if (spread > 60)
    spread = 60;
  double due = a->started + a->interval + spread * rnd01(e);
  heap_push(e, idx, due > now ? due : now);
}

static void fail_now(dcb_engine_t *e, size_t idx, dcb_class_t cls,
                     const char *why, double now) {
  account_t *a = &e->acct[idx];
  a->res.cls = cls;
  dcb_sanitize(a->res.detail, sizeof(a->res.detail), why, strlen(why));
  finish_check(e, idx, now);
}

static void begin_check(account_t *a, double now) {
  dcb_result_init(&a->res);
  a->started = now;
  a->step = 0;
  a->retries = 0;
  a->n_steps = 0;
  if (a->cfg->mode == DCB_MODE_VERIFY) {
    a->steps[a->n_steps++] = DCB_REQ_API_KEY;
    a->steps[a->n_steps++] = DCB_REQ_USER_ME;
  } else {
    if (a->cfg->expected_billing_id >= 0)
      a->steps[a->n_steps++] = DCB_REQ_USER_ME;
    a->steps[a->n_steps++] = DCB_REQ_LINK;
  }
}

/* Start the account's current step on a free slot. */
static void start_request(dcb_engine_t *e, size_t idx, double now) {
  account_t *a = &e->acct[idx];
  char err[256];

  if (!a->in_check) {
    begin_check(a, now);
    a->in_check = true;
  }

  const dcb_secret_t *pk = load_key(
      e, a->partner_kf, &a->cfg->partner_key_inline, now, err, sizeof(err));
  const dcb_secret_t *ck = pk == NULL
                               ? NULL
                               : load_key(e, a->cc_kf, &a->cfg->cc_key_inline,
                                          now, err, sizeof(err));
  if (pk == NULL || ck == NULL) {
    fail_now(e, idx, DCB_CLASS_CONFIG, err, now);
    return;
  }

  size_t s = e->free_slots[--e->n_free];
  dcb_http_t *h = &e->slots[s];
  h->owner = (void *)(e->acct + idx);
  if (dcb_http_prepare(h, &e->cfg, a->cfg, a->steps[a->step], pk, ck,
                       e->user_agent, err, sizeof(err)) != 0) {
    e->free_slots[e->n_free++] = s;
    fail_now(e, idx, DCB_CLASS_CONFIG, err, now);
    return;
  }
  CURLMcode mc = curl_multi_add_handle(e->multi, h->curl);
  if (mc != CURLM_OK) {
    dcb_http_outcome_t ignored;
    dcb_http_finish(h, CURLE_FAILED_INIT, &ignored);
    e->free_slots[e->n_free++] = s;
    fail_now(e, idx, DCB_CLASS_NETWORK, curl_multi_strerror(mc), now);
    return;
  }
  pthread_mutex_lock(&e->lock);
  e->stats.requests++;
  pthread_mutex_unlock(&e->lock);
  if (e->cfg.max_rps > 0) {
    double base = e->next_start > now ? e->next_start : now;
    e->next_start = base + 1.0 / e->cfg.max_rps;
  }
}

/* Judge one finished request and decide: next step, retry, or done. */
static void on_done(dcb_engine_t *e, dcb_http_t *h, int rc, double now) {
  size_t idx = (size_t)((account_t *)h->owner - e->acct);
  account_t *a = &e->acct[idx];
  dcb_req_t req = h->req;
  dcb_http_outcome_t out;
  bool retry = false;

  dcb_http_finish(h, rc, &out);
  a->res.attempts++;
  a->res.elapsed += out.total_time;
  /* A status only counts when the response arrived whole. */
  a->res.http_status = out.curl_code == CURLE_OK ? out.status : 0;

  dcb_class_t cls = dcb_classify(out.curl_code, out.status,
                                 dcb_http_expected_status(req), &retry);
  char detail[512] = "";
  if (cls == DCB_CLASS_NONE && req == DCB_REQ_USER_ME) {
    int64_t id;
    if (dcb_parse_account_id(h->body, h->body_len, &id) != 0) {
      cls = DCB_CLASS_UNEXPECTED;
      snprintf(detail, sizeof(detail),
               "GET /user/me answered without a usable account_id");
    } else {
      a->res.billing_account_id = id;
      if (a->cfg->expected_billing_id >= 0 &&
          id != a->cfg->expected_billing_id) {
        cls = DCB_CLASS_MISMATCH;
        snprintf(detail, sizeof(detail),
                 "CertCentral key belongs to billing account %lld, expected "
                 "%lld; not linking",
                 (long long)id, (long long)a->cfg->expected_billing_id);
      }
    }
  } else if (cls == DCB_CLASS_NONE && req == DCB_REQ_API_KEY &&
             !dcb_parse_api_keys_ok(h->body, h->body_len)) {
    cls = DCB_CLASS_UNEXPECTED;
    snprintf(detail, sizeof(detail),
             "GET /api-key answered without an api_keys list");
  } else if (cls != DCB_CLASS_NONE) {
    if (out.curl_code != CURLE_OK)
      snprintf(detail, sizeof(detail), "%s: %s", dcb_http_req_name(req),
               h->errbuf[0] ? h->errbuf : curl_easy_strerror(out.curl_code));
    else
      snprintf(detail, sizeof(detail), "%s answered HTTP %ld",
               dcb_http_req_name(req), out.status);
    if (a->res.http_status >= 300)
      dcb_parse_error_body(h->body, h->body_len, &a->res.api);
  }
  dcb_sanitize(a->res.detail, sizeof(a->res.detail), detail, strlen(detail));
  a->res.cls = cls;

  if (cls == DCB_CLASS_NONE) {
    memset(&a->res.api, 0, sizeof(a->res.api));
    if (++a->step >= a->n_steps)
      finish_check(e, idx, now);
    else
      heap_push(e, idx, now);
    return;
  }
  if (retry && a->retries < e->cfg.max_retries) {
    a->retries++;
    pthread_mutex_lock(&e->lock);
    e->stats.retries++;
    pthread_mutex_unlock(&e->lock);
    double delay = dcb_backoff(a->retries, 1.0, 30.0, rnd01(e));
    double ra;
    if (dcb_retry_after_parse(h->retry_after, time(NULL), &ra) == 0) {
      if (ra > e->cfg.max_retry_after)
        ra = e->cfg.max_retry_after;
      if (ra > delay)
        delay = ra;
    }
    if (cls == DCB_CLASS_RATE_LIMITED && now + delay > e->pause_until)
      e->pause_until = now + delay; /* everyone backs off, not just us */
    heap_push(e, idx, now + delay);
    return;
  }
  finish_check(e, idx, now);
}

static void collect_done(dcb_engine_t *e) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *c = msg->easy_handle;
    int rc = msg->data.result;
    dcb_http_t *h = NULL;
    if (curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&h) != CURLE_OK ||
        h == NULL) {
      dcb_log(LOG_ERR, "lost track of a finished transfer");
      continue;
    }
    CURLMcode mc = curl_multi_remove_handle(e->multi, c);
    if (mc != CURLM_OK)
      dcb_log(LOG_ERR, "curl_multi_remove_handle: %s", curl_multi_strerror(mc));
    on_done(e, h, rc, mono_now());
    e->free_slots[e->n_free++] = (size_t)(h - e->slots);
  }
}

/* Start everything that is due, as far as slots and limits allow. */
static void start_due(dcb_engine_t *e, double now) {
  while (e->n_free > 0 && e->heap_len > 0 && e->acct[e->heap[0]].due <= now &&
         !atomic_load(&e->stop)) {
    if (e->pause_until > now)
      return;
    if (e->cfg.max_rps > 0 && e->next_start > now)
      return;
    start_request(e, heap_pop(e), now);
  }
}

/* How long the loop may sleep before something is due, in ms. */
static int wait_ms(dcb_engine_t *e, double now) {
  double wait = 1.0;
  if (e->n_free > 0 && e->heap_len > 0) {
    double d = e->acct[e->heap[0]].due - now;
    if (e->pause_until - now > d)
      d = e->pause_until - now;
    if (e->cfg.max_rps > 0 && e->next_start - now > d)
      d = e->next_start - now;
    if (d < wait)
      wait = d;
  }
  long curl_ms = -1;
  if (curl_multi_timeout(e->multi, &curl_ms) == CURLM_OK && curl_ms >= 0 &&
      curl_ms / 1000.0 < wait)
    wait = curl_ms / 1000.0;
  if (wait < 0)
    wait = 0;
  return (int)(wait * 1000 + 0.999);
}

void *dcb_engine_run(void *arg) {
  dcb_engine_t *e = arg;
  while (!atomic_load(&e->stop)) {
    start_due(e, mono_now());
    int running = 0;
    CURLMcode mc = curl_multi_perform(e->multi, &running);
    if (mc != CURLM_OK)
      dcb_log(LOG_ERR, "curl_multi_perform: %s", curl_multi_strerror(mc));
    collect_done(e);
    if (atomic_load(&e->stop))
      break;
    mc = curl_multi_poll(e->multi, NULL, 0, wait_ms(e, mono_now()), NULL);
    if (mc != CURLM_OK) {
      dcb_log(LOG_ERR, "curl_multi_poll: %s", curl_multi_strerror(mc));
      struct timespec ts = {0, 100000000L};
      nanosleep(&ts, NULL); /* never spin */
    }
  }
  /* Abandon what is in flight; keys in headers are wiped by finish. */
  for (size_t i = 0; i < e->n_slots; i++) {
    dcb_http_t *h = &e->slots[i];
    if (h->hdr_buf[0] != NULL || h->hdr_buf[1] != NULL) {
      dcb_http_outcome_t ignored;
      curl_multi_remove_handle(e->multi, h->curl);
      dcb_http_finish(h, CURLE_ABORTED_BY_CALLBACK, &ignored);
    }
  }
  return NULL;
}

void dcb_engine_stop(dcb_engine_t *e) {
  atomic_store(&e->stop, true);
  curl_multi_wakeup(e->multi);
  pthread_mutex_lock(&e->lock);
  pthread_cond_broadcast(&e->round_cv);
  pthread_mutex_unlock(&e->lock);
}

bool dcb_engine_wait_first_round(dcb_engine_t *e, long timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&e->lock);
  while (e->first_pending > 0 && !atomic_load(&e->stop)) {
    if (pthread_cond_timedwait(&e->round_cv, &e->lock, &deadline) == ETIMEDOUT)
      break;
  }
  bool done = e->first_pending == 0;
  pthread_mutex_unlock(&e->lock);
  return done;
}

size_t dcb_engine_count(const dcb_engine_t *e) { return e->n; }

const dcb_account_cfg_t *dcb_engine_account(const dcb_engine_t *e, size_t i) {
  return i < e->n ? e->acct[i].cfg : NULL;
}

void dcb_engine_snapshot(dcb_engine_t *e, dcb_state_t *states) {
  pthread_mutex_lock(&e->lock);
  for (size_t i = 0; i < e->n; i++)
    states[i] = e->acct[i].state;
  pthread_mutex_unlock(&e->lock);
}

size_t dcb_engine_drain(dcb_engine_t *e, dcb_event_t *buf, size_t max) {
  pthread_mutex_lock(&e->lock);
  size_t n = 0;
  while (n < max && e->ev_len > 0) {
    buf[n++] = e->events[e->ev_head];
    e->ev_head = (e->ev_head + 1) % e->ev_cap;
    e->ev_len--;
  }
  pthread_mutex_unlock(&e->lock);
  return n;
}

void dcb_engine_stats(dcb_engine_t *e, dcb_engine_stats_t *out) {
  pthread_mutex_lock(&e->lock);
  *out = e->stats;
  pthread_mutex_unlock(&e->lock);
}
