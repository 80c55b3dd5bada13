/* timefmt.c - fast timestamp parsing (the CSV hot path) and durations. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil.h"
#include "timefmt.h"
#include "banned.h"

static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_iso(const char *s, size_t len, int64_t *ms)
{
	unsigned y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
	size_t i;
	int64_t offset_s = 0, days;

	if (len < 10 || s[4] != '-' || s[7] != '-')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	i = 10;
	if (i < len && (s[i] == 'T' || s[i] == ' ' || s[i] == 't')) {
		if (len < i + 6 || s[i + 3] != ':')
			return -1;
		if (digits(s + i + 1, 2, &h) || digits(s + i + 4, 2, &mi))
			return -1;
		i += 6;
		if (i < len && s[i] == ':') {
			if (len < i + 3 || digits(s + i + 1, 2, &sec))
				return -1;
			i += 3;
			if (i < len && (s[i] == '.' || s[i] == ',')) {
				unsigned scale = 100;
				size_t start = ++i;

				while (i < len && s[i] >= '0' && s[i] <= '9') {
					frac_ms += (unsigned)(s[i] - '0') * scale;
					scale /= 10;
					i++;
				}
				if (i == start)
					return -1;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return -1;
		if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
			i++;
		} else if (i < len && (s[i] == '+' || s[i] == '-')) {
			unsigned oh, om = 0;
			int sign = s[i] == '-' ? -1 : 1;

			if (len < i + 3 || digits(s + i + 1, 2, &oh))
				return -1;
			i += 3;
			if (i < len && s[i] == ':')
				i++;
			if (i + 2 <= len && !digits(s + i, 2, &om))
				i += 2;
			if (oh > 23 || om > 59)
				return -1;
			offset_s = sign * (int64_t)(oh * 3600 + om * 60);
		}
	}
	if (i != len)
		return -1;
	days = days_from_civil(y, mo, d);
	*ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_s) * 1000 + frac_ms;
	return 0;
}

static int parse_number(const char *s, size_t len, double *v)
{
	char buf[64], *end;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*v = strtod(buf, &end);
	if (end != buf + len || errno || !isfinite(*v))
		return -1;
	return 0;
}

/*
 * Plain decimal "[-]digits[.digits]": exact integer arithmetic, no strtod
 * (the common case of unix timestamps).  Returns 0, or -1 to fall back.
 */
static int parse_decimal_time(const char *s, size_t len, int is_ms, int64_t *ms)
{
	int64_t ip = 0, frac = 0, scale = 1;
	size_t i = 0, digits = 0;
	int neg = 0;

	if (len && s[0] == '-') {
		neg = 1;
		i++;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		if (digits >= 15)
			return -1;
		ip = ip * 10 + (s[i] - '0');
	}
	if (!digits)
		return -1;
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (scale >= 1000000)
				return -1;
			frac = frac * 10 + (s[i] - '0');
			scale *= 10;
		}
	}
	if (i != len)
		return -1;
	if (!is_ms) {
		/* milliseconds rounded half away from zero, as llround() does */
		int64_t r = ip * 1000 + (frac * 1000 * 2 + scale) / (2 * scale);

		*ms = neg ? -r : r;
	} else {
		int64_t r = ip + (frac * 2 >= scale && scale > 1 ? 1 : 0);

		*ms = neg ? -r : r;
	}
	return 0;
}

int time_parse(const char *s, size_t len, enum time_format fmt, int64_t *ms)
{
	double v;

	while (len && (s[len - 1] == ' ' || s[len - 1] == '\r'))
		len--;
	while (len && *s == ' ') {
		s++;
		len--;
	}
	if (fmt == TIME_ISO8601 || (fmt == TIME_AUTO && len >= 10 && s[4] == '-'))
		return parse_iso(s, len, ms);
	if (fmt == TIME_UNIX && !parse_decimal_time(s, len, 0, ms))
		return 0;
	if (fmt == TIME_UNIX_MS && !parse_decimal_time(s, len, 1, ms))
		return 0;
	if (fmt == TIME_AUTO && len < 12 && !parse_decimal_time(s, len, 0, ms))
		return 0;   /* fewer than 12 digits: seconds (ms start at 1e11) */
	if (parse_number(s, len, &v))
		return -1;
	if (!(fmt == TIME_UNIX_MS || (fmt == TIME_AUTO && fabs(v) >= 1e11)))
		v *= 1000.0;
	if (fabs(v) > 9.0e15)
		return -1;
	*ms = (int64_t)llround(v);
	return 0;
}

void time_format_iso(int64_t ms, char *buf, size_t len)
{
	int64_t secs = floor_div64(ms, 1000), days = floor_div64(secs, 86400);
	int64_t rem = secs - days * 86400, y;
	unsigned m, d;
	int frac = (int)(ms - secs * 1000);

	civil_from_days(days, &y, &m, &d);
	if (frac)
		snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
		         (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
	else
		snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
		         (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

int64_t time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
