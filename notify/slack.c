/*
 * slack.c - Slack incoming webhooks: one Block Kit message per job run.
 *
 * The message (docs/notify.md shows them): a header "[FIRING:2, RESOLVED:1]
 * job", the mentions, then in an attachment (the only way to get a colour
 * bar: red while anything fires, green when all is resolved) one section per
 * firing incident -- its peak vs the expected band of its onset, how unusual,
 * since when, how many points, which detectors agreed, the reason, a chart
 * link -- "and K more", the shared-cause hint, the incidents resolved or
 * accepted (in words), and a context line with the job and run.  The
 * top-level `text` is the notification and fallback text.
 *
 * Every limit of ../shared/docs/slack-webhooks.md holds whatever the data:
 * outside text is escaped and cut to per-field budgets, and sections are
 * added only while the block count and the total text stay under budget;
 * what does not fit is summarised.  Budgets count bytes, which is never
 * less than Slack's character count.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "incident.h"
#include "msgtext.h"
#include "notify.h"
#include "template.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

/* Slack's limits (shared doc), and our tighter budgets under them. */
#define SLACK_MAX_BLOCKS 50
#define SLACK_SECTION_MAX 3000
#define SLACK_HEADER_MAX 150
#define SLACK_CONTEXT_MAX 2000
#define SLACK_TOTAL_MAX 10000     /* all block text; Slack fails near 13k (msg_blocks_too_long) */
#define SLACK_TEXT_MAX 3000       /* the top-level text; Slack recommends <= 4000 */
#define SLACK_MAX_MENTIONS 10
#define SLACK_DEFAULT_SERIES 10
#define SLACK_HARD_MAX_SERIES 40  /* 40 sections + header, mentions, job labels, more, divider, resolved, context < 50 */

/* Per-field budgets for outside text. */
#define NAME_MAX_BYTES 200
#define LABELS_MAX_BYTES 400
#define LABEL_MAX_BYTES 120
#define REASON_MAX_BYTES 400
#define DETECTORS_MAX_BYTES 200
#define CHART_URL_MAX_BYTES 1000
#define RESOLVED_MAX_BYTES 2000
#define RESOLVED_LINE_MAX 400
#define ANNOTATION_MAX_BYTES 600
#define HINT_MAX_BYTES 600
#define LINK_URL_MAX_BYTES 12000   /* never cut a link: 2048 bytes escaped at most 5 each */

static const char *const slack_keys[] = {
	"webhook_url", "mentions", "template", "resolved", "repeat_interval", "retry_for", "timeout",
	"max_series", "quiet_hours", "chart_base_url", NULL,
};

static const char *const title_names[] = {
	"job", "run", "firing", "resolved", "status", "time", "job_label.", "annotation.", NULL,
};
static const char *const text_names[] = {
	"job", "run", "series", "labels", "label.", "time", "value", "expected", "band", "lower", "upper", "score",
	"detector", "reason", "chart", "chart_url", "points", "since", "unusual", "rarity", "state", "end",
	"job_label.", "annotation.", NULL,
};

/* <!here>, <!channel>, <!everyone>, <@U123>, <!subteam^S123> (optionally with "|label"). */
static int valid_mention(const char *s)
{
	size_t len = strlen(s);
	const char *id;

	if (len < 4 || s[0] != '<' || s[len - 1] != '>')
		return 0;
	if (!strcmp(s, "<!here>") || !strcmp(s, "<!channel>") || !strcmp(s, "<!everyone>"))
		return 1;
	if (!strncmp(s, "<@", 2))
		id = s + 2;
	else if (!strncmp(s, "<!subteam^", 10))
		id = s + 10;
	else
		return 0;
	if (*id < 'A' || *id > 'Z')
		return 0;
	for (; *id != '>' && *id != '|'; id++)
		if (!((*id >= 'A' && *id <= 'Z') || (*id >= '0' && *id <= '9')))
			return 0;
	for (const char *p = id; p < s + len - 1; p++)
		if (*p == '<' || *p == '>' || *p == '&' || (unsigned char)*p < 0x20)
			return 0;
	return len <= 100;
}

static void slack_check(const json_t *cfg, struct diag *d, const char *path)
{
	char sub[JPATH_MAX], sub2[JPATH_MAX];
	json_t *v, *x;
	size_t i;

	notify_check_url(cfg, "webhook_url", 1, d, path);
	notify_policy_check(cfg, SLACK_HARD_MAX_SERIES, d, path);
	v = json_object_get(cfg, "mentions");
	if (v) {
		jpath_key(sub, sizeof(sub), path, "mentions");
		if (!json_is_array(v) || json_array_size(v) > SLACK_MAX_MENTIONS)
			diag_add(d, sub, "must be an array of at most %d mentions like \"<!here>\", \"<@U024BE7LH>\" or "
			         "\"<!subteam^SAZ94GDB8>\"", SLACK_MAX_MENTIONS);
		else
			json_array_foreach(v, i, x) {
				jpath_index(sub2, sizeof(sub2), sub, i);
				if (!json_is_string(x) || !valid_mention(json_string_value(x)))
					diag_add(d, sub2, "must be Slack's syntax for a mention: \"<!here>\", \"<!channel>\", "
					         "\"<@U024BE7LH>\" (a user id) or \"<!subteam^SAZ94GDB8>\" (a user group id)");
			}
	}
	v = json_object_get(cfg, "template");
	if (v) {
		const char *key;

		jpath_key(sub, sizeof(sub), path, "template");
		if (!json_is_object(v) || !json_object_size(v)) {
			diag_add(d, sub, "must be an object with \"title\" and/or \"text\"");
			return;
		}
		json_object_foreach(v, key, x) {
			struct vigil_error err = VIGIL_ERROR_INIT;
			int title = !strcmp(key, "title");

			jpath_key(sub2, sizeof(sub2), sub, key);
			if (!title && strcmp(key, "text")) {
				diag_add(d, sub2, "unknown key in template (known: title, text)");
				continue;
			}
			if (!json_is_string(x)) {
				diag_add(d, sub2, "must be a string");
				continue;
			}
			if (json_string_length(x) > (title ? 500 : 4000)) {
				diag_add(d, sub2, "is longer than %d bytes", title ? 500 : 4000);
				continue;
			}
			if (template_check(json_string_value(x), title ? title_names : text_names, &err))
				diag_add(d, sub2, "%s", err.msg);
		}
	}
}

static const char *slack_dest(const json_t *cfg)
{
	return json_string_value(json_object_get(cfg, "webhook_url"));
}

/* --- Rendering ------------------------------------------------------------ */

/* A time as Slack shows it in each reader's own zone, with ISO-8601 as the fallback. */
static void add_date(struct strbuf *sb, int64_t ms)
{
	char iso[40];

	time_format_iso(ms, iso, sizeof(iso));
	strbuf_addf(sb, "<!date^%lld^{date_short_pretty} {time}|%s>", (long long)(ms >= 0 ? ms / 1000 : -((999 - ms) / 1000)), iso);
}

static void add_number(struct strbuf *sb, double v)
{
	char buf[40];

	msgtext_number(buf, sizeof(buf), v);
	strbuf_addstr(sb, buf);
}

/* Estimates (expected, band) need fewer digits than observations. */
static void add_estimate(struct strbuf *sb, double v)
{
	char buf[40];

	msgtext_number_short(buf, sizeof(buf), v);
	strbuf_addstr(sb, buf);
}

static void add_labels(struct strbuf *sb, const struct notify_series *s, int code)
{
	size_t start = sb->len;

	for (size_t k = 0; k < s->n_labels; k++) {
		size_t used = sb->len - start, left;
		struct strbuf kv = STRBUF_INIT;

		if (used + 8 > LABELS_MAX_BYTES) {
			strbuf_addstr(sb, " " MSGTEXT_ELLIPSIS);
			return;
		}
		left = LABELS_MAX_BYTES - used - 4;
		strbuf_addf(&kv, "%s=%s", s->labels[k].key, s->labels[k].value);
		strbuf_addstr(sb, k ? (code ? " " : ", ") : "");
		if (code)
			strbuf_addch(sb, '`');
		msgtext_append(sb, kv.buf, left < LABEL_MAX_BYTES ? left : LABEL_MAX_BYTES,
		               MSGTEXT_MRKDWN | MSGTEXT_ONELINE | (code ? MSGTEXT_NOTICK : 0));
		if (code)
			strbuf_addch(sb, '`');
		strbuf_release(&kv);
	}
}

/* The expected band as it was at the incident's onset. */
static void add_band(struct strbuf *sb, const struct incident *inc)
{
	if (isnan(inc->onset_lower) && isnan(inc->onset_upper)) {
		strbuf_addstr(sb, "-");
		return;
	}
	add_estimate(sb, inc->onset_lower);
	strbuf_addstr(sb, " to ");
	add_estimate(sb, inc->onset_upper);
}

static void add_unusual(struct strbuf *sb, double rarity)
{
	char buf[64];

	incident_rarity_text(rarity, buf, sizeof(buf));
	strbuf_addstr(sb, buf);
}

/* "1d 2h": how long an incident lasted or has been open. */
static void add_duration(struct strbuf *sb, int64_t ms)
{
	char buf[64];

	duration_format(ms < 0 ? 0 : ms, buf, sizeof(buf));
	strbuf_addstr(sb, buf);
}

static void add_chart(struct strbuf *sb, const struct notify_policy *pol, const char *job,
                      const struct notify_series *s, int link)
{
	struct strbuf url = STRBUF_INIT;

	notify_chart_url(&url, pol->chart_base_url, job, s->series, s->inc->peak_ms ? s->inc->peak_ms : s->since_ms);
	if (url.len && url.len <= CHART_URL_MAX_BYTES) {
		if (link)
			strbuf_addf(sb, "<%s|View chart>", url.buf);
		else
			strbuf_addstr(sb, url.buf);
	}
	strbuf_release(&url);
}

static void add_run(struct strbuf *sb, const struct notify_message *msg)
{
	if (msg->run_id)
		strbuf_addf(sb, "%lld", (long long)msg->run_id);
	else
		strbuf_addstr(sb, "-");
}

/*
 * {job_label.NAME} and {annotation.NAME}: the job's labels and annotations
 * (empty when it has none of that name).  Returns 0 if key is neither.
 */
static int job_meta_value(const struct notify_message *msg, const char *key, unsigned flags, struct strbuf *out)
{
	const json_t *map;

	if (!strncmp(key, "job_label.", 10))
		map = msg->labels, key += 10;
	else if (!strncmp(key, "annotation.", 11))
		map = msg->annotations, key += 11;
	else
		return 0;
	msgtext_append(out, json_string_value(json_object_get(map, key)) ? json_string_value(json_object_get(map,
	               key)) : "", ANNOTATION_MAX_BYTES, flags | MSGTEXT_ONELINE);
	return 1;
}

struct series_ctx {
	const struct notify_message *msg;
	const struct notify_policy *pol;
	const struct notify_series *s;
};

/* Placeholders of a text template (mrkdwn: outside data escaped). */
static void text_value(void *arg, const char *name, size_t len, struct strbuf *out)
{
	const struct series_ctx *c = arg;
	const struct notify_series *s = c->s;
	const struct incident *inc = s->inc;
	const struct alert_item *a = s->alert;
	char key[80];

	snprintf(key, sizeof(key), "%.*s", (int)len, name);
	if (job_meta_value(c->msg, key, MSGTEXT_MRKDWN, out))
		return;
	if (!strcmp(key, "job"))
		msgtext_append(out, c->msg->job, NAME_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
	else if (!strcmp(key, "run"))
		add_run(out, c->msg);
	else if (!strcmp(key, "series"))
		msgtext_append(out, *s->series ? s->series : inc->kind, NAME_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
	else if (!strcmp(key, "labels"))
		add_labels(out, s, 0);
	else if (!strncmp(key, "label.", 6)) {
		for (size_t k = 0; k < s->n_labels; k++)
			if (!strcmp(s->labels[k].key, key + 6)) {
				msgtext_append(out, s->labels[k].value, LABEL_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
				break;
			}
	} else if (!strcmp(key, "time"))
		add_date(out, a ? a->ts_ms : inc->peak_ms ? inc->peak_ms : inc->start_ms);
	else if (!strcmp(key, "value"))
		add_number(out, a ? a->value : inc->peak_value);
	else if (!strcmp(key, "expected"))
		add_number(out, a ? a->expected : inc->peak_expected);
	else if (!strcmp(key, "lower"))
		add_number(out, inc->onset_lower);
	else if (!strcmp(key, "upper"))
		add_number(out, inc->onset_upper);
	else if (!strcmp(key, "band"))
		add_band(out, inc);
	else if (!strcmp(key, "score"))
		strbuf_addf(out, "%.2f", isnan(s->max_score) ? 0 : s->max_score);
	else if (!strcmp(key, "unusual"))
		add_unusual(out, inc->peak_rarity);
	else if (!strcmp(key, "rarity"))
		strbuf_addf(out, "%.1f", isnan(inc->peak_rarity) ? 0 : inc->peak_rarity);
	else if (!strcmp(key, "state"))
		strbuf_addstr(out, inc->state);
	else if (!strcmp(key, "end")) {
		if (inc->end_ms)
			add_date(out, inc->end_ms);
		else
			strbuf_addstr(out, "ongoing");
	} else if (!strcmp(key, "detector"))
		msgtext_append(out, inc->detectors ? inc->detectors : "", DETECTORS_MAX_BYTES,
		               MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
	else if (!strcmp(key, "reason"))
		msgtext_append(out, inc->evidence ? inc->evidence : "", REASON_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
	else if (!strcmp(key, "chart"))
		add_chart(out, c->pol, c->msg->job, s, 1);
	else if (!strcmp(key, "chart_url"))
		add_chart(out, c->pol, c->msg->job, s, 0);
	else if (!strcmp(key, "points"))
		strbuf_addf(out, "%zu", s->n_points);
	else if (!strcmp(key, "since"))
		add_date(out, s->since_ms);
}

/* The section of a job-level incident: runs failing, or no data. */
static void job_section(struct strbuf *sb, const struct notify_series *s)
{
	const struct incident *inc = s->inc;
	int err = !strcmp(inc->kind, "error");

	strbuf_addstr(sb, err ? "*Runs failing*" : "*No data*");
	strbuf_addstr(sb, s->repeat ? " \xe2\x80\x94 still firing since " : " since ");
	add_date(sb, inc->start_ms);
	strbuf_addf(sb, " \xc2\xb7 %lld run%s in a row", (long long)inc->n_alerts, inc->n_alerts == 1 ? "" : "s");
	if (s->repeat)
		strbuf_addstr(sb, " (reminder)");
	if (inc->evidence && *inc->evidence) {
		strbuf_addstr(sb, "\n_");
		msgtext_append(sb, inc->evidence, REASON_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
		strbuf_addch(sb, '_');
	}
}

/* The default section of one firing incident. */
static void series_default(struct strbuf *sb, const struct notify_message *msg, const struct notify_policy *pol,
                           const struct notify_series *s)
{
	const struct incident *inc = s->inc;
	int open = !strcmp(inc->state, "open");

	if (!*s->series) {
		job_section(sb, s);
		return;
	}
	strbuf_addch(sb, '*');
	msgtext_append(sb, s->series, NAME_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
	strbuf_addch(sb, '*');
	if (s->n_labels) {
		strbuf_addstr(sb, "  ");
		add_labels(sb, s, 1);
	}
	strbuf_addstr(sb, "\npeak *");
	add_number(sb, inc->peak_value);
	strbuf_addch(sb, '*');
	if (!isnan(inc->peak_expected)) {
		strbuf_addstr(sb, ", expected ");
		add_estimate(sb, inc->peak_expected);
	}
	if (!isnan(inc->onset_lower) || !isnan(inc->onset_upper)) {
		strbuf_addstr(sb, " (band ");
		add_band(sb, inc);
		strbuf_addch(sb, ')');
	}
	strbuf_addstr(sb, " \xc2\xb7 *");
	add_unusual(sb, inc->peak_rarity);
	strbuf_addstr(sb, "*\n");
	if (s->repeat)
		strbuf_addstr(sb, "still firing since ");
	else
		strbuf_addstr(sb, "since ");
	add_date(sb, inc->start_ms);
	if (!open) {
		strbuf_addstr(sb, !strcmp(inc->state, "accepted") ? ", accepted " : ", over at ");
		add_date(sb, inc->end_ms);
	} else if (!isnan(s->last_value)) {
		strbuf_addstr(sb, " \xc2\xb7 now ");
		add_number(sb, s->last_value);
	}
	strbuf_addf(sb, " \xc2\xb7 %lld point%s \xc2\xb7 by ", (long long)inc->n_alerts, inc->n_alerts == 1 ? "" : "s");
	msgtext_append(sb, inc->detectors ? inc->detectors : "", DETECTORS_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
	if (inc->flaps)
		strbuf_addf(sb, " \xc2\xb7 flapping: came back %lld time%s", (long long)inc->flaps,
		            inc->flaps == 1 ? "" : "s");
	if (s->repeat)
		strbuf_addstr(sb, " (reminder)");
	if (inc->evidence && *inc->evidence) {
		strbuf_addstr(sb, "\n_");
		msgtext_append(sb, inc->evidence, REASON_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
		strbuf_addch(sb, '_');
	}
	if (pol->chart_base_url) {
		strbuf_addch(sb, '\n');
		add_chart(sb, pol, msg->job, s, 1);
	}
}

/* Placeholders of a title template (plain_text: nothing to escape, one line). */
struct title_ctx {
	const struct notify_message *msg;
};

static void title_value(void *arg, const char *name, size_t len, struct strbuf *out)
{
	const struct notify_message *msg = ((const struct title_ctx *)arg)->msg;
	char key[80], iso[40];

	snprintf(key, sizeof(key), "%.*s", (int)len, name);
	if (job_meta_value(msg, key, 0, out))
		return;
	if (!strcmp(key, "job"))
		msgtext_append(out, msg->job, NAME_MAX_BYTES, MSGTEXT_ONELINE);
	else if (!strcmp(key, "run"))
		add_run(out, msg);
	else if (!strcmp(key, "firing"))
		strbuf_addf(out, "%zu", msg->n_firing);
	else if (!strcmp(key, "resolved"))
		strbuf_addf(out, "%zu", msg->n_resolved);
	else if (!strcmp(key, "status"))
		strbuf_addstr(out, msg->n_firing ? "FIRING" : "RESOLVED");
	else if (!strcmp(key, "time")) {
		time_format_iso(msg->scheduled_ms, iso, sizeof(iso));
		strbuf_addstr(out, iso);
	}
}

static void add_counts(struct strbuf *sb, const struct notify_message *msg)
{
	strbuf_addch(sb, '[');
	if (msg->n_firing)
		strbuf_addf(sb, "FIRING:%zu", msg->n_firing);
	if (msg->n_resolved)
		strbuf_addf(sb, "%sRESOLVED:%zu", msg->n_firing ? ", " : "", msg->n_resolved);
	strbuf_addch(sb, ']');
}

static void header_text(struct strbuf *sb, const json_t *cfg, const struct notify_message *msg)
{
	const char *tpl = json_string_value(json_object_get(json_object_get(cfg, "template"), "title"));
	struct strbuf raw = STRBUF_INIT;

	if (tpl) {
		struct title_ctx c = { msg };

		template_expand(tpl, title_value, &c, &raw);
	} else {
		strbuf_addstr(&raw, msg->n_firing ? ":rotating_light: " : ":white_check_mark: ");
		add_counts(&raw, msg);
		strbuf_addch(&raw, ' ');
		strbuf_addstr(&raw, msg->job);
	}
	msgtext_append(sb, strbuf_str(&raw), SLACK_HEADER_MAX, MSGTEXT_ONELINE);
	if (!sb->len)
		strbuf_addstr(sb, "vigil");   /* a header cannot be empty */
	strbuf_release(&raw);
}

static void mentions_text(struct strbuf *sb, const json_t *cfg)
{
	json_t *v = json_object_get(cfg, "mentions"), *x;
	size_t i;

	json_array_foreach(v, i, x) {
		if (json_is_string(x) && valid_mention(json_string_value(x)))
			strbuf_addf(sb, "%s%s", sb->len ? " " : "", json_string_value(x));
	}
}

/* One closed incident: resolved (over), or accepted (the new normal level, said in words). */
static void resolved_line(struct strbuf *line, const struct notify_series *s)
{
	const struct incident *inc = s->inc;

	strbuf_addstr(line, "\n\xe2\x80\xa2 ");
	if (!*s->series) {
		strbuf_addstr(line, !strcmp(inc->kind, "error") ? "*Runs succeed again*, failing from "
		                                                 : "*Data arrives again*, none from ");
		add_date(line, inc->start_ms);
		strbuf_addstr(line, " to ");
		add_date(line, inc->end_ms);
		return;
	}
	strbuf_addch(line, '*');
	msgtext_append(line, s->series, NAME_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
	strbuf_addch(line, '*');
	if (!strcmp(inc->state, "accepted")) {
		strbuf_addstr(line, " stays at ");
		add_number(line, isnan(s->last_value) ? inc->peak_value : s->last_value);
		strbuf_addstr(line, ": now the normal level (open for ");
		add_duration(line, inc->end_ms - inc->start_ms);
		strbuf_addstr(line, " since ");
		add_date(line, inc->start_ms);
		strbuf_addstr(line, ", expected was ");
		add_estimate(line, inc->onset_expected);
		strbuf_addch(line, ')');
	} else {
		strbuf_addstr(line, " back inside the expected band");
		if (!isnan(inc->onset_lower) || !isnan(inc->onset_upper)) {
			strbuf_addstr(line, " (");
			add_band(line, inc);
			strbuf_addch(line, ')');
		}
		strbuf_addstr(line, " since ");
		add_date(line, inc->end_ms);
		strbuf_addstr(line, "; from ");
		add_date(line, inc->start_ms);
		strbuf_addstr(line, ", peak ");
		add_number(line, inc->peak_value);
		strbuf_addstr(line, " (");
		add_unusual(line, inc->peak_rarity);
		strbuf_addch(line, ')');
	}
	if (s->n_labels) {
		strbuf_addstr(line, "  ");
		add_labels(line, s, 1);
	}
}

static void resolved_text(struct strbuf *sb, const struct notify_message *msg, size_t max_series)
{
	size_t listed = 0;

	strbuf_addf(sb, "*Resolved* (%zu)", msg->n_resolved);
	for (size_t i = 0; i < msg->n_resolved; i++) {
		struct strbuf line = STRBUF_INIT;

		resolved_line(&line, &msg->resolved[i]);
		msgtext_cut(&line, 0, RESOLVED_LINE_MAX);
		if (listed >= max_series || sb->len + line.len + 40 > RESOLVED_MAX_BYTES) {
			strbuf_release(&line);
			break;
		}
		strbuf_add(sb, line.buf, line.len);
		strbuf_release(&line);
		listed++;
	}
	if (listed < msg->n_resolved)
		strbuf_addf(sb, "\n_and %zu more_", msg->n_resolved - listed);
}

static void context_text(struct strbuf *sb, const struct notify_message *msg)
{
	strbuf_addstr(sb, "vigil \xc2\xb7 job *");
	msgtext_append(sb, msg->job, NAME_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
	strbuf_addch(sb, '*');
	if (msg->run_id)
		strbuf_addf(sb, " \xc2\xb7 run %lld", (long long)msg->run_id);
	strbuf_addstr(sb, " \xc2\xb7 ");
	add_date(sb, msg->scheduled_ms);
	if (msg->n_ongoing)
		strbuf_addf(sb, " \xc2\xb7 %zu more incident%s still open (already notified)", msg->n_ongoing,
		            msg->n_ongoing == 1 ? "" : "s");
}

/*
 * The job's labels and links, for a context block under the header: its
 * "summary" annotation, then each label as "key *value*" and the
 * runbook_url / dashboard_url annotations as links.  Empty without any.
 */
static void job_meta_text(struct strbuf *sb, const struct notify_message *msg)
{
	static const struct { const char *key, *text; } links[] = {
		{ "runbook_url", "Runbook" }, { "dashboard_url", "Dashboard" },
	};
	const char *summary = json_string_value(json_object_get(msg->annotations, "summary")), *key;
	size_t start;
	json_t *v;

	if (summary && *summary) {
		msgtext_append(sb, summary, ANNOTATION_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
		strbuf_addch(sb, '\n');
	}
	start = sb->len;
	json_object_foreach((json_t *)msg->labels, key, v) {
		strbuf_addstr(sb, sb->len > start ? " \xc2\xb7 " : "");
		msgtext_append(sb, key, LABEL_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
		strbuf_addstr(sb, " *");
		msgtext_append(sb, json_string_value(v), LABEL_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
		strbuf_addch(sb, '*');
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		const char *url = json_string_value(json_object_get(msg->annotations, links[i].key));

		if (!url || !*url)
			continue;
		/* The spec checked it: http(s), no space, '<', '>' or '|'. */
		strbuf_addstr(sb, sb->len > start ? " \xc2\xb7 <" : "<");
		msgtext_append(sb, url, LINK_URL_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
		strbuf_addf(sb, "|%s>", links[i].text);
	}
	if (sb->len == start && start) {
		sb->len--;   /* a summary alone: drop its newline */
		sb->buf[sb->len] = '\0';
	}
}

/* The notification text: mentions, counts, job, the first series names. */
static void fallback_text(struct strbuf *sb, const json_t *cfg, const struct notify_message *msg)
{
	const struct notify_series *list = msg->n_firing ? msg->firing : msg->resolved;
	size_t n = msg->n_firing ? msg->n_firing : msg->n_resolved, i;

	if (msg->n_firing)
		mentions_text(sb, cfg);
	if (sb->len)
		strbuf_addch(sb, ' ');
	add_counts(sb, msg);
	strbuf_addf(sb, " %s:", msg->job);
	for (i = 0; i < n && sb->len < SLACK_TEXT_MAX - 200; i++) {
		strbuf_addstr(sb, i ? ", " : " ");
		msgtext_append(sb, *list[i].series ? list[i].series : !strcmp(list[i].inc->kind, "error")
		               ? "runs failing" : "no data", 100, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
	}
	if (i < n)
		strbuf_addf(sb, " and %zu more", n - i);
	if (!msg->n_firing) {
		size_t accepted = 0;

		for (i = 0; i < msg->n_resolved; i++)
			accepted += !strcmp(msg->resolved[i].inc->state, "accepted");
		strbuf_addstr(sb, accepted == msg->n_resolved ? " accepted as the normal level" : " resolved");
	}
}

static json_t *text_obj(const char *type, const struct strbuf *sb)
{
	return json_pack("{s:s, s:s%}", "type", type, "text", strbuf_str(sb), sb->len);
}

static json_t *section_block(const struct strbuf *sb)
{
	return json_pack("{s:s, s:o}", "type", "section", "text", text_obj("mrkdwn", sb));
}

static int slack_render(const json_t *cfg, const struct notify_policy *pol, const struct notify_message *msg,
                        struct strbuf *body, struct vigil_error *err)
{
	const char *tpl = json_string_value(json_object_get(json_object_get(cfg, "template"), "text"));
	struct strbuf header = STRBUF_INIT, mentions = STRBUF_INIT, context = STRBUF_INIT, resolved = STRBUF_INIT;
	struct strbuf text = STRBUF_INIT, sec = STRBUF_INIT, more = STRBUF_INIT, meta = STRBUF_INIT;
	struct strbuf hint = STRBUF_INIT;
	json_t *root, *top, *att, *blocks;
	size_t used, n_blocks, listed = 0, max_series = pol->max_series ? pol->max_series : SLACK_DEFAULT_SERIES;
	char *dump;

	if (max_series > SLACK_HARD_MAX_SERIES)
		max_series = SLACK_HARD_MAX_SERIES;
	header_text(&header, cfg, msg);
	if (msg->n_firing)
		mentions_text(&mentions, cfg);
	context_text(&context, msg);
	msgtext_cut(&context, 0, SLACK_CONTEXT_MAX);
	job_meta_text(&meta, msg);
	msgtext_cut(&meta, 0, SLACK_CONTEXT_MAX);
	if (msg->n_resolved)
		resolved_text(&resolved, msg, max_series);
	fallback_text(&text, cfg, msg);
	msgtext_cut(&text, 0, SLACK_TEXT_MAX);
	if (msg->n_firing && msg->hints) {
		struct strbuf raw = STRBUF_INIT;

		explain_summary(msg->hints, &raw);
		if (raw.len) {
			strbuf_addstr(&hint, ":mag: *Likely shared cause:* ");
			msgtext_append(&hint, raw.buf, HINT_MAX_BYTES, MSGTEXT_MRKDWN | MSGTEXT_ONELINE);
		}
		strbuf_release(&raw);
	}

	/* What is always there, and room kept for "and K more". */
	used = header.len + mentions.len + context.len + resolved.len + meta.len + hint.len + 80;
	n_blocks = 1 + (mentions.len > 0) + 1 + (resolved.len > 0) * 2 + 1 + (meta.len > 0) + (hint.len > 0);

	top = json_array();
	json_array_append_new(top, json_pack("{s:s, s:o}", "type", "header", "text",
	                                     json_pack("{s:s, s:s%, s:b}", "type", "plain_text", "text",
	                                               header.buf, header.len, "emoji", 1)));
	if (mentions.len)
		json_array_append_new(top, section_block(&mentions));
	blocks = json_array();
	if (meta.len)
		json_array_append_new(blocks, json_pack("{s:s, s:[o]}", "type", "context", "elements",
		                                        text_obj("mrkdwn", &meta)));
	if (hint.len)
		json_array_append_new(blocks, section_block(&hint));
	for (size_t i = 0; i < msg->n_firing; i++) {
		const struct notify_series *s = &msg->firing[i];

		strbuf_reset(&sec);
		if (tpl) {
			struct series_ctx c = { msg, pol, s };

			template_expand(tpl, text_value, &c, &sec);
		} else {
			series_default(&sec, msg, pol, s);
		}
		msgtext_cut(&sec, 0, SLACK_SECTION_MAX);
		if (!sec.len)
			strbuf_addstr(&sec, " ");
		if (listed >= max_series || n_blocks + 1 > SLACK_MAX_BLOCKS || used + sec.len > SLACK_TOTAL_MAX)
			break;
		json_array_append_new(blocks, section_block(&sec));
		used += sec.len;
		n_blocks++;
		listed++;
	}
	if (listed < msg->n_firing) {
		strbuf_addf(&more, "_and %zu more firing incident%s_", msg->n_firing - listed,
		            msg->n_firing - listed == 1 ? "" : "s");
		json_array_append_new(blocks, section_block(&more));
	}
	if (resolved.len) {
		if (msg->n_firing)
			json_array_append_new(blocks, json_pack("{s:s}", "type", "divider"));
		json_array_append_new(blocks, section_block(&resolved));
	}
	json_array_append_new(blocks, json_pack("{s:s, s:[o]}", "type", "context", "elements",
	                                        text_obj("mrkdwn", &context)));
	att = json_pack("{s:s, s:s%, s:o}", "color", msg->n_firing ? "danger" : "good", "fallback",
	                text.buf, text.len, "blocks", blocks);
	root = json_pack("{s:s%, s:o, s:[o]}", "text", text.buf, text.len, "blocks", top, "attachments", att);
	strbuf_release(&header);
	strbuf_release(&mentions);
	strbuf_release(&context);
	strbuf_release(&resolved);
	strbuf_release(&text);
	strbuf_release(&sec);
	strbuf_release(&more);
	strbuf_release(&meta);
	strbuf_release(&hint);
	if (!root)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "slack: cannot build the message");
	dump = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!dump)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "slack: cannot encode the message");
	strbuf_addstr(body, dump);
	free(dump);
	return 0;
}

/* --- Answers ---------------------------------------------------------------- */

static const struct slack_error {
	const char *code;
	enum notify_verdict_kind kind;
	const char *meaning;
} slack_errors[] = {
	{ "invalid_payload", VERDICT_FAILED, "Slack could not parse the message (a vigil bug: please report it)" },
	{ "invalid_blocks", VERDICT_FAILED, "Slack refused the message's blocks (a vigil bug: please report it)" },
	{ "invalid_blocks_format", VERDICT_FAILED, "Slack refused the message's blocks (a vigil bug: please report it)" },
	{ "msg_blocks_too_long", VERDICT_FAILED, "the message is too long for Slack (a vigil bug: please report it)" },
	{ "no_text", VERDICT_FAILED, "the message has no text" },
	{ "user_not_found", VERDICT_FAILED, "a mentioned user does not exist" },
	{ "too_many_attachments", VERDICT_FAILED, "the message has too many attachments" },
	{ "no_service_id", VERDICT_FAILED, "the webhook URL is malformed" },
	{ "no_team", VERDICT_FAILED, "the webhook URL names no Slack workspace" },
	{ "action_prohibited", VERDICT_BROKEN, "a Slack admin restricts posting to this channel" },
	{ "posting_to_general_channel_denied", VERDICT_BROKEN, "only admins may post to this workspace's general channel" },
	{ "invalid_token", VERDICT_BROKEN, "the webhook's token is invalid (revoked?): create a new webhook" },
	{ "channel_not_found", VERDICT_BROKEN, "the channel was deleted, or the webhook cannot see it" },
	{ "no_service", VERDICT_BROKEN, "the webhook is disabled or was removed: create a new one" },
	{ "channel_is_archived", VERDICT_BROKEN, "the channel is archived" },
	{ "team_disabled", VERDICT_BROKEN, "the Slack workspace is disabled" },
	{ "no_active_hooks", VERDICT_BROKEN, "the webhook is not active" },
	{ "rollup_error", VERDICT_RETRY, "a failure on Slack's side" },
};

/* body as one short printable line */
static void body_snippet(char *buf, size_t len, const char *body, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	char *copy = xstrndup(body, n);

	msgtext_append(&sb, copy, 120, MSGTEXT_ONELINE);
	snprintf(buf, len, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
	free(copy);
}

static void slack_classify(long status, const char *body, size_t len, struct notify_verdict *v)
{
	char snippet[200];

	while (len && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
		len--;
	v->error[0] = '\0';
	if (status == 200 && len == 2 && !memcmp(body, "ok", 2)) {
		v->kind = VERDICT_SENT;
		return;
	}
	for (size_t i = 0; i < sizeof(slack_errors) / sizeof(slack_errors[0]); i++) {
		const struct slack_error *e = &slack_errors[i];

		if (strlen(e->code) == len && !memcmp(body, e->code, len)) {
			v->kind = status >= 500 ? VERDICT_RETRY : e->kind;
			snprintf(v->error, sizeof(v->error), "HTTP %ld %s: %s", status, e->code, e->meaning);
			return;
		}
	}
	body_snippet(snippet, sizeof(snippet), body, len);
	if (status == 429) {
		v->kind = VERDICT_RETRY;
		snprintf(v->error, sizeof(v->error), "HTTP 429: rate limited by Slack");
	} else if (status >= 500 || status == 408) {
		v->kind = VERDICT_RETRY;
		snprintf(v->error, sizeof(v->error), "HTTP %ld%s%s", status, len ? ": " : "", snippet);
	} else if (status == 200) {
		v->kind = VERDICT_FAILED;
		snprintf(v->error, sizeof(v->error), "HTTP 200 but the answer is not 'ok' (is this a Slack webhook "
		         "URL?): %s", snippet);
	} else if (status >= 300 && status < 400) {
		v->kind = VERDICT_FAILED;
		snprintf(v->error, sizeof(v->error), "HTTP %ld: a redirect (webhooks do not redirect: check the URL)",
		         status);
	} else {
		v->kind = VERDICT_FAILED;
		snprintf(v->error, sizeof(v->error), "HTTP %ld%s%s", status, len ? ": " : "", snippet);
	}
}

const struct notify_type notify_slack = {
	.name = "slack",
	.summary = "post one Block Kit message per run to a Slack incoming webhook",
	.keys = slack_keys,
	.check = slack_check,
	.dest = slack_dest,
	.render = slack_render,
	.classify = slack_classify,
};
