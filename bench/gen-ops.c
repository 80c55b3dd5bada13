/*
 * gen-ops.c - a deterministic generator of realistic ops metrics with
 * planted anomalies, written in NAB's layout so bench/nab scores detectors
 * on data nobody tuned them to:
 *
 *	OUT/data/<category>/<file>.csv        timestamp,value
 *	OUT/labels/combined_windows.json      one NAB-sized window per anomaly
 *	OUT/labels/kinds.json                 the kind and onset of each anomaly
 *
 * Series of 10 000-40 000 points at 1 min ... 1 h steps: latency (heavy-
 * tailed), request counts (overdispersed Poisson), bounded percentages,
 * queue depths, business KPIs, and minute-step series with one +5 sd level
 * shift (for detection delay).  Daily and weekly cycles, trends, a harmless
 * batch spike at the same time every night, gaps (missing rows).  The same
 * seed gives the same bytes; each series has its own random stream, so
 * --categories picks a subset without changing any file.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gen-ops.h"
#include "nabscore.h"
#include "paths.h"
#include "xmalloc.h"
#include "banned.h"

static const char usage_text[] =
	"usage: gen-ops [--seed N] [--out DIR] [--categories LIST]\n"
	"\n"
	"  --seed N          the corpus (default 1); another seed is another corpus\n"
	"  --out DIR         where to write data/ and labels/ (default ops-corpus)\n"
	"  --categories LIST comma-separated subset of opsLatency, opsCounts, opsPercent,\n"
	"                    opsQueues, opsKpi, opsShift (default: all; same files either way)\n";

static int cut(const struct series *s, size_t i)
{
	for (size_t g = 0; g < s->ngaps; g++)
		if (i >= s->gaps[g].from && i < s->gaps[g].from + s->gaps[g].len)
			return 1;
	return 0;
}

/* Write the series' CSV; fill in the anomalies' rows and windows; *times gets each row's time. */
static int write_series(const char *out, struct series *s, uint64_t seed, int64_t **times, size_t *nrows)
{
	double *v = genops_values(s, seed);
	char *path = xasprintf("%s/data/%s", out, s->name), *slash = strrchr(path, '/');
	const char *fmt = s->metric == LATENCY || s->metric == PERCENT ? "%s,%.2f\n" :
			  s->metric == SHIFT ? "%s,%.3f\n" : "%s,%.0f\n";
	size_t rows = 0, len;
	struct vigil_error err = VIGIL_ERROR_INIT;
	FILE *fp;
	int rc = -1;

	*times = XNEWARRAY(int64_t, s->n);
	*slash = '\0';
	if (paths_mkdir_p(path, 0777, &err)) {
		fprintf(stderr, "gen-ops: %s\n", err.msg);
		goto out;
	}
	*slash = '/';
	fp = fopen(path, "w");
	if (!fp) {
		fprintf(stderr, "gen-ops: cannot write '%s': %s\n", path, strerror(errno));
		goto out;
	}
	fputs("timestamp,value\n", fp);
	for (size_t i = 0; i < s->n; i++) {
		char ts[32];

		if (cut(s, i))
			continue;
		for (size_t a = 0; a < s->nanom; a++)
			if (s->anom[a].onset == i)
				s->anom[a].row = rows;
		(*times)[rows] = s->start + (int64_t)i * s->step;
		nab_format_timestamp(ts, sizeof(ts), 1000 * (*times)[rows++]);
		fprintf(fp, fmt, ts, v[i]);
	}
	if (fclose(fp)) {
		fprintf(stderr, "gen-ops: cannot write '%s': %s\n", path, strerror(errno));
		goto out;
	}
	len = (size_t)(0.1 * (double)rows / (double)s->nanom);
	for (size_t a = 0; a < s->nanom; a++) {
		s->anom[a].first = s->anom[a].row - len / 2;
		s->anom[a].last = s->anom[a].row + len / 2;
	}
	*nrows = rows;
	rc = 0;
out:
	free(v);
	free(path);
	return rc;
}

static json_t *time_json(int64_t t, int nab_suffix)
{
	char ts[40];

	nab_format_timestamp(ts, sizeof(ts), 1000 * t);
	if (nab_suffix)
		return json_sprintf("%s.000000", ts);
	return json_string(ts);
}

static json_t *describe(const struct series *s, const struct anomaly *a, const int64_t *times)
{
	json_t *o = json_object(), *win = json_array();

	json_array_append_new(win, time_json(times[a->first], 1));
	json_array_append_new(win, time_json(times[a->last], 1));
	json_object_set_new(o, "kind", json_string(genops_kind_names[a->kind]));
	json_object_set_new(o, "onset", time_json(times[a->row], 0));
	json_object_set_new(o, "window", win);
	json_object_set_new(o, "size", json_real(round(a->size * 100) / 100));
	if (!genops_persistent(a->kind) && a->kind != LEVEL_UP_5SD)
		json_object_set_new(o, "minutes", json_integer((json_int_t)(a->dur * (size_t)s->step / 60)));
	return o;
}

static int wanted(const char *list, const char *category)
{
	size_t len = strlen(category);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && !strncmp(p, category, len))
			return 1;
		p = end ? end + 1 : NULL;
	}
	return !list;
}

static int check_categories(const char *list)
{
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int found = 0;

		for (int m = 0; m < NMETRICS; m++)
			found |= strlen(genops_metrics[m].category) == n && !strncmp(p, genops_metrics[m].category, n);
		if (!found) {
			fprintf(stderr, "gen-ops: --categories: unknown category '%.*s'\n", (int)n, p);
			return -1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

static int write_json(json_t *j, const char *out, const char *file)
{
	char *path = xasprintf("%s/labels/%s", out, file);
	int rc = json_dump_file(j, path, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));

	if (rc)
		fprintf(stderr, "gen-ops: cannot write '%s'\n", path);
	free(path);
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "categories", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = "ops-corpus", *cats = NULL;
	uint64_t seed = 1;
	json_t *windows = json_object(), *kinds = json_object();
	size_t n, files = 0, anomalies = 0, points = 0;
	struct series *all;
	char *labels;
	struct vigil_error err = VIGIL_ERROR_INIT;
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 's':
			errno = 0;
			seed = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-') {
				fprintf(stderr, "gen-ops: --seed: '%s' is not a non-negative integer\n", optarg);
				goto usage;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'c':
			cats = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			json_decref(windows);
			json_decref(kinds);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc || check_categories(cats))
		goto usage;
	labels = xasprintf("%s/labels", out);
	if (paths_mkdir_p(labels, 0777, &err)) {
		fprintf(stderr, "gen-ops: %s\n", err.msg);
		free(labels);
		goto out;
	}
	free(labels);
	all = genops_plan(seed, &n);
	for (size_t i = 0; i < n; i++) {
		struct series *s = &all[i];
		json_t *wl = json_array(), *kl = json_array();
		int64_t *times = NULL;
		size_t rows;

		if (!wanted(cats, genops_metrics[s->metric].category)) {
			json_decref(wl);
			json_decref(kl);
			continue;
		}
		if (write_series(out, s, seed, &times, &rows)) {
			free(times);
			free(all);
			json_decref(wl);
			json_decref(kl);
			goto out;
		}
		for (size_t a = 0; a < s->nanom; a++) {
			json_t *w = json_array();

			json_array_append_new(w, time_json(times[s->anom[a].first], 1));
			json_array_append_new(w, time_json(times[s->anom[a].last], 1));
			json_array_append_new(wl, w);
			json_array_append_new(kl, describe(s, &s->anom[a], times));
		}
		json_object_set_new(windows, s->name, wl);
		json_object_set_new(kinds, s->name, kl);
		files++;
		anomalies += s->nanom;
		points += rows;
		free(times);
	}
	free(all);
	if (write_json(windows, out, "combined_windows.json") || write_json(kinds, out, "kinds.json"))
		goto out;
	printf("gen-ops: seed %llu: %zu series, %zu points, %zu anomalies in %s/\n", (unsigned long long)seed, files,
	       points, anomalies, out);
	rc = 0;
	goto out;
usage:
	fputs(usage_text, stderr);
	rc = 2;
out:
	json_decref(windows);
	json_decref(kinds);
	return rc;
}
