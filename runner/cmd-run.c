/* cmd-run.c - `vigil run SPEC...`: run each job once now. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "job.h"
#include "jsonfmt.h"
#include "log.h"
#include "outbox.h"
#include "paths.h"
#include "pushed.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

/* After the runs: deliver queued messages for up to wait_ms, and say what is left. */
static int deliver_rest(struct outbox_sender *sender, struct store *outbox, int64_t wait_ms, int temporary,
                        int rc)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *counts = NULL;
	long long left;

	if (outbox_flush(sender, time_now_ms() + wait_ms, &err)) {
		log_error("outbox", "%s", err.msg);
		return rc;
	}
	if (outbox->backend->notify->counts(outbox, &counts, &err)) {
		log_error("outbox", "%s", err.msg);
		return rc;
	}
	left = (long long)(json_integer_value(json_object_get(counts, "pending")) +
	                   json_integer_value(json_object_get(counts, "sending")));
	json_decref(counts);
	if (left && temporary)
		fprintf(stderr, "vigil: %lld message%s not delivered within --send-wait and dropped (with --no-store "
		        "there is no outbox to keep them)\n", left, left == 1 ? "" : "s");
	else if (left)
		fprintf(stderr, "vigil: %lld message%s still queued; 'vigil outbox' shows them and 'vigil outbox send' "
		        "(or the next 'vigil run') delivers them\n", left, left == 1 ? "" : "s");
	return rc;
}

static int cmd_run(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "no-store", no_argument, NULL, 'N' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "at", required_argument, NULL, 't' },
		{ "send-wait", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_plugins plugins = { .n = 0 };
	const char *state = NULL, *store_path = NULL;
	int c, dry_run = 0, json = 0, no_store = 0, n, rc = EXIT_OK;
	int64_t at = time_now_ms(), send_wait = 10 * 1000;
	struct registry *reg;
	struct job_spec **specs;
	struct store *st = NULL, *outbox = NULL;
	struct outbox_sender *sender = NULL;
	size_t invalid;
	json_t *results;

	while ((c = getopt_long(argc, argv, "njs:P:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': dry_run = 1; break;
		case 'j': json = 1; break;
		case 's': state = optarg; break;
		case 'S': store_path = optarg; break;
		case 'N': no_store = 1; break;
		case 'P':
			if (cli_add_plugin_dir(self, &plugins, optarg))
				return EXIT_USAGE;
			break;
		case 't':
			if (time_parse(optarg, strlen(optarg), TIME_AUTO, &at))
				return cmd_usage_error(self, "--at: '%s' is not a timestamp", optarg);
			break;
		case 'W':
			if (!strcmp(optarg, "0"))
				send_wait = 0;
			else if (duration_parse(optarg, &send_wait) || send_wait > 3600 * 1000)
				return cmd_usage_error(self, "--send-wait: '%s' is not a duration like \"30s\" (at most "
				                       "1h) or 0", optarg);
			break;
		case 'h':
			cmd_usage(self, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error(self, "unknown option");
		}
	}
	n = argc - optind;
	if (n < 1)
		return cmd_usage_error(self, "no spec given");
	reg = cli_load_registry(&plugins);
	pushed_free(reg->pushed);
	reg->pushed = pushed_new(state, store_path, NULL);
	specs = cli_load_specs(argv + optind, n, reg, &invalid);
	if (invalid) {
		fprintf(stderr, "vigil run: %zu invalid spec%s; nothing was run\n", invalid, invalid == 1 ? "" : "s");
		rc = EXIT_USAGE;
		goto out;
	}
	if (!no_store && !(st = cli_open_store(state, store_path))) {
		rc = EXIT_ENV;
		goto out;
	}
	/* Messages for Slack and webhooks go through the outbox: the store's, or a temporary one. */
	outbox = st;
	if (!st && !dry_run) {
		struct vigil_error err = VIGIL_ERROR_INIT;

		outbox = store_open(":memory:", &err);
		if (!outbox)
			log_warn("notify", "no outbox for this run: %s", err.msg);
	}
	if (outbox && !dry_run && send_wait)
		sender = outbox_sender_new(outbox);
	results = json_array();
	for (int i = 0; i < n; i++) {
		struct notify_ctx nctx = { .out = json ? stderr : stdout, .dry_run = dry_run,
		                           .spec_dir = specs[i]->dir, .outbox = st ? NULL : outbox };
		struct job_options opt = { .scheduled_ms = at, .store = st, .notify = &nctx };
		struct vigil_error err = VIGIL_ERROR_INIT;
		struct run_report rep;

		if (job_run(specs[i], &opt, &rep, &err)) {
			fprintf(stderr, "vigil: job '%s' failed: %s\n", specs[i]->name, err.msg);
			/* the store refusing writes (a full disk) is the environment's fault, not the job's */
			if (err.code == VIGIL_E_STORE)
				rc = EXIT_ENV;
			else if (rc != EXIT_ENV)
				rc = EXIT_JOB_FAILED;
		} else if (rep.n_failures && rc != EXIT_ENV) {
			rc = EXIT_JOB_FAILED;
		}
		json_array_append_new(results, run_report_json(&rep));
		run_report_release(&rep);
		if (sender) {
			/* Send what is due now (for a second at most); waiting for throttles comes after the last job. */
			struct vigil_error serr = VIGIL_ERROR_INIT;

			if (outbox_send_due(sender, time_now_ms() + (send_wait < 1000 ? send_wait : 1000), NULL, &serr))
				log_error("outbox", "%s", serr.msg);
		}
	}
	if (sender)
		rc = deliver_rest(sender, outbox, send_wait, st == NULL, rc);
	if (json) {
		jsonfmt_dumpf(results, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	}
	json_decref(results);
out:
	outbox_sender_free(sender);
	if (outbox != st)
		store_close(outbox);
	store_close(st);
	cli_free_specs(specs, n);
	registry_free(reg);
	return rc;
}

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.usage = "[--dry-run] [--json] [--state DIR | --store FILE | --no-store] [--at TIME] [--send-wait DURATION] "
	         "[--plugin-dir DIR] SPEC...",
	.summary = "run each job once now: fetch, detect, store, notify",
	.help = "  -n, --dry-run         print the notifications (Slack/webhook payloads too) instead of sending\n"
	        "  -j, --json            print the results as JSON on stdout (summaries go to stderr)\n"
	        "  -s, --state DIR       state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store STORE     an SQLite file or a postgresql:// URI (default: $VIGIL_STORE, else DIR/vigil.db)\n"
	        "      --no-store        do not record the run\n"
	        "      --at TIME         run as if scheduled at TIME (ISO-8601 or unix seconds)\n"
	        "      --send-wait DURATION  how long to keep delivering Slack/webhook messages after the runs\n"
	        "                        (default 10s; an attempt under way finishes); what is left stays\n"
	        "                        queued; 0: queue only\n"
	        "  -P, --plugin-dir DIR  also load detector plugins from DIR (repeatable)\n",
	.exec = cmd_run,
};
