/* stdout.c - the default notifier: a human-readable summary on standard output. */
#include <stdio.h>

#include "notify.h"
#include "banned.h"

static const char *const stdout_keys[] = { NULL };

static void stdout_check(const json_t *cfg, struct diag *d, const char *path)
{
	(void)cfg;
	(void)d;
	(void)path;
}

static int stdout_send(const json_t *cfg, const struct run_report *rep, const struct notify_ctx *ctx,
                       struct vigil_error *err)
{
	FILE *out = ctx->out ? ctx->out : stdout;

	(void)cfg;
	if (ctx->dry_run)
		fputs("[dry run: stdout target]\n", out);
	notify_format_text(rep, out);
	if (fflush(out) == EOF)
		return vigil_error_set(err, VIGIL_E_IO, "stdout notifier: cannot write");
	return 0;
}

const struct notify_type notify_stdout = {
	.name = "stdout",
	.summary = "print a summary of each run on standard output",
	.keys = stdout_keys,
	.check = stdout_check,
	.send = stdout_send,
};
