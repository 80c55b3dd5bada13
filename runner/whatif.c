/* whatif.c - score a detector config on history against feedback (whatif.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfmt.h"
#include "log.h"
#include "timefmt.h"
#include "whatif.h"
#include "xmalloc.h"
#include "banned.h"

#define DAY_MS (86400 * 1000LL)

/* One point a detector flagged; series is an index into whatif.names. */
struct flag {
	size_t series;
	int64_t ts;
};

struct flags {
	struct flag *v;
	size_t n, alloc;
};

/* An incident the replayed config raised. */
struct raised {
	size_t series;
	int64_t start, end;        /* end: its end, or the last point looked at while open */
};

/* A stored incident with a verdict. */
struct labelled {
	const struct incident *inc;
	size_t series;             /* index into names, or SIZE_MAX when the replay never saw the series */
	int64_t start, end;
	const char *verdict;       /* "real", "false", "expected" */
};

struct whatif {
	const struct job_spec *spec;
	int64_t from, to;
	size_t runs;
	char **names;              /* series names seen, sorted */
	size_t n_names;
	struct flags *flags;       /* per detector of the spec */
	struct raised *raised;
	size_t n_raised;
};

struct whatif *whatif_new(const struct job_spec *spec, int64_t from_ms, int64_t to_ms)
{
	struct whatif *w = xcalloc(1, sizeof(*w));

	w->spec = spec;
	w->from = from_ms;
	w->to = to_ms;
	w->flags = xcalloc(spec->n_detectors + 1, sizeof(*w->flags));
	return w;
}

void whatif_free(struct whatif *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_names; i++)
		free(w->names[i]);
	free(w->names);
	for (size_t k = 0; k < w->spec->n_detectors; k++)
		free(w->flags[k].v);
	free(w->flags);
	free(w->raised);
	free(w);
}

/* The index of name in the sorted names; *found 0 when absent (then: where it would go). */
static size_t name_find(const struct whatif *w, const char *name, int *found)
{
	size_t lo = 0, hi = w->n_names;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(w->names[mid], name);

		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

/*
 * A name's string stays where it is while the array grows, so flags and
 * incidents keep its address (as an integer) until settle() turns it into
 * an index.
 */
static const char *name_intern(struct whatif *w, const char *name)
{
	int found;
	size_t at = name_find(w, name, &found);

	if (found)
		return w->names[at];
	w->names = xreallocarray(w->names, w->n_names + 1, sizeof(*w->names));
	memmove(w->names + at + 1, w->names + at, (w->n_names - at) * sizeof(*w->names));
	w->names[at] = xstrdup(name);
	w->n_names++;
	return w->names[at];
}

void whatif_on_series(void *arg, const struct job_spec *spec, const struct series *s, struct detection *const *dets,
                      const uint8_t *alerted)
{
	struct whatif *w = arg;
	const char *name = NULL;

	(void)alerted;
	for (size_t k = 0; k < spec->n_detectors; k++) {
		struct flags *f = &w->flags[k];

		if (!dets[k])
			continue;
		for (size_t i = 0; i < s->n; i++) {
			if (!dets[k]->r.anomaly[i])
				continue;
			if (!name)
				name = name_intern(w, s->name);
			if (f->n == f->alloc) {
				f->alloc = f->alloc ? f->alloc * 2 : 64;
				f->v = xreallocarray(f->v, f->alloc, sizeof(*f->v));
			}
			f->v[f->n++] = (struct flag){ (size_t)(uintptr_t)name, s->ts[i] };
		}
	}
}

void whatif_add_run(struct whatif *w, const struct run_report *rep)
{
	w->runs++;
	for (size_t i = 0; i < rep->n_incidents; i++) {
		const struct incident *inc = &rep->incidents[i];
		const char *name;
		size_t k;
		int64_t end = inc->end_ms ? inc->end_ms : inc->last_seen_ms ? inc->last_seen_ms : inc->start_ms;

		if (strcmp(inc->kind, "anomaly") || !*inc->series)
			continue;
		name = name_intern(w, inc->series);
		for (k = 0; k < w->n_raised; k++)
			if ((const char *)(uintptr_t)w->raised[k].series == name && w->raised[k].start == inc->start_ms)
				break;
		if (k == w->n_raised) {
			w->raised = xreallocarray(w->raised, w->n_raised + 1, sizeof(*w->raised));
			w->raised[w->n_raised++] = (struct raised){ (size_t)(uintptr_t)name, inc->start_ms, end };
		} else if (end > w->raised[k].end) {
			w->raised[k].end = end;
		}
	}
}

static size_t index_of(const struct whatif *w, size_t name_ptr)
{
	int found;

	return name_find(w, (const char *)(uintptr_t)name_ptr, &found);
}

static int cmp_flag(const void *a, const void *b)
{
	const struct flag *x = a, *y = b;

	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* Names to indices, flags sorted by (series, time) and counted once. */
static void settle(struct whatif *w)
{
	for (size_t i = 0; i < w->n_raised; i++)
		w->raised[i].series = index_of(w, w->raised[i].series);
	for (size_t k = 0; k < w->spec->n_detectors; k++) {
		struct flags *f = &w->flags[k];
		size_t n = 0;

		for (size_t i = 0; i < f->n; i++)
			f->v[i].series = index_of(w, f->v[i].series);
		if (f->n > 1)
			qsort(f->v, f->n, sizeof(*f->v), cmp_flag);
		for (size_t i = 0; i < f->n; i++)
			if (!n || cmp_flag(&f->v[n - 1], &f->v[i]))
				f->v[n++] = f->v[i];
		f->n = n;
	}
}

/* Does detector k's flags hold a point of series within [start, end]? */
static int flagged_within(const struct flags *f, size_t series, int64_t start, int64_t end)
{
	struct flag key = { series, start };
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_flag(&f->v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n && f->v[lo].series == series && f->v[lo].ts <= end;
}

static int is_real(const struct labelled *l)
{
	return !strcmp(l->verdict, "real");
}

struct tally {
	size_t tp, fp, fn, tn, alerts, unlabelled;
};

static json_t *ratio(size_t num, size_t den)
{
	return den ? json_real((double)num / (double)den) : json_null();
}

static json_t *tally_json(const char *name, const char *kind, const char *mode, const struct tally *t, double days)
{
	json_t *o = json_pack("{s:s, s:s}", "name", name, "kind", kind);

	if (mode)
		json_object_set_new(o, "mode", json_string(mode));
	json_object_set_new(o, "alerts", json_integer((json_int_t)t->alerts));
	json_object_set_new(o, "alerts_per_day", days > 0 ? json_real(t->alerts / days) : json_null());
	json_object_set_new(o, "real_alerted", json_integer((json_int_t)t->tp));
	json_object_set_new(o, "real_missed", json_integer((json_int_t)t->fn));
	json_object_set_new(o, "not_real_alerted", json_integer((json_int_t)t->fp));
	json_object_set_new(o, "not_real_quiet", json_integer((json_int_t)t->tn));
	json_object_set_new(o, "precision", ratio(t->tp, t->tp + t->fp));
	json_object_set_new(o, "recall", ratio(t->tp, t->tp + t->fn));
	json_object_set_new(o, "unlabelled_alerts", json_integer((json_int_t)t->unlabelled));
	return o;
}

static void tally_add(struct tally *t, const struct labelled *l, int alerted)
{
	if (is_real(l))
		alerted ? t->tp++ : t->fn++;
	else
		alerted ? t->fp++ : t->tn++;
}

/* The stored incidents of job the replay could have seen, with their newest verdict; *n_unlabelled: the rest. */
static int load_labelled(struct whatif *w, struct store *st, const char *job, struct incident **incs, size_t *n_incs,
                         struct labelled **out, size_t *n_out, size_t *n_unlabelled, struct vigil_error *err)
{
	struct incident_filter f = { .job = job, .all = 1 };
	int64_t seen_from = w->spec->window_ms ? w->from - w->spec->window_ms : INT64_MIN;

	if (!st->backend->incidents || !st->backend->feedback_list)
		return vigil_error_set(err, VIGIL_E_STORE, "the %s store keeps no incidents or feedback", st->backend->name);
	if (st->backend->incidents->list(st, &f, incs, n_incs, err))
		return -1;
	*out = xcalloc(*n_incs + 1, sizeof(**out));
	*n_out = *n_unlabelled = 0;
	for (size_t i = 0; i < *n_incs; i++) {
		const struct incident *inc = &(*incs)[i];
		int64_t end = inc->end_ms ? inc->end_ms : inc->last_seen_ms ? inc->last_seen_ms : inc->start_ms;
		json_t *fb = NULL;
		const char *verdict;
		int found;

		if (strcmp(inc->kind, "anomaly") || !*inc->series || end < seen_from || inc->start_ms > w->to)
			continue;
		if (st->backend->feedback_list(st, inc->id, &fb, err))
			return -1;
		verdict = json_string_value(json_object_get(json_array_get(fb, json_array_size(fb) - 1), "verdict"));
		if (!verdict) {
			(*n_unlabelled)++;
		} else {
			struct labelled *l = &(*out)[(*n_out)++];
			size_t at = name_find(w, inc->series, &found);

			*l = (struct labelled){ inc, found ? at : SIZE_MAX, inc->start_ms, end,
			                        !strcmp(verdict, "real") ? "real" : !strcmp(verdict, "false") ? "false"
			                                                                                      : "expected" };
		}
		json_decref(fb);
	}
	return 0;
}

int whatif_score(struct whatif *w, struct store *st, const char *job, json_t **out, struct vigil_error *err)
{
	const struct job_spec *spec = w->spec;
	struct incident *incs = NULL;
	struct labelled *lab = NULL;
	size_t n_incs = 0, n_lab = 0, n_unlabelled = 0, counts[3] = { 0 };
	double days = (double)(w->to - w->from) / DAY_MS;
	struct tally cfg = { 0 };
	json_t *scores, *list, *o;
	char when[40];

	settle(w);
	if (!job)
		job = spec->name;
	if (load_labelled(w, st, job, &incs, &n_incs, &lab, &n_lab, &n_unlabelled, err)) {
		incidents_free(incs, n_incs);
		free(lab);
		return -1;
	}
	scores = json_array();
	list = json_array();
	for (size_t i = 0; i < n_lab; i++) {
		const struct labelled *l = &lab[i];
		int hit = 0;
		json_t *by = json_array(), *e;

		counts[is_real(l) ? 0 : !strcmp(l->verdict, "false") ? 1 : 2]++;
		for (size_t r = 0; r < w->n_raised && l->series != SIZE_MAX; r++)
			hit |= w->raised[r].series == l->series && w->raised[r].start <= l->end && l->start <= w->raised[r].end;
		tally_add(&cfg, l, hit);
		for (size_t k = 0; k < spec->n_detectors; k++)
			if (l->series != SIZE_MAX && flagged_within(&w->flags[k], l->series, l->start, l->end))
				json_array_append_new(by, json_string(spec->detectors[k].id));
		e = json_pack("{s:I, s:s, s:I, s:I, s:s, s:b, s:o}", "id", (json_int_t)l->inc->id, "series", l->inc->series,
		              "start", (json_int_t)l->start, "end", (json_int_t)l->end, "verdict", l->verdict,
		              "alerted", hit, "flagged_by", by);
		time_format_iso(l->start, when, sizeof(when));
		json_object_set_new(e, "start_time", json_string(when));
		json_array_append_new(list, e);
	}
	cfg.alerts = w->n_raised;
	for (size_t r = 0; r < w->n_raised; r++) {
		int touches = 0;

		for (size_t i = 0; i < n_lab && !touches; i++)
			touches = lab[i].series == w->raised[r].series && w->raised[r].start <= lab[i].end &&
			          lab[i].start <= w->raised[r].end;
		cfg.unlabelled += !touches;
	}
	json_array_append_new(scores, tally_json("config", "config", NULL, &cfg, days));
	for (size_t k = 0; k < spec->n_detectors; k++) {
		const struct flags *f = &w->flags[k];
		struct tally t = { .alerts = f->n };

		for (size_t i = 0; i < n_lab; i++)
			tally_add(&t, &lab[i], lab[i].series != SIZE_MAX &&
			          flagged_within(f, lab[i].series, lab[i].start, lab[i].end));
		for (size_t p = 0; p < f->n; p++) {
			int inside = 0;

			for (size_t i = 0; i < n_lab && !inside; i++)
				inside = lab[i].series == f->v[p].series && lab[i].start <= f->v[p].ts && f->v[p].ts <= lab[i].end;
			t.unlabelled += !inside;
		}
		json_array_append_new(scores, tally_json(spec->detectors[k].id, "detector",
		                                         spec->detectors[k].mode == MODE_SHADOW ? "shadow" : "alert", &t,
		                                         days));
	}
	o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "job", job, "spec", spec->name, "from", (json_int_t)w->from,
	              "to", (json_int_t)w->to, "runs", (json_int_t)w->runs);
	json_object_set_new(o, "days", json_real(days));
	json_object_set_new(o, "labelled", json_pack("{s:I, s:I, s:I}", "real", (json_int_t)counts[0], "false",
	                                             (json_int_t)counts[1], "expected", (json_int_t)counts[2]));
	json_object_set_new(o, "unlabelled_incidents", json_integer((json_int_t)n_unlabelled));
	json_object_set_new(o, "scores", scores);
	json_object_set_new(o, "incidents", list);
	*out = o;
	incidents_free(incs, n_incs);
	free(lab);
	return 0;
}

static void print_ratio(FILE *out, const json_t *v, int width)
{
	if (json_is_number(v))
		fprintf(out, " %*.2f", width, json_number_value(v));
	else
		fprintf(out, " %*s", width, "-");
}

/* "2 of 3" right-aligned in width */
static void print_of(FILE *out, json_int_t n, json_int_t of, int width)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%lld of %lld", (long long)n, (long long)of);
	fprintf(out, " %*s", width, buf);
}

void whatif_print(const json_t *score, FILE *out)
{
	const json_t *lab = json_object_get(score, "labelled"), *s, *apd;
	json_int_t real = json_integer_value(json_object_get(lab, "real"));
	json_int_t no = json_integer_value(json_object_get(lab, "false")) + json_integer_value(json_object_get(lab,
	                                                                                                        "expected"));
	char from[40], to[40], esc[256], esc2[256];
	size_t i;

	time_format_iso(json_integer_value(json_object_get(score, "from")), from, sizeof(from));
	time_format_iso(json_integer_value(json_object_get(score, "to")), to, sizeof(to));
	fprintf(out, "what-if: spec '%s' on the feedback of job '%s', %s to %s (%lld runs, %.4g days)\n",
	        log_escape(esc, sizeof(esc), json_string_value(json_object_get(score, "spec"))),
	        log_escape(esc2, sizeof(esc2), json_string_value(json_object_get(score, "job"))), from, to,
	        (long long)json_integer_value(json_object_get(score, "runs")),
	        json_number_value(json_object_get(score, "days")));
	fprintf(out, "labelled incidents: %lld real, %lld false or expected; %lld without feedback (not scored)\n",
	        (long long)real, (long long)no, (long long)json_integer_value(json_object_get(score, "unlabelled_incidents")));
	if (!real && !no)
		fputs("nothing to score: give feedback with 'vigil feedback INCIDENT real|false|expected'\n", out);
	fprintf(out, "%-30s %7s %8s %11s %12s %9s %7s %10s\n", "", "alerts", "per day", "real caught", "false caught",
	        "precision", "recall", "unlabelled");
	json_array_foreach(json_object_get(score, "scores"), i, s) {
		char name[64];

		if (!strcmp(json_string_value(json_object_get(s, "kind")), "config"))
			snprintf(name, sizeof(name), "the config (incidents)");
		else
			snprintf(name, sizeof(name), "%.20s (%s)", log_escape(esc, sizeof(esc),
			         json_string_value(json_object_get(s, "name"))), json_string_value(json_object_get(s, "mode")));
		apd = json_object_get(s, "alerts_per_day");
		fprintf(out, "%-30s %7lld", name, (long long)json_integer_value(json_object_get(s, "alerts")));
		if (json_is_number(apd))
			fprintf(out, " %8.3g", json_number_value(apd));
		else
			fprintf(out, " %8s", "-");
		print_of(out, json_integer_value(json_object_get(s, "real_alerted")), real, 11);
		print_of(out, json_integer_value(json_object_get(s, "not_real_alerted")), no, 12);
		print_ratio(out, json_object_get(s, "precision"), 9);
		print_ratio(out, json_object_get(s, "recall"), 7);
		fprintf(out, " %10lld\n", (long long)json_integer_value(json_object_get(s, "unlabelled_alerts")));
	}
	fputs("(alerts: incidents for the config, flagged points for a detector; precision and recall count labelled "
	      "incidents only)\n", out);
}
