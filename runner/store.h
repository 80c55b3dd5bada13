/*
 * store.h - where runs and anomalies are kept.
 *
 * One interface, several backends: SQLite (the embedded default, WAL mode)
 * now, PostgreSQL (shared by several nodes, see docs/design.md) later.  The
 * SQL the backends share stays portable: integer milliseconds for time,
 * TEXT for JSON, no vendor functions in queries.  Writes of one run's
 * results happen in one transaction, so a crash leaves either nothing or
 * the whole run.
 */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"
#include "notify.h"

#define STORE_SCHEMA_VERSION 1

/* One flagged point of one detector. */
struct anomaly_row {
	const char *series;
	const char *labels_json;   /* {"key": "value", ...} */
	int64_t ts_ms;
	double value;
	double score;
	const char *detector;      /* the detector entry's id */
	double expected, lower, upper;
	const char *reason;
	int shadow;                /* from a shadow-mode detector */
	int alerted;               /* part of an alert */
};

/* How a run ended. */
struct run_outcome {
	const char *state;         /* "succeeded" or "failed" */
	const char *outcome;       /* "anomalies", "clean", "no_data", or NULL when failed */
	const char *error;
	size_t n_series;
	size_t n_points;
	size_t n_anomalies;
	size_t n_alerts;
	const struct series_failure *failures;
	size_t n_failures;
};

struct store;

struct store_backend {
	const char *name;
	int (*open)(struct store *st, const char *target, struct vigil_error *err);
	void (*close)(struct store *st);
	int (*schema_version)(struct store *st, int *version, struct vigil_error *err);
	int (*run_begin)(struct store *st, const char *job, int64_t scheduled_for_ms, int64_t started_ms,
	                 int64_t *run_id, struct vigil_error *err);
	int (*run_finish)(struct store *st, int64_t run_id, int64_t finished_ms,
	                  const struct run_outcome *o, const struct anomaly_row *rows, size_t n_rows,
	                  struct vigil_error *err);
	/* JSON arrays of runs / anomalies, newest first. job may be NULL for all. */
	int (*list_runs)(struct store *st, const char *job, size_t limit, json_t **out,
	                 struct vigil_error *err);
	int (*list_anomalies)(struct store *st, const char *job, int64_t run_id, size_t limit, json_t **out,
	                      struct vigil_error *err);
};

struct store {
	const struct store_backend *backend;
	void *impl;
};

extern const struct store_backend store_sqlite;

/* Open the store at target (a path to an SQLite file), migrating its schema. */
struct store *store_open(const char *target, struct vigil_error *err);
void store_close(struct store *st);

#endif
