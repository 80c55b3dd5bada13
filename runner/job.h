/*
 * job.h - one run of a job: fetch, detect, evaluate alerts, store, notify.
 *
 * Failure is contained: a failing source fails the run (recorded with its
 * reason); a detector failing on a series fails that series only, the other
 * detectors and series go on; a failing notifier is logged and reported but
 * the run's results stay stored.
 */
#ifndef VIGIL_JOB_H
#define VIGIL_JOB_H

#include <stdint.h>

#include "detect.h"
#include "notify.h"
#include "plugin.h"
#include "spec.h"
#include "store.h"

/* Called after each series is scored (export-scores uses it). */
typedef void job_series_fn(void *arg, const struct job_spec *spec, const struct series *s,
                           struct detection *const *dets, const uint8_t *alerted);

struct job_options {
	int64_t scheduled_ms;          /* the run's time; the window ends here */
	struct store *store;           /* NULL: results are not stored */
	const struct notify_ctx *notify; /* NULL: nobody is notified */
	job_series_fn *on_series;
	void *arg;
	/* Appended for `vigil serve`, backfill and replay (zero: as before). */
	int64_t run_id;                /* a run already claimed in the store: finish it instead of creating one */
	int64_t window_from_ms;        /* the window starts here (a run covering missed fire times) */
	int fixed_clock;               /* report the run as started and finished at scheduled_ms (determinism) */
	/*
	 * An ad-hoc run (runner/adhoc.h): the job's incidents and health are
	 * neither read nor written, no anomaly rows are stored, and results(arg),
	 * if set, gives the text stored with the run (freed by job_run).
	 */
	int adhoc;
	char *(*results)(void *arg);
};

/*
 * Run spec once.  rep is filled in every case (release it with
 * run_report_release).  Returns 0 if the run succeeded, even with failed
 * series or no data; -1 if it failed (err says why, and so does rep).
 */
int job_run(const struct job_spec *spec, const struct job_options *opt, struct run_report *rep,
            struct vigil_error *err);

/* rep as JSON (for --json). */
json_t *run_report_json(const struct run_report *rep);

#endif
