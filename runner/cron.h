/*
 * cron.h - cron schedules: when does a job run next.
 *
 * Syntax (Vixie cron's, which is what people copy from crontabs):
 *
 *   minute hour day-of-month month day-of-week
 *     0-59   0-23    1-31      1-12     0-7
 *
 * Each field is a comma-separated list of items: "*", a number, a range
 * "a-b", each of them optionally followed by a step "/n" ("*\/5",
 * "1-30/2"); "a/n" means "a-max/n".  Months may be written jan-dec and
 * weekdays sun-sat, in any case.  0 and 7 are both Sunday, and a weekday
 * range may end on Sunday ("fri-sun", "5-0").  Ranges don't wrap otherwise
 * ("sat-mon" is an error).  Fields are separated by white space.
 *
 * Day of month and day of week: if both fields are restricted, a day matches
 * when EITHER matches ("0 0 13 * fri" runs on every 13th and every Friday).
 * As in Vixie cron, a field counts as unrestricted when it starts with "*",
 * so "*\/2" there is unrestricted and the two fields are then ANDed.
 *
 * Aliases: @yearly and @annually (0 0 1 1 *), @monthly (0 0 1 * *),
 * @weekly (0 0 * * 0), @daily and @midnight (0 0 * * *), @hourly
 * (0 * * * *).  "@every <duration>" runs at a fixed interval: the duration
 * is one or more <number><unit> groups with units s, m, h, d ("30s", "5m",
 * "1h30m", "2d"), at least 1s and at most 366d.
 *
 * Time zones and daylight saving time:
 *   - a schedule is matched against the wall clock of the zone given to
 *     cron_next() (UTC if none);
 *   - a wall-clock time skipped by a spring-forward gap fires once, at the
 *     first instant after the gap (Paris, 02:30 on the last Sunday of March:
 *     03:00 CEST); several skipped times fire together, once;
 *   - a wall-clock time repeated by a fall-back overlap fires once, at its
 *     first occurrence; nothing fires during the repeated part for times
 *     that already fired;
 *   - put another way, a scheduled wall-clock time fires at the first
 *     instant at which the clock reads that time or later;
 *   - @every ignores the zone: it fires at the instants that are multiples
 *     of the interval in seconds since 1970-01-01T00:00:00Z, so "@every 1h"
 *     fires on the hour in UTC and keeps a steady rhythm through DST.
 * This is what Vixie cron and cronie do for jobs at fixed times.  Like them,
 * jobs whose minute or hour field starts with "*" ("*\/5 * * * *",
 * "0 * * * *") follow the clock as it runs instead: a time skipped by the
 * gap does not fire, and a time repeated by the overlap fires on both passes,
 * so a frequent job keeps running through the autumn change (no hour of
 * data without a run).
 */
#ifndef VIGIL_CRON_H
#define VIGIL_CRON_H

#include <stdint.h>

struct tz;
struct vigil_error;
struct cron;

/* Expressions longer than this are refused. */
#define CRON_MAX_EXPR 1024
/*
 * How many years ahead cron_next() looks.  The longest wait of any
 * expression that matches at all is 12 years (the 1st of a month on a given
 * weekday, "0 0 *\/31 3 mon"); Feb 29 waits at most 8 (2096 to 2104).
 */
#define CRON_SEARCH_YEARS 13

/*
 * Parse a cron expression.  Leading and trailing white space is ignored.
 * Returns a new schedule for cron_free(), or NULL with `err` set to a
 * message naming the field and the bad token, e.g.
 * "minute field: '61' is out of range 0-59".
 */
struct cron *cron_parse(const char *expr, struct vigil_error *err);

/* Free a schedule.  NULL is fine. */
void cron_free(struct cron *cron);

/*
 * The first fire time strictly after `after_utc_seconds`, in the zone `tz`
 * (NULL means UTC), following the DST policy above.  `after_utc_seconds`
 * must be within the years 1-9999.
 *
 * Returns 0 and sets *next_utc, or -1 with `err` set when the schedule
 * matches no time within CRON_SEARCH_YEARS ("0 0 30 2 *") or the time is
 * out of range.
 */
int cron_next(const struct cron *cron, const struct tz *tz, int64_t after_utc_seconds,
	      int64_t *next_utc, struct vigil_error *err);

#endif
