/*
 * alert.h - the alerting rules of a job: which flagged points become alerts.
 *
 * A point alerts when enough alert-mode (non-shadow) detectors flag it with
 * a score >= min_score ("agree": any, all, or at least k), and it lies in
 * the recent part of the series ("recent": a duration back from the newest
 * point, or "recent_points": the last N points).  Shadow detectors never
 * count.
 */
#ifndef VIGIL_ALERT_H
#define VIGIL_ALERT_H

#include "detect.h"
#include "notify.h"
#include "series.h"
#include "spec.h"

/*
 * Evaluate the rules on one series.  dets[k] is detector k's detection, or
 * NULL if it failed on this series.  Appends alert items to rep and, when
 * alerted is not NULL, sets alerted[i] = 1 for each alerting point.
 */
void alert_evaluate(const struct job_spec *spec, const struct series *s,
                    struct detection *const *dets, struct run_report *rep, uint8_t *alerted);

/* Agreeing detectors needed for an alert (0: no alert-mode detector ran). */
size_t alert_needed(const struct job_spec *spec, struct detection *const *dets);
/* Alert-mode detectors that flag point i with a score >= min_score. */
size_t alert_votes(const struct job_spec *spec, struct detection *const *dets, size_t i);

/* Index of the first point inside the "recent" part of s. */
size_t alert_recent_start(const struct spec_alert *a, const struct series *s);

#endif
