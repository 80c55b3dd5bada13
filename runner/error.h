/*
 * error.h - a caller-owned, fixed-size error record (the json_error_t idea).
 *
 * Functions that can fail take a `struct vigil_error *err` (which may be
 * NULL), return -1 or NULL, and describe the failure with vigil_error_set().
 * The first error set wins, so the deepest, most specific cause survives.
 */
#ifndef VIGIL_ERROR_H
#define VIGIL_ERROR_H

#include <stddef.h>

enum vigil_error_code {
	VIGIL_E_NONE = 0,
	VIGIL_E_USAGE,   /* bad command line */
	VIGIL_E_SPEC,    /* invalid job spec */
	VIGIL_E_IO,      /* file or network I/O */
	VIGIL_E_DATA,    /* bad data from a source */
	VIGIL_E_PLUGIN,  /* plugin loading or detector failure */
	VIGIL_E_STORE,   /* the store */
	VIGIL_E_LIMIT,   /* a size or count limit */
	VIGIL_E_INTERNAL,
	VIGIL_E_CONFLICT,  /* the store already has it (a run of this job at this scheduled time) */
};

struct vigil_error {
	enum vigil_error_code code;
	char msg[1024];
};

#define VIGIL_ERROR_INIT { VIGIL_E_NONE, "" }

/* Record an error unless one is already recorded.  Always returns -1. */
int vigil_error_set(struct vigil_error *err, enum vigil_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the recorded message with "prefix: " (e.g. a file name).  Returns -1. */
int vigil_error_prefix(struct vigil_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Forget the recorded error. */
void vigil_error_clear(struct vigil_error *err);

static inline int vigil_error_isset(const struct vigil_error *err)
{
	return err && err->code != VIGIL_E_NONE;
}

#endif
