/*
 * cmd-feedback.c - `vigil feedback INCIDENT real|false|expected [--note TEXT]`:
 * say whether an incident was a real problem, a false alarm or expected;
 * without a verdict, list what was said (runner/feedback.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "feedback.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"
#include "banned.h"

static int list_feedback(struct store *st, int64_t id, int json)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *rows = NULL, *r;
	size_t i;
	char when[40], esc[FEEDBACK_NOTE_MAX * 4 + 8], esc_who[FEEDBACK_WHO_MAX * 4 + 8];

	if (st->backend->feedback_list(st, id, &rows, &err)) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return EXIT_ENV;
	}
	if (json) {
		json_dumpf(rows, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	} else if (!json_array_size(rows)) {
		printf("no feedback on incident %lld\n", (long long)id);
	}
	json_array_foreach(rows, i, r) {
		json_t *note = json_object_get(r, "note");

		if (json)
			break;
		time_format_iso(json_integer_value(json_object_get(r, "at")), when, sizeof(when));
		printf("%s  %-8s by %s%s%s\n", when, json_string_value(json_object_get(r, "verdict")),
		       log_escape(esc_who, sizeof(esc_who), json_string_value(json_object_get(r, "who"))),
		       json_is_string(note) ? ": " : "",
		       json_is_string(note) ? log_escape(esc, sizeof(esc), json_string_value(note)) : "");
	}
	json_decref(rows);
	return EXIT_OK;
}

static int cmd_feedback(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "note", required_argument, NULL, 'n' },
		{ "who", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *state = NULL, *store_path = NULL, *note = NULL, *verdict = NULL;
	const char *who = getenv("USER");
	int c, json = 0, found = 0, rc;
	int64_t incident, fid;
	struct store *st;
	char *end;

	while ((c = getopt_long(argc, argv, "n:w:js:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': note = optarg; break;
		case 'w': who = optarg; break;
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
	if (argc - optind < 1 || argc - optind > 2)
		return cmd_usage_error(self, "takes an incident id and optionally a verdict (real, false, expected)");
	incident = strtoll(argv[optind], &end, 10);
	if (!*argv[optind] || *end || incident < 1)
		return cmd_usage_error(self, "'%s' is not an incident id", argv[optind]);
	if (argc - optind == 2)
		verdict = argv[optind + 1];
	if (verdict && feedback_check(verdict, note, &err))
		return cmd_usage_error(self, "%s", err.msg);
	if (!verdict && note)
		return cmd_usage_error(self, "--note goes with a verdict");
	if (!who || !*who)
		who = "cli";
	if (strlen(who) > FEEDBACK_WHO_MAX)
		return cmd_usage_error(self, "--who is longer than %d bytes", FEEDBACK_WHO_MAX);
	st = cli_open_store(state, store_path);
	if (!st)
		return EXIT_ENV;
	if (!st->backend->feedback_add) {
		fprintf(stderr, "vigil: the %s store keeps no feedback\n", st->backend->name);
		store_close(st);
		return EXIT_ENV;
	}
	if (!verdict) {
		rc = list_feedback(st, incident, json);
	} else if (st->backend->feedback_add(st, incident, verdict, note, who, time_now_ms(), &fid, &found, &err)) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		rc = EXIT_ENV;
	} else if (!found) {
		fprintf(stderr, "vigil: no incident %lld\n", (long long)incident);
		rc = EXIT_USAGE;
	} else {
		printf("incident %lld: %s (feedback %lld)\n", (long long)incident, verdict, (long long)fid);
		rc = EXIT_OK;
	}
	store_close(st);
	return rc;
}

const struct cmd_entry cmd_feedback_entry = {
	.name = "feedback",
	.usage = "INCIDENT [real|false|expected] [options]",
	.summary = "say whether an incident was real, a false alarm or expected; or list what was said",
	.help = "  -n, --note TEXT        why (at most 1000 bytes)\n"
	        "  -w, --who NAME         who says it (default: $USER)\n"
	        "  -j, --json             list as JSON\n"
	        "  -s, --state DIR        state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store FILE       the SQLite store file (default: DIR/vigil.db)\n",
	.exec = cmd_feedback,
};
