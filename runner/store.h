/*
 * store.h - where runs and anomalies are kept.
 *
 * One interface, two backends: SQLite (the embedded default, WAL mode) and
 * PostgreSQL (shared by several nodes, docs/scale-out.md).  The
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

#define STORE_SCHEMA_VERSION 7

struct store;

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

/*
 * A message for the outbox (runner/outbox.h): one per job run and target.
 * dest and url_ref hold the destination as the spec wrote it (a ${env:}/
 * ${file:} reference): the resolved URL is never stored.
 */
struct outbox_row {
	const char *dedup_key;     /* unique: a run executed twice never enqueues twice */
	const char *dest;          /* the target key, "<type>:<url reference>": one throttle per dest */
	const char *type;          /* the notify type: "slack", "webhook" */
	const char *url_ref;       /* the URL as written in the spec */
	const char *base_dir;      /* where relative ${file:} references start (or NULL) */
	const char *headers;       /* JSON object of header values (references allowed), or NULL */
	const char *job;
	int64_t run_id;            /* 0 when the run is not stored */
	int64_t scheduled_for;
	const char *summary;       /* one line for listings */
	const char *payload;       /* the HTTP body */
	const char *state;         /* "pending", or "muted" (kept, never sent unless retried) */
	const char *note;          /* why muted, or NULL */
	int64_t created_at;
	int64_t deadline;          /* delivery is retried until then */
	int64_t timeout_ms;        /* for one HTTP attempt */
};

/* Per (target, job, series): what the target was last told (runner/dispatch.h). */
struct alert_state_row {
	const char *target;
	const char *job;
	const char *series;
	const char *state;         /* "firing" or "resolved" */
	int64_t since;             /* firing: the first alerting point; resolved: the run that saw it clean */
	int64_t last_alert_ts;     /* newest alerting point seen, or 0 */
	int64_t last_sent;         /* scheduled time of the run that last notified it, or 0: never */
	int64_t updated_run;       /* scheduled time of the run that wrote the row */
};

/* A message claimed for sending; the strings are owned (outbox_msg_release). */
struct outbox_msg {
	int64_t id;
	char *dest, *type, *url_ref, *base_dir, *headers, *job, *payload;
	int attempts;              /* including this one */
	int64_t created_at, deadline, timeout_ms;
};

void outbox_msg_release(struct outbox_msg *m);

/* The destination throttle: a token bucket shared by every process using the store. */
struct outbox_throttle {
	double rate;               /* messages per second */
	double burst;              /* bucket size */
};

/* Tokens in a destination's bucket at now (have_row 0: a full bucket); shared by the backends. */
double outbox_bucket_tokens(const struct outbox_throttle *th, int have_row, double tokens, int64_t tokens_at,
                            int64_t now);

enum outbox_outcome {
	OUTBOX_SENT,               /* delivered: never sent again */
	OUTBOX_RETRY,              /* back to pending until next_attempt */
	OUTBOX_FAILED,             /* given up on this message */
	OUTBOX_BROKEN,             /* given up, and the destination is held until someone retries */
};

struct outbox_result {
	enum outbox_outcome outcome;
	int64_t now;
	int64_t next_attempt;      /* RETRY */
	int64_t blocked_until;     /* RETRY after a 429: the whole destination waits (0: no) */
	int status;                /* HTTP status, 0 if none */
	const char *error;         /* what went wrong (no secrets), or NULL */
};

/*
 * Notifications in the store: the outbox, the alert state and mutes.  Every
 * function takes its clock from the caller (`now`, ms) so the state machine
 * can be tested without sleeping; JSON lists are arrays of row objects.
 */
struct store_notify_ops {
	/* Append messages and alert-state changes in one transaction.  A row whose dedup_key exists is skipped. */
	int (*enqueue)(struct store *st, const struct outbox_row *rows, size_t n_rows,
	               const struct alert_state_row *states, size_t n_states, struct vigil_error *err);
	/* The "firing" alert-state rows of (target, job). */
	int (*alert_states)(struct store *st, const char *target, const char *job, json_t **out,
	                    struct vigil_error *err);
	/*
	 * Claim the next message to send: the oldest pending message of a
	 * destination that has nothing in flight, is due, not broken, not
	 * blocked, and has a token in its bucket.  Expires pending messages
	 * past their deadline first.  Returns 1 with msg filled, 0 when nothing
	 * can be sent now (*next_due: when something may be, INT64_MAX if
	 * nothing is pending), -1 on error.  The claim's lease ends lease_ms
	 * after the message's own HTTP timeout.
	 */
	int (*claim)(struct store *st, const char *node, int64_t now, int64_t lease_ms,
	             const struct outbox_throttle *th, struct outbox_msg *msg, int64_t *next_due,
	             struct vigil_error *err);
	/* Record the outcome of a claimed message; fenced by (state 'sending', locked_by = node).  *applied: 0 if the claim was lost. */
	int (*complete)(struct store *st, int64_t id, const char *node, const struct outbox_result *res,
	                int *applied, struct vigil_error *err);
	/* Messages in 'sending' (id, locked_by, lease_until), for recovery after a crash. */
	int (*in_flight)(struct store *st, json_t **out, struct vigil_error *err);
	/* Messages, newest first; states: NULL for all, else a comma-separated list. */
	int (*list)(struct store *st, const char *states, size_t limit, json_t **out, struct vigil_error *err);
	/* Destinations with their throttle and broken state. */
	int (*dests)(struct store *st, json_t **out, struct vigil_error *err);
	/* Queue message id again (failed or muted) and clear its destination's broken state.  *found: 0 if no such message, -1 if it was sent. */
	int (*retry)(struct store *st, int64_t id, int64_t now, int64_t deadline, int *found,
	             struct vigil_error *err);
	/* Counts by state: {"pending": n, ...}. */
	int (*counts)(struct store *st, json_t **out, struct vigil_error *err);
	int (*mute_add)(struct store *st, const char *job_pattern, const char *series_pattern, int64_t until,
	                const char *reason, int64_t now, int64_t *id, struct vigil_error *err);
	/* *found: 0 if there is no such mute. */
	int (*mute_remove)(struct store *st, int64_t id, int *found, struct vigil_error *err);
	/* Mutes whose end is after `after` (0: all), soonest end first. */
	int (*mutes)(struct store *st, int64_t after, json_t **out, struct vigil_error *err);
};

/*
 * An incident: one event of one series (or of a whole job's runs), from
 * its onset to its end (runner/incident.h has the life-cycle).  Strings are
 * owned (incident_release) when the store filled the struct; writers may
 * point them anywhere.  Times are ms; 0 means "not yet" / "none".  Doubles
 * are NaN when unknown.
 */
struct incident {
	int64_t id;                /* 0 until stored */
	char *job;
	char *series;              /* "" for a job-level incident (kind error or no_data) */
	char *kind;                /* "anomaly", "error" (runs fail) or "no_data" (runs return nothing) */
	char *labels_json;         /* the series' labels, {"k": "v"} */
	char *state;               /* "open", "resolved" (over) or "accepted" (the new normal level) */
	int64_t start_ms;          /* the onset: the first alerting point (job-level: the first failed run) */
	int64_t end_ms;            /* resolved: when it came back inside the band; accepted: when accepted */
	int64_t last_seen_ms;      /* the newest point (job-level: run) the life-cycle has looked at */
	int64_t last_alert_ms;     /* the newest alerting point */
	int64_t back_since_ms;     /* first point of the current stretch back inside the band, 0: outside */
	int64_t back_points;       /* points in that stretch */
	int64_t n_alerts;          /* alerting points (job-level: failed or empty runs) */
	int64_t flaps;             /* times it came back after being resolved */
	int64_t peak_ms;           /* the most unusual point */
	double peak_value, peak_expected, peak_score, peak_rarity;
	double onset_expected, onset_lower, onset_upper;   /* the expected band as it was at the onset */
	double accepted_lower, accepted_upper;             /* accepted: the band around the new level */
	char *detectors;           /* ids of the detectors that agreed, comma-separated */
	char *evidence;            /* the strongest detector's reason at the peak, or the error (job-level) */
	int64_t last_notified_ms;  /* the scheduled time of the run that last notified it, 0: never */
	int64_t opened_run_ms;     /* the scheduled time of the run that opened it */
	int64_t updated_run_ms;    /* ... and of the run that last wrote it */
};

/* Free what a store-filled incident owns (NULL-safe); incidents_free frees an array of them. */
void incident_release(struct incident *inc);
void incidents_free(struct incident *incs, size_t n);

/* The per-job run health behind on_error / on_no_data (runner/incident.h). */
struct job_health {
	char *job;
	int64_t failed_runs;       /* consecutive failed runs up to the newest */
	int64_t empty_runs;        /* consecutive runs that returned no data */
	int64_t last_success_ms;   /* scheduled time of the newest run that succeeded with data, 0: never */
	int64_t updated_run_ms;    /* scheduled time of the run that wrote it */
	char *last_error;          /* the newest failure's reason, or NULL */
};

/* Free what a store-filled job_health owns (NULL-safe). */
void job_health_release(struct job_health *h);

/* Which incidents list() returns. */
struct incident_filter {
	const char *job;           /* NULL: every job */
	int all;                   /* 1: every state; 0: open ones and those that ended at or after since_ms */
	int64_t since_ms;
	size_t limit;              /* 0: no limit */
};

/*
 * Incidents in the store.  open, update and resolve are one transaction
 * each; a run writes its incidents and health inside its own transaction
 * instead (run_outcome), so a crash leaves both or neither.
 */
struct store_incident_ops {
	/* Insert inc and set inc->id; an incident with the same (job, series, kind, start) is updated instead. */
	int (*open)(struct store *st, struct incident *inc, struct vigil_error *err);
	/* Write every field of the stored incident inc->id. */
	int (*update)(struct store *st, const struct incident *inc, struct vigil_error *err);
	/* Close incident id as "resolved" or "accepted" at end_ms, by the run scheduled at run_ms. */
	int (*resolve)(struct store *st, int64_t id, const char *state, int64_t end_ms, int64_t run_ms,
	               struct vigil_error *err);
	/* Incidents per the filter, newest start first (ties: highest id). */
	int (*list)(struct store *st, const struct incident_filter *f, struct incident **out, size_t *n,
	            struct vigil_error *err);
	/* One incident; *found is 0 when there is none. */
	int (*get)(struct store *st, int64_t id, struct incident *out, int *found, struct vigil_error *err);
	/*
	 * Where a job's life-cycle goes on from: per (series, kind) of job, the
	 * newest incident (open or closed), ordered by series then kind.
	 */
	int (*latest)(struct store *st, const char *job, struct incident **out, size_t *n,
	              struct vigil_error *err);
	/* Upsert incidents (id 0: by (job, series, kind, start)) and, if h, a job's health, in one transaction. */
	int (*put)(struct store *st, const struct incident *incs, size_t n, const struct job_health *h,
	           struct vigil_error *err);
	/* The job's health; *found is 0 when no run wrote it yet. */
	int (*health_get)(struct store *st, const char *job, struct job_health *out, int *found,
	                  struct vigil_error *err);
	/* [{job, open, last_success}] of every job with health or incidents (for /metrics). */
	int (*job_summary)(struct store *st, json_t **out, struct vigil_error *err);
};

/*
 * Pushed detectors (`vigil detectors push`, runner/pushed.h): bundles kept
 * by their SHA-256, a monotonic version per name, and which version each
 * node materialised.
 */
struct pushed_version {
	const char *name;
	const char *sha256;        /* of bundle, hex */
	const char *entry;         /* the entry point in the bundle */
	const char *by;            /* who pushed it */
	const void *bundle;        /* the canonical form (runner/bundle.h) */
	size_t size;
	int64_t at;                /* ms; a backend with its own clock uses that */
};

struct store_pushed_ops {
	/*
	 * Make v name's next version, unless name's latest version has the same
	 * content (sha256): then nothing changes and *created is 0.  *version
	 * gets the version either way.
	 */
	int (*push)(struct store *st, const struct pushed_version *v, int64_t *version, int *created,
	            struct vigil_error *err);
	/* name's latest version as {name, version, sha256, entry, size, pushed_by, pushed_at}, or *out = NULL. */
	int (*latest)(struct store *st, const char *name, json_t **out, struct vigil_error *err);
	/* The bundle with this SHA-256, as a new buffer (free it), or *data = NULL when there is none. */
	int (*bundle)(struct store *st, const char *sha256, void **data, size_t *len, struct vigil_error *err);
	/* Record that node materialised version (sha256) of name at now (ms; see pushed_version.at). */
	int (*node_seen)(struct store *st, const char *node, const char *name, int64_t version, const char *sha256,
	                 int64_t now, struct vigil_error *err);
	/*
	 * Every pushed detector by name, with its latest version and the nodes
	 * that materialised one: [{name, version, sha256, entry, size, pushed_by,
	 * pushed_at, versions, nodes: [{node, version, sha256, seen_at}]}].
	 */
	int (*list)(struct store *st, json_t **out, struct vigil_error *err);
};

/*
 * Several `vigil serve` nodes on one store (docs/scale-out.md): each node
 * records that it is alive and which version (a SHA-256 of the spec text)
 * of each job it runs, so that disagreement is seen.  Times are the store's.
 */
struct store_cluster_ops {
	/* Record that node is alive now (version: vigil's; pid: the daemon's). */
	int (*node_beat)(struct store *st, const char *node, const char *version, long pid, struct vigil_error *err);
	/* Record the version of job that node runs (the store keeps the SHA-256 of text); text NULL: no longer runs it. */
	int (*spec_seen)(struct store *st, const char *node, const char *job, const char *text,
	                 struct vigil_error *err);
	/* Forget node's spec versions (a node starting afresh). */
	int (*specs_reset)(struct store *st, const char *node, struct vigil_error *err);
	/*
	 * The cluster as JSON: {"now", "nodes": [{node, started_at, last_seen, version, runs_held, alive}],
	 * "spec_conflicts": [{job, versions: [{hash, nodes: [...]}]}], "recent": [runs with locked_by],
	 * "pending": n, "oldest_pending": ms or null}.  A node is alive when seen within alive_ms;
	 * only alive nodes count for conflicts.
	 */
	int (*status)(struct store *st, int64_t alive_ms, size_t recent, json_t **out, struct vigil_error *err);
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
	/* Notifications decided for the run (runner/dispatch.h), written in the same transaction. */
	const struct outbox_row *outbox;
	size_t n_outbox;
	const struct alert_state_row *alert_states;
	size_t n_alert_states;
	/* The run's incidents (new and changed) and the job's health, same transaction (NULL/0: none). */
	const struct incident *incidents;
	size_t n_incidents;
	const struct job_health *health;
	/* An ad-hoc run's results (runner/adhoc.h), JSON text stored with the run (NULL: none). */
	const char *adhoc_results;
	/*
	 * The outbox payloads hold "<incident_id_token>-<i>" where the id of
	 * incidents[i] goes (links to incident pages, notify_message.id_token):
	 * the store writes the incidents first and fills the ids in
	 * (outbox_rows_filled).  NULL: no token.
	 */
	const char *incident_id_token;
	int64_t *incident_ids;     /* n_incidents ids written back here, or NULL */
};

/*
 * o's outbox rows with the ids of its incidents filled in (ids: one per
 * o->incidents, as written), or NULL when no payload holds a token (write
 * o->outbox itself).  Free with outbox_rows_filled_free.
 */
struct outbox_row *outbox_rows_filled(const struct run_outcome *o, const int64_t *ids);
void outbox_rows_filled_free(struct outbox_row *rows, const struct run_outcome *o);

/*
 * The daemon's side of a run (docs/daemon.md, ../shared/docs/scale-out.md):
 * a run row is created once per (job, scheduled time) by whichever node gets
 * there first, claimed with a lease, kept alive by heartbeats, and completed
 * only while the claim is still held (fencing).  Time is the store's clock.
 */
struct run_claim {
	int64_t id;
	int64_t scheduled_ms;
	int64_t window_from_ms;    /* 0: the spec's own window */
	int attempts;              /* including this one */
	char trigger[16];          /* schedule, catchup, manual, recovery, backfill */
};

/* One detector's output over a stored series. */
struct stored_detector {
	char *id;
	double *score, *expected, *lower, *upper;
	uint8_t *flags;            /* STORED_FLAGGED | STORED_ALERTED | STORED_SHADOW */
};

/* STORED_SHADOW is set on every point of a shadow-mode detector. */
enum { STORED_FLAGGED = 1, STORED_ALERTED = 2, STORED_SHADOW = 4 };

/*
 * A series as a run saw it, with every detector's scores and bands: what
 * GET /api/series serves.  The store keeps only the latest run's series of
 * each job (STORE_SERIES_MAX_* bound it); see docs/api.md.
 */
struct stored_series {
	char *series;
	char *labels_json;
	int64_t run_id;
	int64_t scheduled_ms;
	size_t n;                  /* points in ts/value (after a range cut: those kept) */
	size_t n_total;            /* points stored */
	int64_t *ts;
	double *value;
	size_t n_detectors;
	struct stored_detector *det;
	int kept;                  /* 1: from the windows kept around alerts (series_history), not the latest run */
};

#define STORE_SERIES_MAX_POINTS 1000000   /* the newest ones are kept */
#define STORE_SERIES_MAX_PER_JOB 1000

/*
 * Besides the latest run's series, the store keeps the window of each
 * series around its alerts: from STORE_HISTORY_BEFORE_MS before the first
 * alerting point to the run's last point (what a chart link shows), until
 * `vigil serve` purges it (--series-retention).
 */
#define STORE_HISTORY_BEFORE_MS (6 * 3600 * 1000LL)
#define STORE_SERIES_RETENTION_DEFAULT_MS (30 * 86400 * 1000LL)

/*
 * The window of s kept around its alerts: *view borrows s's arrays (from
 * before_ms before its first alerting point to its end) and *dets (free()
 * it) holds the detectors' views.  Returns 0 when no point of s alerted.
 */
int stored_series_alert_window(const struct stored_series *s, int64_t before_ms, struct stored_series *view,
                               struct stored_detector **dets);

/* Release what a stored_series owns (NULL-safe); it can be reused. */
void stored_series_release(struct stored_series *s);
/* The storage form (a blob; the byte order of this machine, checked on read). */
void *stored_series_encode(const struct stored_series *s, size_t *len);
/* Decode the points with from <= ts <= to into s (whose series/labels/run fields the caller sets). */
int stored_series_decode(struct stored_series *s, const void *blob, size_t len, int64_t from, int64_t to,
                         struct vigil_error *err);

/*
 * Ad-hoc runs (POST /api/runs, runner/adhoc.h): a spec sent over HTTP,
 * queued as a run of job "adhoc:NAME" with trigger "adhoc", claimed by any
 * node like a scheduled run (lease, heartbeats, fencing), its spec text and
 * results kept beside the run (schema version 6).
 */
struct store_adhoc_ops {
	/* Queue a run of spec text as job at the store's time; *run_id and *scheduled_ms say which. */
	int (*submit)(struct store *st, const char *job, const char *spec, int64_t *run_id, int64_t *scheduled_ms,
	              struct vigil_error *err);
	/*
	 * Claim the oldest ad-hoc run that is pending, interrupted, or running
	 * with an expired lease, for node with a lease.  *claimed is 0 when
	 * there is none; else out is filled and *job, *spec are new strings.
	 */
	int (*claim)(struct store *st, const char *node, int64_t lease_ms, struct run_claim *out, char **job,
	             char **spec, int *claimed, struct vigil_error *err);
	/* The spec and results of ad-hoc run id as new strings (results NULL until stored); *found 0: no such run. */
	int (*get)(struct store *st, int64_t run_id, char **spec, char **results, int *found, struct vigil_error *err);
	/* Delete the ad-hoc runs (run, spec, results) that finished before before_ms; *n: how many. */
	int (*purge)(struct store *st, int64_t before_ms, int64_t *n, struct vigil_error *err);
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

	/* --- the daemon (appended; NULL in backends that have no daemon support) --- */
	/* The store's clock in ms: every node reads time here, never its own. */
	int (*now)(struct store *st, int64_t *ms, struct vigil_error *err);
	/*
	 * Create the run (job, scheduled_ms) unless it exists, then claim it for
	 * node with a lease, if it is pending, interrupted, or running with an
	 * expired lease.  *claimed is 0 when the run exists and is not claimable
	 * (finished, or running elsewhere); out is filled when claimed.
	 */
	int (*run_claim)(struct store *st, const char *job, int64_t scheduled_ms, int64_t window_from_ms,
	                 const char *trigger, const char *node, int64_t lease_ms, struct run_claim *out,
	                 int *claimed, struct vigil_error *err);
	/* Extend the lease; *held is 0 when the claim was lost. */
	int (*run_heartbeat)(struct store *st, int64_t run_id, const char *node, int64_t lease_ms, int *held,
	                     struct vigil_error *err);
	/*
	 * End a claimed run without results: state "interrupted" (to be re-run)
	 * or "failed" (with error).  Fenced: *done is 0 when node no longer holds it.
	 */
	int (*run_release)(struct store *st, int64_t run_id, const char *node, const char *state,
	                   const char *error, int *done, struct vigil_error *err);
	/*
	 * At start: mark node's own running runs interrupted, then list every
	 * claimable run ([{id, job, scheduled_for, window_from, trigger}], oldest first).
	 */
	int (*runs_recover)(struct store *st, const char *node, json_t **out, struct vigil_error *err);
	/* One run as JSON, or *out = NULL. */
	int (*run_get)(struct store *st, int64_t run_id, json_t **out, struct vigil_error *err);
	/* Runs with id < before_id (0: no bound), newest first; job may be NULL. */
	int (*runs_page)(struct store *st, const char *job, int64_t before_id, size_t limit, json_t **out,
	                 struct vigil_error *err);
	/* Anomalies with ts >= since_ms, newest first; job may be NULL. */
	int (*anomalies_since)(struct store *st, const char *job, int64_t since_ms, size_t limit, json_t **out,
	                       struct vigil_error *err);
	/* {"last_run": {...} or null, "last_fire": ms or null (latest scheduled or catch-up run)}. */
	int (*job_state)(struct store *st, const char *job, json_t **out, struct vigil_error *err);
	/*
	 * Replace the job's stored series by these, unless a later run's are
	 * stored already (a backfill of old times does not hide the newest).
	 */
	int (*series_put)(struct store *st, const char *job, int64_t run_id, int64_t scheduled_ms,
	                  const struct stored_series *items, size_t n, struct vigil_error *err);
	/* The stored series, cut to [from, to]; *found is 0 when there is none. */
	int (*series_get)(struct store *st, const char *job, const char *series, int64_t from, int64_t to,
	                  struct stored_series *out, int *found, struct vigil_error *err);
	/* [{series, labels, n_points, first_ts, last_ts, run_id}] of a job. */
	int (*series_list)(struct store *st, const char *job, json_t **out, struct vigil_error *err);

	/* --- notifications (appended; NULL in backends without an outbox) --- */
	const struct store_notify_ops *notify;

	/* --- incidents (appended; NULL in backends without them) --- */
	const struct store_incident_ops *incidents;

	/* --- several nodes on one store (appended; NULL in single-node backends) --- */
	const struct store_cluster_ops *cluster;

	/* --- kept series (appended; NULL in backends without them) --- */
	/* Delete the windows kept around alerts of runs scheduled before before_ms; *n: how many. */
	int (*series_purge)(struct store *st, int64_t before_ms, int64_t *n, struct vigil_error *err);

	/* --- feedback on incidents (appended; NULL in backends without it; runner/feedback.h) --- */
	/* Record a verdict (note may be NULL) by who at now; *found is 0 (nothing stored) when there is no such incident. */
	int (*feedback_add)(struct store *st, int64_t incident_id, const char *verdict, const char *note,
	                    const char *who, int64_t now, int64_t *id, int *found, struct vigil_error *err);
	/* The verdicts on an incident, oldest first: [{id, verdict, note, who, at}]. */
	int (*feedback_list)(struct store *st, int64_t incident_id, json_t **out, struct vigil_error *err);

	/* --- ad-hoc runs (appended; NULL in backends without them) --- */
	const struct store_adhoc_ops *adhoc;
	/* --- pushed detectors (appended; NULL in backends without them) --- */
	const struct store_pushed_ops *pushed;
};

struct store {
	const struct store_backend *backend;
	void *impl;
	/*
	 * The claim holder this connection completes runs for (the daemon's and
	 * its workers' node id).  When set, run_finish only lands while the run
	 * is still locked by node.  NULL for `vigil run`.
	 */
	const char *node;
};

extern const struct store_backend store_sqlite;
extern const struct store_notify_ops store_sqlite_notify;
extern const struct store_incident_ops store_sqlite_incidents;
extern const struct store_backend store_pg;
extern const struct store_notify_ops store_pg_notify;
extern const struct store_cluster_ops store_pg_cluster;
extern const struct store_incident_ops store_pg_incidents;
extern const struct store_adhoc_ops store_sqlite_adhoc;
extern const struct store_adhoc_ops store_pg_adhoc;
extern const struct store_pushed_ops store_sqlite_pushed;
extern const struct store_pushed_ops store_pg_pushed;

/*
 * Open the store at target, migrating its schema: a path to an SQLite file,
 * or a PostgreSQL URI (postgresql://...).  target may be a ${env:NAME} or
 * ${file:PATH} reference (a connection string holds a password): errors then
 * name the server, never the string.
 */
struct store *store_open(const char *target, struct vigil_error *err);
void store_close(struct store *st);

/*
 * For the backends' pushed->list: move each row of nodes ({name, node,
 * version, sha256, seen_at}) into the "nodes" array of the entry of list
 * with its name.  Takes nodes.
 */
void store_pushed_attach_nodes(json_t *list, json_t *nodes);

#endif
