/*
 * cmd-detectors-push.c - `vigil detectors push FILE...`: store executable
 * detectors (a file, or a directory bundle) in the store for every node
 * (runner/pushed.h), and `push --test SPEC FILE`: run a job once with the
 * new version beside the current one, storing and sending nothing.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cmd.h"
#include "job.h"
#include "paths.h"
#include "pushed.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define SHOW_MAX 20   /* points listed per side of a --test comparison */

/* "user@host" of whoever runs this. */
static char *pusher(void)
{
	struct passwd *pw = getpwuid(geteuid());
	char host[256];

	host[sizeof(host) - 1] = '\0';
	if (gethostname(host, sizeof(host) - 1) || !host[0])
		snprintf(host, sizeof(host), "localhost");
	return pw ? xasprintf("%s@%s", pw->pw_name, host) : xasprintf("uid %lu@%s", (unsigned long)geteuid(), host);
}

/* The name FILE is pushed under by default: its base name (a directory's, without a trailing '/'). */
static char *default_name(const char *file)
{
	char *copy = xstrdup(file), *base, *name;
	size_t n = strlen(copy);

	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	name = xstrdup(base);
	free(copy);
	return name;
}

static int open_store(const char *state, const char *store_path, struct store **st)
{
	*st = cli_open_store(state, store_path);
	if (!*st)
		return EXIT_ENV;
	if (!(*st)->backend->pushed) {
		fprintf(stderr, "vigil: the %s store keeps no pushed detectors\n", (*st)->backend->name);
		store_close(*st);
		*st = NULL;
		return EXIT_ENV;
	}
	return EXIT_OK;
}

/* --- --test: one run with each version ------------------------------------ */

/* The flagged points of the entries that use the pushed detector, as "series\tts" keys. */
struct flagged {
	const uint8_t *uses;       /* per spec entry: 1 if it is the pushed detector */
	json_t *points;            /* key -> [series, ts] */
};

static void collect_flagged(void *arg, const struct job_spec *spec, const struct series *s,
                            struct detection *const *dets, const uint8_t *alerted)
{
	struct flagged *f = arg;

	(void)alerted;
	for (size_t k = 0; k < spec->n_detectors; k++) {
		if (!f->uses[k] || !dets[k])
			continue;
		for (size_t i = 0; i < s->n; i++) {
			char *key;

			if (!dets[k]->r.anomaly[i])
				continue;
			key = xasprintf("%s\t%lld", s->name, (long long)s->ts[i]);
			json_object_set_new(f->points, key, json_pack("[s, I]", s->name, (json_int_t)s->ts[i]));
			free(key);
		}
	}
}

/* Which entries of the spec file use {"exec": {"pushed": name}}; NULL (after a message) if none. */
static uint8_t *entries_using(const char *spec_path, const char *name, size_t *n)
{
	json_error_t jerr;
	json_t *doc = json_load_file(spec_path, 0, &jerr), *det;
	uint8_t *uses;
	size_t i, found = 0;

	if (!doc) {
		fprintf(stderr, "vigil: %s: %s\n", spec_path, jerr.text);
		return NULL;
	}
	*n = json_array_size(json_object_get(doc, "detectors"));
	uses = xcalloc(*n + 1, 1);
	json_array_foreach(json_object_get(doc, "detectors"), i, det) {
		json_t *p = json_object_get(json_object_get(det, "exec"), "pushed");

		if (json_is_string(p) && !strcmp(json_string_value(p), name)) {
			uses[i] = 1;
			found++;
		}
	}
	json_decref(doc);
	if (!found) {
		fprintf(stderr, "vigil: %s: no detector of the job uses the pushed detector '%s' "
		        "($.detectors[*].exec.pushed)\n", spec_path, name);
		free(uses);
		return NULL;
	}
	return uses;
}

/* Run the job once with reg; 0, or -1 when the spec is invalid (printed); *failed set when the run failed. */
static int run_with(const char *spec_path, struct registry *reg, int64_t at, struct flagged *f,
                    struct run_report *rep, int *failed)
{
	struct diag d;
	struct job_spec *spec;
	struct job_options opt = { .scheduled_ms = at, .on_series = collect_flagged, .arg = f };
	struct vigil_error err = VIGIL_ERROR_INIT;

	diag_init(&d, spec_path);
	spec = spec_load(spec_path, reg, &d);
	if (!spec) {
		diag_print(&d);
		diag_release(&d);
		return -1;
	}
	diag_release(&d);
	/* no store, no notify context: nothing is recorded and nobody is told */
	*failed = job_run(spec, &opt, rep, &err) != 0;
	if (*failed)
		fprintf(stderr, "vigil: job '%s' failed: %s\n", spec->name, err.msg);
	spec_free(spec);
	return 0;
}

static json_t *side_json(const struct pushed_info *info, const struct flagged *f, const struct run_report *rep,
                         int failed)
{
	json_t *pts = json_array(), *v;
	const char *key;

	json_object_foreach(f->points, key, v)
		json_array_append(pts, v);
	return json_pack("{s:I, s:s, s:o, s:I, s:b}", "version", (json_int_t)info->version, "sha256", info->sha256,
	                 "flagged", pts, "failed_series", (json_int_t)rep->n_failures, "failed", failed);
}

/* Points of a not in b, as [series, ts] pairs. */
static json_t *only_in(const json_t *a, const json_t *b)
{
	json_t *out = json_array(), *v;
	const char *key;

	json_object_foreach((json_t *)a, key, v)
		if (!json_object_get(b, key))
			json_array_append(out, v);
	return out;
}

static void print_points(const char *title, const json_t *pts)
{
	size_t i;
	json_t *v;

	printf("  %s: %zu\n", title, json_array_size(pts));
	json_array_foreach(pts, i, v) {
		char when[40];

		if (i == SHOW_MAX) {
			printf("    ... %zu more (--json lists them all)\n", json_array_size(pts) - SHOW_MAX);
			break;
		}
		time_format_iso(json_integer_value(json_array_get(v, 1)), when, sizeof(when));
		printf("    %-24s %s\n", json_string_value(json_array_get(v, 0)), when);
	}
}

static int push_test(const struct cli_plugins *plugins, const char *state, const char *store_path,
                     const char *spec_path, const char *name, const struct bundle *b, int json)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct registry *cur = NULL, *cand = NULL;
	struct flagged fc = { 0 }, fn = { 0 };
	struct run_report rc_rep, rn_rep;
	struct pushed_info ci = { 0 }, ni = { 0 };
	char *dir = NULL, *tmp = NULL, *entry = NULL, *cur_path = NULL;
	int64_t at = time_now_ms();
	int rc = EXIT_USAGE, cfailed = 0, nfailed = 0, have_current;
	size_t n_entries;
	uint8_t *uses = entries_using(spec_path, name, &n_entries);
	json_t *only_cur = NULL, *only_new = NULL;

	memset(&rc_rep, 0, sizeof(rc_rep));
	memset(&rn_rep, 0, sizeof(rn_rep));
	if (!uses)
		return EXIT_USAGE;
	fc.uses = fn.uses = uses;
	fc.points = json_object();
	fn.points = json_object();
	/* the candidate, written where pushed versions go (private), under a temporary name */
	cur = cli_load_registry(plugins);
	pushed_free(cur->pushed);
	cur->pushed = pushed_new(state, store_path, NULL);
	if (!(dir = pushed_dir(cur->pushed, &err))) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		rc = EXIT_ENV;
		goto out;
	}
	tmp = xasprintf("%s/.test-XXXXXX", dir);
	if (!mkdtemp(tmp) || bundle_unpack(b->form.buf, b->form.len, b->sha256, tmp, &entry, &err)) {
		fprintf(stderr, "vigil: %s\n", vigil_error_isset(&err) ? err.msg : "cannot create a directory");
		rc = EXIT_ENV;
		goto out;
	}
	cand = cli_load_registry(plugins);
	pushed_free(cand->pushed);
	cand->pushed = pushed_new(state, store_path, NULL);
	{
		char *cpath = xasprintf("%s/%s", tmp, entry);

		pushed_override(cand->pushed, name, cpath, b->sha256);
		free(cpath);
	}
	/* the current version, if there is one */
	cur_path = pushed_resolve(cur->pushed, name, &ci, &err);
	have_current = cur_path != NULL;
	if (!have_current && err.code != VIGIL_E_SPEC) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		rc = EXIT_ENV;
		goto out;
	}
	if (have_current && run_with(spec_path, cur, at, &fc, &rc_rep, &cfailed))
		goto out;
	if (run_with(spec_path, cand, at, &fn, &rn_rep, &nfailed))
		goto out;
	only_cur = only_in(fc.points, fn.points);
	only_new = only_in(fn.points, fc.points);
	if (json) {
		json_t *doc = json_pack("{s:s, s:s, s:I, s:o, s:o, s:I, s:o, s:o, s:b, s:b}",
		                        "spec", spec_path, "detector", name, "at", (json_int_t)at,
		                        "current", have_current ? side_json(&ci, &fc, &rc_rep, cfailed) : json_null(),
		                        "new", side_json(&ni, &fn, &rn_rep, nfailed),
		                        "both", (json_int_t)(json_object_size(fn.points) - json_array_size(only_new)),
		                        "only_current", json_incref(only_cur), "only_new", json_incref(only_new),
		                        "stored", 0, "notified", 0);

		json_object_set_new(json_object_get(doc, "new"), "sha256", json_string(b->sha256));
		json_object_set_new(json_object_get(doc, "new"), "version", json_null());   /* not pushed */
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		char when[40];

		time_format_iso(at, when, sizeof(when));
		printf("%s at %s, pushed detector '%s':\n", spec_path, when, name);
		if (have_current)
			printf("  current version %lld (sha256 %.12s): %zu points flagged%s\n", (long long)ci.version,
			       ci.sha256, json_object_size(fc.points), cfailed ? "; the run FAILED" : "");
		else
			printf("  no current version (nothing pushed as '%s' yet)\n", name);
		printf("  new (sha256 %.12s, not pushed): %zu points flagged%s", b->sha256, json_object_size(fn.points),
		       nfailed ? "; the run FAILED" : "");
		if (rn_rep.n_failures)
			printf("; %zu series failed", rn_rep.n_failures);
		printf("\n  flagged by both: %zu\n", json_object_size(fn.points) - json_array_size(only_new));
		print_points("only by the current version", only_cur);
		print_points("only by the new version", only_new);
		printf("nothing was stored or sent; push without --test to deploy it\n");
	}
	rc = cfailed || nfailed || rn_rep.n_failures ? EXIT_JOB_FAILED : EXIT_OK;
out:
	if (tmp)
		bundle_remove_tree(tmp, NULL);
	run_report_release(&rc_rep);
	run_report_release(&rn_rep);
	json_decref(only_cur);
	json_decref(only_new);
	json_decref(fc.points);
	json_decref(fn.points);
	registry_free(cur);
	registry_free(cand);
	free(uses);
	free(cur_path);
	free(entry);
	free(tmp);
	free(dir);
	return rc;
}

/* --- push ----------------------------------------------------------------- */

static const struct cmd_entry push_entry;

static int cmd_push(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "entry", required_argument, NULL, 'e' },
		{ "by", required_argument, NULL, 'b' },
		{ "test", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_plugins plugins = { .n = 0 };
	const char *name = NULL, *entry = NULL, *by = NULL, *test = NULL, *state = NULL, *store_path = NULL;
	struct bundle *bundles;
	char **names;
	struct store *st = NULL;
	char *who = NULL;
	int c, json = 0, n, rc = EXIT_OK;
	json_t *out;

	while ((c = getopt_long(argc, argv, "n:e:b:t:js:P:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'e': entry = optarg; break;
		case 'b': by = optarg; break;
		case 't': test = optarg; break;
		case 'j': json = 1; break;
		case 's': state = optarg; break;
		case 'S': store_path = optarg; break;
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
	n = argc - optind;
	if (n < 1)
		return cmd_usage_error(self, "no file given");
	if (n > 1 && (name || entry || test))
		return cmd_usage_error(self, "--name, --entry and --test take one FILE");
	if (name && !pushed_name_ok(name))
		return cmd_usage_error(self, "--name '%s': a name is 1-%d letters, digits, '.', '_' or '-', not starting "
		                       "with '.' or '-'", name, BUNDLE_NAME_MAX);
	if (by && (!*by || strlen(by) > 200))
		return cmd_usage_error(self, "--by: give 1-200 characters");
	/* read and check every file before storing anything */
	bundles = xcalloc((size_t)n, sizeof(*bundles));
	names = xcalloc((size_t)n, sizeof(*names));
	for (int i = 0; i < n && rc == EXIT_OK; i++) {
		struct vigil_error err = VIGIL_ERROR_INIT;

		names[i] = name ? xstrdup(name) : default_name(argv[optind + i]);
		if (!pushed_name_ok(names[i])) {
			fprintf(stderr, "vigil detectors push: '%s' cannot be a detector's name (1-%d letters, digits, '.', "
			        "'_' or '-'); give one with --name\n", names[i], BUNDLE_NAME_MAX);
			rc = EXIT_USAGE;
		} else if (bundle_read(&bundles[i], argv[optind + i], entry, &err)) {
			fprintf(stderr, "vigil detectors push: %s\n", err.msg);
			rc = EXIT_USAGE;
		}
	}
	if (rc != EXIT_OK)
		goto out;
	if (test) {
		rc = push_test(&plugins, state, store_path, test, names[0], &bundles[0], json);
		goto out;
	}
	if ((rc = open_store(state, store_path, &st)) != EXIT_OK)
		goto out;
	who = by ? xstrdup(by) : pusher();
	out = json_array();
	for (int i = 0; i < n; i++) {
		struct vigil_error err = VIGIL_ERROR_INIT;
		struct pushed_version v = {
			.name = names[i], .sha256 = bundles[i].sha256, .entry = bundles[i].entry, .by = who,
			.bundle = bundles[i].form.buf, .size = bundles[i].form.len, .at = time_now_ms(),
		};
		int64_t version;
		int created;

		if (st->backend->pushed->push(st, &v, &version, &created, &err)) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			rc = EXIT_ENV;
			break;
		}
		json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:b}", "name", names[i],
		                                     "version", (json_int_t)version, "sha256", bundles[i].sha256,
		                                     "entry", bundles[i].entry, "files", (json_int_t)bundles[i].n_files,
		                                     "size", (json_int_t)bundles[i].form.len, "created", created));
		if (!json && created)
			printf("pushed '%s' version %lld (sha256 %.12s, entry point '%s', %zu file%s, %zu bytes)\n",
			       names[i], (long long)version, bundles[i].sha256, bundles[i].entry, bundles[i].n_files,
			       bundles[i].n_files == 1 ? "" : "s", bundles[i].form.len);
		else if (!json)
			printf("'%s' is unchanged: version %lld has this content (sha256 %.12s)\n", names[i],
			       (long long)version, bundles[i].sha256);
	}
	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	}
	json_decref(out);
out:
	for (int i = 0; i < n; i++) {
		bundle_release(&bundles[i]);
		free(names[i]);
	}
	free(bundles);
	free(names);
	free(who);
	store_close(st);
	return rc;
}

static const struct cmd_entry push_entry = {
	.name = "detectors push",
	.usage = "[--name NAME] [--entry PATH] [--by WHO] [--test SPEC] [--json] [--state DIR | --store STORE] FILE...",
	.summary = "store executable detectors (a file or a directory) for every node",
	.help = "Each FILE (an executable, or a directory whose entry point is its one executable file at the\n"
	        "top, or --entry) becomes the next version of the pushed detector of its base name, unless that\n"
	        "version has the same content. Specs use it with \"exec\": {\"pushed\": \"NAME\"}. At most 64 MiB.\n"
	        "  -n, --name NAME       push under NAME instead of the file's base name\n"
	        "  -e, --entry PATH      a directory's entry point (relative to it)\n"
	        "  -b, --by WHO          who pushed it (default: user@host)\n"
	        "  -t, --test SPEC       push nothing: run SPEC's job once with the current version and once with\n"
	        "                        FILE, store and send nothing, and compare what each flagged\n"
	        "  -j, --json            machine-readable output\n"
	        "  -s, --state DIR       state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store STORE     an SQLite file or a postgresql:// URI (default: $VIGIL_STORE, else DIR/vigil.db)\n"
	        "  -P, --plugin-dir DIR  also load detector plugins from DIR (for --test)\n",
	.exec = cmd_push,
};

int cmd_detectors_push(int argc, char **argv)
{
	return cmd_push(&push_entry, argc, argv);
}

/* --- the listing of `vigil detectors` --------------------------------------- */

int cmd_detectors_pushed(const char *state, const char *store_path, json_t **out)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct store *st;
	int rc;

	*out = NULL;
	if (!state && !store_path) {
		/* without --state/--store: the default store, if it exists (a listing creates nothing) */
		const char *env = getenv("VIGIL_STORE");
		char *dir, *path;

		if (!(env && *env)) {
			dir = paths_state_dir(NULL, &err);
			if (!dir)
				return 0;
			path = xasprintf("%s/vigil.db", dir);
			free(dir);
			rc = access(path, F_OK);
			free(path);
			if (rc)
				return 0;
		}
	}
	if ((rc = open_store(state, store_path, &st)) != EXIT_OK)
		return rc;
	if (st->backend->pushed->list(st, out, &err)) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		rc = EXIT_ENV;
	}
	store_close(st);
	return rc;
}
