/*
 * whatif.h - score a detector config on a job's history against the
 * feedback people gave on its incidents ("what if": `vigil replay
 * --score-feedback`, `vigil backfill --score-feedback`; docs/daemon.md, "What if").
 *
 * While a replay or backfill runs the config, whatif collects what it
 * would have raised: the incidents of its runs (the config's alerts) and
 * the points each detector flagged, shadow ones included.  whatif_score then
 * reads the job's stored incidents and their newest verdicts and compares:
 *
 *  - a stored incident marked "real" should alert; "false" and "expected"
 *    should not; one without feedback is unlabelled and not scored;
 *  - the config alerts on a stored incident when one of its incidents on
 *    the same series overlaps it in time (from its start to its end, or to
 *    the last point looked at while open); a detector alerts on it when it
 *    flagged a point of that series within it;
 *  - precision = real incidents alerted on / labelled incidents alerted on;
 *    recall = real incidents alerted on / real incidents;
 *  - alerts per day: the config's incidents, or a detector's flagged points,
 *    over the replayed span (--from to --to); those that touch no labelled
 *    incident are counted as unlabelled alerts.
 */
#ifndef VIGIL_WHATIF_H
#define VIGIL_WHATIF_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "job.h"
#include "notify.h"
#include "spec.h"
#include "store.h"

struct whatif;

/* Start collecting for spec, replayed from from_ms to to_ms (run times). */
struct whatif *whatif_new(const struct job_spec *spec, int64_t from_ms, int64_t to_ms);
void whatif_free(struct whatif *w);

/* job_options.on_series with arg = the whatif: the points each detector flagged. */
void whatif_on_series(void *arg, const struct job_spec *spec, const struct series *s, struct detection *const *dets,
                      const uint8_t *alerted);

/* After each run: its incidents (job-level ones, runs failing or no data, are not about detectors: skipped). */
void whatif_add_run(struct whatif *w, const struct run_report *rep);

/*
 * Score against the incidents of job (NULL: the spec's name) in st and
 * their feedback.  *out: {job, from, to, runs, days, labelled: {real,
 * false, expected}, unlabelled_incidents, scores: [...], incidents: [...]}
 * (docs/daemon.md).  Returns 0, or -1 with err set.
 */
int whatif_score(struct whatif *w, struct store *st, const char *job, json_t **out, struct vigil_error *err);

/* The score as text for people. */
void whatif_print(const json_t *score, FILE *out);

#endif
