/*
 * metrics.h - the daemon's counters, rendered for GET /metrics in the
 * Prometheus text format (version 0.0.4).
 *
 * Every function is thread-safe: the daemon's loop updates, the API thread
 * renders.  Label values are escaped as the format requires.
 */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "strbuf.h"

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* A run ended: status is succeeded, failed, timeout or interrupted. */
void metrics_run(struct metrics *m, const char *job, const char *status, double duration_s);
void metrics_processed(struct metrics *m, uint64_t series, uint64_t points);
void metrics_detector_time(struct metrics *m, const char *detector, double seconds);
void metrics_source_error(struct metrics *m, const char *source);
void metrics_notifications(struct metrics *m, uint64_t sent, uint64_t failed);
/* Notifications waiting in the outbox (the outbox sets it; 0 without one). */
void metrics_set_pending(struct metrics *m, uint64_t pending);
/* How late a scheduled run started. */
/* Several nodes on one store: how many are alive, how many jobs they run in different versions. */
void metrics_set_cluster(struct metrics *m, size_t nodes_alive, size_t spec_conflicts);
void metrics_sched_lag(struct metrics *m, double seconds);
/* Fire times the scheduler dropped or merged (monotonic totals from struct sched_stats). */
void metrics_set_sched(struct metrics *m, uint64_t skipped, uint64_t coalesced);
void metrics_set_gauges(struct metrics *m, size_t jobs, size_t running, size_t waiting, size_t invalid_specs);
void metrics_spec_reload(struct metrics *m, int ok);

/* Append the whole exposition to out. */
void metrics_render(struct metrics *m, struct strbuf *out);

/*
 * Append the per-job gauges read from the store (store_incident_ops.job_summary:
 * [{job, open, last_success}]): vigil_job_last_success_timestamp_seconds and
 * vigil_incidents_open.
 */
void metrics_render_jobs(const json_t *jobs, struct strbuf *out);

#endif
