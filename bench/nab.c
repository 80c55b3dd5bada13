/*
 * nab.c - the NAB benchmark: run one detector config (the same params for
 * every file) causally over every CSV of a NAB-style data dir, write the
 * results in NAB's layout, and score them with vigil's NAB scorer
 * (nabscore.c).  Prints the standard, reward-low-FP and reward-low-FN
 * scores.  See docs/detectors.md for the figures of the built-in detectors.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "benchutil.h"
#include "detect.h"
#include "nabreport.h"
#include "nabscore.h"
#include "paths.h"
#include "plugin.h"
#include "series.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define DEFAULT_CONFIG "{\"detector\": \"auto\"}"

static const char usage_text[] =
	"usage: nab [--data DIR] [--labels FILE] [--results DIR] [--config DETECTOR-JSON]\n"
	"           [--name NAME] [--plugin-dir DIR] [--per-file] [--no-write]\n"
	"           [--threshold X | --train-data DIR --train-labels FILE]\n"
	"           [--loco] [--quarters] [--kinds FILE] [--rank score|rarity|flags]\n"
	"\n"
	"  --data DIR        NAB data dir (default ../shared/nab/data)\n"
	"  --labels FILE     combined_windows.json\n"
	"                    (default ../shared/nab/labels/combined_windows.json)\n"
	"  --results DIR     where to write NAME/<category>/NAME_<file>.csv (default nab-results)\n"
	"  --config JSON     the detector entry, inline ({\"detector\": \"mad\", \"params\": {...}})\n"
	"                    or a file holding it (default " DEFAULT_CONFIG ")\n"
	"  --name NAME       the detector's name in the results layout (default: the detector's)\n"
	"  --plugin-dir DIR  load detectors from DIR first (repeatable)\n"
	"  --per-file        print each file's windows, detections and false positives\n"
	"                    at the report threshold (below)\n"
	"  --no-write        score only, write no result files\n"
	"  --rank HOW        score (default); rarity: rank rows by the detector's rarity\n"
	"                    (-log10 tail probability, written as r / (1 + r)), which does not\n"
	"                    saturate; flags: the detector's own flags as 0/1 scores\n"
	"\n"
	"Out-of-sample reports (at the standard profile's optimal threshold unless\n"
	"--threshold or --train-data sets it):\n"
	"  --threshold X     score every profile at X instead of optimising\n"
	"  --train-data DIR  choose each profile's threshold on this corpus instead\n"
	"  --train-labels FILE  its combined_windows.json\n"
	"  --loco            leave one category out: each category scored at the threshold\n"
	"                    chosen on the others (standard profile)\n"
	"  --quarters        false alarms per 1000 normal points in each quarter of each file\n"
	"  --kinds FILE      detections by planted kind (the kinds.json bench/gen-ops writes)\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "nab: %s\n", msg);
	fputs(usage_text, stderr);
	return 2;
}

/* The shortest text that reads back as exactly v. */
static void format_exact(char *buf, size_t size, double v)
{
	for (int prec = 1; prec < 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, size, "%.17g", v);
}

static int in_window(const struct nab_file *f, size_t row)
{
	for (size_t k = 0; k < f->nwindows; k++)
		if (row >= f->windows[k].first && row <= f->windows[k].last)
			return 1;
	return 0;
}

static int write_results(const char *dir, const char *name, const struct nab_file *f, const double *scores,
                         struct vigil_error *err)
{
	const char *slash = strrchr(f->name, '/');
	char *category = xstrndup(f->name, slash ? (size_t)(slash - f->name) : 0);
	char *cdir = xasprintf("%s/%s/%s", dir, name, category);
	char *path = xasprintf("%s/%s_%s", cdir, name, slash ? slash + 1 : f->name);
	FILE *fp = NULL;
	int rc = -1;

	if (paths_mkdir_p(cdir, 0777, err))
		goto out;
	fp = fopen(path, "w");
	if (!fp) {
		vigil_error_set(err, VIGIL_E_IO, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	fputs("timestamp,value,anomaly_score,label\n", fp);
	for (size_t i = 0; i < f->nrows; i++) {
		char ts[40], v[40], sc[40];

		nab_format_timestamp(ts, sizeof(ts), f->ts_ms[i]);
		format_exact(v, sizeof(v), f->values[i]);
		format_exact(sc, sizeof(sc), scores[i]);
		fprintf(fp, "%s,%s,%s,%d\n", ts, v, sc, in_window(f, i));
	}
	if (fclose(fp)) {
		fp = NULL;
		vigil_error_set(err, VIGIL_E_IO, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	fp = NULL;
	rc = 0;
out:
	if (fp)
		fclose(fp);
	free(category);
	free(cdir);
	free(path);
	return rc;
}

/* Read --config: inline JSON, or a file holding it. */
static json_t *load_config(const char *arg, struct vigil_error *err)
{
	json_error_t jerr;
	json_t *cfg;
	const char *p = arg;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	cfg = *p == '{' ? json_loads(arg, 0, &jerr) : json_load_file(arg, 0, &jerr);
	if (!cfg) {
		vigil_error_set(err, VIGIL_E_SPEC, "--config: %s%s%s (line %d)", *p == '{' ? "" : arg,
		                *p == '{' ? "" : ": ", jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_object(cfg) || !json_is_string(json_object_get(cfg, "detector")) ||
	    (json_object_get(cfg, "params") && !json_is_object(json_object_get(cfg, "params")))) {
		json_decref(cfg);
		vigil_error_set(err, VIGIL_E_SPEC,
		                "--config: want {\"detector\": NAME, \"params\": {...}} (params optional)");
		return NULL;
	}
	return cfg;
}

/* Without --plugin-dir and $VIGIL_PLUGIN_PATH, the build tree's detectors next to this program. */
static char *build_tree_plugins(void)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash, *dir;
	struct stat st;

	if (len <= 0)
		return NULL;
	exe[len] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	dir = xasprintf("%s/../detectors/.libs", exe);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* Per file, at threshold theta: windows, windows detected, false positives. */
static void print_per_file(const struct nab_corpus *c, const struct nab_profile *p, double theta)
{
	printf("%-58s %5s %5s %5s %8s\n", "file", "wins", "found", "FP", "score");
	for (size_t f = 0; f < c->nfiles; f++) {
		const struct nab_file *nf = &c->files[f];
		double *w = xcalloc(nf->nrows ? nf->nrows : 1, sizeof(*w)), total = 0;
		size_t found = 0, fp = 0;

		nab_file_weights(nf, p, w);
		for (size_t k = 0; k < nf->nwindows; k++) {
			double best = -p->fn_weight;

			for (size_t i = nf->windows[k].first; i <= nf->windows[k].last; i++)
				if (i >= nf->probation && nf->scores[i] >= theta && w[i] > best)
					best = w[i];
			found += best > -p->fn_weight;
			total += best;
		}
		for (size_t i = nf->probation; i < nf->nrows; i++)
			if (nf->scores[i] >= theta && !in_window(nf, i)) {
				fp++;
				total += w[i];
			}
		printf("%-58s %5zu %5zu %5zu %8.3f\n", nf->name, nf->nwindows, found, fp, total);
		free(w);
	}
}

/* What bench/nab scores each row by (--rank). */
enum rank { RANK_SCORE, RANK_RARITY, RANK_FLAGS };

/*
 * Run the detector over every file of `c`, attach the scores (or r / (1 + r)
 * of each row's rarity r: the same order, without the ties of a saturated
 * score; or the flags as 0/1), and write them unless results is NULL.
 */
static int run_corpus(struct detector_instance *inst, struct nab_corpus *c, enum rank rank, const char *results,
                      const char *name, double *seconds, double *cpu, size_t *points, struct vigil_error *err)
{
	for (size_t f = 0; f < c->nfiles; f++) {
		const struct nab_file *nf = &c->files[f];
		struct series s = {
			.name = nf->name,
			.ts = nf->ts_ms,
			.v = nf->values,
			.n = nf->nrows,
		};
		struct detection det;
		double c0 = cpu_seconds();

		if (detection_run(inst, &s, &det, err)) {
			vigil_error_prefix(err, "%s", nf->name);
			detection_release(&det);
			return -1;
		}
		*cpu += cpu_seconds() - c0;
		*seconds += det.elapsed_s;
		*points += nf->nrows;
		for (size_t i = 0; rank != RANK_SCORE && i < det.r.n; i++) {
			double r = rank == RANK_RARITY ? detection_rarity(&det, i) : 0;

			det.r.score[i] = rank == RANK_RARITY ? r / (1 + r) : det.r.anomaly[i] ? 1 : 0;
		}
		if (nab_corpus_set_scores(c, f, det.r.score, det.r.n, err) ||
		    (results && write_results(results, name, nf, det.r.score, err))) {
			detection_release(&det);
			return -1;
		}
		detection_release(&det);
	}
	return 0;
}

static void print_scores(const char *title, const struct nab_result res[NAB_NPROFILES])
{
	printf("%s\n", title);
	printf("%-20s %-22s %12s %8s %8s %8s\n", "profile", "threshold", "normalised", "TP", "FP", "FN");
	for (int i = 0; i < NAB_NPROFILES; i++) {
		char theta[32];

		format_exact(theta, sizeof(theta), res[i].threshold);
		printf("%-20s %-22s %12.2f %8zu %8zu %8zu\n", nab_profiles[i].name, theta, res[i].normalised,
		       res[i].tp, res[i].fp, res[i].fn);
	}
	printf("standard %.1f  reward_low_FP %.1f  reward_low_FN %.1f\n", res[0].normalised, res[1].normalised,
	       res[2].normalised);
}

/*
 * Score `c` at fixed thresholds: --threshold for every profile, or each
 * profile's optimum on the training corpus.  Sets *theta to the standard one.
 */
static int score_fixed(struct detector_instance *inst, enum rank rank, const struct nab_corpus *c,
                       const char *fixed, const char *train_data, const char *train_labels, double *theta,
                       struct vigil_error *err)
{
	struct nab_result chosen[NAB_NPROFILES], res[NAB_NPROFILES];
	struct nab_corpus *train = NULL;
	char *title;
	int rc = -1;

	if (fixed) {
		char *end;

		errno = 0;
		chosen[0].threshold = strtod(fixed, &end);
		if (errno || end == fixed || *end || !isfinite(chosen[0].threshold))
			return vigil_error_set(err, VIGIL_E_SPEC, "--threshold: '%s' is not a number", fixed);
		for (int i = 1; i < NAB_NPROFILES; i++)
			chosen[i].threshold = chosen[0].threshold;
		title = xasprintf("at --threshold %s", fixed);
	} else {
		double seconds = 0, cpu = 0;
		size_t points = 0;

		train = nab_corpus_load(train_data, train_labels, err);
		if (!train || run_corpus(inst, train, rank, NULL, NULL, &seconds, &cpu, &points, err) ||
		    nab_optimize_all(train, nab_profiles, chosen, err)) {
			vigil_error_prefix(err, "--train-data");
			nab_corpus_free(train);
			return -1;
		}
		title = xasprintf("at the thresholds chosen on %s (%zu files, in-sample standard %.1f)", train_data,
		                  train->nfiles, chosen[0].normalised);
	}
	for (int i = 0; i < NAB_NPROFILES; i++)
		if (nab_score_at(c, &nab_profiles[i], chosen[i].threshold, &res[i], err))
			goto out;
	print_scores(title, res);
	*theta = chosen[0].threshold;
	rc = 0;
out:
	free(title);
	nab_corpus_free(train);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "labels", required_argument, NULL, 'l' },
		{ "results", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "per-file", no_argument, NULL, 'f' },
		{ "no-write", no_argument, NULL, 'W' },
		{ "threshold", required_argument, NULL, 't' },
		{ "train-data", required_argument, NULL, 'D' },
		{ "train-labels", required_argument, NULL, 'L' },
		{ "loco", no_argument, NULL, 'o' },
		{ "quarters", no_argument, NULL, 'q' },
		{ "kinds", required_argument, NULL, 'k' },
		{ "rank", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = "../shared/nab/data";
	const char *labels = "../shared/nab/labels/combined_windows.json";
	const char *results = "nab-results", *config = DEFAULT_CONFIG, *name = NULL;
	const char *fixed = NULL, *train_data = NULL, *train_labels = NULL, *kinds = NULL;
	const char **dirs = NULL;
	size_t n_dirs = 0, points = 0;
	int opt, per_file = 0, write = 1, loco = 0, quarters = 0, rc = 1;
	enum rank rank = RANK_SCORE;
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct nab_result res[NAB_NPROFILES];
	struct registry *reg = NULL;
	struct detector_instance *inst = NULL;
	struct nab_corpus *c = NULL;
	const struct detector_entry *e;
	char *own_dir = NULL, *title;
	double seconds = 0, cpu = 0, theta;
	json_t *cfg = NULL;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			data = optarg;
			break;
		case 'l':
			labels = optarg;
			break;
		case 'r':
			results = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'P':
			dirs = xreallocarray(dirs, n_dirs + 1, sizeof(*dirs));
			dirs[n_dirs++] = optarg;
			break;
		case 'f':
			per_file = 1;
			break;
		case 'W':
			write = 0;
			break;
		case 't':
			fixed = optarg;
			break;
		case 'D':
			train_data = optarg;
			break;
		case 'L':
			train_labels = optarg;
			break;
		case 'o':
			loco = 1;
			break;
		case 'q':
			quarters = 1;
			break;
		case 'k':
			kinds = optarg;
			break;
		case 'R':
			rank = !strcmp(optarg, "score") ? RANK_SCORE : !strcmp(optarg, "rarity") ? RANK_RARITY :
			       !strcmp(optarg, "flags") ? RANK_FLAGS : (enum rank)-1;
			if (rank == (enum rank)-1) {
				free(dirs);
				return usage("--rank takes 'score', 'rarity' or 'flags'");
			}
			break;
		case 'h':
			free(dirs);
			fputs(usage_text, stdout);
			return 0;
		default:
			free(dirs);
			return usage(NULL);
		}
	}
	if (optind != argc || (fixed && train_data) || !train_data != !train_labels) {
		free(dirs);
		return usage(optind != argc ? "unexpected arguments" :
		             fixed && train_data ? "--threshold and --train-data exclude each other" :
		                                   "--train-data and --train-labels go together");
	}
	cfg = load_config(config, &err);
	if (!cfg)
		goto fail;
	if (!name)
		name = json_string_value(json_object_get(cfg, "detector"));
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		json_decref(cfg);
		free(dirs);
		return usage("--name must be a plain name");
	}

	reg = registry_new();
	if (!n_dirs && !getenv("VIGIL_PLUGIN_PATH") && (own_dir = build_tree_plugins())) {
		dirs = xreallocarray(dirs, 1, sizeof(*dirs));
		dirs[n_dirs++] = own_dir;
	}
	registry_add_default(reg, dirs, n_dirs);
	e = registry_find(reg, json_string_value(json_object_get(cfg, "detector")));
	if (!e) {
		vigil_error_set(&err, VIGIL_E_PLUGIN,
		                "no detector '%s' (use --plugin-dir or set VIGIL_PLUGIN_PATH)",
		                json_string_value(json_object_get(cfg, "detector")));
		goto fail;
	}
	{
		struct diag d;
		int bad;

		diag_init(&d, "--config");
		bad = detector_check_params(e, json_object_get(cfg, "params"), &d, "$.params");
		if (bad) {
			diag_print(&d);
			diag_release(&d);
			vigil_error_set(&err, VIGIL_E_SPEC, "invalid params for '%s'", e->d.name);
			goto fail;
		}
		diag_release(&d);
	}
	inst = detector_instance_new(e, json_object_get(cfg, "params"), &err);
	if (!inst)
		goto fail;
	c = nab_corpus_load(data, labels, &err);
	if (!c || run_corpus(inst, c, rank, write ? results : NULL, name, &seconds, &cpu, &points, &err) ||
	    nab_optimize_all(c, nab_profiles, res, &err))
		goto fail;

	title = xasprintf("detector %s on %zu files (%zu points, %.3f s in detect(), %.3f s of CPU)%s", name,
	                  c->nfiles, points, seconds, cpu, rank == RANK_RARITY ? ", ranked by rarity" : rank == RANK_FLAGS ? ", its flags" : "");
	print_scores(title, res);
	free(title);
	theta = res[0].threshold;
	if ((fixed || train_data) && score_fixed(inst, rank, c, fixed, train_data, train_labels, &theta, &err))
		goto fail;
	nab_report_false_alarms(stdout, c, theta);
	if (per_file)
		print_per_file(c, &nab_profiles[0], theta);
	if (quarters)
		nab_report_quarters(stdout, c, theta);
	if (kinds && nab_report_kinds(stdout, c, theta, kinds, per_file, &err))
		goto fail;
	if (loco && nab_report_loco(stdout, c, &nab_profiles[0], &err))
		goto fail;
	if (write)
		printf("results in %s/%s/\n", results, name);
	if (fflush(stdout) || ferror(stdout)) {
		vigil_error_set(&err, VIGIL_E_IO, "cannot write to standard output");
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	fflush(stdout);
	fprintf(stderr, "nab: error: %s\n", err.msg);
out:
	nab_corpus_free(c);
	detector_instance_free(inst);
	registry_free(reg);
	json_decref(cfg);
	free(own_dir);
	free(dirs);
	return rc;
}
