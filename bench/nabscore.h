/*
 * nabscore.h - vigil's implementation of the Numenta Anomaly Benchmark
 * (NAB v1.1) scorer, written from docs/nab-scoring.md (shared docs).
 *
 * Typical use:
 *
 *	struct vigil_error err = VIGIL_ERROR_INIT;
 *	struct nab_corpus *c = nab_corpus_load("nab/data",
 *		"nab/labels/combined_windows.json", &err);
 *	for each file i: nab_corpus_set_scores(c, i, scores, n, &err);
 *	   (or nab_corpus_read_results(c, "results", "numenta", &err))
 *	for each profile p: nab_optimize(c, &nab_profiles[p], &res, &err);
 *	nab_corpus_free(c);
 *
 * Every function that can fail takes a `struct vigil_error *` (may be NULL)
 * and returns -1 or NULL; messages name the file and, for parse errors, the
 * line (1-based, the header is line 1).
 */
#ifndef VIGIL_NABSCORE_H
#define VIGIL_NABSCORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Refuse data and result files larger than this (sizes come from outside). */
#define NAB_MAX_FILE_BYTES ((size_t)1 << 30)

/* The sentinel threshold NAB uses for "no detections". */
#define NAB_NO_DETECTION_THRESHOLD 1.1

/* One anomaly window as an inclusive row range [first, last] of its file. */
struct nab_window {
	size_t first;
	size_t last;
};

/*
 * One data file.  Rows are in file order (repeated timestamps are allowed);
 * blank lines are skipped, as pandas does.  Everything here is owned by the
 * corpus.
 */
struct nab_file {
	char *name;             /* "<category>/<file>.csv", the label key */
	size_t nrows;
	int64_t *ts_ms;         /* per row: the timestamp, ms since the epoch (UTC) */
	double *values;         /* per row: the `value` column */
	size_t probation;       /* P_f: rows [0, probation) are never scored */
	size_t nwindows;
	struct nab_window *windows; /* sorted, disjoint */
	double *scores;         /* per row anomaly_score; NULL until attached */
};

/* A corpus: the files of a data dir, sorted by name, with their windows. */
struct nab_corpus {
	size_t nfiles;
	struct nab_file *files;
	size_t nwindows;        /* all windows of the labels file (K) */
	size_t nrows;           /* rows of all files */
};

/* A cost matrix (config/profiles.json).  A_TN exists but is never used. */
struct nab_profile {
	const char *name;
	double tp_weight;
	double fn_weight;
	double fp_weight;
	double tn_weight;
};

#define NAB_NPROFILES 3
/* standard, reward_low_FP_rate, reward_low_FN_rate, in that order. */
extern const struct nab_profile nab_profiles[NAB_NPROFILES];

/* The score of a detector under one profile at one threshold. */
struct nab_result {
	double threshold;       /* theta: rows with score >= theta are detections */
	double raw;             /* S(theta), summed over all files */
	double null_score;      /* S_null = -A_FN * windows having a scorable row */
	double perfect;         /* S_perfect = A_TP * all windows */
	double normalised;      /* 100 (raw - null) / (perfect - null); NaN if no window */
	/* Point counts over scorable rows (informational, as NAB reports them). */
	size_t tp, fp, fn, tn;
};

/*
 * Load a NAB-style corpus: every regular `<category>/<file>.csv` below
 * `data_dir` (other entries are ignored), each with the header
 * `timestamp,value` (LF or CRLF), and the windows of `windows_json`
 * (combined_windows.json), each boundary matched to the one row with exactly
 * that timestamp (a `.000000` suffix is stripped).  Every data file must
 * have an entry in the labels and every label key a data file.
 * Returns a corpus to free with nab_corpus_free(), or NULL.
 */
struct nab_corpus *nab_corpus_load(const char *data_dir, const char *windows_json,
				   struct vigil_error *err);

/*
 * Parse exactly `YYYY-MM-DD HH:MM:SS` (len bytes, a valid date, UTC) into
 * ms since the epoch.  Returns 0, or -1 for anything else.
 */
int nab_parse_timestamp(const char *s, size_t len, int64_t *out);

/* Format ms since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC, seconds truncated); size >= 20. */
void nab_format_timestamp(char *buf, size_t size, int64_t ms);

/* Free a corpus and everything in it.  NULL-safe. */
void nab_corpus_free(struct nab_corpus *c);

/* Index of the file named `name` ("<category>/<file>.csv"), or -1. */
long nab_corpus_find(const struct nab_corpus *c, const char *name);

/*
 * Attach a copy of `scores` (n values, one per row, in row order) to file
 * `file`, replacing any earlier scores.  Fails if n differs from the file's
 * row count or a score is not finite.
 */
int nab_corpus_set_scores(struct nab_corpus *c, size_t file, const double *scores,
			  size_t n, struct vigil_error *err);

/*
 * Attach scores to every file from a results dir in NAB layout,
 * `<results_dir>/<detector>/<category>/<detector>_<file>.csv`, taking the
 * `anomaly_score` column by row position (the result file's timestamps are
 * not checked, as in NAB).  Unquoted CSV only.  On failure some files may
 * already have new scores.
 */
int nab_corpus_read_results(struct nab_corpus *c, const char *results_dir,
			    const char *detector, struct vigil_error *err);

/*
 * Load cost matrices from a profiles.json into `out` (in the order of
 * nab_profiles[]; all three must be present).  The names point to static
 * strings.
 */
int nab_profiles_load(const char *path, struct nab_profile out[NAB_NPROFILES],
		      struct vigil_error *err);

/*
 * Compute the per-row weight w_i (section 4 of the scoring rules) of every
 * row of `f` under profile `p` into `w` (f->nrows values, probationary rows
 * included, as NAB writes them to its S(t)_<profile> column).
 */
void nab_file_weights(const struct nab_file *f, const struct nab_profile *p, double *w);

/*
 * Score the corpus at threshold `theta` (detections: scorable rows with
 * score >= theta).  Every file must have scores.
 */
int nab_score_at(const struct nab_corpus *c, const struct nab_profile *p, double theta,
		 struct nab_result *out, struct vigil_error *err);

/*
 * Find the threshold that maximises the corpus score (NAB's "optimize"):
 * the candidates are 1.1 and every distinct score of a scorable row; ties go
 * to the largest threshold.  If some score is >= 1.1, the "no detections"
 * candidate is the smallest double above the largest score instead of 1.1.
 * O(n log n) in the number of rows.  Fills `out` as nab_score_at() does at
 * the chosen threshold.  Every file must have scores.
 */
int nab_optimize(const struct nab_corpus *c, const struct nab_profile *p,
		 struct nab_result *out, struct vigil_error *err);

/*
 * Score all three profiles with one sort (what nab-score prints):
 * out[i] is nab_optimize() of profiles[i].
 */
int nab_optimize_all(const struct nab_corpus *c, const struct nab_profile profiles[NAB_NPROFILES],
		     struct nab_result out[NAB_NPROFILES], struct vigil_error *err);

#endif
