/*
 * detector-stats.c - per detector of a job: incidents, precision from the
 * feedback, alerts per day, time to detect, and shadow detectors against
 * the alerting ones on the same incidents (runner/detector-stats.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "detector-stats.h"
#include "xmalloc.h"
#include "banned.h"

#define DAY_MS (86400LL * 1000)
#define MAX_DAYS 366

/* One flagged point: a detector's, on a series (strings point into the rows). */
struct flag {
	const char *det, *series;
	int64_t ts;
	int shadow;
};

static int flag_cmp(const void *a, const void *b)
{
	const struct flag *x = a, *y = b;
	int c = strcmp(x->det, y->det);

	if (!c)
		c = strcmp(x->series, y->series);
	return c ? c : (x->ts > y->ts) - (x->ts < y->ts);
}

/* The index of the first flag of (det, series) at or after ts, or n. */
static size_t flag_lower(const struct flag *f, size_t n, const char *det, const char *series, int64_t ts)
{
	struct flag key = { det, series, ts, 0 };
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (flag_cmp(&f[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first flag of det on series in [from, to], or NULL. */
static const struct flag *first_in(const struct flag *f, size_t n, const char *det, const char *series,
                                   int64_t from, int64_t to)
{
	size_t i = flag_lower(f, n, det, series, from);

	if (i < n && !strcmp(f[i].det, det) && !strcmp(f[i].series, series) && f[i].ts <= to)
		return &f[i];
	return NULL;
}

/* The window of an incident in which a detector's flag counts as agreeing. */
static void window_of(const struct incident *inc, int64_t now_ms, int64_t *from, int64_t *to)
{
	int64_t end = inc->end_ms ? inc->end_ms : inc->last_seen_ms > inc->last_alert_ms ? inc->last_seen_ms
	                                                                                  : inc->last_alert_ms;

	if (!inc->end_ms && end < inc->start_ms)
		end = now_ms;
	*from = inc->start_ms - DETECTOR_STATS_PAD_MS;
	*to = (end > inc->start_ms ? end : inc->start_ms) + DETECTOR_STATS_PAD_MS;
}

static int lists_detector(const struct incident *inc, const char *id)
{
	size_t len = strlen(id);

	for (const char *p = inc->detectors; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);

		if (l == len && !memcmp(p, id, len))
			return 1;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

static int int64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* {"median_ms": m or null, "n": n}; sorts v. */
static json_t *median_json(int64_t *v, size_t n)
{
	json_t *m = json_null();

	if (n) {
		qsort(v, n, sizeof(*v), int64_cmp);
		m = json_integer(n % 2 ? v[n / 2] : v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2);
	}
	return json_pack("{s:o, s:I}", "median_ms", m, "n", (json_int_t)n);
}

/* Verdict counts: 0 real, 1 false, 2 expected, 3 none. */
enum { V_REAL, V_FALSE, V_EXPECTED, V_NONE };

static json_t *verdicts_json(const size_t *c)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}", "real", (json_int_t)c[V_REAL], "false", (json_int_t)c[V_FALSE],
	                      "expected", (json_int_t)c[V_EXPECTED], "none", (json_int_t)c[V_NONE]);

	json_object_set_new(o, "precision", c[V_REAL] + c[V_FALSE]
	                    ? json_real((double)c[V_REAL] / (double)(c[V_REAL] + c[V_FALSE])) : json_null());
	return o;
}

static int verdict_of(struct store *st, int64_t id)
{
	json_t *rows = NULL;
	const char *v;
	int r = V_NONE;

	if (!st->backend->feedback_list || st->backend->feedback_list(st, id, &rows, NULL))
		return V_NONE;
	v = json_string_value(json_object_get(json_array_get(rows, json_array_size(rows) - 1), "verdict"));
	if (v)
		r = !strcmp(v, "real") ? V_REAL : !strcmp(v, "false") ? V_FALSE : !strcmp(v, "expected") ? V_EXPECTED
		                                                                                         : V_NONE;
	json_decref(rows);
	return r;
}

/* The detectors to report: the spec's entries, then any other id the incidents name. */
static json_t *detector_list(const json_t *spec_dets, const struct incident *incs, size_t n)
{
	json_t *list = json_array(), *e;
	size_t i;

	json_array_foreach(spec_dets, i, e) {
		const char *det = json_string_value(json_object_get(e, "detector"));
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *mode = json_string_value(json_object_get(e, "mode"));

		if (!det)
			continue;
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b}", "id", id ? id : det, "detector", det,
		                                      "mode", mode && !strcmp(mode, "shadow") ? "shadow" : "alert",
		                                      "in_spec", 1));
	}
	for (size_t k = 0; k < n; k++) {
		for (const char *p = incs[k].detectors; p && *p;) {
			const char *comma = strchr(p, ',');
			size_t l = comma ? (size_t)(comma - p) : strlen(p), j;
			int known = 0;

			json_array_foreach(list, j, e) {
				const char *id = json_string_value(json_object_get(e, "id"));

				known |= strlen(id) == l && !memcmp(id, p, l);
			}
			if (!known) {
				json_t *id = json_stringn(p, l);

				json_array_append_new(list, json_pack("{s:o, s:o, s:s, s:b}", "id", id, "detector", json_null(),
				                                      "mode", "alert", "in_spec", 0));
			}
			p = comma ? comma + 1 : NULL;
		}
	}
	return list;
}

/* Shadow detector id against the incidents: agreed, missed, and its own episodes. */
static void shadow_compare(json_t *o, const char *id, const struct flag *f, size_t nf, const struct incident *incs,
                           size_t n, const int *verdict, int64_t now_ms)
{
	size_t agreed = 0, missed = 0, agreed_v[4] = { 0 }, missed_v[4] = { 0 }, episodes = 0, alone = 0;
	size_t i = flag_lower(f, nf, id, "", INT64_MIN);

	for (size_t k = 0; k < n; k++) {
		int64_t from, to;

		window_of(&incs[k], now_ms, &from, &to);
		if (first_in(f, nf, id, incs[k].series, from, to)) {
			agreed++;
			agreed_v[verdict[k]]++;
		} else {
			missed++;
			missed_v[verdict[k]]++;
		}
	}
	/* its episodes: flags of one series less than the pad apart */
	while (i < nf && !strcmp(f[i].det, id)) {
		size_t j = i;
		int touches = 0;

		while (j + 1 < nf && !strcmp(f[j + 1].det, id) && !strcmp(f[j + 1].series, f[i].series) &&
		       f[j + 1].ts - f[j].ts < DETECTOR_STATS_PAD_MS)
			j++;
		for (size_t k = 0; k < n && !touches; k++) {
			int64_t from, to;

			window_of(&incs[k], now_ms, &from, &to);
			touches = !strcmp(incs[k].series, f[i].series) && f[i].ts <= to && f[j].ts >= from;
		}
		episodes++;
		alone += !touches;
		i = j + 1;
	}
	json_object_set_new(o, "shadow", json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}", "would_have_alerted",
	                                           (json_int_t)episodes, "agreed", (json_int_t)agreed, "missed",
	                                           (json_int_t)missed, "alone", (json_int_t)alone, "agreed_feedback",
	                                           verdicts_json(agreed_v), "missed_feedback",
	                                           verdicts_json(missed_v)));
}

/* The anomaly rows of job since from as sorted flags (strings borrowed from *rows). */
static int load_flags(struct store *st, const char *job, int64_t from, json_t **rows, struct flag **out, size_t *n,
                      struct vigil_error *err)
{
	json_t *row;
	size_t i, k = 0;

	if (st->backend->anomalies_since(st, job, from, DETECTOR_STATS_MAX_FLAGS, rows, err))
		return -1;
	*out = xcalloc(json_array_size(*rows) + 1, sizeof(**out));
	json_array_foreach(*rows, i, row) {
		const char *det = json_string_value(json_object_get(row, "detector"));
		const char *series = json_string_value(json_object_get(row, "series"));
		json_t *shadow = json_object_get(row, "shadow");

		if (!det || !series)
			continue;
		(*out)[k++] = (struct flag){ det, series, json_integer_value(json_object_get(row, "ts")),
		                             json_is_true(shadow) || json_integer_value(shadow) };
	}
	qsort(*out, k, sizeof(**out), flag_cmp);
	*n = k;
	return 0;
}

int detector_stats_job(struct store *st, const char *job, const json_t *detectors, int64_t since_ms,
                       int64_t now_ms, json_t **out, struct vigil_error *err)
{
	struct incident_filter filter = { .job = job, .all = 1, .limit = DETECTOR_STATS_MAX_INCIDENTS };
	struct incident *all = NULL;
	size_t n_all = 0, n = 0, nf = 0, job_v[4] = { 0 }, n_notice = 0;
	size_t days = (size_t)((now_ms - since_ms + DAY_MS - 1) / DAY_MS), i;
	struct flag *flags = NULL;
	json_t *rows = NULL, *list, *e, *o;
	int64_t *notice, *ttd;
	int *verdict;

	if (days < 1)
		days = 1;
	if (days > MAX_DAYS)
		days = MAX_DAYS;
	*out = NULL;
	if (st->backend->incidents && st->backend->incidents->list(st, &filter, &all, &n_all, err))
		return -1;
	/* the anomaly incidents that started in the period (the list is newest first) */
	for (size_t k = 0; k < n_all; k++)
		if (!strcmp(all[k].kind ? all[k].kind : "anomaly", "anomaly") && all[k].start_ms >= since_ms &&
		    all[k].start_ms < now_ms) {
			if (n != k) {
				struct incident t = all[n];

				all[n] = all[k];
				all[k] = t;
			}
			n++;
		}
	if (load_flags(st, job, since_ms - DETECTOR_STATS_PAD_MS, &rows, &flags, &nf, err)) {
		incidents_free(all, n_all);
		return -1;
	}
	verdict = xcalloc(n + 1, sizeof(*verdict));
	notice = xcalloc(n + 1, sizeof(*notice));
	ttd = xcalloc(n + 1, sizeof(*ttd));
	for (size_t k = 0; k < n; k++) {
		verdict[k] = verdict_of(st, all[k].id);
		job_v[verdict[k]]++;
		if (all[k].opened_run_ms >= all[k].start_ms)
			notice[n_notice++] = all[k].opened_run_ms - all[k].start_ms;
	}
	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:b}", "job", job, "since", (json_int_t)since_ms,
	              "until", (json_int_t)now_ms, "days", (json_int_t)days, "incidents", (json_int_t)n, "feedback",
	              verdicts_json(job_v), "notice_delay", median_json(notice, n_notice), "flags_read",
	              (json_int_t)nf, "flags_truncated", json_array_size(rows) >= DETECTOR_STATS_MAX_FLAGS);
	list = detector_list(detectors, all, n);
	json_array_foreach(list, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		int shadow = !strcmp(json_string_value(json_object_get(e, "mode")), "shadow");
		size_t v[4] = { 0 }, count = 0, n_ttd = 0;
		json_t *per_day = json_array();
		size_t *day = xcalloc(days, sizeof(*day));

		for (size_t k = 0; k < n; k++) {
			int64_t from, to;
			const struct flag *first;

			window_of(&all[k], now_ms, &from, &to);
			first = first_in(flags, nf, id, all[k].series, from, to);
			if (shadow ? !first : !lists_detector(&all[k], id))
				continue;
			count++;
			v[verdict[k]]++;
			day[(size_t)((all[k].start_ms - since_ms) / DAY_MS) < days
			    ? (size_t)((all[k].start_ms - since_ms) / DAY_MS) : days - 1]++;
			if (first)
				ttd[n_ttd++] = first->ts - all[k].start_ms;
		}
		for (size_t d = 0; d < days; d++)
			json_array_append_new(per_day, json_integer((json_int_t)day[d]));
		free(day);
		json_object_set_new(e, "incidents", json_integer((json_int_t)count));
		json_object_set_new(e, "per_day", per_day);
		json_object_set_new(e, "alerts_per_day", shadow ? json_real(0) : json_real((double)count / (double)days));
		json_object_set_new(e, "feedback", verdicts_json(v));
		json_object_set_new(e, "time_to_detect", median_json(ttd, n_ttd));
		if (shadow) {
			shadow_compare(e, id, flags, nf, all, n, verdict, now_ms);
			json_object_set_new(e, "alerts_per_day",
			                    json_real((double)json_integer_value(json_object_get(json_object_get(e, "shadow"),
			                                                                         "would_have_alerted")) /
			                              (double)days));
		}
	}
	json_object_set_new(o, "detectors", list);
	free(verdict);
	free(notice);
	free(ttd);
	free(flags);
	json_decref(rows);
	incidents_free(all, n_all);
	*out = o;
	return 0;
}
