/* cmd-detectors.c - `vigil detectors`: list every detector vigil can load. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exec-detector.h"
#include "timefmt.h"
#include "banned.h"

static void print_param(const char *name, const json_t *def)
{
	json_t *type = json_object_get(def, "type"), *dflt = json_object_get(def, "default");
	json_t *doc = json_object_get(def, "doc");
	char *t = json_dumps(type, JSON_ENCODE_ANY | JSON_COMPACT);
	char *d = dflt ? json_dumps(dflt, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;

	printf("    %-14s %-10s %s%s%s  %s\n", name, json_is_string(type) ? json_string_value(type) : t,
	       dflt ? "default " : "(required)", d && !json_is_null(dflt) ? d : dflt ? "none" : "",
	       "", json_is_string(doc) ? json_string_value(doc) : "");
	free(t);
	free(d);
}

static void list_exec_json(void *arg, const struct detector_entry *e, const char *path)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s, s:O, s:b, s:I, s:s}",
		"name", e->d.name, "version", e->d.version ? e->d.version : "",
		"summary", e->d.summary ? e->d.summary : "", "exec", path, "params", e->schema,
		"causal", !(e->d.flags & VIGIL_DETECTOR_NONCAUSAL), "min_history", (json_int_t)e->min_history,
		"isolation", "process"));
}

static void list_exec_text(void *arg, const struct detector_entry *e, const char *path)
{
	const char *key;
	json_t *def;

	(void)arg;
	printf("%s %s - %s\n    exec: %s (min history %zu)\n", e->d.name, e->d.version && *e->d.version ? e->d.version : "?",
	       e->d.summary ? e->d.summary : "", path, e->min_history);
	json_object_foreach(e->schema, key, def)
		print_param(key, def);
}

/* Pushed detectors, and the version each node materialised. */
static void print_pushed(const json_t *pushed)
{
	size_t i, k;
	json_t *d, *n;

	json_array_foreach(pushed, i, d) {
		int64_t latest = json_integer_value(json_object_get(d, "version"));
		char when[40];

		time_format_iso(json_integer_value(json_object_get(d, "pushed_at")), when, sizeof(when));
		printf("%s version %lld (pushed)\n    sha256 %s, entry point '%s', %lld bytes, pushed by %s at %s "
		       "(%lld version%s)\n", json_string_value(json_object_get(d, "name")), (long long)latest,
		       json_string_value(json_object_get(d, "sha256")), json_string_value(json_object_get(d, "entry")),
		       (long long)json_integer_value(json_object_get(d, "size")),
		       json_string_value(json_object_get(d, "pushed_by")), when,
		       (long long)json_integer_value(json_object_get(d, "versions")),
		       json_integer_value(json_object_get(d, "versions")) == 1 ? "" : "s");
		if (!json_array_size(json_object_get(d, "nodes")))
			printf("    no node has materialised it yet\n");
		json_array_foreach(json_object_get(d, "nodes"), k, n) {
			int64_t v = json_integer_value(json_object_get(n, "version"));

			time_format_iso(json_integer_value(json_object_get(n, "seen_at")), when, sizeof(when));
			printf("    node %-20s version %lld, seen %s%s\n", json_string_value(json_object_get(n, "node")),
			       (long long)v, when, v == latest ? "" : " (behind)");
		}
	}
}

static int cmd_detectors(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_plugins plugins = { .n = 0 };
	struct registry *reg;
	const char *state = NULL, *store_path = NULL;
	json_t *pushed = NULL;
	int c, json = 0, rc;

	if (argc > 1 && !strcmp(argv[1], "push"))
		return cmd_detectors_push(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "js:P:h", opts, NULL)) != -1) {
		switch (c) {
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
	if (optind != argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	if ((rc = cmd_detectors_pushed(state, store_path, &pushed)) != EXIT_OK)
		return rc;
	reg = cli_load_registry(&plugins);
	registry_load_all(reg);   /* listing them is the one use that needs every plugin file */
	exec_discover(reg);
	if (json) {
		json_t *arr = json_array(), *refused = json_array();

		for (size_t i = 0; i < reg->n_detectors; i++) {
			const struct detector_entry *e = reg->detectors[i];

			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:O, s:b}",
				"name", e->d.name, "version", e->d.version ? e->d.version : "",
				"summary", e->d.summary ? e->d.summary : "",
				"plugin", e->plugin ? e->plugin->path : "", "params", e->schema,
				"causal", !(e->d.flags & VIGIL_DETECTOR_NONCAUSAL)));
			json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "isolation",
			                    json_string(registry_isolate_by_default(e) ? "process" : "in-process"));
		}
		exec_foreach_entry(reg, list_exec_json, arr);
		for (size_t i = 0; i < reg->n_refused; i++)
			json_array_append_new(refused, json_string(reg->refused[i]));
		json_t *doc = json_pack("{s:o, s:o, s:o}", "detectors", arr, "refused", refused,
		                        "pushed", pushed ? json_incref(pushed) : json_array());

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		for (size_t i = 0; i < reg->n_detectors; i++) {
			const struct detector_entry *e = reg->detectors[i];
			const char *key;
			json_t *def;

			printf("%s %s - %s\n    plugin: %s%s\n", e->d.name, e->d.version ? e->d.version : "?",
			       e->d.summary ? e->d.summary : "", e->plugin ? e->plugin->path : "(built in)",
			       registry_isolate_by_default(e) ? " (isolated in worker processes)" : "");
			json_object_foreach(e->schema, key, def)
				print_param(key, def);
		}
		exec_foreach_entry(reg, list_exec_text, NULL);
		print_pushed(pushed);
		if (!reg->n_detectors && !reg->execs && !json_array_size(pushed))
			fprintf(stderr, "vigil: no detectors found; use --plugin-dir or VIGIL_PLUGIN_PATH\n");
	}
	registry_free(reg);
	json_decref(pushed);
	return EXIT_OK;
}

const struct cmd_entry cmd_detectors_entry = {
	.name = "detectors",
	.usage = "[--json] [--plugin-dir DIR] [--state DIR | --store STORE] | push [options] FILE...",
	.summary = "list every detector vigil can load, with its version and parameters",
	.help = "  -j, --json            machine-readable output (also lists refused plugin files)\n"
	        "Executables in the detector directories are listed too: each is asked to describe\n"
	        "its algorithms (see docs/exec-protocol.md).\n"
	        "  -P, --plugin-dir DIR  also load detector plugins from DIR (repeatable)\n"
	        "  -s, --state DIR       list the detectors pushed to this state directory's store\n"
	        "      --store STORE     ... or to this store (default: $VIGIL_STORE, else the default store\n"
	        "                        if it exists), with the version each node materialised\n"
	        "'vigil detectors push --help' tells how to push one.\n",
	.exec = cmd_detectors,
};
