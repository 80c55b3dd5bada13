/*
 * nabreport.c - the out-of-sample reports of bench/nab (see nabreport.h):
 * they answer "will this threshold hold on data it was not chosen on?",
 * which NAB's in-sample score does not.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nabreport.h"
#include "xmalloc.h"
#include "banned.h"

#define MS_PER_WEEK (7.0 * 86400.0 * 1000.0)

/* Window index containing row r of f, or -1 (windows are sorted). */
static long window_of(const struct nab_file *f, size_t r)
{
	size_t lo = 0, hi = f->nwindows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->windows[mid].last < r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->nwindows && r >= f->windows[lo].first ? (long)lo : -1;
}

static int detected(const struct nab_file *f, size_t r, double theta)
{
	return r >= f->probation && f->scores[r] >= theta;
}

void nab_false_alarms_count(const struct nab_corpus *c, double theta, struct nab_false_alarms *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->nfiles; i++) {
		const struct nab_file *f = &c->files[i];

		if (f->probation >= f->nrows)
			continue;
		out->weeks += (double)(f->ts_ms[f->nrows - 1] - f->ts_ms[f->probation]) / MS_PER_WEEK;
		for (size_t r = f->probation; r < f->nrows; r++) {
			if (window_of(f, r) >= 0)
				continue;
			out->normal++;
			if (!detected(f, r, theta))
				continue;
			out->points++;
			out->events += !(r > 0 && detected(f, r - 1, theta));
		}
	}
}

static double per(double n, double d, double unit)
{
	return d > 0 ? unit * n / d : NAN;
}

void nab_report_false_alarms(FILE *fp, const struct nab_corpus *c, double theta)
{
	struct nab_false_alarms fa;

	nab_false_alarms_count(c, theta, &fa);
	fprintf(fp, "false alarms: %zu points in %zu events over %.1f series-weeks (%zu normal points): "
		"%.2f events and %.2f points per series-week, %.3f points per 1000 normal points\n",
		fa.points, fa.events, fa.weeks, fa.normal, per((double)fa.events, fa.weeks, 1),
		per((double)fa.points, fa.weeks, 1), per((double)fa.points, (double)fa.normal, 1000));
}

static void print_ratio(FILE *fp, size_t fp1, size_t n1, size_t fp4, size_t n4)
{
	double first = per((double)fp1, (double)n1, 1000), last = per((double)fp4, (double)n4, 1000);

	if (!(first > 0))
		fprintf(fp, " %8s\n", last > 0 ? "inf" : "-");
	else
		fprintf(fp, " %8.2f\n", last / first);
}

void nab_report_quarters(FILE *fp, const struct nab_corpus *c, double theta)
{
	size_t tot_fp[4] = { 0 }, tot_n[4] = { 0 }, falling = 0, judged = 0;

	fprintf(fp, "false alarms per 1000 normal points by quarter of each series\n");
	fprintf(fp, "%-40s %8s %8s %8s %8s %8s\n", "file", "Q1", "Q2", "Q3", "Q4", "Q4/Q1");
	for (size_t i = 0; i < c->nfiles; i++) {
		const struct nab_file *f = &c->files[i];
		size_t nfp[4] = { 0 }, nn[4] = { 0 };

		for (size_t r = f->probation; r < f->nrows; r++) {
			size_t q = r * 4 / f->nrows;

			if (window_of(f, r) >= 0)
				continue;
			nn[q]++;
			nfp[q] += detected(f, r, theta);
		}
		fprintf(fp, "%-40s", f->name);
		for (int q = 0; q < 4; q++) {
			fprintf(fp, " %8.3f", per((double)nfp[q], (double)nn[q], 1000));
			tot_fp[q] += nfp[q];
			tot_n[q] += nn[q];
		}
		print_ratio(fp, nfp[0], nn[0], nfp[3], nn[3]);
		if (nn[0] && nn[3] && nfp[0]) {
			judged++;
			falling += 2 * nfp[3] * nn[0] <= nfp[0] * nn[3];
		}
	}
	fprintf(fp, "%-40s", "all files");
	for (int q = 0; q < 4; q++)
		fprintf(fp, " %8.3f", per((double)tot_fp[q], (double)tot_n[q], 1000));
	print_ratio(fp, tot_fp[0], tot_n[0], tot_fp[3], tot_n[3]);
	fprintf(fp, "files whose last-quarter rate is at most half the first: %zu of %zu with first-quarter "
		"false alarms\n", falling, judged);
}

/* The category of a file name ("<category>/<file>.csv"), its length in *len. */
static const char *category_of(const char *name, size_t *len)
{
	const char *slash = strchr(name, '/');

	*len = slash ? (size_t)(slash - name) : 0;
	return name;
}

static int in_category(const struct nab_file *f, const char *cat, size_t len)
{
	size_t flen;
	const char *fc = category_of(f->name, &flen);

	return flen == len && !strncmp(fc, cat, len);
}

/*
 * A corpus sharing the files of `c` that are (keep = 1) or are not (keep =
 * 0) in category `cat`.  Free with free_view(): the files stay c's.
 */
static struct nab_corpus *view(const struct nab_corpus *c, const char *cat, size_t len, int keep)
{
	struct nab_corpus *v = xcalloc(1, sizeof(*v));

	v->files = XNEWARRAY(struct nab_file, c->nfiles ? c->nfiles : 1);
	for (size_t i = 0; i < c->nfiles; i++) {
		if (in_category(&c->files[i], cat, len) != keep)
			continue;
		v->files[v->nfiles++] = c->files[i];
		v->nwindows += c->files[i].nwindows;
		v->nrows += c->files[i].nrows;
	}
	return v;
}

static void free_view(struct nab_corpus *v)
{
	if (v) {
		free(v->files);
		free(v);
	}
}

static double normalise(double raw, double null_score, double perfect)
{
	return perfect != null_score ? 100 * (raw - null_score) / (perfect - null_score) : NAN;
}

static void print_score(FILE *fp, const struct nab_result *r)
{
	if (isnan(r->normalised))
		fprintf(fp, " %8s %8.3f", "-", r->raw);
	else
		fprintf(fp, " %8.2f %8.3f", r->normalised, r->raw);
}

int nab_report_loco(FILE *fp, const struct nab_corpus *c, const struct nab_profile *p, struct vigil_error *err)
{
	struct nab_result all, train, held, ins;
	double raw = 0, null_score = 0, perfect = 0, sum_held = 0, sum_ins = 0;
	size_t ncat = 0, nscored = 0;
	int rc = -1;

	if (nab_optimize(c, p, &all, err))
		return -1;
	fprintf(fp, "leave one category out (%s profile): threshold chosen on the other categories\n", p->name);
	fprintf(fp, "%-28s %5s %5s %-12s %8s %8s %6s %8s %8s\n", "held-out category", "files", "wins",
		"threshold", "held-out", "raw", "FP", "in-smpl", "raw");
	for (size_t i = 0; i < c->nfiles; i++) {
		size_t len;
		const char *cat = category_of(c->files[i].name, &len);
		struct nab_corpus *test, *rest;

		if (i > 0 && in_category(&c->files[i - 1], cat, len))
			continue; /* files are sorted by name, so a category's files are adjacent */
		test = view(c, cat, len, 1);
		rest = view(c, cat, len, 0);
		if (!rest->nfiles) {
			free_view(test);
			free_view(rest);
			return vigil_error_set(err, VIGIL_E_SPEC, "leave-one-category-out needs two categories");
		}
		rc = nab_optimize(rest, p, &train, err) || nab_score_at(test, p, train.threshold, &held, err) ||
		     nab_score_at(test, p, all.threshold, &ins, err) ? -1 : 0;
		if (!rc) {
			fprintf(fp, "%-28.*s %5zu %5zu %-12.6g", (int)len, cat, test->nfiles, test->nwindows,
				train.threshold);
			print_score(fp, &held);
			fprintf(fp, " %6zu", held.fp);
			print_score(fp, &ins);
			fputc('\n', fp);
			raw += held.raw;
			null_score += held.null_score;
			perfect += held.perfect;
			ncat++;
			if (!isnan(held.normalised)) {
				nscored++;
				sum_held += held.normalised;
				sum_ins += ins.normalised;
			}
		}
		free_view(test);
		free_view(rest);
		if (rc)
			return -1;
	}
	fprintf(fp, "mean over the %zu categories with windows: held-out %.2f, in-sample threshold %.2f\n", nscored,
		nscored ? sum_held / (double)nscored : NAN, nscored ? sum_ins / (double)nscored : NAN);
	fprintf(fp, "pooled held-out score (each category at its borrowed threshold) %.2f vs in-sample %.2f "
		"(threshold %.6g on all %zu categories)\n", normalise(raw, null_score, perfect), all.normalised,
		all.threshold, ncat);
	return 0;
}

/* Per kind (printed by name). */
struct kind_tally {
	char *kind;
	size_t planted;
	size_t flagged;  /* a detection anywhere in the window (what NAB counts) */
	size_t after;    /* a detection in the window at or after the onset */
	double *delays;  /* minutes from onset to that detection, one per `after` */
};

struct kinds {
	struct kind_tally *k;
	size_t n;
};

static struct kind_tally *tally_for(struct kinds *ks, const char *kind, size_t max)
{
	for (size_t i = 0; i < ks->n; i++)
		if (!strcmp(ks->k[i].kind, kind))
			return &ks->k[i];
	ks->k = xreallocarray(ks->k, ks->n + 1, sizeof(*ks->k));
	ks->k[ks->n] = (struct kind_tally){ .kind = xstrdup(kind), .delays = XNEWARRAY(double, max) };
	return &ks->k[ks->n++];
}

static void kinds_release(struct kinds *ks)
{
	for (size_t i = 0; i < ks->n; i++) {
		free(ks->k[i].kind);
		free(ks->k[i].delays);
	}
	free(ks->k);
}

/* A timestamp of the kinds file, with or without NAB's ".000000". */
static int parse_ts(json_t *j, int64_t *ms)
{
	const char *s = json_string_value(j);
	size_t len;

	if (!s)
		return -1;
	len = strlen(s);
	if (len > 7 && !strcmp(s + len - 7, ".000000"))
		len -= 7;
	return nab_parse_timestamp(s, len, ms);
}

static long row_at(const struct nab_file *f, int64_t ms)
{
	for (size_t r = 0; r < f->nrows; r++)
		if (f->ts_ms[r] == ms)
			return (long)r;
	return -1;
}

static int cmp_tally(const void *a, const void *b)
{
	return strcmp(((const struct kind_tally *)a)->kind, ((const struct kind_tally *)b)->kind);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One anomaly of the kinds file: tally it; -1 and err if it does not fit the corpus. */
static int tally_anomaly(FILE *fp, const struct nab_corpus *c, const char *name, size_t idx, json_t *a,
			 double theta, struct kinds *ks, size_t max, int per_anomaly, const char *path,
			 struct vigil_error *err)
{
	const char *kind = json_string_value(json_object_get(a, "kind"));
	json_t *win = json_object_get(a, "window");
	long file = nab_corpus_find(c, name), onset, first = -1, later = -1;
	const struct nab_file *f;
	struct kind_tally *t;
	int64_t onset_ms, start_ms;
	size_t k;

	if (file < 0)
		return vigil_error_set(err, VIGIL_E_SPEC, "%s: '%s' is not a file of the corpus", path, name);
	f = &c->files[file];
	if (!kind || !json_is_array(win) || parse_ts(json_object_get(a, "onset"), &onset_ms) ||
	    parse_ts(json_array_get(win, 0), &start_ms))
		return vigil_error_set(err, VIGIL_E_SPEC,
				       "%s: $[\"%s\"][%zu]: want {\"kind\", \"onset\", \"window\": [start, end]}",
				       path, name, idx);
	onset = row_at(f, onset_ms);
	for (k = 0; k < f->nwindows && f->ts_ms[f->windows[k].first] != start_ms; k++)
		;
	if (onset < 0 || k == f->nwindows)
		return vigil_error_set(err, VIGIL_E_SPEC, "%s: $[\"%s\"][%zu]: no %s with that timestamp", path,
				       name, idx, onset < 0 ? "row" : "window");
	for (size_t r = f->windows[k].first; r <= f->windows[k].last && later < 0; r++) {
		if (!detected(f, r, theta))
			continue;
		first = first < 0 ? (long)r : first;
		later = r >= (size_t)onset ? (long)r : -1;
	}
	t = tally_for(ks, kind, max);
	t->planted++;
	t->flagged += first >= 0;
	if (later >= 0)
		t->delays[t->after++] = (double)(f->ts_ms[later] - onset_ms) / 60000.0;
	if (per_anomaly) {
		fprintf(fp, "  %-40s %-20s %-20s", name, kind, json_string_value(json_object_get(a, "onset")));
		if (first >= 0 && first < onset)
			fprintf(fp, " flagged %.0f min before the onset", (double)(onset_ms - f->ts_ms[first]) / 60000.0);
		if (later >= 0)
			fprintf(fp, "%s %.0f min after the onset", first < onset ? "," : " flagged",
				(double)(f->ts_ms[later] - onset_ms) / 60000.0);
		fprintf(fp, first < 0 ? " missed\n" : "\n");
	}
	return 0;
}

int nab_report_kinds(FILE *fp, const struct nab_corpus *c, double theta, const char *kinds_path,
		     int per_anomaly, struct vigil_error *err)
{
	json_error_t jerr;
	json_t *root = json_load_file(kinds_path, 0, &jerr), *list;
	struct kinds ks = { NULL, 0 };
	size_t planted = 0, flagged = 0, after = 0, max = 0;
	const char *name;
	int rc = 0;

	if (!root)
		return vigil_error_set(err, VIGIL_E_SPEC, "%s: %s (line %d)", kinds_path, jerr.text, jerr.line);
	if (!json_is_object(root)) {
		json_decref(root);
		return vigil_error_set(err, VIGIL_E_SPEC, "%s: want an object of files", kinds_path);
	}
	json_object_foreach(root, name, list)
		max += json_array_size(list);
	if (per_anomaly)
		fprintf(fp, "planted anomalies at threshold %.6g\n", theta);
	json_object_foreach(root, name, list) {
		size_t idx;
		json_t *a;

		if (!json_is_array(list)) {
			rc = vigil_error_set(err, VIGIL_E_SPEC, "%s: $[\"%s\"]: want a list", kinds_path, name);
			break;
		}
		json_array_foreach(list, idx, a) {
			rc = tally_anomaly(fp, c, name, idx, a, theta, &ks, max, per_anomaly, kinds_path, err);
			if (rc)
				break;
		}
		if (rc)
			break;
	}
	if (!rc) {
		qsort(ks.k, ks.n, sizeof(*ks.k), cmp_tally);
		fprintf(fp, "detections by kind at threshold %.6g\n", theta);
		fprintf(fp, "%-20s %8s %8s %8s %14s\n", "kind", "planted", "flagged", "onward", "median delay");
		for (size_t i = 0; i < ks.n; i++) {
			struct kind_tally *t = &ks.k[i];

			fprintf(fp, "%-20s %8zu %8zu %8zu", t->kind, t->planted, t->flagged, t->after);
			if (t->after) {
				qsort(t->delays, t->after, sizeof(*t->delays), cmp_double);
				fprintf(fp, " %10.0f min\n", t->after % 2 ? t->delays[t->after / 2] :
					0.5 * (t->delays[t->after / 2 - 1] + t->delays[t->after / 2]));
			} else {
				fprintf(fp, " %14s\n", "-");
			}
			planted += t->planted;
			flagged += t->flagged;
			after += t->after;
		}
		fprintf(fp, "flagged %zu of %zu planted anomalies (%zu at or after the onset)\n", flagged, planted,
			after);
	}
	kinds_release(&ks);
	json_decref(root);
	return rc;
}
