/*
 * explain.h - root-cause hints for an incident group: which label values
 * the anomalous series of a run share and the normal ones don't, and which
 * series moved first (docs/spec.md#explain).
 *
 * The built-in ranking tests every label key=value pair held by at least
 * two anomalous series with a one-sided Fisher exact test on the 2x2 table
 * (has the pair or not) x (anomalous or normal): the p-value is the
 * hypergeometric upper tail P(X >= a), X the number of anomalous series with
 * the pair when the pair's series are drawn at random among all series.
 * Pairs whose share among the anomalous series is not larger than among the
 * normal ones, or whose p-value is above EXPLAIN_MAX_P, are not reported; the
 * rest are ranked by p-value (ties: more anomalous series first, then key and
 * value).  p-values are not corrected for the number of pairs tested.
 *
 * A job can bring its own algorithm instead: "explain": {"exec": {...}} in
 * its spec names an executable that answers the exec protocol's `explain`
 * request (docs/exec-protocol.md#explain).  Both give hints of one form.
 */
#ifndef VIGIL_EXPLAIN_H
#define VIGIL_EXPLAIN_H

#include <jansson.h>
#include <stdint.h>
#include <vigil/detector.h>

#include "error.h"
#include "strbuf.h"

struct job_spec;

#define EXPLAIN_MAX_CONTRIBUTORS 5     /* contributors reported at most */
#define EXPLAIN_MAX_P 0.05             /* pairs with a larger p-value are not reported */
#define EXPLAIN_FIRST_MOVED 3          /* series listed as having moved first */
#define EXPLAIN_NO_ONSET INT64_MIN

/* One series of the run, as the explanation sees it (nothing is copied). */
struct explain_series {
	const char *name;                  /* the series' canonical name */
	const struct vigil_label *labels;
	size_t n_labels;
	int anomalous;                     /* 1: in the incident group; 0: normal in this run */
	int64_t onset_ms;                  /* anomalous: when it started (EXPLAIN_NO_ONSET if unknown) */
};

/* The incident group of one job in one run, plus the run's normal series. */
struct explain_input {
	const char *job;
	int64_t run_id;                    /* 0 when the run is not stored */
	const struct explain_series *series;
	size_t n;
};

/*
 * The hints for in, by the job's explain executable when its spec names one
 * (spec->explain_exec), else by the built-in ranking (spec may be NULL).
 *
 * On success returns 0 and sets *hints to a new object (the caller owns it):
 *
 *   {"method": "builtin" | "exec", "program": "/path" (exec only),
 *    "statistic": "fisher-exact-one-sided" (builtin; an executable's own name),
 *    "anomalous": 8, "normal": 40,
 *    "contributors": [{"label": "dc", "value": "fra", "anomalous": 7, "normal": 0,
 *                      "p_value": 1.2e-9, "score": 8.9,
 *                      "text": "7 of 8 anomalous series have dc=\"fra\"; 0 of 40 normal ones"}, ...],
 *    "first_moved": [{"series": "cpu{dc=\"fra\",host=\"a\"}", "onset": 1795299300000}, ...]}
 *
 * contributors (at most EXPLAIN_MAX_CONTRIBUTORS, best first) and
 * first_moved (earliest onset first, at most EXPLAIN_FIRST_MOVED) may be
 * empty; "score" is -log10(p_value), larger is stronger.  An executable's
 * contributors may lack "anomalous", "normal" and "p_value".
 *
 * On failure (only an executable can fail: it could not run, timed out,
 * or answered something that is not a valid explain response) returns -1,
 * sets *hints to NULL and err to the reason ("explain: '/path': malformed
 * explain response: ..."), already logged with the job.  The caller records
 * the reason and sends the incident without hints.  Safe to call from
 * several threads.
 */
int explain_group(const struct job_spec *spec, const struct explain_input *in, json_t **hints,
                  struct vigil_error *err);

/* The built-in ranking alone (never fails; spec-independent).  Returns a new object as above. */
json_t *explain_builtin(const struct explain_input *in);

/*
 * One line for a message from hints: the best contributor's text and the
 * first series to move, e.g. '7 of 8 anomalous series have dc="fra"; 0 of 40
 * normal ones; first to move: cpu{host="a"} at 2026-12-06T10:00:00Z'.
 * Appends nothing when hints is NULL or says nothing.
 */
void explain_summary(const json_t *hints, struct strbuf *sb);

#endif
