/*
 * detect.h - running one configured detector over one series.
 *
 * The host owns the result arrays, initialises them, and afterwards enforces
 * the contract on what the detector wrote: scores clamped to [0, 1] (NaN
 * becomes 0), nothing scored or flagged inside the warm-up.
 */
#ifndef VIGIL_DETECT_H
#define VIGIL_DETECT_H

#include <jansson.h>
#include <vigil/detector.h>

#include "diag.h"
#include "error.h"
#include "plugin.h"
#include "series.h"

struct worker_pool;
struct run_limits;

/* A detector with its params and state, ready to score series. */
struct detector_instance {
	const struct detector_entry *entry;
	struct vigil_params *params;
	void *state;                /* NULL for executables and isolated plugins */
	char *params_json;          /* the merged params, compact JSON (executables, isolated plugins) */
	char *job;                  /* context, sent to executables */
	char *entry_id;
	int64_t run_id;
	struct worker_pool *isolated; /* a plugin's detect() runs in these workers (owned) */
	size_t output_max;          /* isolated: response cap (0: by series size) */
	int64_t timeout_ms;         /* isolated: per series */
};

/* Where and how an instance runs (detector_instance_new_ctx). */
struct detect_context {
	const char *job;
	int64_t run_id;
	const char *entry_id;
	int isolate;                /* -1: registry_isolate_by_default(), 0: in-process, 1: worker processes */
	const struct run_limits *limits; /* for isolated plugins; NULL: the defaults */
};

/*
 * Check params (schema, then the detector's own check()) into d under path.
 * Returns 0 when valid.
 */
int detector_check_params(const struct detector_entry *e, const json_t *params,
                          struct diag *d, const char *path);

/* Build an instance; NULL with err set on failure. */
struct detector_instance *detector_instance_new(const struct detector_entry *e, const json_t *params,
                                                struct vigil_error *err);
void detector_instance_free(struct detector_instance *inst);

/*
 * Build an instance for a job's detector entry: an executable's algorithm
 * (no state here: its workers hold it), a plugin isolated in worker
 * processes (create() runs there), or a plugin in-process (as
 * detector_instance_new).  NULL with err set on failure.
 */
struct detector_instance *detector_instance_new_ctx(const struct detector_entry *e, const json_t *params,
                                                    const struct detect_context *ctx,
                                                    struct vigil_error *err);

/* A reason attached to one point (anomalies are sparse: a list, not an array of n). */
struct point_reason {
	size_t i;
	size_t seq;            /* order of setting: the last reason set for a point wins */
	char *text;
};

/* The result of one detection.  `r` is first so the host can find the container. */
struct detection {
	struct vigil_result r;
	struct point_reason *reasons;
	size_t n_reasons, alloc_reasons;
	int reasons_unsorted;
	uint32_t magic;
	double elapsed_s;      /* time spent in the detector's detect() */
	int mapped[6];         /* which result arrays are mapped, not malloc()ed (detect.c) */
	size_t alloc_n;        /* the points they were made for */
};

/*
 * Score series s with inst into det (initialised here; release with
 * detection_release even on failure).  Returns 0, or -1 with err set.
 */
int detection_run(const struct detector_instance *inst, const struct series *s,
                  struct detection *det, struct vigil_error *err);
void detection_release(struct detection *det);

/* Initialise det for n points: scores 0, no flags, NaN bands (detection_run does it). */
void detection_init(struct detection *det, size_t n);

/* The reason set for point i, or NULL. */
const char *detection_reason(const struct detection *det, size_t i);

/*
 * How unusual point i is, as -log10 of its tail probability: the detector's
 * own rarity when it wrote one (ABI 1.2), else -log10(1 - score) capped at
 * DETECTION_RARITY_MAX.  0 for unscored points.
 */
#define DETECTION_RARITY_MAX 16.0
double detection_rarity(const struct detection *det, size_t i);

/* Helpers for the host services. */
struct detection *detection_of_result(struct vigil_result *r);
void detection_set_reason(struct detection *det, size_t i, const char *reason);

#endif
