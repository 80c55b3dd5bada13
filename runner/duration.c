/*
 * duration.c - durations as text ("90s", "1h30m", "7d").  The one grammar of
 * durations in vigil: the runner's spec fields and the detectors' params
 * (period.c, linked into the plugins through libdetkit) both use it.
 */
#include <stdio.h>

#include "duration.h"
#include "banned.h"

int duration_parse(const char *s, int64_t *ms)
{
	int64_t total = 0;
	int groups = 0;

	if (!s || !*s)
		return -1;
	while (*s) {
		int64_t n = 0, unit;
		const char *start = s;

		while (*s >= '0' && *s <= '9') {
			if (n > (int64_t)1e12)
				return -1;
			n = n * 10 + (*s++ - '0');
		}
		if (s == start)
			return -1;
		if (s[0] == 'm' && s[1] == 's') {
			unit = 1;
			s += 2;
		} else {
			switch (*s) {
			case 's': unit = 1000; break;
			case 'm': unit = 60 * 1000; break;
			case 'h': unit = 3600 * 1000; break;
			case 'd': unit = 86400 * 1000; break;
			case 'w': unit = 7 * 86400 * (int64_t)1000; break;
			default: return -1;
			}
			s++;
		}
		if (__builtin_mul_overflow(n, unit, &n) || __builtin_add_overflow(total, n, &total))
			return -1;
		groups++;
	}
	if (!groups || total <= 0)
		return -1;
	*ms = total;
	return 0;
}

void duration_format(int64_t ms, char *buf, size_t len)
{
	static const struct { int64_t ms; const char *unit; } units[] = {
		{ 7 * 86400 * (int64_t)1000, "w" }, { 86400 * 1000, "d" }, { 3600 * 1000, "h" },
		{ 60 * 1000, "m" }, { 1000, "s" }, { 1, "ms" },
	};
	size_t o = 0;

	if (len)
		buf[0] = '\0';
	if (ms <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && ms > 0; i++) {
		int64_t q = ms / units[i].ms;

		if (!q)
			continue;
		ms -= q * units[i].ms;
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%lld%s", (long long)q, units[i].unit);
	}
}
