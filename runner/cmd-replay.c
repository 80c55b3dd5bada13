/*
 * cmd-replay.c - `vigil replay SPEC --from T --to T [--step D]`: print the
 * notifications the job would have sent over a historical range.
 *
 * Nothing is stored and nothing is sent: every notify target renders its
 * message in dry-run mode on standard output.  Runs report their scheduled
 * time as their start, so the output depends only on the spec and the data.
 * Slack and webhook targets keep their alert state, and every job its
 * incidents, from one replayed run to the next in a store in memory, so
 * incidents, reminders, repeat suppression and resolved messages come out
 * as they would have; quiet hours are judged at
 * each run's scheduled time, and mutes (which live in the real store) are
 * not applied.
 *
 * With --score-feedback the messages are not printed: the config's
 * incidents and each detector's flags are scored against the feedback
 * stored on the job's incidents instead (runner/whatif.h); the store is
 * only read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "incident.h"
#include "job.h"
#include "jsonfmt.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"
#include "whatif.h"
#include "xmalloc.h"
#include "banned.h"

static int cmd_replay(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "step", required_argument, NULL, 'e' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "score-feedback", no_argument, NULL, 'F' },
		{ "job", required_argument, NULL, 'J' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_plugins plugins = { .n = 0 };
	const char *score_job = NULL, *state_dir = NULL, *store_opt = NULL;
	int score = 0;
	struct whatif *wi = NULL;
	struct store *real = NULL;
	int64_t from = INT64_MIN, to = INT64_MIN, step = 0, *times = NULL;
	size_t n = 0, invalid, sent = 0, failed_runs = 0, muted = 0;
	int c, rc = EXIT_OK, json = 0;
	size_t opened = 0;
	json_t *results;
	FILE *human;
	struct registry *reg;
	struct job_spec **specs;
	struct store *state = NULL;
	struct vigil_error serr = VIGIL_ERROR_INIT;

	while ((c = getopt_long(argc, argv, "f:t:e:P:jFJ:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'F': score = 1; break;
		case 'J': score_job = optarg; break;
		case 's': state_dir = optarg; break;
		case 'S': store_opt = optarg; break;
		case 'f':
			if (time_parse(optarg, strlen(optarg), TIME_AUTO, &from))
				return cmd_usage_error(self, "--from: '%s' is not a timestamp", optarg);
			break;
		case 't':
			if (time_parse(optarg, strlen(optarg), TIME_AUTO, &to))
				return cmd_usage_error(self, "--to: '%s' is not a timestamp", optarg);
			break;
		case 'e':
			if (duration_parse(optarg, &step))
				return cmd_usage_error(self, "--step: '%s' is not a duration", optarg);
			break;
		case 'P':
			if (cli_add_plugin_dir(self, &plugins, optarg))
				return EXIT_USAGE;
			break;
		case 'h':
			cmd_usage(self, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error(self, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error(self, "give exactly one spec");
	if (from == INT64_MIN || to == INT64_MIN)
		return cmd_usage_error(self, "--from and --to are required");
	if (!score && (score_job || state_dir || store_opt))
		return cmd_usage_error(self, "--job, --state and --store go with --score-feedback");
	results = json_array();
	human = json ? stderr : stdout;   /* with --json, stdout is JSON only */
	reg = cli_load_registry(&plugins);
	specs = cli_load_specs(argv + optind, 1, reg, &invalid);
	if (invalid) {
		rc = EXIT_USAGE;
		goto out;
	}
	if ((rc = cli_history_times(self, specs[0], from, to, step, &times, &n)))
		goto out;
	if (!(state = store_open(":memory:", &serr))) {
		fprintf(stderr, "vigil replay: %s\n", serr.msg);
		rc = EXIT_ENV;
		goto out;
	}
	if (score) {
		if (!(real = cli_open_store(state_dir, store_opt))) {
			rc = EXIT_ENV;
			goto out;
		}
		wi = whatif_new(specs[0], from, to);
	}
	for (size_t i = 0; i < n; i++) {
		struct notify_ctx nctx = { .out = human, .dry_run = 1, .spec_dir = specs[0]->dir };
		/* Slack and webhook messages: decided with the state in memory, printed, never sent. */
		struct notify_ctx qctx = { .out = human, .spec_dir = specs[0]->dir, .outbox = state,
		                           .skip_immediate = 1, .print_queued = !score };
		struct job_options opt = { .scheduled_ms = times[i], .fixed_clock = 1, .notify = &qctx,
		                           .on_series = wi ? whatif_on_series : NULL, .arg = wi };
		struct vigil_error err = VIGIL_ERROR_INIT;
		struct run_report rep;

		if (job_run(specs[0], &opt, &rep, &err) || rep.n_failures) {
			failed_runs++;
			rc = EXIT_JOB_FAILED;
		}
		for (size_t k = 0; k < specs[0]->n_notify && !score; k++) {
			vigil_error_clear(&err);
			if (!specs[0]->notify[k].type->send)
				continue;   /* queued: printed by job_run */
			if (specs[0]->notify[k].type->send(specs[0]->notify[k].cfg, &rep, &nctx, &err))
				fprintf(stderr, "vigil replay: notify[%zu] (%s): %s\n", k, specs[0]->notify[k].type->name,
				        err.msg);
			else
				sent++;
		}
		for (size_t k = 0; k < rep.n_incidents; k++)
			opened += (rep.incident_events[k] & INCIDENT_OPENED) != 0;
		if (wi)
			whatif_add_run(wi, &rep);
		if (json && !score)
			json_array_append_new(results, run_report_json(&rep));
		run_report_release(&rep);
	}
	if (wi) {
		json_decref(results);
		results = NULL;
		if (whatif_score(wi, real, score_job, &results, &serr)) {
			fprintf(stderr, "vigil replay: %s\n", serr.msg);
			rc = EXIT_ENV;
			goto out;
		}
		if (!json)
			whatif_print(results, stdout);
	}
	if (json) {
		jsonfmt_dumpf(results, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	}
	fflush(stdout);
	{
		json_t *counts = NULL;

		if (!state->backend->notify->counts(state, &counts, &serr)) {
			sent += (size_t)json_integer_value(json_object_get(counts, "pending"));
			muted = (size_t)json_integer_value(json_object_get(counts, "muted"));
			json_decref(counts);
		}
	}
	fprintf(stderr, "replay '%s': %zu run%s, %zu notification%s", specs[0]->name, n, n == 1 ? "" : "s", sent,
	        sent == 1 ? "" : "s");
	if (muted)
		fprintf(stderr, " (and %zu kept muted)", muted);
	fprintf(stderr, ", %zu failed run%s, %zu incident%s\n", failed_runs, failed_runs == 1 ? "" : "s", opened,
	        opened == 1 ? "" : "s");
out:
	json_decref(results);
	whatif_free(wi);
	store_close(real);
	store_close(state);
	free(times);
	cli_free_specs(specs, 1);
	registry_free(reg);
	return rc;
}

const struct cmd_entry cmd_replay_entry = {
	.name = "replay",
	.usage = "SPEC --from TIME --to TIME [--step DURATION] [--json] [--score-feedback [--job NAME] "
	         "[--state DIR | --store STORE]] [--plugin-dir DIR]",
	.summary = "print the notifications a job would have sent over a historical range",
	.help = "  -f, --from TIME        first run time (ISO-8601 or unix seconds), inclusive\n"
	        "  -t, --to TIME          last run time, inclusive\n"
	        "  -e, --step DURATION    run every DURATION from --from instead of at the schedule's fire times\n"
	        "  -j, --json             print every run's result (alerts, incidents) as JSON; messages go to stderr\n"
	        "  -P, --plugin-dir DIR   also load detector plugins from DIR (repeatable)\n"
	        "  -F, --score-feedback   instead of the messages, score the spec's detectors against the feedback\n"
	        "                         on the job's stored incidents: precision, recall, alerts per day (what if)\n"
	        "  -J, --job NAME         the job whose incidents and feedback to score against (default: the spec's)\n"
	        "  -s, --state DIR        with --score-feedback: state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store STORE      with --score-feedback: an SQLite file or a postgresql:// URI, only read\n"
	        "Nothing is stored or sent; the output depends only on the spec, its data and the feedback.\n",
	.exec = cmd_replay,
};
