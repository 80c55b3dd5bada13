/*
 * notify.h - telling people what a run found.
 *
 * A notifier type is a const descriptor in the table of notify.c.  check()
 * validates a spec's notify target at validate time.  There are two kinds:
 *
 *  - immediate targets (stdout) have send(): called once per job run;
 *  - queued targets (slack, webhook) have render() and classify(): the run's
 *    alerts are turned into at most one message per run and target
 *    (runner/dispatch.h), rendered to an HTTP body, written to the durable
 *    outbox in the store, and delivered by the sender (runner/outbox.h),
 *    which asks classify() what each HTTP answer means.
 */
#ifndef VIGIL_NOTIFY_H
#define VIGIL_NOTIFY_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <vigil/detector.h>

#include "diag.h"
#include "error.h"
#include "strbuf.h"

struct incident;

/* One alerting point of one series.  The report owns every string. */
struct alert_item {
	char *series;
	struct vigil_label *labels;
	size_t n_labels;
	int64_t ts_ms;
	double value;
	double score;              /* the highest score among agreeing detectors */
	double rarity;             /* the highest rarity among them (-log10 tail probability; detect.h) */
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
	/*
	 * The incidents this run opened, changed or closed (runner/incident.h),
	 * each with its events (enum incident_event bits), in series order,
	 * job-level ones (kind "error", "no_data") last.  Owned.
	 */
	struct incident *incidents;
	unsigned *incident_events;
	size_t n_incidents;
	/* Root-cause hints for the incidents firing together in this run (runner/explain.h), or NULL.  Owned. */
	json_t *hints;
};

void run_report_release(struct run_report *rep);

struct store;

struct notify_ctx {
	FILE *out;                 /* where the stdout notifier (and dry runs) write */
	int dry_run;               /* print what would be sent instead of sending */
	const char *spec_dir;
	/*
	 * Where queued targets' messages and alert state go when the run itself
	 * is not stored (--no-store, replay); NULL: dropped.
	 */
	struct store *outbox;
	int skip_immediate;        /* job_run leaves immediate targets (stdout) to the caller (daemon worker, replay) */
	int print_queued;          /* also print queued targets' messages to out, as dry runs do (replay) */
};

/* The settings every queued target shares (parsed from its config by notify_policy_get). */
struct notify_policy {
	int resolved;              /* tell when a series is back to normal (default on) */
	int64_t repeat_ms;         /* remind of an ongoing anomaly after this long; 0: never (default 4h) */
	int64_t retry_for_ms;      /* keep retrying delivery this long (default 6h) */
	int64_t timeout_ms;        /* one HTTP attempt (default 10s) */
	size_t max_series;         /* series listed in one message */
	int quiet;                 /* quiet hours set */
	int quiet_from, quiet_to;  /* minutes of the day, [from, to), wrapping past midnight */
	const char *quiet_tz;      /* IANA zone of the quiet hours (borrowed from cfg) */
	const char *chart_base_url; /* vigil's UI, for chart links (borrowed), or NULL */
};

/* One incident in a message. */
struct notify_series {
	const char *series;        /* "" for a job-level incident (inc->kind "error" or "no_data") */
	const struct vigil_label *labels;
	size_t n_labels;
	const struct incident *inc; /* what the entry is about (runner/store.h) */
	const struct alert_item *alert;  /* the series' newest alerting point in this run, or NULL */
	size_t n_points;           /* alerting points of the incident */
	double max_score;          /* the peak's score */
	int64_t since_ms;          /* the incident's start */
	int64_t last_alert_ms;     /* its newest alerting point (0: unknown) */
	double last_value;         /* the series' newest value (NaN: none) */
	int repeat;                /* firing: a reminder of an incident already notified ("still firing since") */
};

/*
 * What one message says: the incidents of a job run that fire (new, or a
 * reminder; an incident that opened and closed inside the run is listed
 * here too, closed) and those that closed (resolved or accepted).
 */
struct notify_message {
	const char *job;
	int64_t run_id;            /* 0 when not stored */
	int64_t scheduled_ms;
	const struct notify_series *firing;   /* job-level first, then the most unusual first */
	size_t n_firing;
	const struct notify_series *resolved;
	size_t n_resolved;
	size_t n_ongoing;          /* incidents still open but already notified: counted, not listed */
	int muted;                 /* rendered for the record of a muted message */
	const json_t *labels;      /* the job's "labels" (an object of strings), or NULL */
	const json_t *annotations; /* the job's "annotations", or NULL */
	const json_t *hints;       /* root-cause hints of the run's incident group (runner/explain.h), or NULL */
	/*
	 * Links to incident pages (notify_link_url).  An incident has a page
	 * when the run is stored (run_id != 0): one already stored has its id;
	 * one this run opens gets its id when the run's transaction writes it,
	 * so its link holds id_token and the index of the incident in
	 * `incidents` (the run report's), which the store replaces by the id
	 * (notify_fill_incident_ids).  id_token NULL: new incidents have no
	 * page yet (dry runs) and link to their series.
	 */
	const struct incident *incidents;
	size_t n_incidents;
	const char *id_token;
};

/* What an HTTP answer means for the message and its destination. */
enum notify_verdict_kind {
	VERDICT_SENT,              /* delivered */
	VERDICT_RETRY,             /* transient: retry with backoff (after Retry-After on 429) */
	VERDICT_FAILED,            /* this message will never be accepted: do not retry */
	VERDICT_BROKEN,            /* the destination is gone or refuses: hold it until someone looks */
};

struct notify_verdict {
	enum notify_verdict_kind kind;
	char error[256];           /* for people and the outbox: "HTTP 404 channel_not_found: ..." */
};

struct notify_type {
	const char *name;
	const char *summary;
	const char *const *keys;   /* allowed keys besides "type", NULL-terminated */
	void (*check)(const json_t *cfg, struct diag *d, const char *path);
	/* Immediate targets: deliver the report.  Returns 0, or -1 with err set.  NULL for queued targets. */
	int (*send)(const json_t *cfg, const struct run_report *rep, const struct notify_ctx *ctx,
	            struct vigil_error *err);
	/* Queued targets (NULL otherwise).  The destination URL as written in cfg (a secret reference). */
	const char *(*dest)(const json_t *cfg);
	/* Extra HTTP headers as a JSON object text (values may hold references), or NULL; caller frees. */
	char *(*headers)(const json_t *cfg);
	/* Append the HTTP body for msg to body.  Returns 0, or -1 with err set. */
	int (*render)(const json_t *cfg, const struct notify_policy *pol, const struct notify_message *msg,
	              struct strbuf *body, struct vigil_error *err);
	/* Classify an HTTP answer (status, body capped by the caller).  status 0: no answer (connection error). */
	void (*classify)(long status, const char *body, size_t len, struct notify_verdict *v);
};

extern const struct notify_type notify_stdout;
extern const struct notify_type notify_slack;
extern const struct notify_type notify_webhook;

const struct notify_type *notify_find(const char *name);
const char *const *notify_names(void);
void notify_check_keys(const struct notify_type *t, const json_t *cfg, struct diag *d, const char *path);

/* The human-readable summary of a run (used by stdout and dry runs). */
void notify_format_text(const struct run_report *rep, FILE *out);

/*
 * Queued targets share keys (resolved, repeat_interval, retry_for, timeout,
 * max_series, quiet_hours, chart_base_url).  notify_policy_check validates
 * them into d; notify_policy_get reads a validated cfg (default_max is the
 * type's default for max_series, hard_max its limit).
 */
void notify_policy_check(const json_t *cfg, size_t hard_max, struct diag *d, const char *path);
void notify_policy_get(const json_t *cfg, size_t default_max, struct notify_policy *pol);

/* Check a destination URL key: required; for must_ref, a secret reference.  Returns the value or NULL. */
const char *notify_check_url(const json_t *cfg, const char *key, int must_ref, struct diag *d, const char *path);

/*
 * The key naming a target's destination in the store: "<type>:<url reference>",
 * plus " @<dir>" when the reference reads a relative ${file:}.  Never holds
 * a resolved secret.  Caller frees.
 */
char *notify_target_key(const char *type, const char *url_ref, const char *base_dir);

/* Shared by the HTTP targets: the chart link of a series ("" when no base URL). */
void notify_chart_url(struct strbuf *out, const char *base, const char *job, const char *series, int64_t ts_ms);

/* The page of a job: <base>/jobs/<job> ("" when no base URL). */
void notify_job_url(struct strbuf *out, const char *base, const char *job);

/*
 * The incident page of inc, <base>/incidents/<id>, when it has one (see
 * notify_message.id_token); appends nothing and returns 0 otherwise.  For an
 * incident the run opens, the id is a token that the store fills in.
 */
int notify_incident_url(struct strbuf *out, const char *base, const struct notify_message *msg,
                        const struct incident *inc);

/*
 * Where a message links for inc: its incident page, else the chart of its
 * series (an anomaly) or the page of its job (runs failing, no data).
 * Returns 1 for an incident page, 0 otherwise ("" when no base URL).
 */
int notify_link_url(struct strbuf *out, const char *base, const struct notify_message *msg,
                    const struct incident *inc);

/* The id of inc for a message: its stored id, an id token (a string the store replaces), or 0. */
json_t *notify_incident_id_json(const struct notify_message *msg, const struct incident *inc);

/* Fill an id token: "<token>-<index>" of a random token; 47 bytes are enough. */
#define NOTIFY_ID_TOKEN_MAX 48
void notify_id_token_new(char *buf, size_t len);

/*
 * payload with every "<token>-<i>" replaced by ids[i] (and a quoted one,
 * "\"<token>-<i>\"", by the bare number), or NULL when payload holds no
 * token.  Caller frees.
 */
char *notify_fill_incident_ids(const char *payload, const char *token, const int64_t *ids, size_t n);

#endif
