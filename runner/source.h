/*
 * source.h - where a job's time series come from.
 *
 * A source type is a const descriptor in the table of source.c.  check()
 * validates a spec's "source" object at validate time (every problem into
 * the diag); fetch() runs at run time and appends the series it read.
 */
#ifndef VIGIL_SOURCE_H
#define VIGIL_SOURCE_H

#include <jansson.h>
#include <stdint.h>

#include "diag.h"
#include "error.h"
#include "series.h"

struct fetch_ctx {
	const char *job;        /* job name, for messages */
	const char *spec_dir;   /* relative paths in the spec start here */
	int64_t from_ms;        /* window start (INT64_MIN: unbounded) */
	int64_t to_ms;          /* window end (INT64_MAX: unbounded) */
	int64_t run_ms;         /* the run's scheduled time, "now" for relative ranges (0: the clock) */
	size_t max_series;      /* the spec's "max_series"; a source may stop early past it (0: no limit) */
};

struct source_type {
	const char *name;
	const char *summary;
	/* Allowed keys of the source object besides "type". */
	const char *const *keys;
	/* Validate cfg (the whole source object); add problems to d under path. */
	void (*check)(const json_t *cfg, struct diag *d, const char *path);
	/*
	 * Fetch the series into out.  Returns 0 (possibly with no series:
	 * the job reports "no data"), or -1 with err set; on -1, out may hold
	 * partial series that the caller discards.
	 */
	int (*fetch)(const json_t *cfg, const struct fetch_ctx *ctx, struct series_set *out,
	             struct vigil_error *err);
};

extern const struct source_type source_csv;
extern const struct source_type source_prometheus;
extern const struct source_type source_influxdb;
extern const struct source_type source_sqlite;
extern const struct source_type source_postgresql;
extern const struct source_type source_http;
extern const struct source_type source_graphite;

/* The source type named name, or NULL. */
const struct source_type *source_find(const char *name);

/* Names of every source type (NULL-terminated), for messages. */
const char *const *source_names(void);

/* Check a source object's keys: unknown keys (with a suggestion) and "type". */
void source_check_keys(const struct source_type *t, const json_t *cfg, struct diag *d, const char *path);

#endif
