/* cmd-validate.c - `vigil validate SPEC...`: check specs without running them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "banned.h"

static int cmd_validate(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_plugins plugins = { .n = 0 };
	struct registry *reg;
	struct job_spec **specs;
	size_t invalid;
	int c, quiet = 0, n;

	while ((c = getopt_long(argc, argv, "P:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (cli_add_plugin_dir(self, &plugins, optarg))
				return EXIT_USAGE;
			break;
		case 'q':
			quiet = 1;
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
	specs = cli_load_specs(argv + optind, n, reg, &invalid);
	for (int i = 0; i < n && !quiet; i++)
		if (specs[i])
			printf("%s: ok (job '%s', %zu detector%s)\n", argv[optind + i], specs[i]->name,
			       specs[i]->n_detectors, specs[i]->n_detectors == 1 ? "" : "s");
	cli_free_specs(specs, n);
	registry_free(reg);
	return invalid ? EXIT_USAGE : EXIT_OK;
}

const struct cmd_entry cmd_validate_entry = {
	.name = "validate",
	.usage = "[--plugin-dir DIR] [--quiet] SPEC...",
	.summary = "check job specs without running them; reports every error of every file",
	.help = "  -P, --plugin-dir DIR  also load detector plugins from DIR (repeatable)\n"
	        "  -q, --quiet           print only errors\n",
	.exec = cmd_validate,
};
