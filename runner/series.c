/* series.c - owned time series: append, sort, merge duplicates, clip; labels as JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "series.h"
#include "xmalloc.h"
#include "banned.h"

struct series *series_new(const char *name)
{
	struct series *s = XNEW(struct series);

	s->name = xstrdup(name);
	return s;
}

void series_free(struct series *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_labels; i++) {
		free((char *)s->labels[i].key);
		free((char *)s->labels[i].value);
	}
	free(s->labels);
	free(s->name);
	free(s->ts);
	free(s->v);
	free(s);
}

void series_add_label(struct series *s, const char *key, const char *value)
{
	s->labels = xreallocarray(s->labels, s->n_labels + 1, sizeof(*s->labels));
	s->labels[s->n_labels].key = xstrdup(key);
	s->labels[s->n_labels].value = xstrdup(value);
	s->n_labels++;
}

void series_append(struct series *s, int64_t ts, double v)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 16;  /* many one-point series stay small */
		s->ts = xreallocarray(s->ts, s->alloc, sizeof(*s->ts));
		s->v = xreallocarray(s->v, s->alloc, sizeof(*s->v));
	}
	s->ts[s->n] = ts;
	s->v[s->n] = v;
	s->n++;
}

/* Stable merge sort of (ts, v) pairs by ts. */
static void merge_sort(int64_t *ts, double *v, int64_t *tts, double *tv, size_t n)
{
	size_t mid, i, j, k;

	if (n < 2)
		return;
	mid = n / 2;
	merge_sort(ts, v, tts, tv, mid);
	merge_sort(ts + mid, v + mid, tts, tv, n - mid);
	if (ts[mid - 1] <= ts[mid])
		return;
	memcpy(tts, ts, n * sizeof(*ts));
	memcpy(tv, v, n * sizeof(*v));
	for (i = 0, j = mid, k = 0; k < n; k++) {
		if (j >= n || (i < mid && tts[i] <= tts[j])) {
			ts[k] = tts[i];
			v[k] = tv[i++];
		} else {
			ts[k] = tts[j];
			v[k] = tv[j++];
		}
	}
}

int series_normalize(struct series *s, enum dup_policy policy, size_t *n_unordered,
                     size_t *n_merged, struct vigil_error *err)
{
	size_t unordered = 0, merged = 0, o;

	for (size_t i = 1; i < s->n; i++)
		unordered += s->ts[i] < s->ts[i - 1];
	if (unordered) {
		int64_t *tts = XNEWARRAY(int64_t, s->n);
		double *tv = XNEWARRAY(double, s->n);

		merge_sort(s->ts, s->v, tts, tv, s->n);
		free(tts);
		free(tv);
	}
	if (n_unordered)
		*n_unordered = unordered;
	if (policy == DUP_KEEP || s->n < 2) {
		if (n_merged)
			*n_merged = 0;
		return 0;
	}
	for (size_t i = 1, o2 = 0; i < s->n; i++) {
		if (s->ts[i] != s->ts[o2]) {
			o2 = i;
			continue;
		}
		if (policy == DUP_ERROR)
			return vigil_error_set(err, VIGIL_E_DATA, "series '%s': duplicate timestamp", s->name);
	}
	o = 0;
	for (size_t i = 1; i < s->n; i++) {
		if (s->ts[i] == s->ts[o]) {
			merged++;
			/* a missing value never replaces a present one */
			if (!isnan(s->v[i]) && (policy == DUP_LAST || isnan(s->v[o])))
				s->v[o] = s->v[i];
			continue;
		}
		o++;
		s->ts[o] = s->ts[i];
		s->v[o] = s->v[i];
	}
	s->n = o + 1;
	if (n_merged)
		*n_merged = merged;
	return 0;
}

void series_clip(struct series *s, int64_t from, int64_t to)
{
	size_t o = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->ts[i] < from || s->ts[i] > to)
			continue;
		s->ts[o] = s->ts[i];
		s->v[o++] = s->v[i];
	}
	s->n = o;
}

size_t series_count_finite(const struct series *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++)
		k += isfinite(s->v[i]) != 0;
	return k;
}

void series_set_add(struct series_set *set, struct series *s)
{
	if (set->n == set->alloc) {
		set->alloc = set->alloc ? set->alloc * 2 : 8;
		set->items = xreallocarray(set->items, set->alloc, sizeof(*set->items));
	}
	set->items[set->n++] = s;
}

struct series *series_set_find(const struct series_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->items[i]->name, name))
			return set->items[i];
	return NULL;
}

void series_set_release(struct series_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		series_free(set->items[i]);
	free(set->items);
	set->items = NULL;
	set->n = set->alloc = 0;
}

char *series_labels_json(const struct series *s)
{
	json_t *o = json_object();
	char *text;

	for (size_t i = 0; i < s->n_labels; i++)
		json_object_set_new(o, s->labels[i].key, json_string(s->labels[i].value));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text ? text : xstrdup("{}");
}
