/*
 * civil.h - proleptic Gregorian calendar arithmetic without gmtime().
 *
 * Howard Hinnant's days_from_civil() and civil_from_days()
 * (https://howardhinnant.github.io/date_algorithms.html).  Day 0 is
 * 1970-01-01.  No tables, no locale, no TZ variable, no static buffers, so
 * the answers depend on nothing but the arguments.
 *
 * timefmt.c and tz.c/cron.c share this header: keep the names stable.
 *
 * Valid for any day count within +-2^60 (callers clamp instants long before
 * that); months are 1-12, days 1-31, weekdays 0-6 with Sunday = 0.
 */
#ifndef VIGIL_CIVIL_H
#define VIGIL_CIVIL_H

#include <stdint.h>

/* A broken-down time, in whatever zone the seconds were counted in. */
struct civil_time {
	int64_t year;
	unsigned mon;   /* 1-12 */
	unsigned mday;  /* 1-31 */
	unsigned hour;  /* 0-23 */
	unsigned min;   /* 0-59 */
	unsigned sec;   /* 0-59 */
	unsigned wday;  /* 0-6, Sunday = 0 */
};

/* Division rounding towards minus infinity (b > 0). */
static inline int64_t floor_div64(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static inline int is_leap_year(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static inline unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned char days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2)
		return 28 + is_leap_year(y);
	return days[(m - 1) % 12];
}

/* Days since 1970-01-01 of year y, month m (1-12), day d (1-31). */
static inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of days_from_civil(). */
static inline void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Day of the week of a day count, Sunday = 0 (1970-01-01 was a Thursday). */
static inline unsigned weekday_from_days(int64_t z)
{
	return (unsigned)(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

/*
 * The day count of the n-th (1-5, 5 = last) weekday wd (0-6, Sunday = 0) of
 * month m of year y: "the last Sunday of March" is (y, 3, 5, 0).
 */
static inline int64_t days_from_nth_weekday(int64_t y, unsigned m, unsigned n, unsigned wd)
{
	int64_t first = days_from_civil(y, m, 1);
	int64_t d = first + (wd + 7 - weekday_from_days(first)) % 7 + 7 * (n - 1);

	while (d >= first + days_in_month(y, m))
		d -= 7;
	return d;
}

/* Seconds since the epoch (in some zone) to a broken-down time. */
static inline void civil_from_seconds(int64_t t, struct civil_time *ct)
{
	int64_t days = floor_div64(t, 86400);
	int64_t rem = t - days * 86400;

	civil_from_days(days, &ct->year, &ct->mon, &ct->mday);
	ct->hour = (unsigned)(rem / 3600);
	ct->min = (unsigned)(rem % 3600 / 60);
	ct->sec = (unsigned)(rem % 60);
	ct->wday = weekday_from_days(days);
}

/* The inverse of civil_from_seconds(); wday is ignored. */
static inline int64_t civil_to_seconds(const struct civil_time *ct)
{
	return days_from_civil(ct->year, ct->mon, ct->mday) * 86400 +
		ct->hour * 3600 + ct->min * 60 + ct->sec;
}

#endif
