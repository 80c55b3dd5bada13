/*
 * serve.h - the scheduler daemon behind `vigil serve` (docs/daemon.md).
 *
 * One loop owns the spec directory, the scheduler and the workers; the HTTP
 * API runs in libmicrohttpd's thread and reaches the daemon only through
 * the functions below, which take the daemon's lock and return copies.
 */
#ifndef VIGIL_SERVE_H
#define VIGIL_SERVE_H

#include <jansson.h>
#include <stdint.h>

#include "diag.h"
#include "error.h"
#include "metrics.h"

struct serve_options {
	const char *specs_dir;
	const char *state_dir;     /* exists */
	const char *store_path;
	const char *listen;        /* "HOST:PORT"; port 0 picks a free one */
	const char *token;         /* bearer token for mutating API calls, or NULL */
	const char *node;          /* claim holder id */
	const char *exe;           /* the vigil binary, for workers */
	unsigned concurrency;
	unsigned worker_runs;      /* runs per worker process before it is replaced (0: no limit) */
	int64_t grace_ms;          /* SIGTERM: how long running jobs may finish */
	int64_t lease_ms;
	int64_t rescan_ms;         /* periodic rescan of the spec directory */
	int64_t series_retention_ms; /* how long the series windows around alerts are kept (0: the default) */
	int dry_run;               /* notifications printed, not sent */
	int no_watch;              /* no inotify: --rescan and SIGHUP only (network filesystems) */
	int specs_read_only;       /* the API never writes spec files (promote shows the diff only) */
	const char *const *plugin_dirs;
	size_t n_plugin_dirs;
};

struct serve;

/* Run the daemon until SIGTERM or SIGINT.  Returns a process exit status (cmd.h). */
int serve_run(const struct serve_options *opt);

/* --- for the API (any thread) --- */

/* 1 once the specs are loaded and the API is up, 0 while starting or stopping. */
int serve_ready(struct serve *sv);

/* [{name, file, schedule, timezone, next_run, running, queued, error}] sorted by name. */
json_t *serve_jobs_json(struct serve *sv);

/* One job, with its spec (unredacted: the API redacts), or NULL. */
json_t *serve_job_json(struct serve *sv, const char *name);

/*
 * Queue a run of job now.  Returns 0 and sets *scheduled_ms, or -1 with
 * err: VIGIL_E_USAGE for an unknown job, VIGIL_E_LIMIT when the job's queue
 * is full, VIGIL_E_INTERNAL when shutting down.
 */
int serve_trigger(struct serve *sv, const char *name, int64_t *scheduled_ms, struct vigil_error *err);

/*
 * Validate an ad-hoc spec (runner/adhoc.h) as `vigil validate` would, plus
 * the ad-hoc rules.  Returns its run's job name ("adhoc:NAME", free it),
 * or NULL with every problem in d.
 */
char *serve_adhoc_check(struct serve *sv, const char *text, struct diag *d);

/* An ad-hoc run was queued: this node looks for it now instead of at its next poll. */
void serve_adhoc_queued(struct serve *sv);

struct metrics *serve_metrics(struct serve *sv);

struct registry;
/* The detector registry the daemon checks specs with (read-only, lives as long as sv). */
const struct registry *serve_registry(struct serve *sv);
/* 0 when started with --specs-read-only: the API must not write spec files. */
int serve_specs_writable(struct serve *sv);
/* Look at the spec directory on the loop's next turn (after the API wrote a spec). */
void serve_rescan_soon(struct serve *sv);

#endif
