/* incident.c - the incident life-cycle (see incident.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "incident.h"
#include "strbuf.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

void incident_set_release(struct incident_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		incident_release(&set->items[i]);
	free(set->items);
	free(set->events);
	memset(set, 0, sizeof(*set));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct incident *incident_set_add(struct incident_set *set, const struct incident *src, unsigned events)
{
	struct incident *inc;

	if (set->n == set->alloc) {
		set->alloc = set->alloc ? set->alloc * 2 : 8;
		set->items = xreallocarray(set->items, set->alloc, sizeof(*set->items));
		set->events = xreallocarray(set->events, set->alloc, sizeof(*set->events));
	}
	inc = &set->items[set->n];
	set->events[set->n++] = events;
	*inc = *src;
	inc->job = dup_or_null(src->job);
	inc->series = dup_or_null(src->series);
	inc->kind = dup_or_null(src->kind);
	inc->labels_json = dup_or_null(src->labels_json);
	inc->state = dup_or_null(src->state);
	inc->detectors = dup_or_null(src->detectors);
	inc->evidence = dup_or_null(src->evidence);
	return inc;
}

void incident_set_take(struct incident_set *to, struct incident_set *from)
{
	for (size_t i = 0; i < from->n; i++) {
		if (to->n == to->alloc) {
			to->alloc = to->alloc ? to->alloc * 2 : 8;
			to->items = xreallocarray(to->items, to->alloc, sizeof(*to->items));
			to->events = xreallocarray(to->events, to->alloc, sizeof(*to->events));
		}
		to->items[to->n] = from->items[i];
		to->events[to->n++] = from->events[i];
	}
	free(from->items);
	free(from->events);
	memset(from, 0, sizeof(*from));
}

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = dup_or_null(value);
}

/* ---- one series ----------------------------------------------------------- */

/* The agreeing detectors at point i and the strongest one's figures. */
struct point_view {
	double rarity, score, expected, lower, upper;
	const char *reason;
	struct strbuf who;
};

static int votes(const struct job_spec *spec, struct detection *const *dets, size_t k, size_t i)
{
	return spec->detectors[k].mode == MODE_ALERT && dets[k] && dets[k]->r.anomaly[i] &&
	       dets[k]->r.score[i] >= spec->alert.min_score;
}

static void view_point(const struct job_spec *spec, struct detection *const *dets, size_t i, struct point_view *pv)
{
	double best = -1;

	pv->rarity = pv->score = pv->expected = pv->lower = pv->upper = NAN;
	pv->reason = NULL;
	strbuf_reset(&pv->who);
	for (size_t k = 0; k < spec->n_detectors; k++) {
		double r;

		if (!votes(spec, dets, k, i))
			continue;
		strbuf_addf(&pv->who, "%s%s", pv->who.len ? "," : "", spec->detectors[k].id);
		r = detection_rarity(dets[k], i);
		if (isnan(pv->expected) && !isnan(dets[k]->r.expected[i])) {
			pv->expected = dets[k]->r.expected[i];
			pv->lower = dets[k]->r.lower[i];
			pv->upper = dets[k]->r.upper[i];
		}
		if (r > best) {
			best = r;
			pv->rarity = r;
			pv->score = dets[k]->r.score[i];
			if (detection_reason(dets[k], i))
				pv->reason = detection_reason(dets[k], i);
		}
	}
}

/* Add the ids of who not yet in inc->detectors. */
static void merge_detectors(struct incident *inc, const char *who)
{
	struct strbuf sb = STRBUF_INIT;
	char *copy = xstrdup(who), *p = copy;

	strbuf_addstr(&sb, inc->detectors ? inc->detectors : "");
	while (p && *p) {
		char *comma = strchr(p, ',');
		const char *have = sb.len ? sb.buf : "";
		size_t len;
		int found = 0;

		if (comma)
			*comma = '\0';
		len = strlen(p);
		for (const char *q = have; *q; ) {
			const char *end = strchr(q, ',');
			size_t qlen = end ? (size_t)(end - q) : strlen(q);

			if (qlen == len && !strncmp(q, p, len))
				found = 1;
			q = end ? end + 1 : q + qlen;
		}
		if (!found)
			strbuf_addf(&sb, "%s%s", sb.len ? "," : "", p);
		p = comma ? comma + 1 : NULL;
	}
	free(copy);
	free(inc->detectors);
	inc->detectors = strbuf_detach(&sb);
}

static double clip(const struct job_spec *spec, double v)
{
	if (!spec->has_bounds || isnan(v))
		return v;
	return v < spec->bound_lo ? spec->bound_lo : v > spec->bound_hi ? spec->bound_hi : v;
}

/* An alerting point raises the peak when it is more unusual (ties: further from expected). */
static void take_peak(struct incident *inc, const struct point_view *pv, int64_t ts, double v)
{
	double dev = fabs(v - (isnan(pv->expected) ? inc->onset_expected : pv->expected));
	double old = fabs(inc->peak_value - inc->peak_expected);
	double r = isnan(pv->rarity) ? 0 : pv->rarity;
	double pr = isnan(inc->peak_rarity) ? -1 : inc->peak_rarity;

	if (inc->peak_ms && (r < pr || (r == pr && !(dev > old))))
		return;
	inc->peak_ms = ts;
	inc->peak_value = v;
	inc->peak_expected = isnan(pv->expected) ? inc->onset_expected : pv->expected;
	inc->peak_score = pv->score;
	inc->peak_rarity = pv->rarity;
	if (pv->reason)
		set_str(&inc->evidence, pv->reason);
}

static void start_incident(const struct job_spec *spec, const struct series *s, const struct point_view *pv,
                           size_t i, int64_t run_ms, struct incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->job = xstrdup(spec->name);
	inc->series = xstrdup(s->name);
	inc->kind = xstrdup("anomaly");
	inc->labels_json = series_labels_json(s);
	inc->state = xstrdup("open");
	inc->start_ms = s->ts[i];
	inc->onset_expected = pv->expected;
	inc->onset_lower = clip(spec, pv->lower);
	inc->onset_upper = clip(spec, pv->upper);
	inc->accepted_lower = inc->accepted_upper = NAN;
	inc->peak_value = inc->peak_expected = inc->peak_score = inc->peak_rarity = NAN;
	inc->opened_run_ms = run_ms;
}

static int in_band(double lo, double hi, double v)
{
	return (isnan(lo) || v >= lo) && (isnan(hi) || v <= hi);
}

/* Resolve rule: points and duration back inside the band. */
static void resolve_rule(const struct job_spec *spec, int64_t *need_ms, int64_t *need_points)
{
	if (spec->alert.resolve_after_ms >= 0) {
		*need_ms = spec->alert.resolve_after_ms;
		*need_points = 1;
	} else {
		*need_ms = INCIDENT_DEFAULT_RESOLVE_MS;
		*need_points = INCIDENT_DEFAULT_RESOLVE_POINTS;
	}
}

static int64_t reopen_window(const struct job_spec *spec)
{
	int64_t need_ms, need_points;

	resolve_rule(spec, &need_ms, &need_points);
	return need_ms * 4 > INCIDENT_MIN_REOPEN_MS ? need_ms * 4 : INCIDENT_MIN_REOPEN_MS;
}

/* The series' working incident: a copy (owned strings) that is written back to out when touched. */
struct tracking {
	struct incident cur;
	int have;                  /* cur holds an incident (open or closed) */
	unsigned events;
};

static void flush(struct tracking *t, struct incident_set *out)
{
	if (t->have && t->events)
		incident_set_add(out, &t->cur, t->events | INCIDENT_TOUCHED);
	t->events = 0;
}

void incident_track_series(const struct job_spec *spec, const struct series *s, struct detection *const *dets,
                           const uint8_t *alerted, const struct incident *prev, int64_t run_ms,
                           struct incident_set *out)
{
	struct tracking t = { .have = 0 };
	struct point_view pv = { .who = STRBUF_INIT };
	int64_t cursor = prev ? prev->last_seen_ms : INT64_MIN, need_ms, need_points;
	int64_t accept_ms = spec->alert.accept_after_ms, reopen_ms = reopen_window(spec);

	size_t need_votes = alert_needed(spec, dets);

	resolve_rule(spec, &need_ms, &need_points);
	if (prev) {
		struct incident_set tmp = INCIDENT_SET_INIT;

		incident_set_add(&tmp, prev, 0);
		t.cur = tmp.items[0];
		t.have = 1;
		free(tmp.items);
		free(tmp.events);
	}
	for (size_t i = 0; i < s->n; i++) {
		int64_t ts = s->ts[i];
		double v = s->v[i];
		struct incident *c = &t.cur;
		int open = t.have && !strcmp(c->state, "open");

		int flagged;

		if (ts <= cursor || isnan(v))
			continue;
		/* still anomalous: the detectors agree, even outside "recent" (which only limits onsets) */
		flagged = alerted[i] || (need_votes && alert_votes(spec, dets, i) >= need_votes);
		if (flagged)
			view_point(spec, dets, i, &pv);
		if (!open && alerted[i]) {
			if (t.have && !strcmp(c->state, "accepted") && in_band(c->accepted_lower, c->accepted_upper, v))
				continue;   /* the accepted level: normal now */
			if (t.have && !strcmp(c->state, "resolved") && ts - c->end_ms <= reopen_ms) {
				set_str(&c->state, "open");
				c->end_ms = 0;
				c->flaps++;
				t.events |= INCIDENT_REOPENED;
			} else {
				flush(&t, out);
				if (t.have)
					incident_release(c);
				start_incident(spec, s, &pv, i, run_ms, c);
				t.have = 1;
				t.events |= INCIDENT_OPENED;
			}
			open = 1;
		}
		if (!open)
			continue;
		t.events |= INCIDENT_TOUCHED;
		c->last_seen_ms = ts;
		c->updated_run_ms = run_ms;
		if (flagged) {
			c->n_alerts++;
			c->last_alert_ms = ts;
			c->back_since_ms = 0;
			c->back_points = 0;
			merge_detectors(c, strbuf_str(&pv.who));
			take_peak(c, &pv, ts, v);
		} else if (in_band(c->onset_lower, c->onset_upper, v)) {
			if (!c->back_since_ms) {
				c->back_since_ms = ts;
				c->back_points = 0;
			}
			c->back_points++;
			if (c->back_points >= need_points && ts - c->back_since_ms >= need_ms) {
				set_str(&c->state, "resolved");
				c->end_ms = c->back_since_ms;
				c->back_since_ms = 0;
				c->back_points = 0;
				t.events |= INCIDENT_CLOSED;
				continue;
			}
		} else {
			c->back_since_ms = 0;
			c->back_points = 0;
		}
		if (accept_ms && ts - c->start_ms >= accept_ms && !c->back_since_ms) {
			/* still away from the onset band after accept_after: the new normal level */
			double below = isnan(c->onset_lower) ? 0 : c->onset_expected - c->onset_lower;
			double above = isnan(c->onset_upper) ? 0 : c->onset_upper - c->onset_expected;

			set_str(&c->state, "accepted");
			c->end_ms = ts;
			c->accepted_lower = isnan(below) ? NAN : clip(spec, v - below);
			c->accepted_upper = isnan(above) ? NAN : clip(spec, v + above);
			t.events |= INCIDENT_CLOSED;
		}
	}
	flush(&t, out);
	if (t.have)
		incident_release(&t.cur);
	strbuf_release(&pv.who);
}

/* ---- the job's runs ------------------------------------------------------- */

static void job_incident(const struct job_spec *spec, const char *kind, const char *evidence, int64_t run_ms,
                         struct incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->job = (char *)spec->name;
	inc->series = (char *)"";
	inc->kind = (char *)kind;
	inc->labels_json = (char *)"{}";
	inc->state = (char *)"open";
	inc->start_ms = run_ms;
	inc->last_seen_ms = inc->last_alert_ms = run_ms;
	inc->n_alerts = 1;
	inc->peak_ms = run_ms;
	inc->peak_value = inc->peak_expected = inc->peak_score = inc->peak_rarity = NAN;
	inc->onset_expected = inc->onset_lower = inc->onset_upper = NAN;
	inc->accepted_lower = inc->accepted_upper = NAN;
	inc->evidence = (char *)evidence;
	inc->opened_run_ms = inc->updated_run_ms = run_ms;
}

/* One job-level incident kind: open or update it when bad (enough runs in a row), close it when clear. */
static void track_kind(const struct job_spec *spec, const char *kind, int bad, int64_t streak, int clear,
                       const char *evidence, const struct incident *prev, int64_t run_ms, struct incident_set *out)
{
	unsigned need = spec->alert.error_after ? spec->alert.error_after : 2;
	int open = prev && !strcmp(prev->state, "open");

	if (open && clear) {
		struct incident *c = incident_set_add(out, prev, INCIDENT_CLOSED | INCIDENT_TOUCHED);

		set_str(&c->state, "resolved");
		c->end_ms = run_ms;
		c->last_seen_ms = run_ms;
		c->updated_run_ms = run_ms;
	} else if (open && bad) {
		struct incident *c = incident_set_add(out, prev, INCIDENT_TOUCHED);

		c->n_alerts++;
		c->last_seen_ms = c->last_alert_ms = run_ms;
		c->updated_run_ms = run_ms;
		if (evidence)
			set_str(&c->evidence, evidence);
	} else if (!open && bad && streak >= need) {
		struct incident inc;

		job_incident(spec, kind, evidence, run_ms, &inc);
		inc.n_alerts = streak;
		incident_set_add(out, &inc, INCIDENT_OPENED | INCIDENT_TOUCHED);
	}
}

void incident_track_run(const struct job_spec *spec, int failed, int no_data, const char *error,
                        const struct incident *prev_error, const struct incident *prev_no_data,
                        const struct incident *open, size_t n_open, int64_t run_ms, struct job_health *h,
                        struct incident_set *out)
{
	const struct spec_alert *a = &spec->alert;
	int ok_now = !failed && !no_data;
	int resolve_all = (failed && a->on_error == RUN_STATE_OK) || (!failed && no_data && a->on_no_data == RUN_STATE_OK);

	if (failed) {
		h->failed_runs++;
		set_str(&h->last_error, error);
	} else if (no_data) {
		h->failed_runs = 0;
		h->empty_runs++;
	} else {
		h->failed_runs = h->empty_runs = 0;
		h->last_success_ms = run_ms;
		set_str(&h->last_error, NULL);
	}
	h->updated_run_ms = run_ms;
	track_kind(spec, "error", failed && a->on_error == RUN_STATE_ALERT, h->failed_runs,
	           ok_now || (failed && a->on_error == RUN_STATE_OK), error, prev_error, run_ms, out);
	track_kind(spec, "no_data", !failed && no_data && a->on_no_data == RUN_STATE_ALERT, h->empty_runs,
	           ok_now || (!failed && no_data && a->on_no_data == RUN_STATE_OK),
	           "the source returned no points", prev_no_data, run_ms, out);
	for (size_t i = 0; resolve_all && i < n_open; i++) {
		struct incident *c;

		if (strcmp(open[i].state, "open") || strcmp(open[i].kind, "anomaly"))
			continue;
		c = incident_set_add(out, &open[i], INCIDENT_CLOSED | INCIDENT_TOUCHED);
		set_str(&c->state, "resolved");
		c->end_ms = run_ms;
		c->updated_run_ms = run_ms;
	}
}

/* ---- for people ----------------------------------------------------------- */

void incident_rarity_text(double rarity, char *buf, size_t len)
{
	double odds, mag;
	char digits[32], grouped[48];
	size_t nd, g = 0;

	if (isnan(rarity) || rarity <= 0) {
		snprintf(buf, len, "not unusual");
		return;
	}
	if (rarity >= 9) {   /* past a billion: the power of ten, so a 10-sigma and a 50-sigma point differ */
		snprintf(buf, len, "1 in 10^%.0f", floor(rarity));
		return;
	}
	odds = pow(10, rarity);
	if (odds < 2) {
		snprintf(buf, len, "1 in 2");
		return;
	}
	/* two significant digits, grouped by thousands with spaces: 1 in 40 000 */
	mag = pow(10, floor(log10(odds)) - 1);
	odds = mag >= 1 ? round(odds / mag) * mag : round(odds);
	snprintf(digits, sizeof(digits), "%.0f", odds);
	nd = strlen(digits);
	for (size_t i = 0; i < nd && g + 2 < sizeof(grouped); i++) {
		if (i && (nd - i) % 3 == 0)
			grouped[g++] = ' ';
		grouped[g++] = digits[i];
	}
	grouped[g] = '\0';
	snprintf(buf, len, "1 in %s", grouped);
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *time_or_null(int64_t ms)
{
	char buf[40];

	if (!ms)
		return json_null();
	time_format_iso(ms, buf, sizeof(buf));
	return json_string(buf);
}

json_t *incident_json(const struct incident *inc)
{
	json_t *o = json_object(), *labels = json_loads(inc->labels_json ? inc->labels_json : "{}", 0, NULL);
	json_t *dets = json_array();
	char rare[64];
	const char *p = inc->detectors;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		json_array_append_new(dets, json_stringn(p, len));
		p = comma ? comma + 1 : NULL;
	}
	incident_rarity_text(inc->peak_rarity, rare, sizeof(rare));
	json_object_set_new(o, "id", json_integer(inc->id));
	json_object_set_new(o, "job", json_string(inc->job ? inc->job : ""));
	json_object_set_new(o, "kind", json_string(inc->kind ? inc->kind : "anomaly"));
	json_object_set_new(o, "series", json_string(inc->series ? inc->series : ""));
	json_object_set_new(o, "labels", labels ? labels : json_object());
	json_object_set_new(o, "state", json_string(inc->state ? inc->state : "open"));
	json_object_set_new(o, "start", time_or_null(inc->start_ms));
	json_object_set_new(o, "end", time_or_null(inc->end_ms));
	json_object_set_new(o, "start_ms", json_integer(inc->start_ms));
	json_object_set_new(o, "end_ms", inc->end_ms ? json_integer(inc->end_ms) : json_null());
	json_object_set_new(o, "peak", json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "time", time_or_null(inc->peak_ms),
	                                         "time_ms", inc->peak_ms ? json_integer(inc->peak_ms) : json_null(),
	                                         "value", num_or_null(inc->peak_value), "expected",
	                                         num_or_null(inc->peak_expected), "score", num_or_null(inc->peak_score),
	                                         "rarity", num_or_null(inc->peak_rarity)));
	json_object_set_new(o, "rarity", num_or_null(inc->peak_rarity));
	json_object_set_new(o, "unusual", isfinite(inc->peak_rarity) ? json_string(rare) : json_null());
	json_object_set_new(o, "onset_band", json_pack("{s:o, s:o, s:o}", "expected", num_or_null(inc->onset_expected),
	                                               "lower", num_or_null(inc->onset_lower), "upper",
	                                               num_or_null(inc->onset_upper)));
	json_object_set_new(o, "accepted_band", !strcmp(inc->state ? inc->state : "", "accepted")
	                    ? json_pack("{s:o, s:o}", "lower", num_or_null(inc->accepted_lower), "upper",
	                                num_or_null(inc->accepted_upper)) : json_null());
	json_object_set_new(o, "detectors", dets);
	json_object_set_new(o, "evidence", inc->evidence ? json_string(inc->evidence) : json_null());
	json_object_set_new(o, "points", json_integer(inc->n_alerts));
	json_object_set_new(o, "flaps", json_integer(inc->flaps));
	json_object_set_new(o, "last_alert", time_or_null(inc->last_alert_ms));
	json_object_set_new(o, "last_notified", time_or_null(inc->last_notified_ms));
	json_object_set_new(o, "last_alert_ms", inc->last_alert_ms ? json_integer(inc->last_alert_ms) : json_null());
	json_object_set_new(o, "last_notified_ms",
	                    inc->last_notified_ms ? json_integer(inc->last_notified_ms) : json_null());
	return o;
}
