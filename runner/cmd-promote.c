/*
 * cmd-promote.c - `vigil promote SPEC DETECTOR [--replace ID] [--apply]`:
 * show, as a unified diff, the spec change that makes a shadow detector an
 * alerting one (and removes the detector it replaces); with --apply, check
 * the new spec and write it in place (runner/promote.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "plugin.h"
#include "promote.h"
#include "banned.h"

static int cmd_promote(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "replace", required_argument, NULL, 'r' },
		{ "apply", no_argument, NULL, 'a' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct cli_plugins plugins = { .n = 0 };
	struct strbuf diff = STRBUF_INIT, shown = STRBUF_INIT;
	const char *replace = NULL, *path, *det, *base;
	char *text = NULL, *promoted = NULL;
	struct registry *reg;
	int c, apply = 0, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "r:aP:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': replace = optarg; break;
		case 'a': apply = 1; break;
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
	if (argc - optind != 2)
		return cmd_usage_error(self, "takes a spec file and the id of one of its shadow detectors");
	path = argv[optind];
	det = argv[optind + 1];
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!(text = promote_read(path, &err))) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		return EXIT_ENV;
	}
	if (!(promoted = promote_edit(text, det, replace, &err))) {
		fprintf(stderr, "vigil: %s: %s\n", path, err.msg);
		free(text);
		return EXIT_USAGE;
	}
	promote_diff(base, text, promoted, &diff);
	promote_redact(strbuf_str(&diff), &shown);
	fputs(strbuf_str(&shown), stdout);
	if (apply) {
		reg = cli_load_registry(&plugins);
		if (!promote_writable(path)) {
			fprintf(stderr, "vigil: '%s' cannot be written here: apply the diff above by hand\n", path);
			rc = EXIT_ENV;
		} else if (promote_write(path, promoted, reg, &err)) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			rc = err.code == VIGIL_E_SPEC ? EXIT_USAGE : EXIT_ENV;
		} else {
			fprintf(stderr, "vigil: %s: detector '%s' now alerts%s%s%s\n", path, det,
			        replace ? " (it replaces '" : "", replace ? replace : "", replace ? "')" : "");
		}
		registry_free(reg);
	}
	strbuf_release(&diff);
	strbuf_release(&shown);
	free(text);
	free(promoted);
	return rc;
}

const struct cmd_entry cmd_promote_entry = {
	.name = "promote",
	.usage = "[--replace ID] [--apply] [--plugin-dir DIR] SPEC DETECTOR",
	.summary = "make a shadow detector of a spec alert: print the change as a diff, or apply it",
	.help = "  -r, --replace ID       also remove the detector ID that the promoted one replaces\n"
	        "  -a, --apply            check the changed spec and write it in place (atomically)\n"
	        "  -P, --plugin-dir DIR   also load detector plugins from DIR (repeatable), to check the spec\n"
	        "Without --apply nothing is written. Values that look like secrets are redacted in the diff.\n",
	.exec = cmd_promote,
};
