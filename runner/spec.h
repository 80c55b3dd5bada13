/*
 * spec.h - job spec v1: parsing and validation.
 *
 * spec_load() checks everything it can without running the job and reports
 * every problem of the file into a diag, each with the file and JSON path.
 * Secret references are checked for syntax only; they are resolved at run
 * time by whoever uses the string.  See docs/spec.md.
 */
#ifndef VIGIL_SPEC_H
#define VIGIL_SPEC_H

#include <jansson.h>
#include <stdint.h>

#include "diag.h"
#include "plugin.h"
#include "source.h"
#include "worker.h"

struct cron;
struct tz;
struct notify_type;
struct exec_program;

enum detector_mode {
	MODE_ALERT,   /* may raise alerts */
	MODE_SHADOW,  /* run and stored, never alerts */
};

struct spec_detector {
	char *id;                  /* unique in the job; defaults to the detector name */
	char *detector;            /* detector name */
	json_t *params;            /* the spec's params object (or NULL) */
	enum detector_mode mode;
	const struct detector_entry *entry;
	int isolate;               /* "isolation": -1 the default, 0 "in-process", 1 "process" */
	struct run_limits limits;  /* "limits" of an isolated plugin's workers */
	int has_limits;
};

enum agree_rule {
	AGREE_ANY,
	AGREE_ALL,
	AGREE_AT_LEAST,
};

/* What a failed run (on_error) or a run without data (on_no_data) does to the job's alert state. */
enum run_state_policy {
	RUN_STATE_ALERT,           /* after error_after such runs in a row: an incident of the job */
	RUN_STATE_OK,              /* as if clean: open incidents of the job resolve, nothing alerts */
	RUN_STATE_KEEP_LAST,       /* nothing changes */
};

struct spec_alert {
	double min_score;          /* default 0: the detectors' own flags decide */
	int64_t recent_ms;         /* 0: no limit by time */
	size_t recent_points;      /* 0: no limit by points */
	enum agree_rule agree;
	unsigned agree_k;          /* for AGREE_AT_LEAST */
	/* The incident life-cycle (runner/incident.h). */
	int64_t resolve_after_ms;  /* back inside the onset band this long; -1: the default (5 points and 15 min) */
	int64_t accept_after_ms;   /* an incident still open this long is accepted; 0: never (default 24h) */
	enum run_state_policy on_error, on_no_data;   /* defaults: alert, keep_last */
	unsigned error_after;      /* failed or empty runs in a row before on_error/on_no_data acts (default 2) */
};

/* What the daemon does with fire times it missed (it was down or busy). */
enum misfire_policy {
	MISFIRE_RUN_ONCE,          /* one run now, covering the missed window (default) */
	MISFIRE_SKIP,              /* nothing: wait for the next fire time */
};

#define SPEC_DEFAULT_MAX_CATCHUP_MS (24LL * 3600 * 1000)
#define SPEC_DEFAULT_TIMEOUT_MS (3600LL * 1000)

struct spec_notify {
	const struct notify_type *type;
	json_t *cfg;
};

struct job_spec {
	char *path;                /* as given */
	char *dir;                 /* directory of the spec file */
	char *name;
	char *description;
	json_t *root;
	const struct source_type *source_type;
	json_t *source;
	int64_t window_ms;         /* 0: whatever the source returns */
	struct spec_detector *detectors;
	size_t n_detectors;
	struct spec_alert alert;
	int has_bounds;            /* "bounds": [lo, hi]: bands are clipped to it (e.g. [0, 100] for percentages) */
	double bound_lo, bound_hi;
	struct spec_notify *notify;
	size_t n_notify;
	char *schedule_expr;       /* NULL when the spec has no schedule */
	char *timezone;
	struct cron *cron;
	/* Runtime keys of "schedule", used by `vigil serve` (see docs/daemon.md). */
	enum misfire_policy misfire;
	int64_t max_catchup_ms;    /* missed fire times older than this are dropped */
	int64_t timeout_ms;        /* a run is stopped after this long */
	/* "labels" and "annotations": objects of strings (empty when absent), for messages. */
	json_t *labels;
	json_t *annotations;
	/* "explain": {"exec": ...}: the job's root-cause executable; NULL: the built-in ranking. */
	const struct exec_program *explain_exec;
};

/*
 * Load and validate the spec at path.  Detector names and params are
 * checked against reg.  Returns the spec, or NULL with every problem in d
 * (d must be initialised with the file's display name).
 */
struct job_spec *spec_load(const char *path, const struct registry *reg, struct diag *d);

/* Same, from a JSON text (for tests and the API); dir is where relative paths start. */
struct job_spec *spec_parse(const char *text, const char *dir, const struct registry *reg,
                            struct diag *d);

void spec_free(struct job_spec *spec);

#endif
