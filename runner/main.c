/* main.c - the vigil command line: a thin layer over the engine. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cmd.h"
#include "log.h"
#include "paths.h"
#include "pushed.h"
#include "suggest.h"
#include "xmalloc.h"
#include "banned.h"

static const struct cmd_entry *const cmd_table[] = {
	&cmd_validate_entry,
	&cmd_run_entry,
	&cmd_export_entry,
	&cmd_detectors_entry,
	&cmd_runs_entry,
	&cmd_serve_entry,
	&cmd_backfill_entry,
	&cmd_replay_entry,
	&cmd_status_entry,
	&cmd_outbox_entry,
	&cmd_mute_entry,
	&cmd_incidents_entry,
	&cmd_feedback_entry,
	&cmd_promote_entry,
};

#define N_CMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: vigil [--version] [--help] <command> [<args>]\n\n"
	             "vigil runs anomaly-detection jobs described by JSON specs.\n\ncommands:\n");
	for (size_t i = 0; i < N_CMDS; i++)
		fprintf(out, "  %-14s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
	fprintf(out, "\nRun 'vigil <command> --help' for a command's options; see vigil(1).\n"
	             "exit codes: 0 ok, 1 a job failed, 2 invalid spec or usage, 3 environment error\n");
}

void cmd_usage(const struct cmd_entry *c, FILE *out)
{
	fprintf(out, "usage: vigil %s %s\n\n%s\n", c->name, c->usage, c->summary);
	if (c->help && *c->help)
		fprintf(out, "\noptions:\n%s", c->help);
}

int cmd_usage_error(const struct cmd_entry *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vigil %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: vigil %s %s\n", c->name, c->usage);
	return EXIT_USAGE;
}

int cli_add_plugin_dir(const struct cmd_entry *c, struct cli_plugins *p, const char *dir)
{
	if (p->n == sizeof(p->dirs) / sizeof(p->dirs[0]))
		return cmd_usage_error(c, "too many --plugin-dir options");
	p->dirs[p->n++] = dir;
	return 0;
}

struct registry *cli_load_registry(const struct cli_plugins *p)
{
	struct registry *reg = registry_new();

	registry_add_default(reg, p->dirs, p->n);
	/* specs' pushed detectors come from the default store; a verb with --state/--store replaces it */
	reg->pushed = pushed_new(NULL, NULL, NULL);
	return reg;
}

struct job_spec **cli_load_specs(char **paths, int n, const struct registry *reg, size_t *n_invalid)
{
	struct job_spec **specs = xcalloc((size_t)n, sizeof(*specs));

	*n_invalid = 0;
	for (int i = 0; i < n; i++) {
		struct diag d;

		diag_init(&d, paths[i]);
		specs[i] = spec_load(paths[i], reg, &d);
		if (!specs[i]) {
			diag_print(&d);
			(*n_invalid)++;
		}
		diag_release(&d);
	}
	return specs;
}

void cli_free_specs(struct job_spec **specs, int n)
{
	for (int i = 0; i < n; i++)
		spec_free(specs[i]);
	free(specs);
}

struct store *cli_open_store(const char *state, const char *store_path)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct store *st;
	char *path;

	if (!store_path && getenv("VIGIL_STORE") && *getenv("VIGIL_STORE"))
		store_path = getenv("VIGIL_STORE");
	if (store_path) {
		path = xstrdup(store_path);
	} else {
		char *dir = paths_state_dir(state, &err);

		if (!dir) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			return NULL;
		}
		path = xasprintf("%s/vigil.db", dir);
		free(dir);
	}
	st = store_open(path, &err);
	if (!st)
		fprintf(stderr, "vigil: %s\n", err.msg);
	free(path);
	return st;
}

int main(int argc, char **argv)
{
	const char *verb;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
		if (argc > 2) {
			for (size_t i = 0; i < N_CMDS; i++)
				if (!strcmp(cmd_table[i]->name, argv[2])) {
					cmd_usage(cmd_table[i], stdout);
					return EXIT_OK;
				}
		}
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(verb, "--version") || !strcmp(verb, "version")) {
		printf("vigil %s (detector ABI %d.%d)\n", PACKAGE_VERSION, VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR);
		return EXIT_OK;
	}
	for (size_t i = 0; i < N_CMDS; i++)
		if (!strcmp(cmd_table[i]->name, verb))
			return cmd_table[i]->exec(cmd_table[i], argc - 1, argv + 1);
	{
		const char *names[N_CMDS], *hint;

		for (size_t i = 0; i < N_CMDS; i++)
			names[i] = cmd_table[i]->name;
		hint = suggest_closest(verb, names, N_CMDS);
		if (hint)
			fprintf(stderr, "vigil: '%s' is not a vigil command (did you mean '%s'?)\n", verb, hint);
		else
			fprintf(stderr, "vigil: '%s' is not a vigil command; see 'vigil --help'\n", verb);
	}
	return EXIT_USAGE;
}
