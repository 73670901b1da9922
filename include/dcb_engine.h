/* The check engine: one worker thread drives every account's checks through a
 * libcurl multi handle, with scheduling, concurrency and rate limits, retries,
 * key-file reloads, and a queue of events for the collectd read callback.
 * Ownership: dcb_engine_new() takes over the config (freed by
 * dcb_engine_free()); snapshots and events are copied out to the caller. */
#ifndef DCB_ENGINE_H
#define DCB_ENGINE_H

#include "dcb_config.h"
#include "dcb_state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dcb_engine dcb_engine_t;

/* Something the read callback must report: a notification, or a failure to
 * log (rate-limited there). */
typedef struct {
  size_t account;
  dcb_notify_t notify;
  dcb_result_t result;
} dcb_event_t;

/* Counters over the engine's life, for tests and benchmarks. */
typedef struct {
  uint64_t requests;
  uint64_t checks;
  uint64_t retries;
  uint64_t events_dropped;
} dcb_engine_stats_t;

/* NULL on allocation or libcurl failure (logged). cfg is emptied on success. */
dcb_engine_t *dcb_engine_new(dcb_config_t *cfg, const char *user_agent,
                             uint64_t seed);
/* The worker's body: runs until dcb_engine_stop(). Pass to a thread. */
void *dcb_engine_run(void *engine);
/* Ask the worker to stop; in-flight transfers are abandoned. Thread-safe. */
void dcb_engine_stop(dcb_engine_t *e);
/* Frees everything; the worker must have returned. Wipes every key. */
void dcb_engine_free(dcb_engine_t *e);

/* Wait until every account has completed one check, at most timeout_ms.
 * Returns true if the round completed. */
bool dcb_engine_wait_first_round(dcb_engine_t *e, long timeout_ms);

size_t dcb_engine_count(const dcb_engine_t *e);
const dcb_account_cfg_t *dcb_engine_account(const dcb_engine_t *e, size_t i);
/* Copy every account's state into states[0..count). */
void dcb_engine_snapshot(dcb_engine_t *e, dcb_state_t *states);
/* Move up to max queued events into buf; returns how many. */
size_t dcb_engine_drain(dcb_engine_t *e, dcb_event_t *buf, size_t max);
void dcb_engine_stats(dcb_engine_t *e, dcb_engine_stats_t *out);

#endif
