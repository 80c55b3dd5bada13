/*
 * cron.c - cron expressions: parsing, and finding the next fire time.
 *
 * A parsed expression is one bit set per field.  cron_next() searches the
 * zone's wall clock, jumping to the next matching month, day, hour and
 * minute instead of stepping minute by minute, and only then maps the
 * wall-clock match to an instant with tz_local_to_utc(), which is where
 * the DST policy described in cron.h comes from.  Every loop is bounded:
 * the expression text comes from users and the parser is fuzzed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civil.h"
#include "cron.h"
#include "error.h"
#include "tz.h"
#include "xmalloc.h"
#include "banned.h"

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
#define CRON_TIME_MIN (-62135596800LL)
#define CRON_TIME_MAX 253402300799LL
#define CRON_MAX_EVERY (366 * 86400LL)
/* Wall-clock matches tried inside one fall-back overlap (26h of minutes). */
#define CRON_MAX_REPEATS 2000
/* Longest token quoted in an error message. */
#define CRON_SHOW_MAX 40

enum cron_field { F_MINUTE, F_HOUR, F_MDAY, F_MONTH, F_WDAY, F_COUNT };

struct cron {
	uint64_t bits[F_COUNT];	/* bit v is set when value v matches */
	int mday_star, wday_star;	/* the field starts with '*' (Vixie) */
	int clock_star;		/* the minute or hour field starts with '*' */
	int64_t every;		/* @every interval in seconds, or 0 */
	char *expr;		/* as given, trimmed, for messages */
};

struct field_def {
	const char *name;
	int min, max;
	const char *const *names;	/* three-letter names, or NULL */
	int name_base;		/* the value of names[0] */
	const char *what;	/* what a value may be, for messages */
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};

static const char *const day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const struct field_def fields[F_COUNT] = {
	[F_MINUTE] = { "minute", 0, 59, NULL, 0, "a number" },
	[F_HOUR] = { "hour", 0, 23, NULL, 0, "a number" },
	[F_MDAY] = { "day-of-month", 1, 31, NULL, 0, "a number" },
	[F_MONTH] = { "month", 1, 12, month_names, 1, "a number or a month name" },
	[F_WDAY] = { "day-of-week", 0, 7, day_names, 0, "a number or a day name" },
};

static const struct {
	const char *name;
	const char *expr;
} aliases[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* A token for a message. */
struct shown {
	char s[CRON_SHOW_MAX * 4 + 4];
};

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* [s, s+len) as printable ASCII, the rest as \xNN, cut with "...". */
static const char *show(struct shown *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < len && i < CRON_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
			out->s[o++] = (char)c;
		} else {
			out->s[o++] = '\\';
			out->s[o++] = 'x';
			out->s[o++] = hex[c >> 4];
			out->s[o++] = hex[c & 15];
		}
	}
	if (i < len) {
		memcpy(out->s + o, "...", 3);
		o += 3;
	}
	out->s[o] = '\0';
	return out->s;
}

/* ---- parsing ------------------------------------------------------------- */

/* A number or a name, starting at item[*pos]; *pos moves past it. */
static int parse_value(const struct field_def *fd, const char *item, size_t len,
		       size_t *pos, int *out, struct vigil_error *err)
{
	size_t start = *pos, i = start, k;
	struct shown a, b;
	long v = 0;

	while (i < len && is_alnum((unsigned char)item[i]))
		i++;
	*pos = i;
	if (i == start && start < len)
		return vigil_error_set(err, VIGIL_E_SPEC, "%s field: unexpected '%s' in '%s'",
				       fd->name, show(&a, item + start, 1), show(&b, item, len));
	if (i == start)
		return vigil_error_set(err, VIGIL_E_SPEC, "%s field: '%s' is missing a value",
				       fd->name, show(&a, item, len));
	for (k = start; k < i && is_digit((unsigned char)item[k]); k++)
		if (v < 1000000)
			v = v * 10 + (item[k] - '0');
	if (k == i) {
		if (v < fd->min || v > fd->max)
			return vigil_error_set(err, VIGIL_E_SPEC, "%s field: '%s' is out of range %d-%d",
					       fd->name, show(&a, item + start, i - start),
					       fd->min, fd->max);
		*out = (int)v;
		return 0;
	}
	for (k = 0; fd->names && i - start == 3 && fd->names[k]; k++) {
		if (!strncasecmp(item + start, fd->names[k], 3)) {
			*out = fd->name_base + (int)k;
			return 0;
		}
	}
	return vigil_error_set(err, VIGIL_E_SPEC, "%s field: '%s' is not %s", fd->name,
			       show(&a, item + start, i - start), fd->what);
}

/* One list item: "*", "a", "a-b", each with an optional "/step". */
static int parse_item(struct cron *c, enum cron_field f, const char *item, size_t len,
		      struct vigil_error *err)
{
	const struct field_def *fd = &fields[f];
	int lo, hi, step = 1, v, max_step = fd->max - fd->min + 1;
	size_t pos = 0, start;
	struct shown a, b;
	long n = 0;

	if (item[0] == '*') {
		lo = fd->min;
		hi = fd->max;
		pos = 1;
	} else {
		if (parse_value(fd, item, len, &pos, &lo, err) < 0)
			return -1;
		hi = lo;
		if (pos < len && item[pos] == '-') {
			pos++;
			if (parse_value(fd, item, len, &pos, &hi, err) < 0)
				return -1;
			if (f == F_WDAY && hi == 0 && lo > 0)
				hi = 7;		/* "fri-sun" */
			if (hi < lo)
				return vigil_error_set(err, VIGIL_E_SPEC,
						       "%s field: '%s' is a reversed range",
						       fd->name, show(&a, item, len));
		} else if (pos < len && item[pos] == '/') {
			hi = fd->max;		/* "a/n" is "a-max/n" */
		}
	}
	if (pos < len && item[pos] == '/') {
		start = ++pos;
		while (pos < len && is_digit((unsigned char)item[pos])) {
			if (n < 1000000)
				n = n * 10 + (item[pos] - '0');
			pos++;
		}
		if (pos == start)
			return vigil_error_set(err, VIGIL_E_SPEC, "%s field: '%s' is missing a step",
					       fd->name, show(&a, item, len));
		if (n < 1 || n > max_step)
			return vigil_error_set(err, VIGIL_E_SPEC,
					       "%s field: step '%s' in '%s' is out of range 1-%d",
					       fd->name, show(&a, item + start, pos - start),
					       show(&b, item, len), max_step);
		step = (int)n;
	}
	if (pos != len)
		return vigil_error_set(err, VIGIL_E_SPEC, "%s field: unexpected '%s' in '%s'",
				       fd->name, show(&a, item + pos, 1), show(&b, item, len));
	for (v = lo; v <= hi; v += step)
		c->bits[f] |= 1ULL << v;
	return 0;
}

static int parse_field(struct cron *c, enum cron_field f, const char *s, size_t len,
		       struct vigil_error *err)
{
	size_t i = 0, start;
	struct shown a;

	for (;;) {
		start = i;
		while (i < len && s[i] != ',')
			i++;
		if (i == start)
			return vigil_error_set(err, VIGIL_E_SPEC, "%s field: empty list item in '%s'",
					       fields[f].name, show(&a, s, len));
		if (parse_item(c, f, s + start, i - start, err) < 0)
			return -1;
		if (i == len)
			break;
		i++;
	}
	if (f == F_WDAY && (c->bits[f] & 1ULL << 7))
		c->bits[f] = (c->bits[f] | 1) & ~(1ULL << 7);
	return 0;
}

/* Five fields separated by white space, in [s, s+len) (already trimmed). */
static int parse_fields(struct cron *c, const char *s, size_t len, struct vigil_error *err)
{
	const char *start[F_COUNT];
	size_t flen[F_COUNT], i = 0, b;
	int n = 0, f;

	while (i < len) {
		b = i;
		while (i < len && !is_space((unsigned char)s[i]))
			i++;
		if (n < F_COUNT) {
			start[n] = s + b;
			flen[n] = i - b;
		}
		n++;
		while (i < len && is_space((unsigned char)s[i]))
			i++;
	}
	if (n != F_COUNT)
		return vigil_error_set(err, VIGIL_E_SPEC,
				       "expected 5 fields (minute hour day-of-month month day-of-week), got %d",
				       n);
	for (f = 0; f < F_COUNT; f++)
		if (parse_field(c, (enum cron_field)f, start[f], flen[f], err) < 0)
			return -1;
	c->mday_star = start[F_MDAY][0] == '*';
	c->wday_star = start[F_WDAY][0] == '*';
	c->clock_star = start[F_MINUTE][0] == '*' || start[F_HOUR][0] == '*';
	return 0;
}

/* "30s", "5m", "1h30m", "2d": one or more <number><unit> groups. */
static int parse_every(struct cron *c, const char *s, size_t len, struct vigil_error *err)
{
	int64_t total = 0, n;
	size_t i = 0, start;
	struct shown a;

	if (len == 0)
		return vigil_error_set(err, VIGIL_E_SPEC,
				       "@every: missing duration (e.g. 30s, 5m, 1h30m, 2d)");
	while (i < len) {
		start = i;
		for (n = 0; i < len && is_digit((unsigned char)s[i]); i++)
			if (n <= CRON_MAX_EVERY)
				n = n * 10 + (s[i] - '0');
		if (i == start || i == len || s[i] == '\0' || !strchr("smhd", s[i]))
			return vigil_error_set(err, VIGIL_E_SPEC,
					       "@every: '%s' is not a duration (e.g. 30s, 5m, 1h30m, 2d)",
					       show(&a, s, len));
		switch (s[i++]) {
		case 'd':
			n *= 24;
			/* fall through */
		case 'h':
			n *= 60;
			/* fall through */
		case 'm':
			n *= 60;
			break;
		}
		total += n;
		if (total > CRON_MAX_EVERY)
			return vigil_error_set(err, VIGIL_E_SPEC, "@every: '%s' is longer than 366d",
					       show(&a, s, len));
	}
	if (total < 1)
		return vigil_error_set(err, VIGIL_E_SPEC, "@every: '%s' is shorter than 1s",
				       show(&a, s, len));
	c->every = total;
	return 0;
}

static int parse_alias(struct cron *c, const char *s, size_t len, struct vigil_error *err)
{
	size_t wlen = 0, rest;
	struct shown a, b;
	size_t i;

	while (wlen < len && !is_space((unsigned char)s[wlen]))
		wlen++;
	for (rest = wlen; rest < len && is_space((unsigned char)s[rest]); rest++)
		;
	if (wlen == 6 && !strncasecmp(s, "@every", 6))
		return parse_every(c, s + rest, len - rest, err);
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strlen(aliases[i].name) != wlen || strncasecmp(s, aliases[i].name, wlen))
			continue;
		if (rest < len)
			return vigil_error_set(err, VIGIL_E_SPEC, "unexpected '%s' after '%s'",
					       show(&a, s + rest, len - rest), aliases[i].name);
		return parse_fields(c, aliases[i].expr, strlen(aliases[i].expr), err);
	}
	if (wlen == 7 && !strncasecmp(s, "@reboot", 7))
		return vigil_error_set(err, VIGIL_E_SPEC, "'@reboot' is not supported");
	return vigil_error_set(err, VIGIL_E_SPEC,
			       "unknown schedule '%s' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)",
			       show(&b, s, wlen));
}

struct cron *cron_parse(const char *expr, struct vigil_error *err)
{
	struct cron *c;
	size_t len;
	int rc;

	if (!expr) {
		vigil_error_set(err, VIGIL_E_SPEC, "missing cron expression");
		return NULL;
	}
	len = strnlen(expr, CRON_MAX_EXPR + 1);
	if (len > CRON_MAX_EXPR) {
		vigil_error_set(err, VIGIL_E_SPEC, "cron expression is longer than %d bytes",
				CRON_MAX_EXPR);
		return NULL;
	}
	while (len && is_space((unsigned char)*expr)) {
		expr++;
		len--;
	}
	while (len && is_space((unsigned char)expr[len - 1]))
		len--;
	if (len == 0) {
		vigil_error_set(err, VIGIL_E_SPEC, "empty cron expression");
		return NULL;
	}
	c = XNEW(struct cron);
	c->expr = xstrndup(expr, len);
	if (expr[0] == '@')
		rc = parse_alias(c, expr, len, err);
	else
		rc = parse_fields(c, expr, len, err);
	if (rc < 0) {
		cron_free(c);
		return NULL;
	}
	return c;
}

void cron_free(struct cron *c)
{
	if (!c)
		return;
	free(c->expr);
	free(c);
}

/* ---- matching ------------------------------------------------------------ */

/* The smallest value >= from in the set, or -1. */
static int next_bit(uint64_t bits, unsigned from)
{
	uint64_t m = from >= 64 ? 0 : bits & (~0ULL << from);

	return m ? __builtin_ctzll(m) : -1;
}

static int day_matches(const struct cron *c, unsigned mday, unsigned wday)
{
	int dom = (c->bits[F_MDAY] >> mday) & 1;
	int dow = (c->bits[F_WDAY] >> wday) & 1;

	if (c->mday_star || c->wday_star)
		return dom && dow;
	return dom || dow;	/* both restricted: either will do (Vixie) */
}

/*
 * The first wall-clock minute strictly after `cur` (local seconds) that
 * matches, searching no further than the end of year `last_year`.
 */
static int next_match(const struct cron *c, int64_t cur, int64_t last_year, int64_t *out)
{
	int64_t t = (floor_div64(cur, 60) + 1) * 60;
	int64_t day = floor_div64(t, 86400), y;
	unsigned mon, mday, hour = (unsigned)(t - day * 86400) / 3600;
	unsigned min = (unsigned)(t - day * 86400) % 3600 / 60;
	int h, m;

	civil_from_days(day, &y, &mon, &mday);
	while (y <= last_year) {
		if (!(c->bits[F_MONTH] >> mon & 1)) {
			if (++mon > 12) {
				mon = 1;
				y++;
			}
			day = days_from_civil(y, mon, 1);
			mday = 1;
			hour = min = 0;
			continue;
		}
		if (!day_matches(c, mday, weekday_from_days(day)) ||
		    (h = next_bit(c->bits[F_HOUR], hour)) < 0) {
			civil_from_days(++day, &y, &mon, &mday);
			hour = min = 0;
			continue;
		}
		if ((unsigned)h != hour) {
			hour = (unsigned)h;
			min = 0;
		}
		if ((m = next_bit(c->bits[F_MINUTE], min)) < 0) {
			if (++hour == 24) {
				civil_from_days(++day, &y, &mon, &mday);
				hour = 0;
			}
			min = 0;
			continue;
		}
		*out = day * 86400 + hour * 3600 + (unsigned)m * 60;
		return 0;
	}
	return -1;
}

/*
 * Frequent jobs (minute or hour field starting with '*') follow the wall
 * clock as it runs, as in Vixie cron: walk the segments of constant UTC
 * offset from `after`; in each, the clock runs from segment start + offset,
 * so a time skipped by a gap lies in no segment and never fires, and a time
 * repeated by an overlap lies in two segments and fires twice.
 */
static int next_running_clock(const struct cron *c, const struct tz *tz, int64_t after,
			      int64_t *next, struct vigil_error *err)
{
	int64_t u = after, off = tz_offset_at(tz, after), seg_end = tz_next_transition(tz, after);
	int64_t cur = after + off, local, last_year;
	struct civil_time ct;
	struct shown a;

	civil_from_seconds(cur, &ct);
	last_year = ct.year + CRON_SEARCH_YEARS;
	if (last_year > 9999)
		last_year = 9999;
	for (int i = 0; i < 4 * CRON_SEARCH_YEARS * 8; i++) {
		if (next_match(c, cur, last_year, &local) < 0)
			break;
		if (local - off < seg_end) {
			*next = local - off;
			return 0;
		}
		/* the match lies past this segment: start over in the next one */
		u = seg_end;
		off = tz_offset_at(tz, u);
		seg_end = tz_next_transition(tz, u);
		cur = u + off - 1;
	}
	return vigil_error_set(err, VIGIL_E_SPEC, "'%s' matches no time within %d years",
			       show(&a, c->expr, strlen(c->expr)), CRON_SEARCH_YEARS);
}

int cron_next(const struct cron *c, const struct tz *tz, int64_t after, int64_t *next,
	      struct vigil_error *err)
{
	int64_t cur, last_year, local, utc;
	struct civil_time ct;
	struct shown a;
	int i;

	if (!c || !next)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "cron_next: missing argument");
	if (after < CRON_TIME_MIN || after > CRON_TIME_MAX)
		return vigil_error_set(err, VIGIL_E_LIMIT,
				       "time %lld is outside the years 1-9999", (long long)after);
	if (c->every) {
		*next = (floor_div64(after, c->every) + 1) * c->every;
		return 0;
	}
	if (c->clock_star)
		return next_running_clock(c, tz, after, next, err);
	/*
	 * Every wall-clock time up to local(after) has already been reached
	 * by `after`, so start there.  A match can still map to an instant
	 * <= after when `after` is in the repeated part of a fall-back
	 * overlap: then it fired on the first pass, so move on.
	 */
	cur = after + tz_offset_at(tz, after);
	civil_from_seconds(cur, &ct);
	last_year = ct.year + CRON_SEARCH_YEARS;
	if (last_year > 9999)
		last_year = 9999;
	for (i = 0; i < CRON_MAX_REPEATS; i++) {
		if (next_match(c, cur, last_year, &local) < 0) {
			if (last_year == 9999)
				return vigil_error_set(err, VIGIL_E_LIMIT,
						       "'%s' matches no time before the year 10000",
						       show(&a, c->expr, strlen(c->expr)));
			return vigil_error_set(err, VIGIL_E_SPEC,
					       "'%s' matches no time within %d years",
					       show(&a, c->expr, strlen(c->expr)),
					       CRON_SEARCH_YEARS);
		}
		if (tz_local_to_utc(tz, local, &utc, NULL) < 0) {
			break;
		}
		if (utc > after) {
			*next = utc;
			return 0;
		}
		cur = local;
	}
	return vigil_error_set(err, VIGIL_E_INTERNAL, "'%s': cannot map a wall-clock time to UTC",
			       show(&a, c->expr, strlen(c->expr)));
}
