/*
 * series-map.h - find or create a series by its label set, for the sources
 * that return labelled series in pieces (chunks, pages, rows).
 *
 * A series is named like Prometheus prints it, base{k="v",...} with the
 * labels sorted by key ("base" alone without labels, {k="v"} without a
 * base), and the name is its identity: pieces with the same name and labels
 * land in the same series.
 */
#ifndef VIGIL_SERIES_MAP_H
#define VIGIL_SERIES_MAP_H

#include <stddef.h>

#include "series.h"
#include "strbuf.h"

struct series_map {
	struct series **slots;
	size_t cap, n;
	struct series_set *out;
	struct strbuf key;
};

/* New series are appended to out (which owns them). */
void series_map_init(struct series_map *m, struct series_set *out);
/* Frees the map, not the series. */
void series_map_release(struct series_map *m);

/*
 * The series named by base and labels (n pairs, in any order; keys must be
 * distinct), created with copies of the labels if new.  base may be NULL.
 */
struct series *series_map_get(struct series_map *m, const char *base, const struct vigil_label *labels,
                              size_t n);

/* A growable list of owned labels, for building a label set piece by piece. */
struct label_list {
	struct vigil_label *l;
	size_t n, alloc;
};

void label_list_add(struct label_list *ll, const char *key, size_t klen, const char *value, size_t vlen);
void label_list_clear(struct label_list *ll);

struct jscan;
/*
 * Read a JSON object of string values at the scanner's position into ll
 * (added to what it holds).  A non-string value fails the scan with
 * "<what>: <noun> values must be strings".  Returns the last jscan_key()
 * result (0 at the end of the object) or -1.
 */
int label_list_scan(struct label_list *ll, struct jscan *js, const char *what, const char *noun);
void label_list_release(struct label_list *ll);

/* Write the canonical name of base and labels (sorted here) into sb. */
void series_name_format(struct strbuf *sb, const char *base, struct vigil_label *labels, size_t n);

#endif
