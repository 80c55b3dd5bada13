/*
 * cmd-backfill.c - `vigil backfill SPEC --from T --to T [--step D]`: run a
 * job over a historical range as its schedule would have, storing results.
 *
 * Each run goes through the same claim as the daemon's (one row per job and
 * scheduled time), so a backfill can run beside `vigil serve` and a second
 * backfill of the same range skips what is done.  Runs report their
 * scheduled time as their start (fixed clock), so the results depend only
 * on the data.  Notifications are off unless --notify.  With
 * --score-feedback the runs' incidents and detector flags are scored against
 * the feedback on the job's stored incidents (runner/whatif.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cron.h"
#include "incident.h"
#include "job.h"
#include "jsonfmt.h"
#include "log.h"
#include "outbox.h"
#include "sched.h"
#include "store.h"
#include "timefmt.h"
#include "tz.h"
#include "whatif.h"
#include "xmalloc.h"
#include "banned.h"

/* Runs of one backfill or replay, at most. */
#define HISTORY_MAX_RUNS 100000
/* A backfill run holds its claim this long (there is no heartbeat). */
#define BACKFILL_LEASE_MS (6LL * 3600 * 1000)

int cli_history_times(const struct cmd_entry *c, const struct job_spec *spec, int64_t from, int64_t to,
                      int64_t step_ms, int64_t **times, size_t *n)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct tz *tz;
	int rc;

	*times = NULL;
	*n = 0;
	if (from > to)
		return cmd_usage_error(c, "--from is after --to");
	if (step_ms > 0) {
		if ((uint64_t)(to - from) / (uint64_t)step_ms >= HISTORY_MAX_RUNS)
			return cmd_usage_error(c, "more than %d runs in the range; use a larger --step", HISTORY_MAX_RUNS);
		*times = xcalloc((size_t)((to - from) / step_ms) + 1, sizeof(**times));
		for (int64_t t = from; t <= to; t += step_ms)
			(*times)[(*n)++] = t;
		return 0;
	}
	if (!spec->cron)
		return cmd_usage_error(c, "job '%s' has no schedule: give --step", spec->name);
	tz = tz_load(spec->timezone ? spec->timezone : "UTC", &err);
	if (!tz)
		return cmd_usage_error(c, "%s", err.msg);
	rc = sched_fire_times(spec->cron, tz, from, to, HISTORY_MAX_RUNS, times, n, &err);
	tz_free(tz);
	if (rc)
		return cmd_usage_error(c, "%s; use --step or a shorter range", err.msg);
	return 0;
}

static void progress(size_t done, size_t total, size_t failed, const char *job)
{
	char bar[41];
	size_t fill = total ? done * 40 / total : 40;

	memset(bar, '#', fill);
	memset(bar + fill, '.', 40 - fill);
	bar[40] = '\0';
	fprintf(stderr, "\rbackfill '%s' [%s] %zu/%zu runs, %zu failed", job, bar, done, total, failed);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

static int parse_time_opt(const struct cmd_entry *self, const char *name, const char *arg, int64_t *ms)
{
	if (time_parse(arg, strlen(arg), TIME_AUTO, ms))
		return cmd_usage_error(self, "--%s: '%s' is not a timestamp", name, arg);
	return 0;
}

static int cmd_backfill(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "step", required_argument, NULL, 'e' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "notify", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "score-feedback", no_argument, NULL, 'F' },
		{ "job", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_plugins plugins = { .n = 0 };
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *state = NULL, *store_opt = NULL, *score_job = NULL;
	struct whatif *wi = NULL;
	int score = 0;
	int64_t from = INT64_MIN, to = INT64_MIN, step = 0, *times = NULL;
	size_t n = 0, invalid, ok = 0, failed = 0, skipped = 0, alerts = 0, with_anomalies = 0, opened = 0;
	int c, notify = 0, json = 0, quiet = 0, rc = EXIT_OK, bar;
	struct registry *reg;
	struct job_spec **specs;
	struct store *st = NULL;
	char *node = NULL, host[128];
	json_t *results = NULL;

	while ((c = getopt_long(argc, argv, "f:t:e:s:njqP:FJ:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_time_opt(self, "from", optarg, &from))
				return EXIT_USAGE;
			break;
		case 't':
			if (parse_time_opt(self, "to", optarg, &to))
				return EXIT_USAGE;
			break;
		case 'e':
			if (duration_parse(optarg, &step))
				return cmd_usage_error(self, "--step: '%s' is not a duration", optarg);
			break;
		case 's': state = optarg; break;
		case 'S': store_opt = optarg; break;
		case 'n': notify = 1; break;
		case 'j': json = 1; break;
		case 'q': quiet = 1; break;
		case 'F': score = 1; break;
		case 'J': score_job = optarg; break;
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
	if (score_job && !score)
		return cmd_usage_error(self, "--job goes with --score-feedback");
	reg = cli_load_registry(&plugins);
	specs = cli_load_specs(argv + optind, 1, reg, &invalid);
	if (invalid) {
		rc = EXIT_USAGE;
		goto out;
	}
	if ((rc = cli_history_times(self, specs[0], from, to, step, &times, &n)))
		goto out;
	if (!(st = cli_open_store(state, store_opt))) {
		rc = EXIT_ENV;
		goto out;
	}
	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	node = xasprintf("backfill:%s:%ld", host, (long)getpid());
	st->node = node;
	bar = !quiet && isatty(2);
	results = json_array();
	if (score)
		wi = whatif_new(specs[0], from, to);
	for (size_t i = 0; i < n; i++) {
		struct notify_ctx nctx = { .out = json ? stderr : stdout, .spec_dir = specs[0]->dir };
		struct job_options opt = { .scheduled_ms = times[i], .store = st, .fixed_clock = 1,
		                           .notify = notify ? &nctx : NULL, .on_series = wi ? whatif_on_series : NULL,
		                           .arg = wi };
		struct run_claim claim;
		struct run_report rep;
		int claimed = 0;

		vigil_error_clear(&err);
		if (st->backend->run_claim(st, specs[0]->name, times[i], 0, "backfill", node, BACKFILL_LEASE_MS,
		                           &claim, &claimed, &err)) {
			fprintf(stderr, "vigil backfill: %s\n", err.msg);
			rc = EXIT_ENV;
			break;
		}
		if (!claimed) {
			skipped++;
		} else {
			opt.run_id = claim.id;
			if (job_run(specs[0], &opt, &rep, &err) || rep.n_failures) {
				failed++;
				rc = EXIT_JOB_FAILED;
			} else {
				ok++;
			}
			alerts += rep.n_alerts;
			with_anomalies += rep.n_alerts > 0;
			for (size_t k = 0; k < rep.n_incidents; k++)
				opened += (rep.incident_events[k] & INCIDENT_OPENED) != 0;
			if (wi)
				whatif_add_run(wi, &rep);
			if (json && !wi)
				json_array_append_new(results, run_report_json(&rep));
			run_report_release(&rep);
		}
		if (bar)
			progress(i + 1, n, failed, specs[0]->name);
	}
	if (notify) {
		/* Slack and webhook messages went to the outbox with their runs: deliver them (10 s at most). */
		struct outbox_sender *sender = outbox_sender_new(st);
		json_t *counts = NULL;

		vigil_error_clear(&err);
		if (outbox_flush(sender, time_now_ms() + 10000, &err))
			fprintf(stderr, "vigil backfill: %s\n", err.msg);
		outbox_sender_free(sender);
		if (!st->backend->notify->counts(st, &counts, NULL)) {
			json_int_t left = json_integer_value(json_object_get(counts, "pending")) +
			                  json_integer_value(json_object_get(counts, "sending"));

			if (left)
				fprintf(stderr, "vigil backfill: %lld message%s still queued ('vigil outbox send' or the "
				        "daemon delivers them)\n", (long long)left, left == 1 ? "" : "s");
			json_decref(counts);
		}
	}
	if (wi) {
		json_decref(results);
		results = NULL;
		vigil_error_clear(&err);
		if (whatif_score(wi, st, score_job, &results, &err)) {
			fprintf(stderr, "vigil backfill: %s\n", err.msg);
			rc = EXIT_ENV;
		} else if (!json) {
			if (skipped)
				printf("(%zu run%s already in the store were not run again and are not scored)\n", skipped,
				       skipped == 1 ? "" : "s");
			whatif_print(results, stdout);
		}
	}
	if (json && results) {
		jsonfmt_dumpf(results, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	}
	if (!quiet)
		fprintf(json ? stderr : stdout, "backfill '%s': %zu run%s (%zu succeeded, %zu failed, %zu already done), "
		        "%zu with alerts, %zu alerts, %zu incident%s\n", specs[0]->name, n, n == 1 ? "" : "s", ok, failed,
		        skipped, with_anomalies, alerts, opened, opened == 1 ? "" : "s");
out:
	json_decref(results);
	whatif_free(wi);
	store_close(st);
	free(node);
	free(times);
	cli_free_specs(specs, 1);
	registry_free(reg);
	return rc;
}

const struct cmd_entry cmd_backfill_entry = {
	.name = "backfill",
	.usage = "SPEC --from TIME --to TIME [--step DURATION] [--state DIR | --store FILE] [--notify] [--json] "
	         "[--score-feedback [--job NAME]]",
	.summary = "run a job over a historical range as its schedule would have, storing the results",
	.help = "  -f, --from TIME        first run time (ISO-8601 or unix seconds), inclusive\n"
	        "  -t, --to TIME          last run time, inclusive\n"
	        "  -e, --step DURATION    run every DURATION from --from instead of at the schedule's fire times\n"
	        "  -s, --state DIR        state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store STORE      an SQLite file or a postgresql:// URI (default: $VIGIL_STORE, else DIR/vigil.db)\n"
	        "  -n, --notify           also send the notifications (off by default)\n"
	        "  -j, --json             print every run's result as JSON\n"
	        "  -q, --quiet            no progress bar, no summary\n"
	        "  -P, --plugin-dir DIR   also load detector plugins from DIR (repeatable)\n"
	        "  -F, --score-feedback   score the runs' incidents and each detector's flags against the feedback on\n"
	        "                         the job's stored incidents: precision, recall, alerts per day (--json: as JSON)\n"
	        "  -J, --job NAME         the job whose incidents and feedback to score against (default: the spec's)\n"
	        "Runs already in the store (same job and time) are skipped, so a backfill can be resumed.\n",
	.exec = cmd_backfill,
};
