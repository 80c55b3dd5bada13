/*
 * diag.h - collects every problem found in one spec file.
 *
 * `vigil validate` reports all errors of a file, not only the first, so spec
 * checking appends to a diag instead of stopping at a vigil_error.  Each
 * message reads "<file>: <json path>: <what is wrong>".
 */
#ifndef VIGIL_DIAG_H
#define VIGIL_DIAG_H

#include <jansson.h>
#include <stddef.h>

struct diag {
	char *file;         /* display name of the file */
	char **msgs;
	char **paths;       /* the JSON path of each message, or NULL (for --json) */
	size_t *text_at;    /* where the message proper starts in msgs[i] */
	size_t n;
	size_t alloc;
};

void diag_init(struct diag *d, const char *file);
void diag_release(struct diag *d);

/* Append "<file>: <path>: <message>" (path may be NULL for file-level errors). */
void diag_add(struct diag *d, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Report every key of the JSON object obj that is neither `extra` (may be
 * NULL) nor in the NULL-terminated list keys, as "unknown key <where>",
 * with a did-you-mean suggestion.  where: e.g. "in alert", "for a csv source".
 */
void diag_check_keys(struct diag *d, const void *obj, const char *const *keys, const char *extra,
                     const char *path, const char *where);

/* Print every message, one per line, to stderr. */
void diag_print(const struct diag *d);

/* The messages as a JSON array of {"file", "path" (or null), "message"}. */
json_t *diag_json(const struct diag *d);

/* Child JSON paths: "$.a" + key -> "$.a.key" (or $.a["odd key"]); + index -> "$.a[3]". */
void jpath_key(char *buf, size_t len, const char *parent, const char *key);
void jpath_index(char *buf, size_t len, const char *parent, size_t index);

#define JPATH_MAX 512

#endif
