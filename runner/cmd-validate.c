/*
 * cmd-validate.c - `vigil validate SPEC|DIR...`: check specs without running
 * them.  A directory stands for every *.json file in it (not recursive).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "diag.h"
#include "xmalloc.h"
#include "banned.h"

struct name_list {
	char **v;
	size_t n;
};

static void name_add(struct name_list *l, char *name)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = name;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add dir's *.json files, sorted; 0, or -1 when it cannot be read or has none. */
static int add_dir(struct name_list *l, const char *dir, struct diag *d)
{
	size_t first = l->n;
	DIR *dh = opendir(dir);
	struct dirent *de;

	if (!dh) {
		diag_add(d, NULL, "cannot read the directory: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] != '.' && len > 5 && !strcmp(de->d_name + len - 5, ".json"))
			name_add(l, xasprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name));
	}
	closedir(dh);
	if (l->n == first) {
		diag_add(d, NULL, "a directory without *.json files");
		return -1;
	}
	qsort(l->v + first, l->n - first, sizeof(*l->v), cmp_str);
	return 0;
}

/* Report d as text or JSON; the spec (may be NULL) is freed. */
static void report(struct job_spec *spec, struct diag *d, int quiet, json_t *files, json_t *errors)
{
	if (files) {
		json_t *o = json_object(), *errs;

		json_object_set_new(o, "file", json_string(d->file));
		json_object_set_new(o, "ok", json_boolean(spec != NULL));
		if (spec) {
			json_object_set_new(o, "job", json_string(spec->name));
			json_object_set_new(o, "detectors", json_integer((json_int_t)spec->n_detectors));
		}
		json_array_append_new(files, o);
		errs = diag_json(d);

		json_array_extend(errors, errs);
		json_decref(errs);
	} else if (!spec) {
		diag_print(d);
	} else if (!quiet) {
		printf("%s: ok (job '%s', %zu detector%s)\n", d->file, spec->name, spec->n_detectors,
		       spec->n_detectors == 1 ? "" : "s");
	}
	spec_free(spec);
}

static int cmd_validate(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_plugins plugins = { .n = 0 };
	struct name_list names = { NULL, 0 };
	json_t *files = NULL, *errors = NULL;
	struct registry *reg;
	size_t invalid = 0;
	int c, quiet = 0, json = 0;

	while ((c = getopt_long(argc, argv, "P:qjh", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (cli_add_plugin_dir(self, &plugins, optarg))
				return EXIT_USAGE;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			cmd_usage(self, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error(self, "unknown option");
		}
	}
	if (argc - optind < 1)
		return cmd_usage_error(self, "no spec given");
	if (json) {
		files = json_array();
		errors = json_array();
	}
	reg = cli_load_registry(&plugins);
	for (int i = optind; i < argc; i++) {
		struct stat st;
		struct diag d;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			diag_init(&d, argv[i]);
			if (add_dir(&names, argv[i], &d)) {
				invalid++;
				report(NULL, &d, quiet, files, errors);
			}
			diag_release(&d);
		} else {
			name_add(&names, xstrdup(argv[i]));
		}
	}
	for (size_t i = 0; i < names.n; i++) {
		struct job_spec *spec;
		struct diag d;

		diag_init(&d, names.v[i]);
		spec = spec_load(names.v[i], reg, &d);
		invalid += !spec;
		report(spec, &d, quiet, files, errors);
		diag_release(&d);
		free(names.v[i]);
	}
	free(names.v);
	registry_free(reg);
	if (json) {
		json_t *doc = json_pack("{s:b, s:o, s:o}", "ok", !invalid, "files", files, "errors", errors);

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		json_decref(doc);
	}
	return invalid ? EXIT_USAGE : EXIT_OK;
}

const struct cmd_entry cmd_validate_entry = {
	.name = "validate",
	.usage = "[--plugin-dir DIR] [--quiet] [--json] SPEC|DIR...",
	.summary = "check job specs without running them; reports every error of every file",
	.help = "  -P, --plugin-dir DIR  also load detector plugins from DIR (repeatable)\n"
	        "  -q, --quiet           print only errors\n"
	        "  -j, --json            machine-readable result on stdout: {\"ok\", \"files\": [{\"file\", \"ok\",\n"
	        "                        \"job\", \"detectors\"}], \"errors\": [{\"file\", \"path\", \"message\"}]}\n"
	        "  A DIR argument stands for every *.json file in it (not recursive, in name order).\n",
	.exec = cmd_validate,
};
