/*
 * incident.h - the incident life-cycle: from a run's alerting points to
 * incidents that open, stay open, resolve or are accepted.
 *
 * Per (job, series) an incident opens at the first alerting point after the
 * last point already looked at, and keeps the expected band of that onset.
 * While it is open:
 *
 *  - alerting points raise its peak (the most unusual one: highest rarity);
 *  - it resolves once the series has been back inside the onset band for
 *    alert.resolve_after (default: at least 5 points and 15 minutes); its
 *    end is the first point of that stretch;
 *  - a level that stays outside keeps it open; after alert.accept_after
 *    (default 24h, 0: never) it closes as "accepted": the level is now the
 *    normal one, and alerting points inside the band around the accepted
 *    level do not open a new incident;
 *  - an alerting point soon after a resolution (within reopen_after, the
 *    longer of 1h and 4 x resolve_after) reopens the same incident (a
 *    flapping series: one incident, counted flaps), later ones open a new one.
 *
 * Job-level incidents (kind "error", "no_data") follow the job's runs:
 * alert.on_error / on_no_data and error_after decide (spec.h).
 *
 * Everything here is pure: the caller loads the latest incidents and the
 * job's health from the store, and writes the result back in the run's
 * own transaction (struct run_outcome), so a crash or a re-run of the same
 * scheduled time leaves neither a duplicate nor a lost resolve.
 */
#ifndef VIGIL_INCIDENT_H
#define VIGIL_INCIDENT_H

#include <stdint.h>

#include "detect.h"
#include "series.h"
#include "spec.h"
#include "store.h"

/* What happened to an incident in one run (bits). */
enum incident_event {
	INCIDENT_OPENED = 1,       /* its onset is in this run */
	INCIDENT_CLOSED = 2,       /* resolved or accepted in this run */
	INCIDENT_REOPENED = 4,     /* a closed incident came back (flapping) */
	INCIDENT_TOUCHED = 8,      /* looked at in this run (open, or closed in it) */
};

#define INCIDENT_DEFAULT_RESOLVE_POINTS 5
#define INCIDENT_DEFAULT_RESOLVE_MS (15LL * 60 * 1000)
#define INCIDENT_MIN_REOPEN_MS (3600LL * 1000)

/* A run's incidents: the ones it opened or changed, each with its events.  Strings owned. */
struct incident_set {
	struct incident *items;
	unsigned *events;
	size_t n, alloc;
};

#define INCIDENT_SET_INIT { NULL, NULL, 0, 0 }

void incident_set_release(struct incident_set *set);
/* Move every item of from to the end of to (from is left empty). */
void incident_set_take(struct incident_set *to, struct incident_set *from);
/* A copy of src appended to set with events; returns it. */
struct incident *incident_set_add(struct incident_set *set, const struct incident *src, unsigned events);

/*
 * Follow series s through one run: dets[k] is detector k's detection or
 * NULL, alerted[i] the alert rules' verdict per point.  prev is the latest
 * anomaly incident of the series (NULL: none).  The incidents opened or
 * changed go to out.  Thread-safe (touches only its arguments).
 */
void incident_track_series(const struct job_spec *spec, const struct series *s, struct detection *const *dets,
                           const uint8_t *alerted, const struct incident *prev, int64_t run_ms,
                           struct incident_set *out);

/*
 * Follow the job's runs: update h (the job's health, read from the store;
 * h->job set) for this run (failed, no_data or neither), open, update or
 * close the job-level incidents (prev_error, prev_no_data: their latest,
 * or NULL), and with RUN_STATE_OK close the open anomaly incidents in open
 * (the job's, from the store).  error is the run's reason when it failed.
 */
void incident_track_run(const struct job_spec *spec, int failed, int no_data, const char *error,
                        const struct incident *prev_error, const struct incident *prev_no_data,
                        const struct incident *open, size_t n_open, int64_t run_ms, struct job_health *h,
                        struct incident_set *out);

/* "1 in 40 000" for a rarity (-log10 of a tail probability). */
void incident_rarity_text(double rarity, char *buf, size_t len);

/* The incident as JSON (for `vigil incidents --json` and the API). */
json_t *incident_json(const struct incident *inc);

#endif
