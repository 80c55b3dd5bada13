/* notify.c - the table of notifier types and the run report. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "notify.h"
#include "timefmt.h"
#include "banned.h"

static const struct notify_type *const notify_table[] = {
	&notify_stdout,
};

#define N_NOTIFY (sizeof(notify_table) / sizeof(notify_table[0]))

const struct notify_type *notify_find(const char *name)
{
	for (size_t i = 0; i < N_NOTIFY; i++)
		if (!strcmp(notify_table[i]->name, name))
			return notify_table[i];
	return NULL;
}

const char *const *notify_names(void)
{
	static const char *names[N_NOTIFY + 1];

	for (size_t i = 0; i < N_NOTIFY; i++)
		names[i] = notify_table[i]->name;
	return names;
}

void notify_check_keys(const struct notify_type *t, const json_t *cfg, struct diag *d, const char *path)
{
	char where[64];

	snprintf(where, sizeof(where), "for a %s target", t->name);
	diag_check_keys(d, cfg, t->keys, "type", path, where);
}

void run_report_release(struct run_report *rep)
{
	for (size_t i = 0; i < rep->n_alerts; i++) {
		struct alert_item *a = &rep->alerts[i];

		for (size_t k = 0; k < a->n_labels; k++) {
			free((char *)a->labels[k].key);
			free((char *)a->labels[k].value);
		}
		free(a->labels);
		free(a->series);
		free(a->detectors);
		free(a->reason);
	}
	for (size_t i = 0; i < rep->n_failures; i++) {
		free(rep->failures[i].series);
		free(rep->failures[i].reason);
	}
	free(rep->alerts);
	free(rep->failures);
	free(rep->error);
	memset(rep, 0, sizeof(*rep));
}

static void print_num(FILE *out, double v)
{
	if (isnan(v))
		fputs("-", out);
	else
		fprintf(out, "%.6g", v);
}

void notify_format_text(const struct run_report *rep, FILE *out)
{
	char when[40], esc[512], esc2[512];

	time_format_iso(rep->started_ms, when, sizeof(when));
	fprintf(out, "== vigil: job '%s'", log_escape(esc, sizeof(esc), rep->job));
	if (rep->run_id)
		fprintf(out, " run %lld", (long long)rep->run_id);
	fprintf(out, " at %s ==\n", when);
	if (rep->failed) {
		fprintf(out, "FAILED: %s\n", log_escape(esc, sizeof(esc), rep->error ? rep->error : "unknown"));
		return;
	}
	if (rep->no_data) {
		fprintf(out, "no data: the source returned no points\n");
		return;
	}
	fprintf(out, "%zu series, %zu points, %zu anomal%s to alert on",
	        rep->n_series, rep->n_points, rep->n_alerts, rep->n_alerts == 1 ? "y" : "ies");
	if (rep->n_failures)
		fprintf(out, ", %zu series failed", rep->n_failures);
	fputc('\n', out);
	for (size_t i = 0; i < rep->n_alerts; i++) {
		const struct alert_item *a = &rep->alerts[i];

		time_format_iso(a->ts_ms, when, sizeof(when));
		fprintf(out, "  ANOMALY %s  %s  value=", log_escape(esc, sizeof(esc), a->series), when);
		print_num(out, a->value);
		fputs(" expected=", out);
		print_num(out, a->expected);
		if (!isnan(a->lower) || !isnan(a->upper)) {
			fputs(" band=[", out);
			print_num(out, a->lower);
			fputs(", ", out);
			print_num(out, a->upper);
			fputs("]", out);
		}
		fprintf(out, " score=%.4f by %s", a->score, log_escape(esc2, sizeof(esc2), a->detectors));
		if (a->reason)
			fprintf(out, " (%s)", log_escape(esc, sizeof(esc), a->reason));
		fputc('\n', out);
	}
	for (size_t i = 0; i < rep->n_failures; i++)
		fprintf(out, "  FAILED %s: %s\n", log_escape(esc, sizeof(esc), rep->failures[i].series),
		        log_escape(esc2, sizeof(esc2), rep->failures[i].reason));
}
