/*
 * nabreport.h - out-of-sample reports over a scored NAB corpus, printed by
 * bench/nab: false alarms per series-week, false alarms in each quarter of
 * each series, leave-one-category-out threshold transfer, and detections by
 * planted anomaly kind (the side file bench/gen-ops writes).
 *
 * Every report reads the scores attached to the corpus (nab_corpus_set_scores)
 * and counts only scorable rows (after the probationary period).  A
 * detection is a scorable row with score >= theta; a false alarm is a
 * detection outside every window.
 */
#ifndef VIGIL_NABREPORT_H
#define VIGIL_NABREPORT_H

#include <stdio.h>

#include "error.h"
#include "nabscore.h"

/* False alarms of a corpus at one threshold. */
struct nab_false_alarms {
	size_t points;  /* detections outside every window */
	size_t events;  /* runs of consecutive detected rows that start outside every window */
	size_t normal;  /* scorable rows outside every window */
	double weeks;   /* the scorable time span of all files, in weeks */
};

/* Count the false alarms of `c` at `theta` into `out`. */
void nab_false_alarms_count(const struct nab_corpus *c, double theta, struct nab_false_alarms *out);

/* One line: false alarms per series-week and per 1 000 normal points. */
void nab_report_false_alarms(FILE *fp, const struct nab_corpus *c, double theta);

/*
 * Per file, false alarms per 1 000 normal points in each quarter of its rows
 * and the last-to-first quarter ratio; then the same over all files.
 */
void nab_report_quarters(FILE *fp, const struct nab_corpus *c, double theta);

/*
 * Leave one category ("<category>/" of the file names) out: for each
 * category, choose the threshold on all other categories with NAB's
 * optimisation under profile `p`, score the category at that threshold, and
 * print it next to its score at the whole corpus's own optimal threshold;
 * then the means and the pooled held-out score next to the in-sample one.
 * Needs at least two categories.
 */
int nab_report_loco(FILE *fp, const struct nab_corpus *c, const struct nab_profile *p,
		    struct vigil_error *err);

/*
 * Detections by kind at `theta`: `kinds_path` is the JSON bench/gen-ops
 * writes, {"<category>/<file>.csv": [{"kind": K, "onset": TS, "window":
 * [START, END]}, ...]}, where START is a window's first timestamp and ONSET
 * a row's.  Prints per kind the anomalies planted, those whose window has a
 * detection (NAB's count: "flagged"), those with a detection in the window at
 * or after the onset ("onward"), and the median delay from the onset to that
 * detection in minutes.  With `per_anomaly`, one line per anomaly too.
 */
int nab_report_kinds(FILE *fp, const struct nab_corpus *c, double theta, const char *kinds_path,
		     int per_anomaly, struct vigil_error *err);

#endif
