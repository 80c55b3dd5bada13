/*
 * notify.h - telling people what a run found.
 *
 * A notifier type is a const descriptor in the table of notify.c.  check()
 * validates a spec's notify target at validate time; send() delivers one
 * message per job run (not per anomaly).
 */
#ifndef VIGIL_NOTIFY_H
#define VIGIL_NOTIFY_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <vigil/detector.h>

#include "diag.h"
#include "error.h"

/* One alerting point of one series.  The report owns every string. */
struct alert_item {
	char *series;
	struct vigil_label *labels;
	size_t n_labels;
	int64_t ts_ms;
	double value;
	double score;              /* the highest score among agreeing detectors */
	double expected, lower, upper;   /* NaN when no detector has a model */
	char *detectors;           /* ids of the detectors that flagged it, comma-separated */
	char *reason;              /* the first detector's reason, or NULL */
};

struct series_failure {
	char *series;
	char *reason;
};

/* What a job run produced, as notifiers and the CLI see it. */
struct run_report {
	const char *job;
	int64_t run_id;            /* 0 when not stored */
	int64_t started_ms;
	int64_t finished_ms;
	int failed;                /* the run failed as a whole (e.g. its source) */
	char *error;               /* why, when failed */
	int no_data;               /* the source returned no points */
	size_t n_series;
	size_t n_points;
	size_t n_flagged;          /* points flagged by any detector, shadow included */
	struct series_failure *failures;
	size_t n_failures;
	struct alert_item *alerts;
	size_t n_alerts;
};

void run_report_release(struct run_report *rep);

struct notify_ctx {
	FILE *out;                 /* where the stdout notifier (and dry runs) write */
	int dry_run;               /* print what would be sent instead of sending */
	const char *spec_dir;
};

struct notify_type {
	const char *name;
	const char *summary;
	const char *const *keys;   /* allowed keys besides "type", NULL-terminated */
	void (*check)(const json_t *cfg, struct diag *d, const char *path);
	/* Deliver the report.  Returns 0, or -1 with err set. */
	int (*send)(const json_t *cfg, const struct run_report *rep, const struct notify_ctx *ctx,
	            struct vigil_error *err);
};

extern const struct notify_type notify_stdout;

const struct notify_type *notify_find(const char *name);
const char *const *notify_names(void);
void notify_check_keys(const struct notify_type *t, const json_t *cfg, struct diag *d, const char *path);

/* The human-readable summary of a run (used by stdout and dry runs). */
void notify_format_text(const struct run_report *rep, FILE *out);

#endif
