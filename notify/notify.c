/* notify.c - the table of notifier types and the run report. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "secret.h"
#include "explain.h"
#include "incident.h"
#include "msgtext.h"
#include "store.h"
#include "suggest.h"
#include "timefmt.h"
#include "tz.h"
#include "xmalloc.h"
#include "banned.h"

static const struct notify_type *const notify_table[] = {
	&notify_stdout,
	&notify_slack,
	&notify_webhook,
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
	incidents_free(rep->incidents, rep->n_incidents);
	free(rep->incident_events);
	json_decref(rep->hints);
	memset(rep, 0, sizeof(*rep));
}

static void print_num(FILE *out, double v)
{
	char buf[40];

	msgtext_number(buf, sizeof(buf), v);
	fputs(buf, out);
}

/* What an incident's line starts with, from its state and what the run did to it. */
static const char *incident_word(const struct incident *inc, unsigned ev)
{
	if (!strcmp(inc->state, "accepted"))
		return "ACCEPTED";
	if (!strcmp(inc->state, "resolved"))
		return (ev & INCIDENT_OPENED) ? "OVER" : "RESOLVED";
	if (!strcmp(inc->kind, "error"))
		return "ERROR";
	if (!strcmp(inc->kind, "no_data"))
		return "NO-DATA";
	return (ev & (INCIDENT_OPENED | INCIDENT_REOPENED)) ? "FIRING" : "ONGOING";
}

/* One line per incident: start, end or "ongoing", peak, expected, how unusual. */
static void print_incident(FILE *out, const struct incident *inc, unsigned ev)
{
	char when[40], esc[512], rare[64];

	fprintf(out, "  %-8s %s  ", incident_word(inc, ev),
	        log_escape(esc, sizeof(esc), *inc->series ? inc->series : !strcmp(inc->kind, "error")
	                   ? "(runs failing)" : "(no data)"));
	time_format_iso(inc->start_ms, when, sizeof(when));
	fprintf(out, "%s to ", when);
	if (inc->end_ms) {
		time_format_iso(inc->end_ms, when, sizeof(when));
		fputs(when, out);
	} else {
		fputs("ongoing", out);
	}
	if (!*inc->series) {
		fprintf(out, "  %lld run%s", (long long)inc->n_alerts, inc->n_alerts == 1 ? "" : "s");
		if (inc->evidence)
			fprintf(out, ": %s", log_escape(esc, sizeof(esc), inc->evidence));
		fputc('\n', out);
		return;
	}
	fputs("  peak ", out);
	print_num(out, inc->peak_value);
	if (inc->peak_ms) {
		time_format_iso(inc->peak_ms, when, sizeof(when));
		fprintf(out, " at %s", when);
	}
	fputs("  expected ", out);
	print_num(out, inc->peak_expected);
	if (!isnan(inc->onset_lower) || !isnan(inc->onset_upper)) {
		fputs(" (band ", out);
		print_num(out, inc->onset_lower);
		fputs(" to ", out);
		print_num(out, inc->onset_upper);
		fputc(')', out);
	}
	incident_rarity_text(inc->peak_rarity, rare, sizeof(rare));
	fprintf(out, "  %s  %lld point%s by %s", rare, (long long)inc->n_alerts, inc->n_alerts == 1 ? "" : "s",
	        log_escape(esc, sizeof(esc), inc->detectors ? inc->detectors : "-"));
	if (inc->flaps)
		fprintf(out, ", came back %lld time%s", (long long)inc->flaps, inc->flaps == 1 ? "" : "s");
	if (!strcmp(inc->state, "accepted"))
		fputs(", now the normal level", out);
	if (inc->evidence)
		fprintf(out, " (%s)", log_escape(esc, sizeof(esc), inc->evidence));
	fputc('\n', out);
}

void notify_format_text(const struct run_report *rep, FILE *out)
{
	char when[40], esc[512], esc2[512];
	size_t n_inc = 0;

	time_format_iso(rep->started_ms, when, sizeof(when));
	fprintf(out, "== vigil: job '%s'", log_escape(esc, sizeof(esc), rep->job));
	if (rep->run_id)
		fprintf(out, " run %lld", (long long)rep->run_id);
	fprintf(out, " at %s ==\n", when);
	if (rep->failed)
		fprintf(out, "FAILED: %s\n", log_escape(esc, sizeof(esc), rep->error ? rep->error : "unknown"));
	else if (rep->no_data)
		fprintf(out, "no data: the source returned no points\n");
	for (size_t i = 0; i < rep->n_incidents; i++)
		n_inc += !!*rep->incidents[i].series;
	if (!rep->failed && !rep->no_data) {
		fprintf(out, "%zu series, %zu points, %zu anomal%s to alert on, %zu incident%s",
		        rep->n_series, rep->n_points, rep->n_alerts, rep->n_alerts == 1 ? "y" : "ies", n_inc,
		        n_inc == 1 ? "" : "s");
		if (rep->n_failures)
			fprintf(out, ", %zu series failed", rep->n_failures);
		fputc('\n', out);
	}
	for (size_t i = 0; i < rep->n_incidents; i++)
		print_incident(out, &rep->incidents[i], rep->incident_events[i]);
	if (rep->hints) {
		struct strbuf sb = STRBUF_INIT;

		explain_summary(rep->hints, &sb);
		if (sb.len)
			fprintf(out, "  HINT     %s\n", log_escape(esc, sizeof(esc), sb.buf));
		strbuf_release(&sb);
	}
	for (size_t i = 0; i < rep->n_failures; i++)
		fprintf(out, "  FAILED %s: %s\n", log_escape(esc, sizeof(esc), rep->failures[i].series),
		        log_escape(esc2, sizeof(esc2), rep->failures[i].reason));
}

/* --- What queued targets share ------------------------------------------- */

#define DEFAULT_REPEAT_MS (4 * 3600 * 1000LL)
#define DEFAULT_RETRY_FOR_MS (6 * 3600 * 1000LL)
#define DEFAULT_TIMEOUT_MS (10 * 1000LL)

/* "HH:MM" -> minutes of the day, or -1. */
static int parse_hhmm(const char *s)
{
	if (!(isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == ':' &&
	      isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) && !s[5]))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');

	if (h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}

static void check_duration(const json_t *cfg, const char *key, int allow_never, int64_t min_ms, int64_t max_ms,
                           const char *range, struct diag *d, const char *path)
{
	json_t *v = json_object_get(cfg, key);
	char sub[JPATH_MAX];
	int64_t ms;

	if (!v)
		return;
	jpath_key(sub, sizeof(sub), path, key);
	if (allow_never && json_is_string(v) && !strcmp(json_string_value(v), "never"))
		return;
	if (!json_is_string(v) || duration_parse(json_string_value(v), &ms))
		diag_add(d, sub, "must be a duration like \"4h\"%s", allow_never ? " or \"never\"" : "");
	else if (ms < min_ms || ms > max_ms)
		diag_add(d, sub, "must be between %s", range);
}

static int valid_base_url(const char *s)
{
	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		return 0;
	if (strlen(s) > 512)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("<>|\"`{}\\^", *p))
			return 0;
	return 1;
}

void notify_policy_check(const json_t *cfg, size_t hard_max, struct diag *d, const char *path)
{
	char sub[JPATH_MAX], sub2[JPATH_MAX];
	json_t *v;

	v = json_object_get(cfg, "resolved");
	if (v && !json_is_boolean(v)) {
		jpath_key(sub, sizeof(sub), path, "resolved");
		diag_add(d, sub, "must be true or false");
	}
	check_duration(cfg, "repeat_interval", 1, 60 * 1000, 30 * 86400 * 1000LL, "1m and 30d", d, path);
	check_duration(cfg, "retry_for", 0, 10 * 1000, 7 * 86400 * 1000LL, "10s and 7d", d, path);
	check_duration(cfg, "timeout", 0, 100, 300 * 1000, "100ms and 5m", d, path);
	v = json_object_get(cfg, "max_series");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || (size_t)json_integer_value(v) > hard_max)) {
		jpath_key(sub, sizeof(sub), path, "max_series");
		diag_add(d, sub, "must be an integer from 1 to %zu", hard_max);
	}
	v = json_object_get(cfg, "chart_base_url");
	if (v && (!json_is_string(v) || !valid_base_url(json_string_value(v)))) {
		jpath_key(sub, sizeof(sub), path, "chart_base_url");
		diag_add(d, sub, "must be an http:// or https:// URL (at most 512 characters, no spaces or <>|\")");
	}
	v = json_object_get(cfg, "quiet_hours");
	if (v) {
		static const char *const qkeys[] = { "from", "to", "timezone" };
		const char *key;
		json_t *x;
		int from = -1, to = -1;

		jpath_key(sub, sizeof(sub), path, "quiet_hours");
		if (!json_is_object(v)) {
			diag_add(d, sub, "must be an object like {\"from\": \"22:00\", \"to\": \"07:00\", "
			         "\"timezone\": \"Europe/Paris\"}");
			return;
		}
		json_object_foreach(v, key, x) {
			const char *hint;

			if (!strcmp(key, "from") || !strcmp(key, "to") || !strcmp(key, "timezone"))
				continue;
			jpath_key(sub2, sizeof(sub2), sub, key);
			hint = suggest_closest(key, qkeys, 3);
			if (hint)
				diag_add(d, sub2, "unknown key in quiet_hours (did you mean '%s'?)", hint);
			else
				diag_add(d, sub2, "unknown key in quiet_hours (known: from, to, timezone)");
		}
		for (int i = 0; i < 2; i++) {
			const char *k = i ? "to" : "from";
			int *m = i ? &to : &from;

			x = json_object_get(v, k);
			jpath_key(sub2, sizeof(sub2), sub, k);
			if (!x)
				diag_add(d, sub2, "is required: a time of day like \"22:00\"");
			else if (!json_is_string(x) || (*m = parse_hhmm(json_string_value(x))) < 0)
				diag_add(d, sub2, "must be a time of day \"HH:MM\" (00:00 to 23:59)");
		}
		if (from >= 0 && from == to)
			diag_add(d, sub, "from and to are equal: quiet hours would be empty");
		x = json_object_get(v, "timezone");
		jpath_key(sub2, sizeof(sub2), sub, "timezone");
		if (x && !json_is_string(x)) {
			diag_add(d, sub2, "must be an IANA time zone name like \"Europe/Paris\"");
		} else if (x) {
			struct vigil_error err = VIGIL_ERROR_INIT;
			struct tz *tz = tz_load(json_string_value(x), &err);

			if (!tz)
				diag_add(d, sub2, "%s", err.msg);
			tz_free(tz);
		}
	}
}

static int64_t duration_or(const json_t *cfg, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(cfg, key);
	int64_t ms;

	if (json_is_string(v) && !strcmp(json_string_value(v), "never"))
		return 0;
	if (json_is_string(v) && !duration_parse(json_string_value(v), &ms))
		return ms;
	return dflt;
}

void notify_policy_get(const json_t *cfg, size_t default_max, struct notify_policy *pol)
{
	json_t *v, *q;

	memset(pol, 0, sizeof(*pol));
	v = json_object_get(cfg, "resolved");
	pol->resolved = v ? json_is_true(v) : 1;
	pol->repeat_ms = duration_or(cfg, "repeat_interval", DEFAULT_REPEAT_MS);
	pol->retry_for_ms = duration_or(cfg, "retry_for", DEFAULT_RETRY_FOR_MS);
	pol->timeout_ms = duration_or(cfg, "timeout", DEFAULT_TIMEOUT_MS);
	v = json_object_get(cfg, "max_series");
	pol->max_series = json_is_integer(v) && json_integer_value(v) > 0 ? (size_t)json_integer_value(v) : default_max;
	v = json_object_get(cfg, "chart_base_url");
	pol->chart_base_url = json_is_string(v) ? json_string_value(v) : NULL;
	q = json_object_get(cfg, "quiet_hours");
	if (json_is_object(q) && json_is_string(json_object_get(q, "from")) &&
	    json_is_string(json_object_get(q, "to"))) {
		pol->quiet_from = parse_hhmm(json_string_value(json_object_get(q, "from")));
		pol->quiet_to = parse_hhmm(json_string_value(json_object_get(q, "to")));
		pol->quiet = pol->quiet_from >= 0 && pol->quiet_to >= 0 && pol->quiet_from != pol->quiet_to;
		v = json_object_get(q, "timezone");
		pol->quiet_tz = json_is_string(v) ? json_string_value(v) : "UTC";
	}
}

const char *notify_check_url(const json_t *cfg, const char *key, int must_ref, struct diag *d, const char *path)
{
	json_t *v = json_object_get(cfg, key);
	char sub[JPATH_MAX];
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *s;

	jpath_key(sub, sizeof(sub), path, key);
	if (!v) {
		diag_add(d, sub, "is required: %s", must_ref ? "a secret reference such as \"${env:SLACK_WEBHOOK_URL}\""
		                                             : "the URL to POST to");
		return NULL;
	}
	if (!json_is_string(v) || !*json_string_value(v)) {
		diag_add(d, sub, "must be a string");
		return NULL;
	}
	s = json_string_value(v);
	if (secret_check(s, &err)) {
		diag_add(d, sub, "%s", err.msg);
		return NULL;
	}
	if (must_ref && !secret_has_ref(s)) {
		/* Do not echo the value: it is probably the secret itself. */
		diag_add(d, sub, "must be a secret reference such as \"${env:SLACK_WEBHOOK_URL}\" or "
		         "\"${file:slack-webhook.url}\": a webhook URL is a password and does not belong in a spec");
		return NULL;
	}
	if (!secret_has_ref(s) && strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) {
		diag_add(d, sub, "must be an http:// or https:// URL or a secret reference");
		return NULL;
	}
	return s;
}

char *notify_target_key(const char *type, const char *url_ref, const char *base_dir)
{
	const char *p = strstr(url_ref, "${file:");

	if (p && p[7] != '/' && base_dir)
		return xasprintf("%s:%s @%s", type, url_ref, base_dir);
	return xasprintf("%s:%s", type, url_ref);
}

static void url_encode(struct strbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			strbuf_addch(out, *p);
		} else {
			strbuf_addch(out, '%');
			strbuf_addch(out, hex[*p >> 4]);
			strbuf_addch(out, hex[*p & 15]);
		}
	}
}

void notify_chart_url(struct strbuf *out, const char *base, const char *job, const char *series, int64_t ts_ms)
{
	size_t len;

	if (!base)
		return;
	len = strlen(base);
	while (len && base[len - 1] == '/')
		len--;
	strbuf_add(out, base, len);
	strbuf_addstr(out, "/jobs/");
	url_encode(out, job);
	strbuf_addstr(out, "/series/");
	url_encode(out, series);
	strbuf_addf(out, "?from=%lld&to=%lld", (long long)(ts_ms - 6 * 3600 * 1000LL),
	            (long long)(ts_ms + 3600 * 1000LL));
}

void notify_job_url(struct strbuf *out, const char *base, const char *job)
{
	size_t len;

	if (!base)
		return;
	len = strlen(base);
	while (len && base[len - 1] == '/')
		len--;
	strbuf_add(out, base, len);
	strbuf_addstr(out, "/jobs/");
	url_encode(out, job);
}

int notify_incident_url(struct strbuf *out, const char *base, const struct notify_message *msg,
                        const struct incident *inc)
{
	size_t len;

	/* not stored (replay, --no-store): the incident lives in a store of the moment, with no page */
	if (!base || !msg->run_id)
		return 0;
	if (!inc->id && !(msg->id_token && msg->incidents && inc >= msg->incidents &&
	                  inc < msg->incidents + msg->n_incidents))
		return 0;
	len = strlen(base);
	while (len && base[len - 1] == '/')
		len--;
	strbuf_add(out, base, len);
	if (inc->id)
		strbuf_addf(out, "/incidents/%lld", (long long)inc->id);
	else
		strbuf_addf(out, "/incidents/%s-%zu", msg->id_token, (size_t)(inc - msg->incidents));
	return 1;
}

int notify_link_url(struct strbuf *out, const char *base, const struct notify_message *msg,
                    const struct incident *inc)
{
	if (notify_incident_url(out, base, msg, inc))
		return 1;
	if (*inc->series)
		notify_chart_url(out, base, msg->job, inc->series, inc->peak_ms ? inc->peak_ms : inc->start_ms);
	else
		notify_job_url(out, base, msg->job);
	return 0;
}

json_t *notify_incident_id_json(const struct notify_message *msg, const struct incident *inc)
{
	if (inc->id || !msg->run_id || !msg->id_token || !msg->incidents || inc < msg->incidents ||
	    inc >= msg->incidents + msg->n_incidents)
		return json_integer(inc->id);
	return json_sprintf("%s-%zu", msg->id_token, (size_t)(inc - msg->incidents));
}

void notify_id_token_new(char *buf, size_t len)
{
	uint64_t r = 0;

	/* Unguessable by the data the run read, so a series name cannot forge one. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 16) ^ (uintptr_t)buf;
	}
	snprintf(buf, len, "vigil-incident-%016llx", (unsigned long long)r);
}

char *notify_fill_incident_ids(const char *payload, const char *token, const int64_t *ids, size_t n)
{
	size_t tlen = token ? strlen(token) : 0;
	const char *p = payload, *hit;
	struct strbuf sb = STRBUF_INIT;
	int found = 0;

	if (!tlen || !strstr(payload, token))
		return NULL;
	while ((hit = strstr(p, token))) {
		const char *q = hit + tlen;
		int quoted = hit > payload && hit[-1] == '"';
		size_t idx = 0, digits = 0;

		if (*q == '-')
			for (q++; *q >= '0' && *q <= '9' && digits < 18; q++, digits++)
				idx = idx * 10 + (size_t)(*q - '0');
		if (!digits || idx >= n) {
			strbuf_add(&sb, p, (size_t)(hit - p) + tlen);   /* not one of ours: keep it */
			p = hit + tlen;
			continue;
		}
		quoted = quoted && *q == '"';
		strbuf_add(&sb, p, (size_t)(hit - p) - (quoted ? 1 : 0));
		strbuf_addf(&sb, "%lld", (long long)ids[idx]);
		p = q + (quoted ? 1 : 0);
		found = 1;
	}
	strbuf_addstr(&sb, p);
	if (!found) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}
