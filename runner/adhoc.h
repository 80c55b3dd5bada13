/*
 * adhoc.h - ad-hoc runs: a job spec sent over HTTP (POST /api/runs, e.g.
 * from a notebook through vigil_client.py), queued in the store and run
 * once by whichever node claims it (docs/api.md#ad-hoc-runs).
 *
 * What an ad-hoc spec may do is narrower than a spec file's, because the
 * API token is not a shell on the node:
 *  - no executables: "exec" detectors and "explain" are refused;
 *  - no ${env:} / ${file:} references: they would read the node's secrets;
 *  - files (csv and sqlite sources) only under $VIGIL_SOURCE_ROOTS, the
 *    first root being where relative paths start; none when it is unset;
 *  - it never notifies and never touches the jobs' incidents, alert state,
 *    stored series or anomaly lists: its results stay with the run.
 */
#ifndef VIGIL_ADHOC_H
#define VIGIL_ADHOC_H

#include <jansson.h>
#include <stddef.h>

#include "diag.h"
#include "store.h"

/* The largest spec accepted (as for spec files), and the results kept of one run. */
#define ADHOC_SPEC_MAX (1024 * 1024)
#define ADHOC_RESULTS_MAX (32 * 1024 * 1024)
/* The job name of an ad-hoc run is this prefix and the spec's name. */
#define ADHOC_JOB_PREFIX "adhoc:"

/*
 * The directory an ad-hoc spec's relative paths start from: the first
 * directory of $VIGIL_SOURCE_ROOTS, or an absolute path that does not
 * exist (so no file qualifies as being under it).
 */
const char *adhoc_spec_dir(void);

/* Add to d what root (a spec's JSON) does that an ad-hoc run may not. */
void adhoc_check(const json_t *root, struct diag *d);

/*
 * adhoc_check() on a spec's text, to run before spec_parse() (which would
 * start an "exec" detector to ask for its description).  Returns 1 when d
 * has problems; text that is not JSON is left to spec_parse() to report.
 */
int adhoc_refused(const char *text, struct diag *d);

/*
 * The results of a run as compact JSON text (free it): {"series": [{"series",
 * "labels", "n", "ts", "value", "detectors": [{"id", "shadow", "score",
 * "expected", "lower", "upper", "anomaly", "alerted"}]}], "truncated",
 * "series_dropped"}.  Columns are aligned with ts; null is a missing value.
 * Series past ADHOC_RESULTS_MAX bytes (or dropped earlier: `dropped`) are
 * left out and counted.
 */
char *adhoc_results_text(const struct stored_series *items, size_t n, size_t dropped);

#endif
