/*
 * cmd-export.c - `vigil export-scores SPEC --out FILE.csv`: every point of
 * every series with its score, flag and band, for charts and benchmarks.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "cmd.h"
#include "job.h"
#include "log.h"
#include "timefmt.h"
#include "banned.h"

struct export_state {
	FILE *out;
	int detector;          /* index of --detector, or -1 for the combined view */
	int write_failed;
};

/* The shortest decimal that reads back as the same double. */
static void put_num(FILE *out, double v)
{
	char buf[40];

	if (isnan(v))
		return;
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, out);
}

static void put_csv_text(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void export_series(void *arg, const struct job_spec *spec, const struct series *s,
                          struct detection *const *dets, const uint8_t *alerted)
{
	struct export_state *st = arg;
	size_t need = alert_needed(spec, dets);
	char when[40];

	(void)alerted;
	for (size_t i = 0; i < s->n; i++) {
		double score = 0, exp = NAN, lo = NAN, hi = NAN;
		int flag = 0;

		if (st->detector >= 0) {
			const struct detection *d = dets[st->detector];

			if (d) {
				score = d->r.score[i];
				flag = d->r.anomaly[i];
				exp = d->r.expected[i];
				lo = d->r.lower[i];
				hi = d->r.upper[i];
			}
		} else {
			for (size_t k = 0; k < spec->n_detectors; k++) {
				const struct detection *d = dets[k];

				if (!d || spec->detectors[k].mode != MODE_ALERT)
					continue;
				if (d->r.score[i] > score)
					score = d->r.score[i];
				if (isnan(exp) && !isnan(d->r.expected[i])) {
					exp = d->r.expected[i];
					lo = d->r.lower[i];
					hi = d->r.upper[i];
				}
			}
			flag = need && alert_votes(spec, dets, i) >= need;
		}
		time_format_iso(s->ts[i], when, sizeof(when));
		put_csv_text(st->out, s->name);
		fprintf(st->out, ",%s,", when);
		put_num(st->out, s->v[i]);
		fputc(',', st->out);
		put_num(st->out, score);
		fprintf(st->out, ",%d,", flag);
		put_num(st->out, exp);
		fputc(',', st->out);
		put_num(st->out, lo);
		fputc(',', st->out);
		put_num(st->out, hi);
		fputc('\n', st->out);
	}
	if (ferror(st->out))
		st->write_failed = 1;
}

static int cmd_export(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "detector", required_argument, NULL, 'd' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "at", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_plugins plugins = { .n = 0 };
	struct export_state st = { .detector = -1 };
	const char *out_path = NULL, *detector = NULL;
	int64_t at = time_now_ms();
	struct job_spec **specs;
	struct registry *reg;
	size_t invalid;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "o:d:P:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out_path = optarg; break;
		case 'd': detector = optarg; break;
		case 'P':
			if (cli_add_plugin_dir(self, &plugins, optarg))
				return EXIT_USAGE;
			break;
		case 't':
			if (time_parse(optarg, strlen(optarg), TIME_AUTO, &at))
				return cmd_usage_error(self, "--at: '%s' is not a timestamp", optarg);
			break;
		case 'h':
			cmd_usage(self, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error(self, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cmd_usage_error(self, "give exactly one spec");
	if (!out_path)
		return cmd_usage_error(self, "--out FILE is required ('-' for standard output)");
	reg = cli_load_registry(&plugins);
	specs = cli_load_specs(argv + optind, 1, reg, &invalid);
	if (invalid) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (detector) {
		for (size_t k = 0; k < specs[0]->n_detectors; k++)
			if (!strcmp(specs[0]->detectors[k].id, detector))
				st.detector = (int)k;
		if (st.detector < 0) {
			rc = cmd_usage_error(self, "--detector: the job has no detector with id '%s'", detector);
			goto out;
		}
	}
	st.out = strcmp(out_path, "-") ? fopen(out_path, "w") : stdout;
	if (!st.out) {
		fprintf(stderr, "vigil: cannot write '%s': %s\n", out_path, strerror(errno));
		rc = EXIT_ENV;
		goto out;
	}
	fputs("series,timestamp,value,score,is_anomaly,expected,lower,upper\n", st.out);
	{
		struct job_options opt = { .scheduled_ms = at, .on_series = export_series, .arg = &st };
		struct vigil_error err = VIGIL_ERROR_INIT;
		struct run_report rep;

		if (job_run(specs[0], &opt, &rep, &err)) {
			fprintf(stderr, "vigil: job '%s' failed: %s\n", specs[0]->name, err.msg);
			rc = EXIT_JOB_FAILED;
		} else if (rep.n_failures) {
			for (size_t i = 0; i < rep.n_failures; i++)
				fprintf(stderr, "vigil: series '%s' failed: %s\n", rep.failures[i].series,
				        rep.failures[i].reason);
			rc = EXIT_JOB_FAILED;
		}
		run_report_release(&rep);
	}
	if ((st.out != stdout && fclose(st.out)) || (st.out == stdout && fflush(stdout)) || st.write_failed) {
		fprintf(stderr, "vigil: error writing '%s'\n", out_path);
		rc = EXIT_ENV;
	}
out:
	cli_free_specs(specs, 1);
	registry_free(reg);
	return rc;
}

const struct cmd_entry cmd_export_entry = {
	.name = "export-scores",
	.usage = "--out FILE.csv [--detector ID] [--at TIME] [--plugin-dir DIR] SPEC",
	.summary = "run a job without storing or notifying and write every point's score to CSV",
	.help = "  -o, --out FILE        output CSV ('-' for standard output); columns:\n"
	        "                        series,timestamp,value,score,is_anomaly,expected,lower,upper\n"
	        "  -d, --detector ID     one detector's own output instead of the combined view\n"
	        "      --at TIME         run as if scheduled at TIME\n"
	        "  -P, --plugin-dir DIR  also load detector plugins from DIR (repeatable)\n",
	.exec = cmd_export,
};
