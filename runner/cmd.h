/*
 * cmd.h - the vigil command verbs (tmux's cmd table idea).
 * Each verb is a const entry in the table of main.c.
 */
#ifndef VIGIL_CMD_H
#define VIGIL_CMD_H

#include <stdio.h>

#include "plugin.h"
#include "store.h"
#include "spec.h"

/* Documented exit codes (see vigil(1)). */
enum vigil_exit {
	EXIT_OK = 0,          /* success, anomalies found or not */
	EXIT_JOB_FAILED = 1,  /* a job (or a series of it) failed to run */
	EXIT_USAGE = 2,       /* invalid spec or bad command line */
	EXIT_ENV = 3,         /* cannot set up: state dir, store, output file */
};

struct cmd_entry {
	const char *name;
	const char *usage;    /* arguments, for "usage: vigil <name> <usage>" */
	const char *summary;
	const char *help;     /* option list */
	int (*exec)(const struct cmd_entry *self, int argc, char **argv);
};

extern const struct cmd_entry cmd_validate_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_detectors_entry;
extern const struct cmd_entry cmd_export_entry;
extern const struct cmd_entry cmd_runs_entry;
extern const struct cmd_entry cmd_serve_entry;
extern const struct cmd_entry cmd_backfill_entry;
extern const struct cmd_entry cmd_replay_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_outbox_entry;
extern const struct cmd_entry cmd_mute_entry;
extern const struct cmd_entry cmd_incidents_entry;
extern const struct cmd_entry cmd_feedback_entry;
extern const struct cmd_entry cmd_promote_entry;

/* `vigil detectors push ...` (argv[0] is "push"); an exit status. */
int cmd_detectors_push(int argc, char **argv);

/*
 * The pushed detectors of the store (--state/--store, else $VIGIL_STORE or
 * the default store if it exists) for `vigil detectors`: *out stays NULL
 * when there is no store to ask.  An exit status.
 */
int cmd_detectors_pushed(const char *state, const char *store_path, json_t **out);

/* Print the verb's usage and help to out. */
void cmd_usage(const struct cmd_entry *c, FILE *out);
/* Report a usage error ("vigil <verb>: <message>") and return EXIT_USAGE. */
int cmd_usage_error(const struct cmd_entry *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --plugin-dir values collected by the verbs; the registry is built from them. */
struct cli_plugins {
	const char *dirs[32];
	size_t n;
};
int cli_add_plugin_dir(const struct cmd_entry *c, struct cli_plugins *p, const char *dir);
struct registry *cli_load_registry(const struct cli_plugins *p);

/*
 * Load and validate every spec of paths; print problems to stderr.  Returns
 * an array of n specs (NULL entries for invalid ones) and sets *n_invalid.
 */
struct job_spec **cli_load_specs(char **paths, int n, const struct registry *reg, size_t *n_invalid);
void cli_free_specs(struct job_spec **specs, int n);

/*
 * Open the store: store_path if given, else vigil.db in the state directory
 * (--state, or the default).  Prints the reason and returns NULL on failure.
 */
struct store *cli_open_store(const char *state, const char *store_path);

/*
 * The run times of spec over [from, to] for backfill and replay: its fire
 * times, or from, from+step, ... when step_ms > 0.  Returns 0 with a new
 * array, or a usage error already reported (EXIT_USAGE).
 */
int cli_history_times(const struct cmd_entry *c, const struct job_spec *spec, int64_t from, int64_t to,
                      int64_t step_ms, int64_t **times, size_t *n);

#endif
