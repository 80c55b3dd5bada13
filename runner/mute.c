/* mute.c - mutes (job/series glob patterns until a time) and quiet hours. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "log.h"
#include "mute.h"
#include "tz.h"
#include "xmalloc.h"
#include "banned.h"

int mute_pattern_check(const char *pattern, struct vigil_error *err)
{
	size_t len = strlen(pattern);

	if (!len || len > 256)
		return vigil_error_set(err, VIGIL_E_USAGE, "a pattern must be 1 to 256 characters");
	for (const unsigned char *p = (const unsigned char *)pattern; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return vigil_error_set(err, VIGIL_E_USAGE, "a pattern cannot hold control characters");
	return 0;
}

int mute_pattern_match(const char *pattern, const char *name)
{
	return fnmatch(pattern, name, 0) == 0;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int mute_set_load(struct store *st, const char *job, int64_t now_ms, struct mute_set *set, struct vigil_error *err)
{
	json_t *rows = NULL, *r;
	size_t i;

	memset(set, 0, sizeof(*set));
	if (!st || !st->backend->notify)
		return 0;
	if (st->backend->notify->mutes(st, now_ms, &rows, err))
		return -1;
	set->items = xcalloc(json_array_size(rows) + 1, sizeof(*set->items));
	json_array_foreach(rows, i, r) {
		struct mute *m;

		if (!str(r, "job_pattern") || !mute_pattern_match(str(r, "job_pattern"), job) ||
		    json_integer_value(json_object_get(r, "created_at")) > now_ms)
			continue;   /* another job, or a mute that did not exist yet (backfills judge the past) */
		m = &set->items[set->n++];
		m->id = json_integer_value(json_object_get(r, "id"));
		m->job_pattern = xstrdup(str(r, "job_pattern"));
		m->series_pattern = xstrdup(str(r, "series_pattern") ? str(r, "series_pattern") : "*");
		m->reason = str(r, "reason") ? xstrdup(str(r, "reason")) : NULL;
		m->until_ms = json_integer_value(json_object_get(r, "until_at"));
	}
	json_decref(rows);
	return 0;
}

const struct mute *mute_set_match(const struct mute_set *set, const char *series)
{
	for (size_t i = 0; i < set->n; i++)
		if (mute_pattern_match(set->items[i].series_pattern, series))
			return &set->items[i];
	return NULL;
}

void mute_set_release(struct mute_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->items[i].job_pattern);
		free(set->items[i].series_pattern);
		free(set->items[i].reason);
	}
	free(set->items);
	memset(set, 0, sizeof(*set));
}

int mute_quiet_now(const struct notify_policy *pol, int64_t now_ms)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct tz *tz;
	int64_t utc, local;
	int minute;

	if (!pol->quiet)
		return 0;
	tz = tz_load(pol->quiet_tz ? pol->quiet_tz : "UTC", &err);
	if (!tz) {
		log_warn("notify", "quiet hours ignored: %s", err.msg);
		return 0;
	}
	utc = floor_div64(now_ms, 1000);
	local = utc + tz_offset_at(tz, utc);
	tz_free(tz);
	minute = (int)((local - floor_div64(local, 86400) * 86400) / 60);
	if (pol->quiet_from < pol->quiet_to)
		return minute >= pol->quiet_from && minute < pol->quiet_to;
	return minute >= pol->quiet_from || minute < pol->quiet_to;   /* wraps past midnight */
}
