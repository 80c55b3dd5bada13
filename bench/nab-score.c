/*
 * nab-score.c - score a detector's results in NAB layout with vigil's NAB
 * scorer and print, per profile, the optimal threshold and the raw and
 * normalised scores.  A thin program over nabscore.c.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nabscore.h"
#include "banned.h"

static const char usage_text[] =
	"usage: nab-score [--data DIR] [--labels FILE] [--profiles FILE] [--threshold X]\n"
	"                 --results DIR --detector NAME\n"
	"\n"
	"  --data DIR       NAB data dir (default ../shared/nab/data)\n"
	"  --labels FILE    combined_windows.json\n"
	"                   (default ../shared/nab/labels/combined_windows.json)\n"
	"  --profiles FILE  profiles.json (default: NAB's three cost matrices, built in)\n"
	"  --results DIR    results dir: DIR/NAME/<category>/NAME_<file>.csv\n"
	"  --detector NAME  the detector whose results to score\n"
	"  --threshold X    score at X instead of the optimal threshold\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "nab-score: %s\n", msg);
	fputs(usage_text, stderr);
	return 2;
}

/* The shortest text that reads back as exactly `v`: thresholds are data values. */
static void format_exact(char *buf, size_t size, double v)
{
	int prec;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, size, "%.17g", v);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "labels", required_argument, NULL, 'l' },
		{ "profiles", required_argument, NULL, 'p' },
		{ "results", required_argument, NULL, 'r' },
		{ "detector", required_argument, NULL, 'n' },
		{ "threshold", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = "../shared/nab/data";
	const char *labels = "../shared/nab/labels/combined_windows.json";
	const char *profiles_path = NULL, *results = NULL, *detector = NULL;
	struct nab_profile profiles[NAB_NPROFILES];
	struct nab_result res[NAB_NPROFILES];
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct nab_corpus *c;
	double threshold = 0;
	int opt, fixed = 0, i;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'd':
			data = optarg;
			break;
		case 'l':
			labels = optarg;
			break;
		case 'p':
			profiles_path = optarg;
			break;
		case 'r':
			results = optarg;
			break;
		case 'n':
			detector = optarg;
			break;
		case 't':
			threshold = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(threshold))
				return usage("--threshold needs a number");
			fixed = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage(NULL);
		}
	}
	if (optind != argc)
		return usage("unexpected arguments");
	if (!results || !detector)
		return usage("--results and --detector are required");
	if (!*detector || strchr(detector, '/'))
		return usage("--detector must be a plain name");

	memcpy(profiles, nab_profiles, sizeof(profiles));
	if (profiles_path && nab_profiles_load(profiles_path, profiles, &err) < 0)
		goto fail;
	c = nab_corpus_load(data, labels, &err);
	if (!c)
		goto fail;
	if (nab_corpus_read_results(c, results, detector, &err) < 0)
		goto fail_corpus;
	if (fixed) {
		for (i = 0; i < NAB_NPROFILES; i++) {
			if (nab_score_at(c, &profiles[i], threshold, &res[i], &err) < 0)
				goto fail_corpus;
		}
	} else if (nab_optimize_all(c, profiles, res, &err) < 0) {
		goto fail_corpus;
	}

	printf("%-20s %-20s %16s %12s %8s %8s %8s %8s\n", "profile", "threshold", "raw score",
	       "normalised", "TP", "FP", "FN", "TN");
	for (i = 0; i < NAB_NPROFILES; i++) {
		char theta[32];

		format_exact(theta, sizeof(theta), res[i].threshold);
		printf("%-20s %-20s %18.13f %17.13f %8zu %8zu %8zu %8zu\n", profiles[i].name, theta,
		       res[i].raw, res[i].normalised, res[i].tp, res[i].fp, res[i].fn, res[i].tn);
	}
	nab_corpus_free(c);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "nab-score: error: cannot write the table\n");
		return 1;
	}
	return 0;

fail_corpus:
	nab_corpus_free(c);
fail:
	fprintf(stderr, "nab-score: error: %s\n", err.msg);
	return 1;
}
