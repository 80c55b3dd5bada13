/*
 * detector-stats.h - how each detector of a job did, measured on its
 * incidents and on the feedback given on them (GET /api/detectors/stats,
 * the UI's detectors page, `vigil promote`'s summary).
 *
 * Over a period [since, now):
 *
 *  - an alerting detector's incidents are the job's anomaly incidents that
 *    started in the period and list it among the detectors that agreed;
 *  - a shadow detector agreed with an incident when it flagged a point of
 *    that series inside the incident's window (from DETECTOR_STATS_PAD_MS
 *    before its onset to as long after its end, or its last point while it
 *    is open); its own flags, grouped per series into episodes (flags less
 *    than DETECTOR_STATS_PAD_MS apart), are the incidents it would have
 *    raised: those that touch no incident window are "alone";
 *  - precision is real / (real + false) over the incidents with feedback
 *    (the newest verdict of each counts); "expected" verdicts and incidents
 *    without feedback are counted apart and never enter it;
 *  - time to detect is, per incident, the time from the incident's onset
 *    (its first alerting point) to the detector's first flagged point in the
 *    window, the median over the incidents where the detector's flags are
 *    still stored (negative: it flagged before the onset); the job's notice
 *    delay is, per incident, the scheduled time of the run that opened it
 *    minus the onset (how long after the onset vigil knew), the median.
 */
#ifndef VIGIL_DETECTOR_STATS_H
#define VIGIL_DETECTOR_STATS_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define DETECTOR_STATS_PAD_MS (30LL * 60 * 1000)
/* Flagged points read per job at most (the newest); beyond, "anomalies_truncated" is true. */
#define DETECTOR_STATS_MAX_FLAGS 100000
/* Incidents read per job at most (the newest). */
#define DETECTOR_STATS_MAX_INCIDENTS 1000

/*
 * The stats of job over [since_ms, now_ms) as a new JSON object (docs/api.md,
 * "Detectors").  detectors is the job's spec "detectors" array (for the ids
 * and modes; may be NULL).  Returns 0, or -1 with err set when the store
 * cannot be read.
 */
int detector_stats_job(struct store *st, const char *job, const json_t *detectors, int64_t since_ms,
                       int64_t now_ms, json_t **out, struct vigil_error *err);

#endif
