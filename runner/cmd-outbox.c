/*
 * cmd-outbox.c - `vigil outbox`: the messages waiting for (or refused by)
 * Slack and webhooks; `vigil outbox retry ID` queues one again; `vigil
 * outbox send` delivers what is pending.  Destinations are shown redacted.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "outbox.h"
#include "secret.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define DEFAULT_STATES "pending,sending,failed"

/* The store, if it keeps an outbox (prints why not). */
static struct store *open_outbox(const char *state, const char *store_path)
{
	struct store *st = cli_open_store(state, store_path);

	if (st && !st->backend->notify) {
		fprintf(stderr, "vigil: the %s store keeps no outbox\n", st->backend->name);
		store_close(st);
		st = NULL;
	}
	return st;
}

static const char *str(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void iso(int64_t ms, char *buf, size_t len)
{
	if (ms)
		time_format_iso(ms, buf, len);
	else
		snprintf(buf, len, "-");
}

/* The row as shown: the destination redacted, the reference only if it is one. */
static json_t *public_row(const json_t *r)
{
	static const char *const hidden[] = { "url_ref", "base_dir", "dest", NULL };
	json_t *o = json_deep_copy(r);
	const char *ref = str(r, "url_ref");
	char shown[400];

	outbox_show_dest(ref ? ref : "", str(r, "base_dir"), shown, sizeof(shown));
	for (const char *const *k = hidden; *k; k++)
		json_object_del(o, *k);
	json_object_set_new(o, "destination", json_string(shown));
	json_object_set_new(o, "reference", ref && secret_has_ref(ref) ? json_string(ref) : json_null());
	return o;
}

static void print_messages(const json_t *msgs, const json_t *dests, const json_t *counts, int all)
{
	size_t i;
	json_t *r;
	char a[40], b[40], shown[400], esc[600];

	json_array_foreach(dests, i, r) {
		const char *ref = str(r, "url_ref");

		if (json_is_null(json_object_get(r, "broken_at")))
			continue;
		outbox_show_dest(ref ? ref : "", str(r, "base_dir"), shown, sizeof(shown));
		iso(num(r, "broken_at"), a, sizeof(a));
		printf("BROKEN %s %s since %s: %s\n       %lld message%s held; fix the destination, then "
		       "'vigil outbox retry ID' with the failed message's ID\n\n", str(r, "type") ? str(r, "type") : "?",
		       shown, a, log_escape(esc, sizeof(esc), str(r, "broken_error") ? str(r, "broken_error") : "?"),
		       (long long)num(r, "pending"), num(r, "pending") == 1 ? "" : "s");
	}
	if (!json_array_size(msgs))
		printf("no %smessages\n", all ? "" : "pending or failed ");
	json_array_foreach(msgs, i, r) {
		const char *state = str(r, "state"), *ref = str(r, "url_ref");

		outbox_show_dest(ref ? ref : "", str(r, "base_dir"), shown, sizeof(shown));
		iso(num(r, "created_at"), a, sizeof(a));
		printf("%-6lld %-8s %s job '%s'", (long long)num(r, "id"), state ? state : "?", str(r, "type"),
		       str(r, "job"));
		if (num(r, "run_id"))
			printf(" run %lld", (long long)num(r, "run_id"));
		printf(", queued %s, %lld attempt%s\n", a, (long long)num(r, "attempts"),
		       num(r, "attempts") == 1 ? "" : "s");
		printf("       to %s\n", shown);
		printf("       %s\n", log_escape(esc, sizeof(esc), str(r, "summary") ? str(r, "summary") : ""));
		if (state && !strcmp(state, "pending")) {
			iso(num(r, "next_attempt"), a, sizeof(a));
			iso(num(r, "deadline"), b, sizeof(b));
			printf("       next attempt %s, gives up after %s\n", a, b);
		} else if (state && !strcmp(state, "sent")) {
			iso(num(r, "sent_at"), a, sizeof(a));
			printf("       sent %s\n", a);
		}
		if (str(r, "note"))
			printf("       muted: %s\n", log_escape(esc, sizeof(esc), str(r, "note")));
		if (str(r, "last_error") && (!state || strcmp(state, "sent")))
			printf("       last error: %s\n", log_escape(esc, sizeof(esc), str(r, "last_error")));
	}
	printf("\n%lld pending, %lld sending, %lld failed, %lld muted, %lld sent\n",
	       (long long)num(counts, "pending"), (long long)num(counts, "sending"), (long long)num(counts, "failed"),
	       (long long)num(counts, "muted"), (long long)num(counts, "sent"));
}

static int do_list(struct store *st, int all, long limit, int json)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *msgs = NULL, *dests = NULL, *counts = NULL;
	const struct store_notify_ops *ops = st->backend->notify;

	if (ops->list(st, all ? NULL : DEFAULT_STATES, (size_t)limit, &msgs, &err) ||
	    ops->dests(st, &dests, &err) || ops->counts(st, &counts, &err)) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		json_decref(msgs);
		json_decref(dests);
		return EXIT_ENV;
	}
	if (json) {
		json_t *out = json_object(), *m = json_array(), *d = json_array(), *r;
		size_t i;

		json_array_foreach(msgs, i, r)
			json_array_append_new(m, public_row(r));
		json_array_foreach(dests, i, r) {
			json_t *o = public_row(r);

			json_object_set_new(o, "broken", json_boolean(!json_is_null(json_object_get(r, "broken_at"))));
			json_array_append_new(d, o);
		}
		json_object_set_new(out, "messages", m);
		json_object_set_new(out, "destinations", d);
		json_object_set(out, "counts", counts);
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		json_decref(out);
	} else {
		print_messages(msgs, dests, counts, all);
	}
	json_decref(msgs);
	json_decref(dests);
	json_decref(counts);
	return EXIT_OK;
}

static int do_retry(const struct cmd_entry *self, struct store *st, const char *arg)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *end;
	long long id = strtoll(arg, &end, 10);
	int64_t now = time_now_ms();
	int found;

	if (*end || id < 1)
		return cmd_usage_error(self, "'%s' is not a message ID (see 'vigil outbox')", arg);
	/* A retried message gets the default retry_for (6h) from now. */
	if (st->backend->notify->retry(st, id, now, now + 6 * 3600 * 1000LL, &found, &err)) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return EXIT_ENV;
	}
	switch (found) {
	case 0:
		fprintf(stderr, "vigil outbox retry: no message %lld\n", id);
		return EXIT_USAGE;
	case -1:
		fprintf(stderr, "vigil outbox retry: message %lld was already delivered; it is not sent twice\n", id);
		return EXIT_USAGE;
	case 2:
		printf("message %lld is already queued; its destination's held state is cleared\n", id);
		return EXIT_OK;
	default:
		printf("message %lld queued again; 'vigil outbox send' (or the next 'vigil run') delivers it\n", id);
		return EXIT_OK;
	}
}

static int do_send(struct store *st, int64_t wait_ms)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct outbox_sender *s = outbox_sender_new(st);
	const struct outbox_stats *stats;
	json_t *counts = NULL;
	int rc = EXIT_OK;

	if (outbox_flush(s, time_now_ms() + wait_ms, &err)) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		rc = EXIT_ENV;
	}
	stats = outbox_sender_stats(s);
	if (rc == EXIT_OK && !st->backend->notify->counts(st, &counts, &err)) {
		long long left = (long long)(num(counts, "pending") + num(counts, "sending"));

		printf("%zu sent, %zu failed, %zu attempts to retry, %zu recovered after a crash; %lld still queued\n",
		       stats->sent, stats->failed, stats->retried, stats->recovered, left);
		json_decref(counts);
	}
	if (rc == EXIT_OK && stats->failed)
		rc = EXIT_JOB_FAILED;
	outbox_sender_free(s);
	return rc;
}

static int cmd_outbox(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ "wait", required_argument, NULL, 'w' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state = NULL, *store_path = NULL, *sub = "list";
	int c, all = 0, json = 0, rc;
	long limit = 50;
	int64_t wait_ms = 60 * 1000;
	struct store *st;
	char *end;

	while ((c = getopt_long(argc, argv, "ajl:w:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = 1; break;
		case 'j': json = 1; break;
		case 's': state = optarg; break;
		case 'S': store_path = optarg; break;
		case 'l':
			limit = strtol(optarg, &end, 10);
			if (*end || limit < 1 || limit > 100000)
				return cmd_usage_error(self, "--limit must be an integer in [1, 100000]");
			break;
		case 'w':
			if (!strcmp(optarg, "0"))
				wait_ms = 0;
			else if (duration_parse(optarg, &wait_ms))
				return cmd_usage_error(self, "--wait: '%s' is not a duration like \"30s\"", optarg);
			break;
		case 'h':
			cmd_usage(self, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error(self, "unknown option");
		}
	}
	/* the subcommand is the first operand, so options may come before or after it */
	if (optind < argc) {
		sub = argv[optind++];
		if (strcmp(sub, "list") && strcmp(sub, "retry") && strcmp(sub, "send"))
			return cmd_usage_error(self, "unknown subcommand '%s' (list, retry, send)", sub);
	}
	if (!strcmp(sub, "retry") ? argc - optind != 1 : optind != argc)
		return cmd_usage_error(self, !strcmp(sub, "retry") ? "retry takes one message ID" :
		                       "unexpected argument '%s'", optind < argc ? argv[optind] : "");
	st = open_outbox(state, store_path);
	if (!st)
		return EXIT_ENV;
	if (!strcmp(sub, "retry"))
		rc = do_retry(self, st, argv[optind]);
	else if (!strcmp(sub, "send"))
		rc = do_send(st, wait_ms);
	else
		rc = do_list(st, all, limit, json);
	store_close(st);
	return rc;
}

const struct cmd_entry cmd_outbox_entry = {
	.name = "outbox",
	.usage = "[list [--all] [--json] [--limit N] | retry ID | send [--wait DURATION]] [--state DIR | --store FILE]",
	.summary = "show the queued Slack/webhook messages, queue a failed one again, or deliver them",
	.help = "  list (default)        pending, in-flight and failed messages, and broken destinations\n"
	        "  -a, --all             also sent and muted messages\n"
	        "  -j, --json            machine-readable output\n"
	        "  -l, --limit N         at most N messages, newest first (default 50)\n"
	        "  retry ID              queue message ID again (failed or muted) and clear its destination's\n"
	        "                        broken state; a delivered message is never sent twice\n"
	        "  send                  deliver pending messages (throttled, with retries)\n"
	        "  -w, --wait DURATION   how long send keeps trying (default 1m)\n"
	        "  -s, --state DIR       state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store STORE     an SQLite file or a postgresql:// URI (default: $VIGIL_STORE, else DIR/vigil.db)\n",
	.exec = cmd_outbox,
};
