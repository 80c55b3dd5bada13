/*
 * timefmt.h - timestamps and durations as text.
 *
 * vigil's internal time is int64 milliseconds since the Unix epoch, UTC.
 */
#ifndef VIGIL_TIMEFMT_H
#define VIGIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

enum time_format {
	TIME_AUTO,     /* ISO-8601 if it looks like a date, else unix seconds or ms */
	TIME_ISO8601,  /* 2026-11-22T10:00:00Z, 2026-11-22 10:00:00, +02:00 offsets */
	TIME_UNIX,     /* seconds, possibly fractional */
	TIME_UNIX_MS,  /* milliseconds */
};

/*
 * Parse [s, s+len) as a timestamp.  ISO-8601 without an offset is UTC.
 * Returns 0 and sets *ms, or -1 when the text is not a timestamp.
 * In TIME_AUTO, a bare number of magnitude >= 1e11 is milliseconds.
 */
int time_parse(const char *s, size_t len, enum time_format fmt, int64_t *ms);

/* Format as ISO-8601 UTC ("2026-11-22T10:00:00Z", ".123" added when needed). */
void time_format_iso(int64_t ms, char *buf, size_t len);

/* Current time in ms (CLOCK_REALTIME). */
int64_t time_now_ms(void);
/* Monotonic clock in ns, for measuring durations. */
int64_t time_mono_ns(void);

/* Durations: duration_parse() and duration_format(). */
#include "duration.h"

#endif
