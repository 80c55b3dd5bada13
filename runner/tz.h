/*
 * tz.h - IANA time zones read from TZif files (RFC 8536).
 *
 * vigil never uses localtime() or the TZ environment variable: each job has
 * its own zone, and a struct tz answers "what is the UTC offset at this
 * instant" and "which instant is this wall-clock time" for that zone only.
 * A loaded zone is immutable, so it may be shared between threads.
 *
 * Times are seconds since 1970-01-01T00:00:00Z ("UTC seconds"), or the same
 * count taken on the zone's wall clock ("local seconds": local = utc +
 * offset).  Leap seconds are not counted, as in POSIX time.
 */
#ifndef VIGIL_TZ_H
#define VIGIL_TZ_H

#include <stdint.h>

struct vigil_error;
struct tz;

/* What tz_local_to_utc() found. */
enum tz_local_kind {
	TZ_LOCAL_UNIQUE = 0, /* the wall-clock time happens exactly once */
	TZ_LOCAL_GAP,        /* skipped (spring forward): it never happens */
	TZ_LOCAL_AMBIGUOUS,  /* repeated (fall back): it happens twice */
};

/*
 * Load the zone called `name` (an IANA name such as "Europe/Paris") from
 * $TZDIR if that is set and not empty, else from /usr/share/zoneinfo.
 * "UTC" and "Etc/UTC" are built in and need no file.  Names that are
 * absolute, contain "..", or contain characters other than letters, digits
 * and "/_-+." are refused, so a name from a job spec can't reach outside the
 * zone directory.  TZif version 2 and later is read with 64-bit times and
 * its POSIX TZ footer (used for instants after the last transition);
 * version 1 files are read with 32-bit times.  Zones with leap seconds
 * ("right/...") are refused.
 *
 * Returns a new zone for tz_free(), or NULL with `err` set.
 */
struct tz *tz_load(const char *name, struct vigil_error *err);

/* Free a zone.  NULL is fine. */
void tz_free(struct tz *tz);

/* The name the zone was loaded with; owned by the zone. */
const char *tz_name(const struct tz *tz);

/*
 * The UTC offset in seconds (east positive: Paris in summer is 7200) in
 * effect at `utc_seconds`.  A NULL zone is UTC.  Instants beyond about
 * +-31 million years are clamped.
 */
long tz_offset_at(const struct tz *tz, int64_t utc_seconds);

/*
 * The first instant after utc_seconds at which the offset may change
 * (INT64_MAX if it never does, e.g. UTC).  The offset is constant from
 * utc_seconds up to, not including, that instant.
 */
int64_t tz_next_transition(const struct tz *tz, int64_t utc_seconds);

/*
 * Convert a wall-clock time to UTC.  `kind`, if not NULL, receives an
 * enum tz_local_kind:
 *   TZ_LOCAL_UNIQUE     *out_utc is the one matching instant;
 *   TZ_LOCAL_AMBIGUOUS  *out_utc is the earlier of the two instants (the
 *                       first time the wall clock shows that time);
 *   TZ_LOCAL_GAP        *out_utc is the instant the gap ends, i.e. the
 *                       first instant whose wall-clock time is later than
 *                       `local_seconds` (for Paris, 02:30 on the spring
 *                       day gives 03:00 CEST = 01:00Z).
 * So in real zones *out_utc is always the first instant at which the wall
 * clock reads `local_seconds` or later.  A NULL zone is UTC.
 *
 * Returns 0, or -1 if `local_seconds` is beyond about +-31 million years.
 */
int tz_local_to_utc(const struct tz *tz, int64_t local_seconds, int64_t *out_utc, int *kind);

#endif
