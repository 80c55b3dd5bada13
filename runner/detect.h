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

/* A detector with its params and state, ready to score series. */
struct detector_instance {
	const struct detector_entry *entry;
	struct vigil_params *params;
	void *state;
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
};

/*
 * Score series s with inst into det (initialised here; release with
 * detection_release even on failure).  Returns 0, or -1 with err set.
 */
int detection_run(const struct detector_instance *inst, const struct series *s,
                  struct detection *det, struct vigil_error *err);
void detection_release(struct detection *det);

/* The reason set for point i, or NULL. */
const char *detection_reason(const struct detection *det, size_t i);

/* Helpers for the host services. */
struct detection *detection_of_result(struct vigil_result *r);
void detection_set_reason(struct detection *det, size_t i, const char *reason);

#endif
