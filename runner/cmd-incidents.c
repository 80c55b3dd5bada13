/*
 * cmd-incidents.c - `vigil incidents`: the incidents in the store, open ones
 * and those that ended in the last 7 days by default (runner/incident.h).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "incident.h"
#include "jsonfmt.h"
#include "msgtext.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define RECENT_MS (7LL * 24 * 3600 * 1000)

static void print_incidents(const struct incident *incs, size_t n)
{
	char start[40], end[40], peak[40], expected[40], rare[64];

	printf("%-6s %-9s %-20s %-30s %-20s %-20s %10s %10s  %s\n", "ID", "STATE", "JOB", "SERIES", "START", "END",
	       "PEAK", "EXPECTED", "UNUSUAL");
	for (size_t i = 0; i < n; i++) {
		const struct incident *inc = &incs[i];
		const char *name = *inc->series ? inc->series : !strcmp(inc->kind, "error") ? "(runs failing)"
		                                                                             : "(no data)";

		time_format_iso(inc->start_ms, start, sizeof(start));
		if (inc->end_ms)
			time_format_iso(inc->end_ms, end, sizeof(end));
		else
			snprintf(end, sizeof(end), "ongoing");
		msgtext_number(peak, sizeof(peak), inc->peak_value);
		msgtext_number(expected, sizeof(expected), inc->peak_expected);
		if (*inc->series)
			incident_rarity_text(inc->peak_rarity, rare, sizeof(rare));
		else
			snprintf(rare, sizeof(rare), "%s", inc->evidence ? inc->evidence : "-");
		printf("%-6lld %-9s %-20s %-30s %-20s %-20s %10s %10s  %s\n", (long long)inc->id, inc->state, inc->job,
		       name, start, end, peak, expected, rare);
	}
}

static int cmd_incidents(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "job", required_argument, NULL, 'J' },
		{ "all", no_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct incident_filter f = { .limit = 100 };
	const char *state = NULL, *store_path = NULL;
	struct incident *incs = NULL;
	size_t n = 0;
	int c, json = 0, rc;
	struct store *st;
	long limit;
	char *end;

	while ((c = getopt_long(argc, argv, "J:al:js:h", opts, NULL)) != -1) {
		switch (c) {
		case 'J': f.job = optarg; break;
		case 'a': f.all = 1; break;
		case 'j': json = 1; break;
		case 's': state = optarg; break;
		case 'S': store_path = optarg; break;
		case 'l':
			limit = strtol(optarg, &end, 10);
			if (*end || limit < 1 || limit > 100000)
				return cmd_usage_error(self, "--limit must be an integer in [1, 100000]");
			f.limit = (size_t)limit;
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
	f.since_ms = time_now_ms() - RECENT_MS;
	rc = st->backend->incidents ? st->backend->incidents->list(st, &f, &incs, &n, &err)
	                            : vigil_error_set(&err, VIGIL_E_STORE, "this store keeps no incidents");
	store_close(st);
	if (rc) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return EXIT_ENV;
	}
	if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, incident_json(&incs[i]));
		jsonfmt_dumpf(arr, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		json_decref(arr);
	} else {
		print_incidents(incs, n);
	}
	incidents_free(incs, n);
	return EXIT_OK;
}

const struct cmd_entry cmd_incidents_entry = {
	.name = "incidents",
	.usage = "[--job NAME] [--all] [--limit N] [--json] [--state DIR | --store FILE]",
	.summary = "list incidents: open ones and those that ended in the last 7 days",
	.help = "  -J, --job NAME        only this job\n"
	        "  -a, --all             every incident, however old\n"
	        "  -l, --limit N         at most N, newest start first (default 100)\n"
	        "  -j, --json            machine-readable output\n"
	        "  -s, --state DIR       state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store FILE      the SQLite store file (default: DIR/vigil.db)\n",
	.exec = cmd_incidents,
};
