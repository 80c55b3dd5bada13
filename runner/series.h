/* series.h - an owned time series and a set of them. */
#ifndef VIGIL_SERIES_H
#define VIGIL_SERIES_H

#include <stddef.h>
#include <stdint.h>
#include <vigil/detector.h>

#include "error.h"

struct series {
	char *name;
	struct vigil_label *labels;  /* owned key/value strings */
	size_t n_labels;
	int64_t *ts;                  /* ms since epoch */
	double *v;                    /* NaN = missing */
	size_t n;
	size_t alloc;
};

enum dup_policy {
	DUP_LAST,   /* keep the last value seen for a timestamp (default) */
	DUP_FIRST,  /* keep the first */
	DUP_KEEP,   /* keep every point, in input order */
	DUP_ERROR,  /* a duplicate timestamp is an error */
};

struct series *series_new(const char *name);
void series_free(struct series *s);
void series_add_label(struct series *s, const char *key, const char *value);
/* The labels as a compact JSON object with sorted keys ("{}" without labels); free() it. */
char *series_labels_json(const struct series *s);
void series_append(struct series *s, int64_t ts, double v);

/*
 * Sort points by time (stable) and resolve duplicate timestamps by policy.
 * Reports how many points were out of order and how many duplicates were
 * merged.  Returns 0, or -1 with err set under DUP_ERROR.
 */
int series_normalize(struct series *s, enum dup_policy policy, size_t *n_unordered,
                     size_t *n_merged, struct vigil_error *err);

/* Drop points outside [from, to] (inclusive). */
void series_clip(struct series *s, int64_t from, int64_t to);

/* Number of points with a finite value. */
size_t series_count_finite(const struct series *s);

struct series_set {
	struct series **items;
	size_t n;
	size_t alloc;
};

#define SERIES_SET_INIT { NULL, 0, 0 }

void series_set_add(struct series_set *set, struct series *s);
/* The series named name, or NULL. */
struct series *series_set_find(const struct series_set *set, const char *name);
void series_set_release(struct series_set *set);

#endif
