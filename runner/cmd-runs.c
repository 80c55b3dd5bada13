/* cmd-runs.c - `vigil runs`: run history and anomalies from the store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "paths.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static void print_runs(const json_t *runs)
{
	size_t i;
	json_t *r;
	char when[40];

	printf("%-6s %-24s %-20s %-10s %-10s %7s %9s %6s  %s\n", "RUN", "JOB", "STARTED", "STATE", "OUTCOME",
	       "SERIES", "POINTS", "ALERTS", "ERROR");
	json_array_foreach(runs, i, r) {
		time_format_iso(json_integer_value(json_object_get(r, "started_at")), when, sizeof(when));
		printf("%-6lld %-24s %-20s %-10s %-10s %7lld %9lld %6lld  %s\n",
		       (long long)json_integer_value(json_object_get(r, "id")), str_or(r, "job", "?"), when,
		       str_or(r, "state", "?"), str_or(r, "outcome", "-"),
		       (long long)json_integer_value(json_object_get(r, "n_series")),
		       (long long)json_integer_value(json_object_get(r, "n_points")),
		       (long long)json_integer_value(json_object_get(r, "n_alerts")), str_or(r, "error", ""));
	}
}

static void print_anomalies(const json_t *rows)
{
	size_t i;
	json_t *r;
	char when[40];

	printf("%-6s %-20s %-24s %-20s %14s %8s  %s\n", "RUN", "JOB", "SERIES", "TIME", "VALUE", "SCORE",
	       "DETECTOR");
	json_array_foreach(rows, i, r) {
		time_format_iso(json_integer_value(json_object_get(r, "ts")), when, sizeof(when));
		printf("%-6lld %-20s %-24s %-20s %14.6g %8.4f  %s%s%s\n",
		       (long long)json_integer_value(json_object_get(r, "run_id")), str_or(r, "job", "?"),
		       str_or(r, "series", "?"), when, json_number_value(json_object_get(r, "value")),
		       json_number_value(json_object_get(r, "score")), str_or(r, "detector", "?"),
		       json_integer_value(json_object_get(r, "shadow")) ? " (shadow)" : "",
		       json_integer_value(json_object_get(r, "alerted")) ? " ALERT" : "");
	}
}

static int cmd_runs(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "job", required_argument, NULL, 'J' },
		{ "limit", required_argument, NULL, 'l' },
		{ "anomalies", no_argument, NULL, 'a' },
		{ "run", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *job = NULL, *state = NULL, *store_path = NULL;
	long limit = 20, run_id = 0;
	int c, json = 0, anomalies = 0, rc;
	struct store *st;
	json_t *out = NULL;
	char *end;

	while ((c = getopt_long(argc, argv, "J:l:ar:js:h", opts, NULL)) != -1) {
		switch (c) {
		case 'J': job = optarg; break;
		case 'a': anomalies = 1; break;
		case 'j': json = 1; break;
		case 's': state = optarg; break;
		case 'S': store_path = optarg; break;
		case 'l':
			limit = strtol(optarg, &end, 10);
			if (*end || limit < 1 || limit > 100000)
				return cmd_usage_error(self, "--limit must be an integer in [1, 100000]");
			break;
		case 'r':
			run_id = strtol(optarg, &end, 10);
			if (*end || run_id < 1)
				return cmd_usage_error(self, "--run must be a run id");
			anomalies = 1;
			break;
		case 'h':
			cmd_usage(self, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error(self, "unknown option");
		}
	}
	if (optind != argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	st = cli_open_store(state, store_path);
	if (!st)
		return EXIT_ENV;
	rc = anomalies ? st->backend->list_anomalies(st, job, run_id, (size_t)limit, &out, &err)
	               : st->backend->list_runs(st, job, (size_t)limit, &out, &err);
	store_close(st);
	if (rc) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return EXIT_ENV;
	}
	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	} else if (anomalies) {
		print_anomalies(out);
	} else {
		print_runs(out);
	}
	json_decref(out);
	return EXIT_OK;
}

const struct cmd_entry cmd_runs_entry = {
	.name = "runs",
	.usage = "[--job NAME] [--limit N] [--anomalies | --run ID] [--json] [--state DIR | --store FILE]",
	.summary = "show run history, or the anomalies found, from the store",
	.help = "  -J, --job NAME        only this job\n"
	        "  -l, --limit N         at most N rows, newest first (default 20)\n"
	        "  -a, --anomalies       list flagged points instead of runs\n"
	        "  -r, --run ID          the anomalies of one run\n"
	        "  -j, --json            machine-readable output\n"
	        "  -s, --state DIR       state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store STORE     an SQLite file or a postgresql:// URI (default: $VIGIL_STORE, else DIR/vigil.db)\n",
	.exec = cmd_runs,
};
