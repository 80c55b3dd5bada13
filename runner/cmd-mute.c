/*
 * cmd-mute.c - `vigil mute`: snooze the alerts of jobs or series matching a
 * pattern until a time.  Muted alerts are still stored (and their message
 * kept in the outbox as 'muted'), just not sent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "mute.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define MUTE_MAX_MS (366 * 86400 * 1000LL)

static const char *str(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int do_list(struct store *st, int all, int json)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *rows = NULL, *r;
	size_t i;
	char until[40], esc[600], esc2[600];

	if (st->backend->notify->mutes(st, all ? INT64_MIN : time_now_ms(), &rows, &err)) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return EXIT_ENV;
	}
	if (json) {
		json_dumpf(rows, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	} else if (!json_array_size(rows)) {
		printf("no %smutes\n", all ? "" : "active ");
	} else {
		printf("%-5s %-24s %-24s %-24s %s\n", "ID", "JOB", "SERIES", "UNTIL", "REASON");
		json_array_foreach(rows, i, r) {
			time_format_iso(json_integer_value(json_object_get(r, "until_at")), until, sizeof(until));
			printf("%-5lld %-24s %-24s %-24s %s\n", (long long)json_integer_value(json_object_get(r, "id")),
			       log_escape(esc, sizeof(esc), str(r, "job_pattern") ? str(r, "job_pattern") : "?"),
			       log_escape(esc2, sizeof(esc2), str(r, "series_pattern") ? str(r, "series_pattern") : "?"),
			       until, str(r, "reason") ? str(r, "reason") : "");
		}
	}
	json_decref(rows);
	return EXIT_OK;
}

static int cmd_mute(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, 'f' },
		{ "until", required_argument, NULL, 'u' },
		{ "reason", required_argument, NULL, 'r' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *state = NULL, *store_path = NULL, *sub = "list", *reason = NULL;
	int64_t now = time_now_ms(), until = 0, dur;
	int c, all = 0, json = 0, rc = EXIT_OK;
	struct store *st;

	while ((c = getopt_long(argc, argv, "f:u:r:ajs:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (duration_parse(optarg, &dur) || dur > MUTE_MAX_MS)
				return cmd_usage_error(self, "--for: '%s' is not a duration like \"2h\" (at most 366d)", optarg);
			until = now + dur;
			break;
		case 'u':
			if (time_parse(optarg, strlen(optarg), TIME_AUTO, &until))
				return cmd_usage_error(self, "--until: '%s' is not a timestamp", optarg);
			break;
		case 'r':
			if (strlen(optarg) > 500)
				return cmd_usage_error(self, "--reason is longer than 500 bytes");
			reason = optarg;
			break;
		case 'a': all = 1; break;
		case 'j': json = 1; break;
		case 's': state = optarg; break;
		case 'S': store_path = optarg; break;
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
		if (strcmp(sub, "list") && strcmp(sub, "add") && strcmp(sub, "remove"))
			return cmd_usage_error(self, "unknown subcommand '%s' (add, list, remove)", sub);
	}
	if (!strcmp(sub, "add")) {
		int n = argc - optind;

		if (n < 1 || n > 2)
			return cmd_usage_error(self, "add takes a job pattern and optionally a series pattern");
		if (!until)
			return cmd_usage_error(self, "add needs --for DURATION or --until TIME");
		if (until <= now)
			return cmd_usage_error(self, "--until is in the past");
		for (int i = optind; i < argc; i++)
			if (mute_pattern_check(argv[i], &err))
				return cmd_usage_error(self, "'%s': %s", argv[i], err.msg);
	} else if (!strcmp(sub, "remove")) {
		if (argc - optind != 1)
			return cmd_usage_error(self, "remove takes one mute ID");
	} else if (optind != argc) {
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	}
	st = cli_open_store(state, store_path);
	if (!st)
		return EXIT_ENV;
	if (!st->backend->notify) {
		fprintf(stderr, "vigil: the %s store keeps no mutes\n", st->backend->name);
		store_close(st);
		return EXIT_ENV;
	}
	if (!strcmp(sub, "add")) {
		const char *series = argc - optind == 2 ? argv[optind + 1] : "*";
		char when[40];
		int64_t id;

		if (st->backend->notify->mute_add(st, argv[optind], series, until, reason, now, &id, &err)) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			rc = EXIT_ENV;
		} else {
			time_format_iso(until, when, sizeof(when));
			printf("mute %lld: job '%s', series '%s', until %s\n", (long long)id, argv[optind], series, when);
		}
	} else if (!strcmp(sub, "remove")) {
		char *end;
		long long id = strtoll(argv[optind], &end, 10);
		int found = 0;

		if (*end || id < 1) {
			rc = cmd_usage_error(self, "'%s' is not a mute ID", argv[optind]);
		} else if (st->backend->notify->mute_remove(st, id, &found, &err)) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			rc = EXIT_ENV;
		} else if (!found) {
			fprintf(stderr, "vigil mute remove: no mute %lld\n", id);
			rc = EXIT_USAGE;
		} else {
			printf("mute %lld removed\n", id);
		}
	} else {
		rc = do_list(st, all, json);
	}
	store_close(st);
	return rc;
}

const struct cmd_entry cmd_mute_entry = {
	.name = "mute",
	.usage = "[list [--all] [--json] | add JOB_PATTERN [SERIES_PATTERN] (--for DURATION | --until TIME) "
	         "[--reason TEXT] | remove ID] [--state DIR | --store FILE]",
	.summary = "snooze the alerts of jobs or series (muted alerts are stored, not sent)",
	.help = "  list (default)        active mutes (--all: expired ones too)\n"
	        "  add JOB [SERIES]      mute the series matching SERIES (default '*') of the jobs matching JOB;\n"
	        "                        patterns are shell globs: 'cpu-*', 'web-?', '*'\n"
	        "  -f, --for DURATION    ... for this long (\"2h\", \"1d\")\n"
	        "  -u, --until TIME      ... until this time (ISO-8601 or unix seconds)\n"
	        "  -r, --reason TEXT     why (shown in listings)\n"
	        "  remove ID             end a mute now\n"
	        "  -j, --json            machine-readable output\n"
	        "  -s, --state DIR       state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store STORE     an SQLite file or a postgresql:// URI (default: $VIGIL_STORE, else DIR/vigil.db)\n",
	.exec = cmd_mute,
};
