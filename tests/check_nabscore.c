/*
 * check_nabscore.c - unit tests of the NAB scorer (bench/nabscore.c).
 *
 * Two parts: tiny corpora written to a temp dir, whose scores were worked
 * out by hand from docs/nab-scoring.md (the arithmetic is in the comments;
 * sigma(y) = 2 / (1 + e^(5y)) - 1, M = sigma(-1)); and the shared corpus
 * (../shared/nab from the project root, or $NAB_DIR), where a perfect
 * detector must score ~100, a silent one 0 and a noisy one far below 0.
 *
 * Other checks made while writing the scorer (not repeated here unless
 * cheap):
 *   - an independent brute-force scorer in Python, written from the same
 *     document (every candidate threshold scored from the §5 definition,
 *     exact sums with math.fsum), on the shared corpus with three
 *     deterministic detectors (hash, windowy, noisy below), through the
 *     nab-score CLI reading NAB-layout result files: thresholds identical
 *     and raw and normalised scores equal to all 13 printed digits in all
 *     three profiles; test_real_reference_values keeps two of them;
 *   - the optimiser against nab_score_at() at every candidate threshold
 *     (test_real_sweep_matches_brute_force);
 *   - the shared corpus: 41 files, 137366 rows, 64 windows, no boundary
 *     timestamp repeated, every window after the probationary period;
 *   - everything under valgrind and under ASan/UBSan.
 * Not checked: against NAB's own Python code and published results, which
 * are not available here; the 58-file corpus.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nabscore.h"
#include "xmalloc.h"
#include "banned.h"

static const struct nab_profile *const standard = &nab_profiles[0];
static const struct nab_profile *const low_fp = &nab_profiles[1];
static const struct nab_profile *const low_fn = &nab_profiles[2];

/* ---- a temp dir per test ---- */

static char tmp[64];

static void tmp_setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/check_nabscore.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void rm_rf(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path))) {
		while ((de = readdir(d))) {
			char *sub;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			sub = xasprintf("%s/%s", path, de->d_name);
			rm_rf(sub);
			free(sub);
		}
		closedir(d);
	}
	remove(path);
}

static void tmp_teardown(void)
{
	rm_rf(tmp);
}

/* Write `text` to tmp/rel, creating the directories on the way. */
static void write_text(const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", tmp, rel), *p;
	FILE *f;

	for (p = path + strlen(tmp) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		ck_assert_msg(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s", path);
		*p = '/';
	}
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	free(path);
}

static char *tmp_path(const char *rel)
{
	return xasprintf("%s/%s", tmp, rel);
}

/* A growing string. */
struct sb {
	char *s;
	size_t len, alloc;
};

static void sb_addf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_addf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	if (b->len + (size_t)n + 1 > b->alloc) {
		b->alloc = (b->len + (size_t)n + 1) * 2;
		b->s = xreallocarray(b->s, b->alloc, 1);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Row i of a test file is at 2024-01-01 00:00 plus i minutes. */
static void row_ts(char *buf, size_t size, size_t i)
{
	ck_assert_uint_lt(i, 31 * 1440);
	snprintf(buf, size, "2024-01-%02zu %02zu:%02zu:00", 1 + i / 1440, i / 60 % 24, i % 60);
}

struct tfile {
	const char *name;
	size_t nrows;
	size_t nwindows;
	size_t windows[4][2]; /* inclusive row ranges */
};

/* Write tmp/data/<name> for every file and tmp/labels.json. */
static void write_corpus(const struct tfile *files, size_t n, const char *eol, int final_eol)
{
	struct sb labels = { 0 };
	size_t i, r, k;
	char ts[48], te[48];

	sb_addf(&labels, "{\n");
	for (i = 0; i < n; i++) {
		struct sb data = { 0 };
		char *rel = xasprintf("data/%s", files[i].name);

		sb_addf(&data, "timestamp,value");
		for (r = 0; r < files[i].nrows; r++) {
			row_ts(ts, sizeof(ts), r);
			sb_addf(&data, "%s%s,%zu.5", eol, ts, r % 7);
		}
		if (final_eol)
			sb_addf(&data, "%s", eol);
		write_text(rel, data.s);
		free(data.s);
		free(rel);

		sb_addf(&labels, "  \"%s\": [", files[i].name);
		for (k = 0; k < files[i].nwindows; k++) {
			row_ts(ts, sizeof(ts), files[i].windows[k][0]);
			row_ts(te, sizeof(te), files[i].windows[k][1]);
			sb_addf(&labels, "%s[\"%s.000000\", \"%s.000000\"]", k ? ", " : "", ts, te);
		}
		sb_addf(&labels, "]%s\n", i + 1 < n ? "," : "");
	}
	sb_addf(&labels, "}\n");
	write_text("labels.json", labels.s);
	free(labels.s);
}

static struct nab_corpus *load_tmp(void)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *data = tmp_path("data"), *labels = tmp_path("labels.json");
	struct nab_corpus *c = nab_corpus_load(data, labels, &err);

	ck_assert_msg(c != NULL, "load failed: %s", err.msg);
	free(data);
	free(labels);
	return c;
}

/* Load tmp and expect an error mentioning each of the NULL-terminated words. */
static void expect_load_error(const char *word, ...)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *data = tmp_path("data"), *labels = tmp_path("labels.json");
	struct nab_corpus *c = nab_corpus_load(data, labels, &err);
	va_list ap;

	ck_assert_msg(c == NULL, "load of a bad corpus succeeded");
	ck_assert(vigil_error_isset(&err));
	va_start(ap, word);
	for (; word; word = va_arg(ap, const char *))
		ck_assert_msg(strstr(err.msg, word), "'%s' not in the error '%s'", word, err.msg);
	va_end(ap);
	free(data);
	free(labels);
}

struct pt {
	size_t row;
	double score;
};

/* Give file `name` the score `dflt` on every row except the listed points. */
static void set_points(struct nab_corpus *c, const char *name, double dflt, const struct pt *pts,
		       size_t n)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	long idx = nab_corpus_find(c, name);
	double *s;
	size_t i;

	ck_assert_msg(idx >= 0, "no file %s", name);
	s = XNEWARRAY(double, c->files[idx].nrows + 1);
	for (i = 0; i < c->files[idx].nrows; i++)
		s[i] = dflt;
	for (i = 0; i < n; i++) {
		ck_assert_uint_lt(pts[i].row, c->files[idx].nrows);
		s[pts[i].row] = pts[i].score;
	}
	ck_assert_msg(nab_corpus_set_scores(c, (size_t)idx, s, c->files[idx].nrows, &err) == 0,
		      "%s", err.msg);
	free(s);
}

#define SCORES(c, name, dflt, ...)                                                                 \
	set_points(c, name, dflt, (const struct pt[]){ __VA_ARGS__ },                              \
		   sizeof((const struct pt[]){ __VA_ARGS__ }) / sizeof(struct pt))

static struct nab_result optimize(const struct nab_corpus *c, const struct nab_profile *p)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct nab_result r;

	ck_assert_msg(nab_optimize(c, p, &r, &err) == 0, "%s", err.msg);
	return r;
}

static struct nab_result score_at(const struct nab_corpus *c, const struct nab_profile *p,
				  double theta)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct nab_result r;

	ck_assert_msg(nab_score_at(c, p, theta, &r, &err) == 0, "%s", err.msg);
	return r;
}

#define assert_near(x, y) ck_assert_double_eq_tol((x), (y), 1e-12)

/* One 20-row file (probation floor(0.15 * 20) = 3) with the window [10, 14]. */
static const struct tfile one_window = { "a/x.csv", 20, 1, { { 10, 14 } } };

/* ---- hand-made corpora ---- */

/*
 * A detection at the window's first row earns exactly A_TP: raw 1, and
 * normalised 100 (K = 1, S_null = -A_FN) in every profile.  At theta = 0
 * every scorable row is a detection: the window is worth w_10 = 1; rows
 * 3..9 are before any window, -0.11 each; rows 15..19 follow the window
 * (W = 5), 0.11 sigma(d / 4) for d = 1..5:
 * 1 - 0.77 + 0.11 (-0.5546 - 0.8483 - 0.9526 - 0.9866 - 0.9959)
 * = -0.2473658396442781.
 */
START_TEST(test_window_start)
{
	struct nab_corpus *c;
	struct nab_result r;
	double w[20];
	int i;

	write_corpus(&one_window, 1, "\n", 1);
	c = load_tmp();
	ck_assert_uint_eq(c->nfiles, 1);
	ck_assert_uint_eq(c->nwindows, 1);
	ck_assert_uint_eq(c->files[0].probation, 3);
	ck_assert_uint_eq(c->files[0].windows[0].first, 10);
	ck_assert_uint_eq(c->files[0].windows[0].last, 14);
	SCORES(c, "a/x.csv", 0.0, { 10, 1.0 });
	for (i = 0; i < NAB_NPROFILES; i++) {
		r = optimize(c, &nab_profiles[i]);
		ck_assert_double_eq(r.threshold, 1.0);
		ck_assert_double_eq(r.raw, 1.0);
		ck_assert_double_eq(r.normalised, 100.0);
		ck_assert_double_eq(r.null_score, -nab_profiles[i].fn_weight);
		ck_assert_double_eq(r.perfect, 1.0);
		/* scorable rows 3..19: 5 in the window, 12 outside */
		ck_assert_uint_eq(r.tp, 1);
		ck_assert_uint_eq(r.fp, 0);
		ck_assert_uint_eq(r.fn, 4);
		ck_assert_uint_eq(r.tn, 12);
	}
	r = score_at(c, standard, 0.0);
	assert_near(r.raw, -0.2473658396442781);
	ck_assert_uint_eq(r.tp, 5);
	ck_assert_uint_eq(r.fp, 12);
	ck_assert_uint_eq(r.fn, 0);
	ck_assert_uint_eq(r.tn, 0);
	r = score_at(c, standard, 1.1);
	ck_assert_double_eq(r.raw, -1.0);
	ck_assert_double_eq(r.normalised, 0.0);

	/*
	 * The weights themselves: -A_FP before the window; inside it
	 * sigma(-(14 - i + 1) / 5) / M: 1 at i = 10, sigma(-0.2) / M =
	 * 0.46838684390227814 at i = 14; after it 0.11 sigma((i - 14) / 4).
	 */
	nab_file_weights(&c->files[0], standard, w);
	for (i = 0; i < 10; i++)
		ck_assert_double_eq(w[i], -0.11);
	ck_assert_double_eq(w[10], 1.0);
	assert_near(w[14], 0.46838684390227814);
	assert_near(w[15], -0.06100596945843206);
	for (i = 10; i < 14; i++)
		ck_assert(w[i] > w[i + 1]);
	for (i = 15; i < 19; i++)
		ck_assert(w[i] > w[i + 1]);
	nab_corpus_free(c);
}
END_TEST

/*
 * An FP right after the window: row 15 has y = (15 - 14) / (5 - 1) = 0.25,
 * sigma(0.25) = 2 / (1 + e^1.25) - 1 = -0.5545997223493824.  Scores 1.0 at
 * row 15 and 0.5 at row 10: S(1.1) = -1, S(1) = -1 + A_FP sigma(0.25),
 * S(0.5) = 1 + A_FP sigma(0.25) (the best), S(0) is lower.
 *   standard:  1 - 0.0610060 = 0.9389940305415679, 100 (0.93899 + 1) / 2
 *   low FP:    1 - 0.1220119 = 0.8779880610831359, 100 (0.87799 + 1) / 2
 *   low FN:    0.9389940305415679,                 100 (0.93899 + 2) / 3
 */
START_TEST(test_fp_after_window)
{
	struct nab_corpus *c;
	struct nab_result r;

	write_corpus(&one_window, 1, "\n", 1);
	c = load_tmp();
	SCORES(c, "a/x.csv", 0.0, { 10, 0.5 }, { 15, 1.0 });
	r = optimize(c, standard);
	ck_assert_double_eq(r.threshold, 0.5);
	assert_near(r.raw, 0.9389940305415679);
	assert_near(r.normalised, 96.9497015270784);
	ck_assert_uint_eq(r.tp, 1);
	ck_assert_uint_eq(r.fp, 1);
	ck_assert_uint_eq(r.tn, 11);
	r = optimize(c, low_fp);
	ck_assert_double_eq(r.threshold, 0.5);
	assert_near(r.raw, 0.8779880610831359);
	assert_near(r.normalised, 93.89940305415679);
	r = optimize(c, low_fn);
	ck_assert_double_eq(r.threshold, 0.5);
	assert_near(r.raw, 0.9389940305415679);
	assert_near(r.normalised, 97.96646768471892);
	r = score_at(c, standard, 1.0);
	assert_near(r.raw, -1.0 + 0.11 * -0.5545997223493824);
	nab_corpus_free(c);
}
END_TEST

/*
 * An FP is weighed by the previous window, not the nearest.  40 rows
 * (probation 6), windows [10, 13] (W = 4, so y = (i - 13) / 3) and
 * [30, 33], both detected at their first row (2 points).  FPs at 14
 * (y = 1/3), 22 (y = 3: still the sigmoid, sigma(3) = -0.9999993881955461)
 * and 29 (y = 16/3 > 3: exactly -1, although window 2 is next door):
 * 2 + 0.11 (sigma(1/3) + sigma(3) - 1) = 1.7049512703722913.
 */
START_TEST(test_previous_window)
{
	static const struct tfile f = { "a/x.csv", 40, 2, { { 10, 13 }, { 30, 33 } } };
	struct nab_corpus *c;
	struct nab_result r;
	double w[40];

	write_corpus(&f, 1, "\n", 1);
	c = load_tmp();
	ck_assert_uint_eq(c->files[0].probation, 6);
	SCORES(c, "a/x.csv", 0.0, { 10, 1.0 }, { 30, 1.0 }, { 14, 0.9 }, { 22, 0.9 }, { 29, 0.9 });
	nab_file_weights(&c->files[0], standard, w);
	ck_assert_double_eq(w[29], -0.11);
	ck_assert_double_eq(w[23], -0.11);
	assert_near(w[22], 0.11 * -0.9999993881955461);
	r = score_at(c, standard, 0.9);
	assert_near(r.raw, 1.7049512703722913);
	ck_assert_uint_eq(r.tp, 2);
	ck_assert_uint_eq(r.fp, 3);
	r = optimize(c, standard);
	ck_assert_double_eq(r.threshold, 1.0);
	ck_assert_double_eq(r.raw, 2.0);
	ck_assert_double_eq(r.normalised, 100.0);
	nab_corpus_free(c);
}
END_TEST

/*
 * Rows 0..2 are probationary: their 0.9 are neither detections nor
 * counted, so theta = 0.9 scores exactly 1 (not 1 - 3 * 0.11).
 */
START_TEST(test_probation_ignored)
{
	struct nab_corpus *c;
	struct nab_result r;

	write_corpus(&one_window, 1, "\n", 1);
	c = load_tmp();
	SCORES(c, "a/x.csv", 0.0, { 0, 0.9 }, { 1, 0.9 }, { 2, 0.9 }, { 10, 0.9 });
	r = optimize(c, standard);
	ck_assert_double_eq(r.threshold, 0.9);
	ck_assert_double_eq(r.raw, 1.0);
	ck_assert_uint_eq(r.fp, 0);
	ck_assert_uint_eq(r.tn, 12);
	nab_corpus_free(c);
}
END_TEST

/*
 * A window [1, 5] (W = 5) cut by the probationary period (rows 0..2): only
 * rows 3..5 are scorable, but the weights still use the whole window.
 * Row 3: y = -(5 - 3 + 1) / 5 = -0.6, w = sigma(-0.6) / M =
 * 0.9174286804284079.  FN = 3 scorable window rows - 1.
 */
START_TEST(test_probation_cuts_window)
{
	static const struct tfile f = { "a/x.csv", 20, 1, { { 1, 5 } } };
	struct nab_corpus *c;
	struct nab_result r;

	write_corpus(&f, 1, "\n", 1);
	c = load_tmp();
	SCORES(c, "a/x.csv", 0.0, { 3, 1.0 }, { 1, 1.0 });
	r = optimize(c, standard);
	ck_assert_double_eq(r.threshold, 1.0);
	assert_near(r.raw, 0.9174286804284079);
	ck_assert_uint_eq(r.tp, 1);
	ck_assert_uint_eq(r.fn, 2);
	ck_assert_double_eq(r.null_score, -1.0);
	nab_corpus_free(c);
}
END_TEST

/*
 * A window [0, 1] entirely inside the probationary period counts for
 * S_perfect (K = 2 windows in the labels) but not for S_null (one window
 * has scorable rows): detecting the start of [10, 14] gives raw 1 and
 * 100 (1 + 1) / (2 + 1) = 66.67.  Its end still starts the "after a
 * window" weights: at theta = 0, rows 3..9 have y = (i - 1) / 1, so
 * 0.11 (sigma(2) + sigma(3)) then 5 * -0.11; plus 1 for the window and
 * 0.11 sigma(d / 4), d = 1..5, after it: -0.24735578481467368.
 */
START_TEST(test_probation_whole_window)
{
	static const struct tfile f = { "a/x.csv", 20, 2, { { 0, 1 }, { 10, 14 } } };
	struct nab_corpus *c;
	struct nab_result r;

	write_corpus(&f, 1, "\n", 1);
	c = load_tmp();
	SCORES(c, "a/x.csv", 0.0, { 10, 1.0 });
	r = optimize(c, standard);
	ck_assert_double_eq(r.threshold, 1.0);
	ck_assert_double_eq(r.raw, 1.0);
	ck_assert_double_eq(r.null_score, -1.0);
	ck_assert_double_eq(r.perfect, 2.0);
	assert_near(r.normalised, 200.0 / 3);
	ck_assert_uint_eq(r.fn, 4);
	r = score_at(c, standard, 0.0);
	assert_near(r.raw, -0.24735578481467368);
	nab_corpus_free(c);

	/* with no detection at all: raw = S_null, so 0 */
	c = load_tmp();
	SCORES(c, "a/x.csv", 0.0);
	r = score_at(c, low_fn, 1.1);
	ck_assert_double_eq(r.raw, -2.0);
	ck_assert_double_eq(r.null_score, -2.0);
	ck_assert_double_eq(r.perfect, 2.0);
	ck_assert_double_eq(r.normalised, 0.0);
	nab_corpus_free(c);
}
END_TEST

/*
 * Ties go to the largest threshold.  Later rows of an already detected
 * window add nothing, so S(0.9) = S(0.7) = S(0.5) = 1 exactly; the answer
 * is 0.9.  A second file without windows has only FPs at 0 (and its own
 * 0.3 spike, an FP after nothing: -0.11).
 */
START_TEST(test_tie_largest_threshold)
{
	static const struct tfile files[2] = {
		{ "a/x.csv", 20, 1, { { 10, 14 } } },
		{ "b/y.csv", 20, 0, { { 0, 0 } } },
	};
	struct nab_corpus *c;
	struct nab_result r;
	int i;

	write_corpus(files, 2, "\n", 1);
	c = load_tmp();
	ck_assert_uint_eq(c->nwindows, 1);
	SCORES(c, "a/x.csv", 0.0, { 10, 0.9 }, { 11, 0.7 }, { 12, 0.5 }, { 13, 0.5 });
	SCORES(c, "b/y.csv", 0.0, { 5, 0.3 });
	for (i = 0; i < NAB_NPROFILES; i++) {
		r = optimize(c, &nab_profiles[i]);
		ck_assert_double_eq(r.threshold, 0.9);
		ck_assert_double_eq(r.raw, 1.0);
	}
	ck_assert_double_eq(score_at(c, standard, 0.5).raw, 1.0);
	ck_assert_uint_eq(score_at(c, standard, 0.5).tp, 4);
	ck_assert_double_eq(score_at(c, standard, 0.3).raw, 1.0 - 0.11);
	nab_corpus_free(c);

	/* a tie-free case: detecting nothing (1.1) beats detecting everything (0) */
	c = load_tmp();
	SCORES(c, "a/x.csv", 0.0);
	SCORES(c, "b/y.csv", 0.0);
	r = optimize(c, standard);
	ck_assert_double_eq(r.threshold, 1.1);
	ck_assert_double_eq(r.raw, -1.0);
	nab_corpus_free(c);
}
END_TEST

/*
 * Scores above 1.1: "no detections" becomes the next double above the top
 * score.  200 rows, probation 30, window [100, 104]: flagging all 165
 * scorable rows outside the window costs far more than the window earns.
 */
START_TEST(test_scores_above_sentinel)
{
	static const struct tfile f = { "a/x.csv", 200, 1, { { 100, 104 } } };
	struct nab_corpus *c;
	struct nab_result r;

	write_corpus(&f, 1, "\n", 1);
	c = load_tmp();
	SCORES(c, "a/x.csv", 5.0);
	ck_assert_double_lt(score_at(c, standard, 5.0).raw, -10.0);
	r = optimize(c, standard);
	ck_assert_double_eq(r.threshold, nextafter(5.0, INFINITY));
	ck_assert_double_eq(r.raw, -1.0);
	ck_assert_uint_eq(r.tp + r.fp, 0);
	SCORES(c, "a/x.csv", 0.0, { 100, 2.0 });
	r = optimize(c, standard);
	ck_assert_double_eq(r.threshold, 2.0);
	ck_assert_double_eq(r.raw, 1.0);
	nab_corpus_free(c);
}
END_TEST

/*
 * Repeated timestamps (a clock going back, as in DST): rows keep file
 * order and window boundaries map to their unique rows.  A boundary on a
 * repeated timestamp is an error.
 */
START_TEST(test_repeated_timestamps)
{
	static const char data[] = "timestamp,value\n"
				   "2015-10-25 00:00:00,1\n"   /* 0 */
				   "2015-10-25 01:00:00,2\n"   /* 1 */
				   "2015-10-25 02:00:00,3\n"   /* 2 */
				   "2015-10-25 01:00:00,4\n"   /* 3: again */
				   "2015-10-25 02:00:00,5\n"   /* 4: again */
				   "2015-10-25 03:00:00,6\n"   /* 5 */
				   "2015-10-25 04:00:00,7\n"   /* 6 */
				   "2015-10-25 05:00:00,8\n"   /* 7 */
				   "2015-10-25 06:00:00,9\n"   /* 8 */
				   "2015-10-25 07:00:00,10\n"; /* 9 */
	struct nab_corpus *c;
	struct nab_result r;

	write_text("data/t/dst.csv", data);
	write_text("labels.json",
		   "{\"t/dst.csv\": [[\"2015-10-25 04:00:00.000000\", "
		   "\"2015-10-25 06:00:00.000000\"]]}");
	c = load_tmp();
	ck_assert_uint_eq(c->files[0].nrows, 10);
	ck_assert_uint_eq(c->files[0].probation, 1);
	ck_assert_uint_eq(c->files[0].windows[0].first, 6);
	ck_assert_uint_eq(c->files[0].windows[0].last, 8);
	ck_assert(c->files[0].ts_ms[3] == c->files[0].ts_ms[1]);
	ck_assert(c->files[0].ts_ms[1] - c->files[0].ts_ms[0] == 3600000);
	ck_assert_double_eq(c->files[0].values[9], 10.0);
	SCORES(c, "t/dst.csv", 0.0, { 6, 1.0 });
	r = optimize(c, standard);
	ck_assert_double_eq(r.raw, 1.0);
	nab_corpus_free(c);

	write_text("labels.json",
		   "{\"t/dst.csv\": [[\"2015-10-25 02:00:00.000000\", "
		   "\"2015-10-25 06:00:00.000000\"]]}");
	expect_load_error("labels.json", "t/dst.csv", "2015-10-25 02:00:00", "2 times", NULL);
}
END_TEST

/* CRLF line endings, no final newline, blank lines: the same corpus. */
START_TEST(test_crlf)
{
	struct nab_corpus *c;
	struct nab_result r;
	double raw_lf;

	write_corpus(&one_window, 1, "\n", 1);
	c = load_tmp();
	SCORES(c, "a/x.csv", 0.0, { 11, 0.8 }, { 16, 0.8 }, { 4, 0.8 });
	raw_lf = score_at(c, standard, 0.8).raw;
	nab_corpus_free(c);

	write_corpus(&one_window, 1, "\r\n", 0);
	c = load_tmp();
	ck_assert_uint_eq(c->files[0].nrows, 20);
	ck_assert_uint_eq(c->files[0].windows[0].first, 10);
	ck_assert_double_eq(c->files[0].values[19], 5.5);
	SCORES(c, "a/x.csv", 0.0, { 11, 0.8 }, { 16, 0.8 }, { 4, 0.8 });
	r = score_at(c, standard, 0.8);
	ck_assert_double_eq(r.raw, raw_lf);
	ck_assert_uint_eq(r.fp, 2);
	nab_corpus_free(c);

	write_text("data/a/x.csv",
		   "timestamp,value\r\n\r\n2024-01-01 00:00:00,1\r\n\r\n"
		   "2024-01-01 00:01:00,\r\n");
	write_text("labels.json", "{\"a/x.csv\": []}");
	c = load_tmp();
	ck_assert_uint_eq(c->files[0].nrows, 2);
	ck_assert(isnan(c->files[0].values[1]));
	nab_corpus_free(c);
}
END_TEST

/* Results in NAB layout: the anomaly_score column by position, CRLF allowed. */
START_TEST(test_read_results)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	static const struct tfile files[2] = {
		{ "a/x.csv", 20, 1, { { 10, 14 } } },
		{ "b/y.csv", 20, 0, { { 0, 0 } } },
	};
	struct sb x = { 0 }, y = { 0 };
	struct nab_corpus *c;
	struct nab_result r;
	char *results = tmp_path("results");
	int i;

	write_corpus(files, 2, "\n", 1);
	sb_addf(&x, "timestamp,value,anomaly_score,label,S(t)_standard\n");
	sb_addf(&y, "timestamp,anomaly_score\r\n");
	for (i = 0; i < 20; i++) {
		/* timestamps are not checked, as in NAB */
		sb_addf(&x, "whenever,%d,%s,0,0.0\n", i, i == 10 ? "0.5" : i == 15 ? "1e0" : "0");
		sb_addf(&y, "x,%s\r\n", i == 5 ? "0.25" : "0.0");
	}
	write_text("results/det/a/det_x.csv", x.s);
	write_text("results/det/b/det_y.csv", y.s);
	c = load_tmp();
	ck_assert_msg(nab_corpus_read_results(c, results, "det", &err) == 0, "%s", err.msg);
	ck_assert_double_eq(c->files[0].scores[15], 1.0);
	ck_assert_double_eq(c->files[1].scores[5], 0.25);
	r = optimize(c, standard);
	ck_assert_double_eq(r.threshold, 0.5);
	assert_near(r.raw, 0.9389940305415679); /* as test_fp_after_window */

	/* one row short */
	write_text("results/det/b/det_y.csv", "timestamp,anomaly_score\n0,0\n");
	ck_assert_int_eq(nab_corpus_read_results(c, results, "det", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "det_y.csv"));
	ck_assert_ptr_nonnull(strstr(err.msg, "has 1 rows"));
	ck_assert_ptr_nonnull(strstr(err.msg, "b/y.csv"));
	vigil_error_clear(&err);

	/* one row too many */
	sb_addf(&y, "x,0\n");
	write_text("results/det/b/det_y.csv", y.s);
	ck_assert_int_eq(nab_corpus_read_results(c, results, "det", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "line 22"));
	vigil_error_clear(&err);

	/* a bad score names the line */
	write_text("results/det/b/det_y.csv", "timestamp,anomaly_score\n0,0\n0,0.5x\n");
	ck_assert_int_eq(nab_corpus_read_results(c, results, "det", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "det_y.csv' line 3: bad anomaly_score '0.5x'"));
	vigil_error_clear(&err);
	write_text("results/det/b/det_y.csv", "timestamp,anomaly_score\n0,nan\n");
	ck_assert_int_eq(nab_corpus_read_results(c, results, "det", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "line 2"));
	vigil_error_clear(&err);

	/* no column */
	write_text("results/det/b/det_y.csv", "timestamp,score\n0,0\n");
	ck_assert_int_eq(nab_corpus_read_results(c, results, "det", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no column 'anomaly_score'"));
	vigil_error_clear(&err);

	/* a missing file */
	ck_assert_int_eq(nab_corpus_read_results(c, results, "other", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "results/other/a/other_x.csv"));

	free(x.s);
	free(y.s);
	free(results);
	nab_corpus_free(c);
}
END_TEST

START_TEST(test_set_scores_errors)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct nab_corpus *c;
	struct nab_result r;
	double s[21] = { 0 };

	write_corpus(&one_window, 1, "\n", 1);
	c = load_tmp();
	ck_assert_int_eq(nab_optimize(c, standard, &r, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no scores for 'a/x.csv'"));
	vigil_error_clear(&err);
	ck_assert_int_eq(nab_corpus_set_scores(c, 0, s, 21, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "21 scores for 'a/x.csv', which has 20 rows"));
	vigil_error_clear(&err);
	s[3] = NAN;
	ck_assert_int_eq(nab_corpus_set_scores(c, 0, s, 20, &err), -1);
	vigil_error_clear(&err);
	ck_assert_int_eq(nab_corpus_set_scores(c, 1, s, 20, &err), -1);
	ck_assert_int_eq(nab_corpus_find(c, "a/x.csv"), 0);
	ck_assert_int_eq(nab_corpus_find(c, "a/y.csv"), -1);
	nab_corpus_free(c);
}
END_TEST

START_TEST(test_load_errors)
{
	write_corpus(&one_window, 1, "\n", 1);
	write_text("data/a/x.csv", "time,value\n2024-01-01 00:00:00,1\n");
	expect_load_error("a/x.csv' line 1", "header", NULL);
	write_text("data/a/x.csv", "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:01,2\n");
	expect_load_error("a/x.csv' line 3", "2024-01-01 00:01,2", NULL);
	write_text("data/a/x.csv", "timestamp,value\n2024-02-30 00:00:00,1\n");
	expect_load_error("a/x.csv' line 2", NULL);
	write_text("data/a/x.csv",
		   "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,1,2\n");
	expect_load_error("a/x.csv' line 3", "bad value '1,2'", NULL);
	write_text("data/a/x.csv",
		   "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,\x1b[2J\n");
	expect_load_error("line 3", "bad value '?[2J'", NULL);

	write_corpus(&one_window, 1, "\n", 1);
	write_text("labels.json", "{\"a/x.csv\": [], \"a/z.csv\": []}");
	expect_load_error("labels.json", "'a/z.csv' is not a file of the data dir", NULL);
	write_text("data/b/new.csv", "timestamp,value\n");
	write_text("labels.json", "{\"a/x.csv\": []}");
	expect_load_error("no entry for the data file 'b/new.csv'", NULL);
	write_text("labels.json",
		   "{\"a/x.csv\": [], \"b/new.csv\": [[\"2024-01-01 00:00:00\", "
		   "\"2024-01-01 00:00:00\"]]}");
	expect_load_error("'2024-01-01 00:00:00' occurs 0 times in 'b/new.csv'", NULL);
	write_text("labels.json", "{\"a/x.csv\": [], \"b/new.csv\": []");
	expect_load_error("labels.json' line", NULL);
	write_text("labels.json", "{\"a/x.csv\": [[\"2024-01-01 00:10:00\"]], \"b/new.csv\": []}");
	expect_load_error("window 1 of 'a/x.csv' is not a [start, end] pair", NULL);
	write_text("labels.json",
		   "{\"a/x.csv\": [[\"2024-01-01 00:10:00\", "
		   "\"2024-01-01 00:05:00\"]], \"b/new.csv\": []}");
	expect_load_error("window 1 of 'a/x.csv' ends before it starts", NULL);
	write_text("labels.json",
		   "{\"a/x.csv\": [[\"2024-01-01 00:10:00\", \"2024-01-01 00:12:00\"], "
		   "[\"2024-01-01 00:12:00\", \"2024-01-01 00:15:00\"]], \"b/new.csv\": []}");
	expect_load_error("window 2 of 'a/x.csv' overlaps", NULL);
	write_text("labels.json",
		   "{\"a/x.csv\": [[\"2024-01-01 00:10:00.5\", "
		   "\"2024-01-01 00:12:00\"]], \"b/new.csv\": []}");
	expect_load_error("bad window boundary '2024-01-01 00:10:00.5'", NULL);
	write_text("labels.json",
		   "{\"a/x.csv\": [[\"2024-01-01 00:10:00\", "
		   "\"2024-01-01 00:12:00\"]], \"b/new.csv\": []}");
	nab_corpus_free(load_tmp()); /* without .000000 is fine */
}
END_TEST

/* §2: P = min(floor(0.15 N), 750); also the one-row-window weight. */
START_TEST(test_probation_length)
{
	static const struct tfile files[4] = {
		{ "a/n19.csv", 19, 0, { { 0, 0 } } },
		{ "a/n4032.csv", 4032, 0, { { 0, 0 } } },
		{ "a/n5000.csv", 5000, 0, { { 0, 0 } } },
		{ "a/n6000.csv", 6000, 1, { { 900, 900 } } },
	};
	struct nab_corpus *c;
	double *w = XNEWARRAY(double, 6000);

	write_corpus(files, 4, "\n", 1);
	c = load_tmp();
	ck_assert_uint_eq(c->files[0].probation, 2);
	ck_assert_uint_eq(c->files[1].probation, 604);
	ck_assert_uint_eq(c->files[2].probation, 750);
	ck_assert_uint_eq(c->files[3].probation, 750);
	ck_assert_uint_eq(c->nrows, 19 + 4032 + 5000 + 6000);
	nab_file_weights(&c->files[3], low_fp, w);
	ck_assert_double_eq(w[900], 1.0);
	ck_assert_double_eq(w[901], -0.22);
	free(w);
	nab_corpus_free(c);
}
END_TEST

/* §3 key values: sigma(-1) = M, sigma(-0.5) ~ 0.84828, sigma(1) ~ -0.98661. */
START_TEST(test_sigmoid_values)
{
	static const struct tfile f = { "a/x.csv", 40, 1, { { 10, 13 } } };
	const double m = 0.9866142981514303;
	struct nab_profile unit = { "unit", 1.0, 1.0, 1.0, 1.0 };
	struct nab_corpus *c;
	double w[40];

	write_corpus(&f, 1, "\n", 1);
	c = load_tmp();
	nab_file_weights(&c->files[0], &unit, w);
	ck_assert_double_eq(w[10], 1.0);
	ck_assert_double_eq_tol(w[12] * m, 0.84828, 1e-5); /* y = -2 / 4 */
	ck_assert_double_eq_tol(w[16], -m, 1e-15);	   /* y = 3 / 3 */
	ck_assert_double_eq(w[23], -1.0);		   /* y = 10 / 3 > 3 */
	nab_corpus_free(c);
}
END_TEST

START_TEST(test_profiles_json)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct nab_profile p[NAB_NPROFILES];
	const char *dir = getenv("NAB_DIR") ? getenv("NAB_DIR") : "../shared/nab";
	char *path = xasprintf("%s/config/profiles.json", dir), *bad;
	int i;

	ck_assert_msg(nab_profiles_load(path, p, &err) == 0, "%s", err.msg);
	for (i = 0; i < NAB_NPROFILES; i++) {
		ck_assert_str_eq(p[i].name, nab_profiles[i].name);
		ck_assert_double_eq(p[i].tp_weight, nab_profiles[i].tp_weight);
		ck_assert_double_eq(p[i].fn_weight, nab_profiles[i].fn_weight);
		ck_assert_double_eq(p[i].fp_weight, nab_profiles[i].fp_weight);
		ck_assert_double_eq(p[i].tn_weight, nab_profiles[i].tn_weight);
	}
	free(path);
	write_text("p.json", "{\"standard\": {\"CostMatrix\": {\"tpWeight\": 1}}}");
	bad = tmp_path("p.json");
	ck_assert_int_eq(nab_profiles_load(bad, p, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "standard.CostMatrix.fnWeight"));
	free(bad);
}
END_TEST

/* ---- the shared corpus ---- */

static struct nab_corpus *load_real(void)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *dir = getenv("NAB_DIR") ? getenv("NAB_DIR") : "../shared/nab";
	char *data = xasprintf("%s/data", dir);
	char *labels = xasprintf("%s/labels/combined_windows.json", dir);
	struct nab_corpus *c = nab_corpus_load(data, labels, &err);

	ck_assert_msg(c != NULL,
		      "cannot load the NAB corpus (run from the project root or set NAB_DIR): %s",
		      err.msg);
	free(data);
	free(labels);
	return c;
}

/* Give every file of the corpus scores from fn(file index, file, row). */
static void set_all(struct nab_corpus *c, double (*fn)(size_t, const struct nab_file *, size_t))
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	size_t i, r;

	for (i = 0; i < c->nfiles; i++) {
		const struct nab_file *f = &c->files[i];
		double *s = XNEWARRAY(double, f->nrows + 1);

		for (r = 0; r < f->nrows; r++)
			s[r] = fn(i, f, r);
		ck_assert_msg(nab_corpus_set_scores(c, i, s, f->nrows, &err) == 0, "%s", err.msg);
		free(s);
	}
}

static double det_window_start(size_t fi, const struct nab_file *f, size_t r)
{
	size_t k;

	(void)fi;
	for (k = 0; k < f->nwindows; k++) {
		if (f->windows[k].first == r)
			return 1.0;
	}
	return 0.0;
}

static double det_zero(size_t fi, const struct nab_file *f, size_t r)
{
	(void)fi;
	(void)f;
	(void)r;
	return 0.0;
}

static double det_one(size_t fi, const struct nab_file *f, size_t r)
{
	(void)fi;
	(void)f;
	(void)r;
	return 1.0;
}

/*
 * 64 distinct values: window rows in [40, 63] / 64, other rows mostly below
 * 40 / 64 with 2% in [41, 63] / 64: a detector worth optimising.
 */
static double det_lcg(size_t fi, const struct nab_file *f, size_t r)
{
	uint32_t x = (uint32_t)(r * 1103515245u + fi * 12345u + 6789u) & 0x7fffffff;
	size_t k;

	for (k = 0; k < f->nwindows; k++) {
		if (r >= f->windows[k].first && r <= f->windows[k].last)
			return (double)(40 + (x >> 8) % 24) / 64;
	}
	if ((x >> 8) % 1000 < 20)
		return (double)(41 + (x >> 4) % 23) / 64;
	return (double)((x >> 8) % 40) / 64;
}

/* The detectors of the Python cross-check (see the top of this file). */
static double det_hash(size_t fi, const struct nab_file *f, size_t r)
{
	(void)f;
	return (double)(((uint64_t)r * 2654435761u + 12345u * fi) % 4294967296u % 101) / 100;
}

static double det_noisy(size_t fi, const struct nab_file *f, size_t r)
{
	uint64_t h = ((uint64_t)r * 40503 + 7 * fi) % 65536;
	size_t k;

	for (k = 0; k < f->nwindows; k++) {
		const struct nab_window *w = &f->windows[k];
		size_t width = w->last - w->first + 1, peak = w->first + width / 3;
		size_t dist = r > peak ? r - peak : peak - r;

		if (r >= w->first && r <= w->last) {
			long v = 95 - (long)(dist * 300 / width);

			return (double)(v > 30 ? v : 30) / 100;
		}
	}
	switch (h % 1500) {
	case 0:
		return 0.95;
	case 1:
		return 0.85;
	case 2:
		return 0.9;
	default:
		return (double)(h % 80) / 100;
	}
}

START_TEST(test_real_corpus_shape)
{
	struct nab_corpus *c = load_real();
	size_t i, k;

	ck_assert_uint_eq(c->nfiles, 41);
	ck_assert_uint_eq(c->nwindows, 64);
	ck_assert_uint_eq(c->nrows, 137366);
	for (i = 0; i < c->nfiles; i++) {
		const struct nab_file *f = &c->files[i];

		if (f->nrows == 4032)
			ck_assert_uint_eq(f->probation, 604);
		if (f->nrows >= 5000)
			ck_assert_uint_eq(f->probation, 750);
		for (k = 0; k < f->nwindows; k++)
			ck_assert_uint_ge(f->windows[k].first, f->probation);
	}
	nab_corpus_free(c);
}
END_TEST

/* 1.0 exactly at the first row of every window: every window earns A_TP. */
START_TEST(test_real_perfect)
{
	struct nab_corpus *c = load_real();
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct nab_result r[NAB_NPROFILES];
	int i;

	set_all(c, det_window_start);
	ck_assert_msg(nab_optimize_all(c, nab_profiles, r, &err) == 0, "%s", err.msg);
	for (i = 0; i < NAB_NPROFILES; i++) {
		ck_assert_double_ge(r[i].normalised, 99.0);
		ck_assert_double_eq_tol(r[i].normalised, 100.0, 1e-9);
		ck_assert_double_eq(r[i].threshold, 1.0);
		ck_assert_uint_eq(r[i].tp, 64);
		ck_assert_uint_eq(r[i].fp, 0);
	}
	nab_corpus_free(c);
}
END_TEST

/* Constant 0: the best is to detect nothing, which is the null detector. */
START_TEST(test_real_zero)
{
	struct nab_corpus *c = load_real();
	int i;

	set_all(c, det_zero);
	for (i = 0; i < NAB_NPROFILES; i++) {
		struct nab_result r = optimize(c, &nab_profiles[i]);

		ck_assert_double_eq(r.normalised, 0.0);
		ck_assert_double_eq(r.threshold, 1.1);
		ck_assert_double_eq(r.raw, -64.0 * nab_profiles[i].fn_weight);
	}
	nab_corpus_free(c);
}
END_TEST

/*
 * Flagging every row: at any threshold up to 1 the ~105,000 FPs sink the
 * score far below zero; the optimiser then prefers to detect nothing.
 */
START_TEST(test_real_flag_everything)
{
	struct nab_corpus *c = load_real();
	size_t scorable = 0, fi;
	int i;

	for (fi = 0; fi < c->nfiles; fi++)
		scorable += c->files[fi].nrows - c->files[fi].probation;
	set_all(c, det_one);
	for (i = 0; i < NAB_NPROFILES; i++) {
		struct nab_result r = score_at(c, &nab_profiles[i], 0.5);

		ck_assert_double_lt(r.normalised, -1000.0);
		ck_assert_uint_eq(r.fn, 0);
		ck_assert_uint_eq(r.tn, 0);
		ck_assert_uint_eq(r.tp + r.fp, scorable);
		r = optimize(c, &nab_profiles[i]);
		ck_assert_double_eq(r.threshold, 1.1);
		ck_assert_double_eq(r.normalised, 0.0);
	}
	nab_corpus_free(c);
}
END_TEST

/* The sweep picks the same threshold and score as trying every candidate. */
START_TEST(test_real_sweep_matches_brute_force)
{
	struct nab_corpus *c = load_real();
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct nab_result all[NAB_NPROFILES];
	int seen[64] = { 0 }, i, k;
	size_t fi, r;

	set_all(c, det_lcg);
	for (fi = 0; fi < c->nfiles; fi++) {
		for (r = c->files[fi].probation; r < c->files[fi].nrows; r++)
			seen[(int)(c->files[fi].scores[r] * 64)] = 1;
	}
	ck_assert_msg(nab_optimize_all(c, nab_profiles, all, &err) == 0, "%s", err.msg);
	for (i = 0; i < NAB_NPROFILES; i++) {
		struct nab_result best = score_at(c, &nab_profiles[i], 1.1), opt;

		for (k = 63; k >= 0; k--) {
			struct nab_result t;

			if (!seen[k])
				continue;
			t = score_at(c, &nab_profiles[i], (double)k / 64);
			if (t.raw > best.raw)
				best = t;
		}
		opt = optimize(c, &nab_profiles[i]);
		ck_assert_double_eq(opt.threshold, best.threshold);
		ck_assert_double_eq_tol(opt.raw, best.raw, 1e-9);
		ck_assert_double_eq(all[i].threshold, opt.threshold);
		ck_assert_double_eq(all[i].raw, opt.raw);
		/* a real trade-off, not a trivial threshold */
		ck_assert_double_lt(opt.threshold, 1.0);
		ck_assert_uint_gt(opt.fp, 0);
	}
	nab_corpus_free(c);
}
END_TEST

/* Numbers from the independent Python scorer (see the top of this file). */
START_TEST(test_real_reference_values)
{
	struct nab_corpus *c = load_real();
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct nab_result r[NAB_NPROFILES];

	set_all(c, det_noisy);
	ck_assert_msg(nab_optimize_all(c, nab_profiles, r, &err) == 0, "%s", err.msg);
	ck_assert_double_eq(r[0].threshold, 0.91);
	ck_assert_double_eq(r[1].threshold, 0.91);
	ck_assert_double_eq(r[2].threshold, 0.91);
	assert_near(r[0].raw, 52.7729909974857);
	assert_near(r[1].raw, 44.83226304406422);
	assert_near(r[2].raw, 52.7729909974857);
	assert_near(r[0].normalised, 91.22889921678569);
	assert_near(r[1].normalised, 85.02520550317517);
	assert_near(r[2].normalised, 94.15259947785712);

	set_all(c, det_hash);
	ck_assert_msg(nab_optimize_all(c, nab_profiles, r, &err) == 0, "%s", err.msg);
	ck_assert_double_eq(r[0].threshold, 1.1);
	ck_assert_double_eq(r[0].normalised, 0.0);
	ck_assert_double_eq(r[2].threshold, 1.0);
	assert_near(r[2].raw, -89.2120703042966);
	assert_near(r[2].normalised, 20.202046716512186);
	nab_corpus_free(c);
}
END_TEST

static const char *nab_dir(void)
{
	return getenv("NAB_DIR") ? getenv("NAB_DIR") : "../shared/nab";
}

static int corpus_present(void)
{
	char *p = xasprintf("%s/labels/combined_windows.json", nab_dir());
	int ok = access(p, R_OK) == 0;

	free(p);
	return ok;
}

static Suite *nabscore_suite(void)
{
	Suite *s = suite_create("nabscore");
	TCase *tc = tcase_create("hand-made");
	TCase *real = tcase_create("shared corpus");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_window_start);
	tcase_add_test(tc, test_fp_after_window);
	tcase_add_test(tc, test_previous_window);
	tcase_add_test(tc, test_probation_ignored);
	tcase_add_test(tc, test_probation_cuts_window);
	tcase_add_test(tc, test_probation_whole_window);
	tcase_add_test(tc, test_tie_largest_threshold);
	tcase_add_test(tc, test_scores_above_sentinel);
	tcase_add_test(tc, test_repeated_timestamps);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_read_results);
	tcase_add_test(tc, test_set_scores_errors);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_probation_length);
	tcase_add_test(tc, test_sigmoid_values);
	tcase_add_test(real, test_profiles_json);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(real, tmp_setup, tmp_teardown);
	/* generous: valgrind makes the 137k-row corpus slow */
	tcase_set_timeout(real, 600);
	tcase_add_test(real, test_real_corpus_shape);
	tcase_add_test(real, test_real_perfect);
	tcase_add_test(real, test_real_zero);
	tcase_add_test(real, test_real_flag_everything);
	tcase_add_test(real, test_real_sweep_matches_brute_force);
	tcase_add_test(real, test_real_reference_values);
	if (corpus_present())
		suite_add_tcase(s, real);
	else
		fprintf(stderr, "check_nabscore: NOTE: no NAB corpus at '%s' (set NAB_DIR): "
		        "the shared-corpus checks did not run\n", nab_dir());
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nabscore_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
