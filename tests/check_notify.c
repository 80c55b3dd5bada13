/*
 * check_notify.c - Slack and webhook messages: escaping, every Slack limit
 * with 500 anomalous series, templates, spec checks, answer classification,
 * URL redaction; quiet hours and mute patterns; and the dispatch decisions
 * through real job runs on a store (one message per run, repeat suppression,
 * resolved, mutes, out-of-order runs, atomicity with the run's results).
 */
#include <math.h>
#include <sqlite3.h>

#include "dispatch.h"
#include "job.h"
#include "msgtext.h"
#include "mute.h"
#include "jsonfmt.h"
#include "notify.h"
#include "outbox.h"
#include "spec.h"
#include "store.h"
#include "template.h"
#include "testutil.h"
#include "dbutil.h"
#include "timefmt.h"

static struct registry *reg;

/* --- helpers -------------------------------------------------------------- */

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

struct walk {
	size_t blocks, sections, max_section, header_chars, total_chars, max_context;
	int unescaped;             /* a raw < or & that is not Slack markup */
	struct strbuf all;         /* every mrkdwn text, concatenated */
};

/* The same rule as tests/slack-server.py: < > only in Slack's control sequences, & only in entities. */
static int escaped_ok(const char *t)
{
	for (const char *p = t; *p; p++) {
		if (*p == '&') {
			if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4))
				return 0;
		} else if (*p == '<') {
			const char *end = strchr(p, '>');

			if (!end || memchr(p + 1, '<', (size_t)(end - p - 1)))
				return 0;
			if (strncmp(p, "<!here>", 7) && strncmp(p, "<!channel>", 10) && strncmp(p, "<!date^", 7) &&
			    strncmp(p, "<@U", 3) && strncmp(p, "<!subteam^", 10) && strncmp(p, "<http", 5))
				return 0;
			p = end;
		} else if (*p == '>') {
			return 0;
		}
	}
	return 1;
}

static void walk_text(struct walk *w, json_t *obj, int is_header)
{
	const char *t = json_string_value(json_object_get(obj, "text"));
	size_t n;

	ck_assert_ptr_nonnull(t);
	n = utf8_chars(t);
	ck_assert_msg(n > 0, "empty text object");
	w->total_chars += n;
	if (is_header) {
		w->header_chars = n;
		ck_assert_str_eq(json_string_value(json_object_get(obj, "type")), "plain_text");
	} else if (!strcmp(json_string_value(json_object_get(obj, "type")), "mrkdwn")) {
		if (!escaped_ok(t))
			w->unescaped = 1;
		strbuf_addstr(&w->all, t);
		strbuf_addch(&w->all, '\n');
	}
}

static void walk_blocks(struct walk *w, json_t *blocks)
{
	size_t i;
	json_t *b;

	ck_assert(json_is_array(blocks));
	json_array_foreach(blocks, i, b) {
		const char *type = json_string_value(json_object_get(b, "type"));

		w->blocks++;
		if (!strcmp(type, "header")) {
			walk_text(w, json_object_get(b, "text"), 1);
		} else if (!strcmp(type, "section")) {
			size_t n = utf8_chars(json_string_value(json_object_get(json_object_get(b, "text"), "text")));

			w->sections++;
			if (n > w->max_section)
				w->max_section = n;
			walk_text(w, json_object_get(b, "text"), 0);
		} else if (!strcmp(type, "context")) {
			json_t *els = json_object_get(b, "elements"), *e;
			size_t k;

			ck_assert_int_ge(json_array_size(els), 1);
			ck_assert_int_le(json_array_size(els), 10);
			json_array_foreach(els, k, e) {
				size_t n = utf8_chars(json_string_value(json_object_get(e, "text")));

				if (n > w->max_context)
					w->max_context = n;
				walk_text(w, e, 0);
			}
		} else {
			ck_assert_str_eq(type, "divider");
		}
	}
}

/* Parse a Slack payload and check every limit of the shared doc. */
static json_t *check_slack_payload(const char *payload, struct walk *w)
{
	json_error_t jerr;
	json_t *p = json_loads(payload, 0, &jerr), *atts;
	const char *text;

	ck_assert_msg(p != NULL, "payload is not JSON: %s", jerr.text);
	memset(w, 0, sizeof(*w));
	text = json_string_value(json_object_get(p, "text"));
	ck_assert_ptr_nonnull(text);
	ck_assert_int_le(utf8_chars(text), 4000);
	ck_assert_msg(escaped_ok(text), "text not escaped: %s", text);
	walk_blocks(w, json_object_get(p, "blocks"));
	atts = json_object_get(p, "attachments");
	ck_assert_int_eq(json_array_size(atts), 1);
	walk_blocks(w, json_object_get(json_array_get(atts, 0), "blocks"));
	ck_assert_int_le(w->blocks, 50);
	ck_assert_int_le(w->max_section, 3000);
	ck_assert_int_le(w->header_chars, 150);
	ck_assert_int_le(w->max_context, 3000);
	ck_assert_int_le(w->total_chars, 12000);
	return p;
}

static json_t *slack_cfg(const char *extra)
{
	char *text = xasprintf("{\"type\": \"slack\", \"webhook_url\": \"${env:SLACK_URL}\"%s%s}", extra ? ", " : "",
	                       extra ? extra : "");
	json_t *cfg = json_loads(text, 0, NULL);

	ck_assert_ptr_nonnull(cfg);
	free(text);
	return cfg;
}

static char *render(const char *type, json_t *cfg, const struct notify_message *msg)
{
	const struct notify_type *t = notify_find(type);
	struct notify_policy pol;
	struct strbuf sb = STRBUF_INIT;
	struct vigil_error err = VIGIL_ERROR_INIT;

	ck_assert_ptr_nonnull(t);
	notify_policy_get(cfg, 0, &pol);
	ck_assert_msg(t->render(cfg, &pol, msg, &sb, &err) == 0, "%s", err.msg);
	return strbuf_detach(&sb);
}

/* n firing series with hostile, oversized data. */
struct fixture {
	struct alert_item *alerts;
	struct incident *incs;
	struct notify_series *series;
	struct vigil_label *labels;
	char **strings;
	size_t n, n_strings;
};

static char *keep(struct fixture *f, char *s)
{
	f->strings = xreallocarray(f->strings, f->n_strings + 1, sizeof(*f->strings));
	f->strings[f->n_strings++] = s;
	return s;
}

static char *repeat_str(const char *unit, size_t times)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < times; i++)
		strbuf_addstr(&sb, unit);
	return strbuf_detach(&sb);
}

static void fixture_init(struct fixture *f, size_t n, int hostile)
{
	memset(f, 0, sizeof(*f));
	f->n = n;
	f->alerts = xcalloc(n, sizeof(*f->alerts));
	f->incs = xcalloc(n, sizeof(*f->incs));
	f->series = xcalloc(n, sizeof(*f->series));
	f->labels = xcalloc(n * 5, sizeof(*f->labels));
	for (size_t i = 0; i < n; i++) {
		struct alert_item *a = &f->alerts[i];
		char *name = hostile ? keep(f, xasprintf("%zu-%s", i, keep(f, repeat_str("<&>é\xff`*", 40))))
		                     : keep(f, xasprintf("web-%zu", i));

		for (int k = 0; k < 5; k++) {
			f->labels[i * 5 + k].key = keep(f, xasprintf("k%d", k));
			f->labels[i * 5 + k].value = hostile ? keep(f, repeat_str("v<`>&", 60)) : keep(f, xasprintf("v%d", k));
		}
		a->series = name;
		a->ts_ms = 1795212000000LL + (int64_t)i * 60000;
		a->value = 100 + (double)i;
		a->expected = 10;
		a->lower = 5;
		a->upper = 15;
		a->score = 0.5 + (double)(i % 50) / 100.0;
		a->detectors = hostile ? keep(f, repeat_str("det<&>,", 100)) : "mad,zscore";
		a->reason = hostile ? keep(f, repeat_str("<@U123> & <!channel> \n", 300)) : "above the band";
		f->incs[i] = (struct incident){
			.job = "job", .series = name, .kind = "anomaly", .state = "open", .start_ms = a->ts_ms,
			.last_alert_ms = a->ts_ms, .n_alerts = 3, .peak_ms = a->ts_ms, .peak_value = a->value,
			.peak_expected = a->expected, .peak_score = a->score, .peak_rarity = 2 + (double)(i % 50) / 10.0,
			.onset_expected = a->expected, .onset_lower = a->lower, .onset_upper = a->upper,
			.accepted_lower = NAN, .accepted_upper = NAN, .detectors = (char *)a->detectors, .evidence = a->reason,
		};
		f->series[i] = (struct notify_series){
			.series = name, .labels = &f->labels[i * 5], .n_labels = 5, .alert = a, .inc = &f->incs[i], .n_points = 3,
			.max_score = a->score, .since_ms = a->ts_ms, .last_alert_ms = a->ts_ms, .last_value = 12,
		};
	}
}

static void fixture_release(struct fixture *f)
{
	for (size_t i = 0; i < f->n_strings; i++)
		free(f->strings[i]);
	free(f->strings);
	free(f->alerts);
	free(f->incs);
	free(f->series);
	free(f->labels);
}

/* --- text helpers ------------------------------------------------------- */

START_TEST(test_msgtext)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j;

	msgtext_append(&sb, "a&b<c>d", 100, MSGTEXT_MRKDWN);
	ck_assert_str_eq(sb.buf, "a&amp;b&lt;c&gt;d");
	strbuf_reset(&sb);
	msgtext_append(&sb, "x\xffy\x01z\nw`", 100, MSGTEXT_ONELINE | MSGTEXT_NOTICK);
	ck_assert_str_eq(sb.buf, "x\xef\xbf\xbdy z w'");
	strbuf_reset(&sb);
	/* a cut never splits an entity or a UTF-8 sequence, and stays within the budget */
	ck_assert_int_eq(msgtext_append(&sb, "&&&&", 12, MSGTEXT_MRKDWN), 1);
	ck_assert_str_eq(sb.buf, "&amp;" MSGTEXT_ELLIPSIS);
	strbuf_reset(&sb);
	ck_assert_int_eq(msgtext_append(&sb, "\xc3\xa9\xc3\xa9\xc3\xa9", 5, 0), 1);
	ck_assert_str_eq(sb.buf, "\xc3\xa9" MSGTEXT_ELLIPSIS);
	strbuf_reset(&sb);
	ck_assert_int_eq(msgtext_append(&sb, "abc", 3, 0), 0);
	ck_assert_str_eq(sb.buf, "abc");
	for (size_t max = 0; max < 40; max++) {
		strbuf_reset(&sb);
		msgtext_append(&sb, "<<é&>>\xff\xfe&<", max, MSGTEXT_MRKDWN);
		ck_assert_int_le(sb.len, max);
		ck_assert(escaped_ok(strbuf_str(&sb)));
		j = json_string(strbuf_str(&sb));
		ck_assert_msg(j != NULL, "not valid UTF-8 at max %zu", max);
		json_decref(j);
	}
	/* cutting already-formatted mrkdwn: never inside an entity or a link */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "see <https://example.com/x|chart> &amp; more");
	ck_assert_int_eq(msgtext_cut(&sb, 0, 20), 1);
	ck_assert_str_eq(sb.buf, "see " MSGTEXT_ELLIPSIS);
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "aaaa &amp; b");
	msgtext_cut(&sb, 0, 10);
	ck_assert_str_eq(sb.buf, "aaaa " MSGTEXT_ELLIPSIS);
	strbuf_release(&sb);
	j = msgtext_json("bad \xc0\xaf utf8", 100);
	ck_assert_ptr_nonnull(j);
	json_decref(j);
}
END_TEST

START_TEST(test_template)
{
	static const char *const names[] = { "job", "series", "label.", NULL };
	struct vigil_error err = VIGIL_ERROR_INIT;

	ck_assert_int_eq(template_check("{job}: {series} {label.host} {{literal}}", names, &err), 0);
	ck_assert_int_eq(template_check("{serie}", names, &err), -1);
	ck_assert_msg(strstr(err.msg, "unknown placeholder '{serie}' (did you mean '{series}'?)"), "%s", err.msg);
	vigil_error_clear(&err);
	ck_assert_int_eq(template_check("{job", names, &err), -1);
	ck_assert_msg(strstr(err.msg, "unterminated"), "%s", err.msg);
	vigil_error_clear(&err);
	ck_assert_int_eq(template_check("a } b", names, &err), -1);
	vigil_error_clear(&err);
	ck_assert_int_eq(template_check("{label.}", names, &err), -1);
}
END_TEST

/* --- Slack messages ------------------------------------------------------- */

START_TEST(test_slack_escaping)
{
	struct fixture f;
	struct notify_message msg = { .job = "esc", .run_id = 7, .scheduled_ms = 1795212000000LL };
	json_t *cfg = slack_cfg("\"mentions\": [\"<!here>\", \"<@U024BE7LH>\"]"), *p;
	struct walk w;
	char *payload;

	fixture_init(&f, 1, 0);
	f.series[0].series = f.alerts[0].series = "<!channel> & <script>";
	f.alerts[0].reason = f.incs[0].evidence = "<@U999> said > 5 & < 9";
	msg.firing = f.series;
	msg.n_firing = 1;
	payload = render("slack", cfg, &msg);
	p = check_slack_payload(payload, &w);
	ck_assert_msg(!w.unescaped, "unescaped user data in %s", w.all.buf);
	ck_assert_msg(strstr(w.all.buf, "&lt;!channel&gt; &amp; &lt;script&gt;"), "%s", w.all.buf);
	ck_assert_msg(strstr(w.all.buf, "&lt;@U999&gt; said &gt; 5 &amp; &lt; 9"), "%s", w.all.buf);
	ck_assert_ptr_null(strstr(payload, "<!channel>"));   /* only the configured mentions are live */
	ck_assert_ptr_null(strstr(payload, "<@U999>"));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(p, "text")), "<!here> <@U024BE7LH>"));
	/* peak vs expected and the onset band, how unusual, since when, points, detectors */
	ck_assert_msg(strstr(w.all.buf, "peak *100*, expected 10 (band 5 to 15) \xc2\xb7 *1 in 100*"), "%s", w.all.buf);
	ck_assert_msg(!strstr(w.all.buf, "score *"), "%s", w.all.buf);
	ck_assert_msg(strstr(w.all.buf, "<!date^1795212000^{date_short_pretty} {time}|2026-11-20T22:00:00Z>"), "%s",
	              w.all.buf);
	ck_assert_msg(strstr(w.all.buf, "3 points \xc2\xb7 by mad,zscore"), "%s", w.all.buf);
	ck_assert_msg(strstr(w.all.buf, "job *esc* \xc2\xb7 run 7"), "%s", w.all.buf);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(p, "attachments"), 0),
	                                                   "color")), "danger");
	json_decref(p);
	strbuf_release(&w.all);
	free(payload);
	json_decref(cfg);
	fixture_release(&f);
}
END_TEST

/* 500 anomalous series of hostile, oversized text: every limit holds, the rest is summarised. */
/* 500 incidents firing together, with the shared-cause hint: one message within Slack's limits, hint included. */
START_TEST(test_slack_group_hint)
{
	struct fixture f;
	struct notify_message msg = { .job = "big", .run_id = 1, .scheduled_ms = 1795212000000LL };
	json_t *cfg = slack_cfg("\"max_series\": 40"), *p;
	json_t *hints = json_pack("{s:s, s:[{s:s, s:s, s:i, s:i, s:f, s:s}], s:[]}", "method", "builtin",
	                          "contributors", "label", "dc", "value", "fra", "anomalous", 450, "normal", 0,
	                          "p_value", 1e-9, "text", "450 of 500 anomalous series have dc=\"fra\"; 0 of 40 normal ones",
	                          "first_moved");
	struct walk w;
	char *payload, *wh;

	fixture_init(&f, 500, 1);
	msg.firing = f.series;
	msg.n_firing = 500;
	msg.hints = hints;
	payload = render("slack", cfg, &msg);
	p = check_slack_payload(payload, &w);
	ck_assert_msg(!w.unescaped, "unescaped text");
	ck_assert_int_le(w.total_chars, 10000);
	ck_assert_msg(strstr(w.all.buf, "*Likely shared cause:* 450 of 500 anomalous series have dc=\"fra\"; 0 of 40 normal ones"),
	              "%s", w.all.buf);
	ck_assert_msg(strstr(w.all.buf, "more firing incidents_"), "%s", w.all.buf);
	json_decref(p);
	strbuf_release(&w.all);
	free(payload);
	wh = render("webhook", cfg, &msg);
	ck_assert_msg(strstr(wh, "\"hints\":{") && strstr(wh, "\"firing_total\":500"), "%.300s", wh);
	free(wh);
	json_decref(hints);
	json_decref(cfg);
	fixture_release(&f);
}
END_TEST

/* JSON numbers: the shortest text that reads back the same double, still a real. */
START_TEST(test_jsonfmt)
{
	json_t *a = json_pack("[f, f, f, f, i, s]", 578.7, 500.0, 1e-7, 0.1 + 0.2, 5, "578.70000000000005");
	char *t = jsonfmt_dumps(a, JSON_COMPACT);

	ck_assert_str_eq(t, "[578.7,500.0,1e-07,0.30000000000000004,5,\"578.70000000000005\"]");
	free(t);
	json_decref(a);
}
END_TEST

START_TEST(test_slack_limits)
{
	struct fixture f;
	struct notify_message msg = { .job = "big", .run_id = 1, .scheduled_ms = 1795212000000LL, .n_ongoing = 3 };
	static const char *const extras[] = {
		NULL,
		"\"max_series\": 40, \"chart_base_url\": \"https://vigil.example.com\"",
		"\"max_series\": 40, \"mentions\": [\"<!here>\", \"<!channel>\", \"<@U1>\", \"<@U2>\", \"<@U3>\", "
		"\"<@U4>\", \"<@U5>\", \"<@U6>\", \"<@U7>\", \"<!subteam^S1|@oncall>\"]",
		"\"max_series\": 40, \"template\": {\"title\": \"{job} {job} {job} {job} {job} {job} {job} {job} {job} {job}"
		" {job} {job} {job} {job} {job} {job} {job} {job} {job} {job} {job} {job} {job} {job} {job} {job}\", "
		"\"text\": \"{series} {labels} {reason} {reason} {reason} {detector} {series} {series}\"}",
	};

	fixture_init(&f, 500, 1);
	for (size_t e = 0; e < sizeof(extras) / sizeof(extras[0]); e++) {
		for (int resolved = 0; resolved < 3; resolved++) {
			json_t *cfg = slack_cfg(extras[e]), *p;
			struct walk w;
			char *payload, want[80];
			size_t listed;

			/* 0: 500 firing; 1: 500 firing and 500 resolved; 2: 500 resolved */
			msg.firing = resolved == 2 ? NULL : f.series;
			msg.n_firing = resolved == 2 ? 0 : 500;
			msg.resolved = resolved ? f.series : NULL;
			msg.n_resolved = resolved ? 500 : 0;
			payload = render("slack", cfg, &msg);
			p = check_slack_payload(payload, &w);
			ck_assert_msg(!w.unescaped, "case %zu/%d: unescaped text", e, resolved);
			ck_assert_int_le(w.total_chars, 10000);   /* our budget, well under Slack's ~13k */
			listed = w.sections - (json_array_size(json_object_get(p, "blocks")) - 1) - (resolved ? 1 : 0);
			if (msg.n_firing) {
				listed--;   /* the "and K more" section */
				ck_assert_int_ge(listed, 1);
				ck_assert_int_le(listed, e ? 40 : 10);
				snprintf(want, sizeof(want), "_and %zu more firing incidents_", 500 - listed);
				ck_assert_msg(strstr(w.all.buf, want), "case %zu/%d: no '%s'", e, resolved, want);
			}
			if (resolved)
				ck_assert_msg(strstr(w.all.buf, "*Resolved* (500)") && strstr(w.all.buf, " more_"),
				              "case %zu/%d", e, resolved);
			json_decref(p);
			strbuf_release(&w.all);
			free(payload);
			json_decref(cfg);
		}
	}
	fixture_release(&f);
}
END_TEST

/* Links to incident pages: the id, or a token the store fills in; the chart when there is no page. */
START_TEST(test_incident_links)
{
	struct incident incs[2] = {
		{ .id = 0, .job = "j", .series = "web 1", .kind = "anomaly", .start_ms = 7200000, .peak_ms = 0 },
		{ .id = 0, .job = "j", .series = "", .kind = "error", .start_ms = 7200000 },
	};
	struct notify_message msg = { .job = "j/x", .run_id = 0, .incidents = incs, .n_incidents = 2,
	                              .id_token = "vigil-incident-00000000000000ab" };
	struct incident other = incs[0];
	struct strbuf sb = STRBUF_INIT;
	int64_t ids[2] = { 41, 42 };
	json_t *id;
	char *filled;

	/* not stored: no page; the series' chart (from 6 h before to 1 h after), or the job's page */
	ck_assert_int_eq(notify_incident_url(&sb, "https://ui.example/", &msg, &incs[0]), 0);
	ck_assert_int_eq(notify_link_url(&sb, "https://ui.example/", &msg, &incs[0]), 0);
	ck_assert_str_eq(sb.buf, "https://ui.example/jobs/j%2Fx/series/web%201?from=-14400000&to=10800000");
	strbuf_reset(&sb);
	ck_assert_int_eq(notify_link_url(&sb, "https://ui.example", &msg, &incs[1]), 0);
	ck_assert_str_eq(sb.buf, "https://ui.example/jobs/j%2Fx");
	strbuf_reset(&sb);
	/* stored: a new incident gets the token and its index, a stored one its id */
	msg.run_id = 9;
	ck_assert_int_eq(notify_link_url(&sb, "https://ui.example//", &msg, &incs[1]), 1);
	ck_assert_str_eq(sb.buf, "https://ui.example/incidents/vigil-incident-00000000000000ab-1");
	strbuf_reset(&sb);
	other.id = 17;
	ck_assert_int_eq(notify_incident_url(&sb, "https://ui.example", &msg, &other), 1);
	ck_assert_str_eq(sb.buf, "https://ui.example/incidents/17");
	strbuf_reset(&sb);
	other.id = 0;   /* not one of the run's incidents, no id: no page */
	ck_assert_int_eq(notify_incident_url(&sb, "https://ui.example", &msg, &other), 0);
	ck_assert_uint_eq(sb.len, 0);
	id = notify_incident_id_json(&msg, &incs[0]);
	ck_assert_str_eq(json_string_value(id), "vigil-incident-00000000000000ab-0");
	json_decref(id);
	msg.id_token = NULL;   /* a dry run: nothing will be stored */
	ck_assert_int_eq(notify_incident_url(&sb, "https://ui.example", &msg, &incs[0]), 0);
	id = notify_incident_id_json(&msg, &incs[0]);
	ck_assert_int_eq(json_integer_value(id), 0);
	json_decref(id);
	ck_assert_int_eq(notify_incident_url(&sb, NULL, &msg, &other), 0);

	/* filling: bare and quoted tokens; an index out of range or another token stays */
	filled = notify_fill_incident_ids("{\"u\":\"<https://x/incidents/TOK-1|View incident>\",\"id\":\"TOK-0\","
	                                  "\"a\":\"TOK-2 TOK- TOKEN-1 TOK-10\"}", "TOK", ids, 2);
	ck_assert_str_eq(filled, "{\"u\":\"<https://x/incidents/42|View incident>\",\"id\":41,"
	                 "\"a\":\"TOK-2 TOK- TOKEN-1 TOK-10\"}");
	free(filled);
	ck_assert_ptr_null(notify_fill_incident_ids("{\"id\":0}", "TOK", ids, 2));
	ck_assert_ptr_null(notify_fill_incident_ids("TOK-5", "TOK", ids, 2));
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_slack_template)
{
	struct fixture f;
	struct notify_message msg = { .job = "tpl", .run_id = 3, .scheduled_ms = 1795212000000LL };
	json_t *cfg = slack_cfg("\"chart_base_url\": \"https://vigil.example.com/\", \"template\": {\"title\": "
	                        "\"{status}: {job} ({firing} series, run {run})\", \"text\": \"{series} on {label.k1} "
	                        "at {time}: {value} vs {expected} in [{band}], score {score} by {detector} ({reason}) "
	                        "{chart} {{x}}\"}"), *p;
	struct walk w;
	char *payload;

	fixture_init(&f, 2, 0);
	f.labels[1].value = "a&b";
	msg.firing = f.series;
	msg.n_firing = 1;
	payload = render("slack", cfg, &msg);
	p = check_slack_payload(payload, &w);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(p, "blocks"),
	                 0), "text"), "text")), "FIRING: tpl (1 series, run 3)");
	ck_assert_msg(strstr(w.all.buf, "web-0 on a&amp;b at <!date^1795212000^{date_short_pretty} {time}|"
	                                "2026-11-20T22:00:00Z>: 100 vs 10 in [5 to 15], score 0.50 by mad,zscore "
	                                "(above the band) <https://vigil.example.com/jobs/tpl/series/web-0?from="
	                                "1795190400000&to=1795215600000|View chart> {x}"), "%s", w.all.buf);
	json_decref(p);
	strbuf_release(&w.all);
	free(payload);
	json_decref(cfg);
	fixture_release(&f);
}
END_TEST

/* The job's labels and annotations: a context line, template placeholders, the webhook payload. */
START_TEST(test_job_labels)
{
	struct fixture f;
	json_t *labels = json_pack("{s:s, s:s}", "severity", "page", "team", "db<!channel>");
	json_t *annotations = json_pack("{s:s, s:s, s:s}", "summary", "checkout p99 & friends",
	                                "runbook_url", "https://wiki.example.com/rb?a=1&b=2",
	                                "dashboard_url", "https://grafana.example.com/d/x");
	struct notify_message msg = { .job = "meta", .run_id = 4, .scheduled_ms = 1795212000000LL,
	                              .labels = labels, .annotations = annotations };
	json_t *cfg = slack_cfg(NULL), *p, *ctx, *hook;
	struct walk w;
	char *payload;

	fixture_init(&f, 1, 0);
	msg.firing = f.series;
	msg.n_firing = 1;
	payload = render("slack", cfg, &msg);
	p = check_slack_payload(payload, &w);
	/* The first block of the attachment is the context line of the job's labels and links. */
	ctx = json_array_get(json_object_get(json_array_get(json_object_get(p, "attachments"), 0), "blocks"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "type")), "context");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(ctx, "elements"), 0), "text")),
	                 "checkout p99 &amp; friends\nseverity *page* \xc2\xb7 team *db&lt;!channel&gt;* \xc2\xb7 "
	                 "<https://wiki.example.com/rb?a=1&amp;b=2|Runbook> \xc2\xb7 "
	                 "<https://grafana.example.com/d/x|Dashboard>");
	ck_assert(!w.unescaped);
	json_decref(p);
	strbuf_release(&w.all);
	free(payload);
	json_decref(cfg);

	/* Without labels or annotations: no such block. */
	msg.labels = msg.annotations = NULL;
	cfg = slack_cfg(NULL);
	payload = render("slack", cfg, &msg);
	ck_assert_ptr_null(strstr(payload, "Runbook"));
	p = check_slack_payload(payload, &w);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(json_array_get(
	                 json_object_get(p, "attachments"), 0), "blocks"), 0), "type")), "section");
	json_decref(p);
	strbuf_release(&w.all);
	free(payload);
	json_decref(cfg);

	/* Templates: {job_label.NAME} and {annotation.NAME}, escaped in text, empty when absent. */
	msg.labels = labels;
	msg.annotations = annotations;
	cfg = slack_cfg("\"template\": {\"title\": \"[{job_label.severity}] {job}{job_label.nope}\", \"text\": "
	                "\"{series} ({job_label.team}) <{annotation.runbook_url}|runbook>\"}");
	payload = render("slack", cfg, &msg);
	p = check_slack_payload(payload, &w);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(p, "blocks"),
	                 0), "text"), "text")), "[page] meta");
	ck_assert_msg(strstr(w.all.buf, "web-0 (db&lt;!channel&gt;) <https://wiki.example.com/rb?a=1&amp;b=2|runbook>"),
	              "%s", w.all.buf);
	json_decref(p);
	strbuf_release(&w.all);
	free(payload);
	json_decref(cfg);

	/* The webhook payload carries both objects. */
	cfg = json_pack("{s:s, s:s}", "type", "webhook", "url", "${env:HOOK}");
	payload = render("webhook", cfg, &msg);
	hook = json_loads(payload, 0, NULL);
	ck_assert_ptr_nonnull(hook);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(hook, "labels"), "team")), "db<!channel>");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(hook, "annotations"), "runbook_url")),
	                 "https://wiki.example.com/rb?a=1&b=2");
	ck_assert_int_eq(json_object_size(json_object_get(hook, "annotations")), 3);
	json_decref(hook);
	free(payload);
	msg.labels = msg.annotations = NULL;
	payload = render("webhook", cfg, &msg);
	hook = json_loads(payload, 0, NULL);
	ck_assert(json_is_object(json_object_get(hook, "labels")) && !json_object_size(json_object_get(hook, "labels")));
	json_decref(hook);
	free(payload);
	json_decref(cfg);
	json_decref(labels);
	json_decref(annotations);
	fixture_release(&f);
}
END_TEST

static void expect_spec_error(const char *notify, const char *want, const char *not_in)
{
	char *json = xasprintf("{\"name\": \"n\", \"source\": {\"type\": \"csv\", \"path\": \"x.csv\"}, "
	                       "\"detectors\": [{\"detector\": \"mad\"}], \"notify\": [%s]}", notify);
	struct diag d;
	struct job_spec *spec;
	int found = 0;

	diag_init(&d, "spec.json");
	spec = spec_parse(json, "/tmp", reg, &d);
	if (!want) {
		ck_assert_msg(spec != NULL, "%s: %s", notify, d.n ? d.msgs[0] : "?");
	} else {
		ck_assert_msg(spec == NULL, "accepted: %s", notify);
		for (size_t i = 0; i < d.n; i++) {
			found |= strstr(d.msgs[i], want) != NULL;
			if (not_in)
				ck_assert_msg(!strstr(d.msgs[i], not_in), "the secret is echoed: %s", d.msgs[i]);
		}
		ck_assert_msg(found, "no '%s' in: %s", want, d.n ? d.msgs[0] : "(none)");
	}
	spec_free(spec);
	diag_release(&d);
	free(json);
}

START_TEST(test_slack_spec)
{
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"${env:SLACK_URL}\", \"mentions\": [\"<!here>\", "
	                  "\"<@U024BE7LH>\", \"<!subteam^SAZ94GDB8|@oncall>\"], \"resolved\": false, "
	                  "\"repeat_interval\": \"never\", \"retry_for\": \"1h\", \"timeout\": \"5s\", \"max_series\": 40, "
	                  "\"quiet_hours\": {\"from\": \"22:00\", \"to\": \"07:00\", \"timezone\": \"Europe/Paris\"}, "
	                  "\"chart_base_url\": \"https://vigil.example.com\", \"template\": {\"title\": \"{job}\", "
	                  "\"text\": \"{series} {label.host}\"}}", NULL, NULL);
	expect_spec_error("{\"type\": \"slack\"}", "$.notify[0].webhook_url: is required", NULL);
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"https://hooks.slack.com/services/T0/B0/SECRETTOKEN\"}",
	                  "must be a secret reference", "SECRETTOKEN");
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"${env:S}\", \"mentions\": [\"@here\"]}",
	                  "$.notify[0].mentions[0]: must be Slack's syntax", NULL);
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"${env:S}\", \"template\": {\"text\": \"{sereis}\"}}",
	                  "$.notify[0].template.text: unknown placeholder '{sereis}' (did you mean '{series}'?)", NULL);
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"${env:S}\", \"template\": {\"title\": \"{series}\"}}",
	                  "$.notify[0].template.title: unknown placeholder '{series}'", NULL);
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"${env:S}\", \"max_series\": 41}",
	                  "$.notify[0].max_series: must be an integer from 1 to 40", NULL);
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"${env:S}\", \"quiet_hours\": {\"from\": \"25:00\", "
	                  "\"to\": \"07:00\", \"timezone\": \"Mars/Olympus\"}}", "$.notify[0].quiet_hours.from", NULL);
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"${env:S}\", \"quiet_hours\": {\"from\": \"22:00\", "
	                  "\"to\": \"07:00\", \"timezone\": \"Mars/Olympus\"}}", "$.notify[0].quiet_hours.timezone", NULL);
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"${env:S}\", \"repeat_interval\": \"10s\"}",
	                  "$.notify[0].repeat_interval: must be between 1m and 30d", NULL);
	expect_spec_error("{\"type\": \"slack\", \"webhook_url\": \"${env:S}\", \"chanel\": \"#x\"}",
	                  "$.notify[0].chanel: unknown key for a slack target", NULL);
	expect_spec_error("{\"type\": \"webhook\", \"url\": \"http://127.0.0.1:9/x\", \"headers\": "
	                  "{\"Authorization\": \"Bearer ${env:TOKEN}\"}}", NULL, NULL);
	expect_spec_error("{\"type\": \"webhook\", \"url\": \"ftp://x\"}", "must be an http:// or https:// URL", NULL);
	expect_spec_error("{\"type\": \"webhook\", \"url\": \"http://x\", \"headers\": {\"Content-Type\": \"x\"}}",
	                  "is not a header vigil can set", NULL);
}
END_TEST

START_TEST(test_classify)
{
	static const struct { long status; const char *body; enum notify_verdict_kind kind; } slack[] = {
		{ 200, "ok", VERDICT_SENT }, { 200, "ok\n", VERDICT_SENT },
		{ 400, "invalid_payload", VERDICT_FAILED }, { 400, "invalid_blocks", VERDICT_FAILED },
		{ 400, "no_text", VERDICT_FAILED }, { 400, "user_not_found", VERDICT_FAILED },
		{ 400, "too_many_attachments", VERDICT_FAILED }, { 404, "no_service_id", VERDICT_FAILED },
		{ 404, "no_team", VERDICT_FAILED },
		{ 403, "action_prohibited", VERDICT_BROKEN }, { 403, "posting_to_general_channel_denied", VERDICT_BROKEN },
		{ 403, "invalid_token", VERDICT_BROKEN }, { 404, "channel_not_found", VERDICT_BROKEN },
		{ 404, "no_service", VERDICT_BROKEN }, { 410, "channel_is_archived", VERDICT_BROKEN },
		{ 410, "team_disabled", VERDICT_BROKEN }, { 410, "no_active_hooks", VERDICT_BROKEN },
		/* by the body, not the status: sources disagree on some statuses */
		{ 400, "channel_not_found", VERDICT_BROKEN },
		{ 429, "{\"ok\":false}", VERDICT_RETRY }, { 500, "rollup_error", VERDICT_RETRY },
		{ 503, "", VERDICT_RETRY }, { 502, "<html>bad gateway</html>", VERDICT_RETRY },
		{ 200, "<html>captive portal</html>", VERDICT_FAILED }, { 301, "", VERDICT_FAILED },
		{ 418, "teapot", VERDICT_FAILED },
	};
	static const struct { long status; enum notify_verdict_kind kind; } hook[] = {
		{ 200, VERDICT_SENT }, { 204, VERDICT_SENT }, { 400, VERDICT_FAILED }, { 404, VERDICT_BROKEN },
		{ 410, VERDICT_BROKEN }, { 401, VERDICT_BROKEN }, { 429, VERDICT_RETRY }, { 500, VERDICT_RETRY },
		{ 408, VERDICT_RETRY }, { 302, VERDICT_FAILED },
	};
	struct notify_verdict v;

	for (size_t i = 0; i < sizeof(slack) / sizeof(slack[0]); i++) {
		notify_slack.classify(slack[i].status, slack[i].body, strlen(slack[i].body), &v);
		ck_assert_msg(v.kind == slack[i].kind, "%ld %s: kind %d", slack[i].status, slack[i].body, v.kind);
		if (v.kind != VERDICT_SENT && strlen(slack[i].body) > 3 && slack[i].body[0] != '<' &&
		    slack[i].body[0] != '{')
			ck_assert_msg(strstr(v.error, slack[i].body), "%s", v.error);
	}
	notify_slack.classify(404, "channel_not_found", 17, &v);
	ck_assert_str_eq(v.error, "HTTP 404 channel_not_found: the channel was deleted, or the webhook cannot see it");
	for (size_t i = 0; i < sizeof(hook) / sizeof(hook[0]); i++) {
		notify_webhook.classify(hook[i].status, "x", 1, &v);
		ck_assert_msg(v.kind == hook[i].kind, "%ld: kind %d", hook[i].status, v.kind);
	}
}
END_TEST

START_TEST(test_redact)
{
	char buf[300];

	outbox_redact_url("https://hooks.slack.com/services/T0123/B0456/XXXXsecretYYYY", buf, sizeof(buf));
	ck_assert_str_eq(buf, "https://hooks.slack.com/services/T\xe2\x80\xa6/B\xe2\x80\xa6/****");
	outbox_redact_url("https://user:pass@example.com:8443/hooks/abc?token=zzz", buf, sizeof(buf));
	ck_assert_str_eq(buf, "https://example.com:8443/****");
	outbox_redact_url("not a url with secret", buf, sizeof(buf));
	ck_assert_str_eq(buf, "****");
	setenv("VIGIL_TEST_HOOK", "http://127.0.0.1:1/services/T9/B8/topsecret", 1);
	outbox_show_dest("${env:VIGIL_TEST_HOOK}", NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "http://127.0.0.1:1/services/T\xe2\x80\xa6/B\xe2\x80\xa6/****");
	unsetenv("VIGIL_TEST_HOOK");
	outbox_show_dest("${env:VIGIL_TEST_HOOK}", NULL, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "${env:VIGIL_TEST_HOOK} (cannot resolve: environment variable 'VIGIL_TEST_HOOK' "
	                          "is not set)"), "%s", buf);
}
END_TEST

START_TEST(test_retry_after_backoff)
{
	int64_t now = 1795212000000LL;

	ck_assert_int_eq(outbox_parse_retry_after(" 5", now), 5000);
	ck_assert_int_eq(outbox_parse_retry_after("0\r\n", now), 0);
	ck_assert_int_eq(outbox_parse_retry_after("soon", now), -1);
	ck_assert_int_eq(outbox_parse_retry_after("5 s", now), -1);
	/* 2026-11-20T22:00:30Z as an HTTP date: 30 s after now */
	ck_assert_int_eq(outbox_parse_retry_after(" Fri, 20 Nov 2026 22:00:30 GMT\r\n", now), 30000);
	ck_assert_int_eq(outbox_parse_retry_after("Fri, 20 Nov 2026 19:00:00 GMT", now), 0);
	for (int n = 1; n < 30; n++) {
		int64_t cap = n >= 10 ? OUTBOX_BACKOFF_MAX_MS : (int64_t)OUTBOX_BACKOFF_BASE_MS << (n - 1);

		if (cap > OUTBOX_BACKOFF_MAX_MS)
			cap = OUTBOX_BACKOFF_MAX_MS;
		ck_assert_int_eq(outbox_backoff_ms(n, 0.0), cap / 2);
		ck_assert_int_le(outbox_backoff_ms(n, 0.999), cap);
		ck_assert_int_ge(outbox_backoff_ms(n, 0.999), cap * 9 / 10);
	}
}
END_TEST

START_TEST(test_quiet_and_patterns)
{
	struct notify_policy pol = { .quiet = 1, .quiet_from = 22 * 60, .quiet_to = 7 * 60, .quiet_tz = "Europe/Paris" };
	int64_t t;

	/* Paris is UTC+1 in November: 21:30Z is 22:30 there (quiet), 20:30Z is 21:30 (not), 05:59Z is 06:59 (quiet) */
	time_parse("2026-11-20T21:30:00Z", 20, TIME_ISO8601, &t);
	ck_assert_int_eq(mute_quiet_now(&pol, t), 1);
	time_parse("2026-11-20T20:30:00Z", 20, TIME_ISO8601, &t);
	ck_assert_int_eq(mute_quiet_now(&pol, t), 0);
	time_parse("2026-11-21T05:59:00Z", 20, TIME_ISO8601, &t);
	ck_assert_int_eq(mute_quiet_now(&pol, t), 1);
	time_parse("2026-11-21T06:00:00Z", 20, TIME_ISO8601, &t);
	ck_assert_int_eq(mute_quiet_now(&pol, t), 0);
	/* in summer Paris is UTC+2: 20:30Z is 22:30 */
	time_parse("2026-07-01T20:30:00Z", 20, TIME_ISO8601, &t);
	ck_assert_int_eq(mute_quiet_now(&pol, t), 1);
	pol = (struct notify_policy){ .quiet = 1, .quiet_from = 12 * 60, .quiet_to = 13 * 60, .quiet_tz = "UTC" };
	time_parse("2026-11-20T12:59:59Z", 20, TIME_ISO8601, &t);
	ck_assert_int_eq(mute_quiet_now(&pol, t), 1);
	time_parse("2026-11-20T13:00:00Z", 20, TIME_ISO8601, &t);
	ck_assert_int_eq(mute_quiet_now(&pol, t), 0);
	pol.quiet = 0;
	ck_assert_int_eq(mute_quiet_now(&pol, t - 1000), 0);

	ck_assert(mute_pattern_match("cpu-*", "cpu-incident"));
	ck_assert(!mute_pattern_match("cpu-*", "mem"));
	ck_assert(mute_pattern_match("web-?", "web-1"));
	ck_assert(mute_pattern_match("*", "a/b c"));
	ck_assert(mute_pattern_match("[ab]*", "b1"));
}
END_TEST

/* --- dispatch through real runs ------------------------------------------ */

static char *tmp_dir(void)
{
	char *dir = xasprintf("%s/vigil-notify-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

/*
 * A job over a long-format CSV: series a, b, c with one point a minute from
 * T0; a and b spike (to 100) at the minutes listed, c never does.
 */
#define T0 1795212000000LL
#define MIN 60000LL

struct env {
	char *dir, *db, *csv, *spec_path;
	struct store *st;
	struct job_spec *spec;
};

static const int no_spikes[] = { -1 };

static int spiked(const int *spikes, int m)
{
	for (const int *p = spikes; *p >= 0; p++)
		if (*p == m)
			return 1;
	return 0;
}

static void write_csv3(struct env *e, const int *sa, const int *sb, const int *sc)
{
	FILE *f = fopen(e->csv, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "host,ts,value\n");
	for (int m = 0; m < 600; m++) {
		long long t = (long long)(T0 + m * MIN) / 1000;

		fprintf(f, "a,%lld,%d\nb,%lld,%d\nc,%lld,%d\n", t, spiked(sa, m) ? 100 : 10, t, spiked(sb, m) ? 100 : 10,
		        t, spiked(sc, m) ? 100 : 10);
	}
	fclose(f);
}

static void write_csv(struct env *e, const int *sa, const int *sb)
{
	write_csv3(e, sa, sb, no_spikes);
}

static void env_init_with(struct env *e, const char *notify_extra, const char *extra_detector)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct diag d;
	char *json;

	memset(e, 0, sizeof(*e));
	e->dir = tmp_dir();
	e->db = xasprintf("%s/vigil.db", e->dir);
	e->csv = xasprintf("%s/data.csv", e->dir);
	e->st = store_open(e->db, &err);
	ck_assert_msg(e->st != NULL, "%s", err.msg);
	json = xasprintf("{\"name\": \"disp\", \"source\": {\"type\": \"csv\", \"path\": \"data.csv\", \"series_column\": "
	                 "\"host\", \"time_column\": \"ts\"}, \"window\": \"1h\", \"alert\": {\"recent\": \"10m\"}, "
	                 "\"detectors\": [{\"detector\": \"threshold\", \"params\": {\"upper\": 50}}%s], \"notify\": ["
	                 "{\"type\": \"slack\", \"webhook_url\": \"${env:SLACK_URL}\"%s}]}", extra_detector, notify_extra);
	diag_init(&d, "disp.json");
	e->spec = spec_parse(json, e->dir, reg, &d);
	ck_assert_msg(e->spec != NULL, "%s", d.n ? d.msgs[0] : "?");
	diag_release(&d);
	free(json);
}

static void env_init(struct env *e, const char *notify_extra)
{
	env_init_with(e, notify_extra, "");
}

static void env_free(struct env *e)
{
	spec_free(e->spec);
	store_close(e->st);
	unlink(e->csv);
	free(e->csv);
	free(e->db);
	free(e->dir);
}

/* Run at minute m; returns the number of outbox rows afterwards. */
static long long run_at(struct env *e, int minute)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct notify_ctx nctx = { .out = stderr, .spec_dir = e->dir };
	struct job_options opt = { .scheduled_ms = T0 + minute * MIN, .store = e->st, .notify = &nctx };
	struct run_report rep;

	ck_assert_msg(job_run(e->spec, &opt, &rep, &err) == 0, "%s", err.msg);
	run_report_release(&rep);
	return scalar(e->db, "SELECT count(*) FROM outbox");
}

static char *last_payload(struct env *e)
{
	return text(e->db, "SELECT payload FROM outbox ORDER BY id DESC LIMIT 1");
}

/* One message per run however many series and points alert; repeats wait for repeat_interval. */
START_TEST(test_dispatch_group_and_repeat)
{
	struct env e;
	static const int sa[] = { 55, 56, 57, -1 }, sb[] = { 58, -1 };
	char *p;

	env_init(&e, ", \"repeat_interval\": \"2h\"");
	write_csv(&e, sa, sb);
	ck_assert_int_eq(run_at(&e, 60), 1);   /* a (3 points) and b (1 point): one message */
	p = last_payload(&e);
	ck_assert_msg(strstr(p, "[FIRING:2] disp"), "%s", p);
	ck_assert_msg(strstr(p, "*a*") && strstr(p, "*b*") && !strstr(p, "*c*"), "%s", p);
	ck_assert_msg(strstr(p, "3 points"), "%s", p);
	free(p);
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM alert_state WHERE state = 'firing'"), 2);
	ck_assert_int_eq(scalar(e.db, "SELECT since FROM alert_state WHERE series = 'a'"), T0 + 55 * MIN);
	/* the same ongoing anomaly a minute later: no message */
	ck_assert_int_eq(run_at(&e, 61), 1);
	ck_assert_int_eq(run_at(&e, 64), 1);
	/* a new series joins: only it is listed, the others (not back for 15 min yet) are counted */
	{
		static const int sc[] = { 66, -1 };

		write_csv3(&e, sa, sb, sc);
	}
	ck_assert_int_eq(run_at(&e, 67), 2);
	p = last_payload(&e);
	ck_assert_msg(strstr(p, "[FIRING:1] disp") && strstr(p, "*c*") && !strstr(p, "*b*") && !strstr(p, "*a*"), "%s", p);
	ck_assert_msg(strstr(p, "2 more incidents still open (already notified)"), "%s", p);
	free(p);
	/* a has been back (from 58) for 15 min at 73, b (from 59) at 74: both resolved in the run of 74 */
	ck_assert_int_eq(run_at(&e, 72), 2);
	ck_assert_int_eq(run_at(&e, 74), 3);
	p = last_payload(&e);
	ck_assert_msg(strstr(p, "[RESOLVED:2] disp"), "%s", p);
	ck_assert_msg(strstr(p, "*Resolved* (2)\\n\xe2\x80\xa2 *a* back inside the expected band since "), "%s", p);
	free(p);
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM incidents WHERE state = 'resolved'"), 2);
	ck_assert_int_eq(scalar(e.db, "SELECT end_ts FROM incidents WHERE series = 'a'"), T0 + 58 * MIN);
	env_free(&e);
}
END_TEST

START_TEST(test_dispatch_repeat_due)
{
	struct env e;
	int sa[130], none[] = { -1 };
	char *p;

	for (int i = 0; i < 120; i++)
		sa[i] = i * 5;   /* a keeps spiking every 5 minutes: an anomaly that goes on */
	sa[120] = -1;
	env_init(&e, ", \"repeat_interval\": \"1h\"");
	write_csv(&e, sa, none);
	ck_assert_int_eq(run_at(&e, 100), 1);
	ck_assert_int_eq(run_at(&e, 130), 1);   /* 30 min later: suppressed */
	ck_assert_int_eq(run_at(&e, 160), 2);   /* an hour after the first: a reminder */
	p = last_payload(&e);
	ck_assert_msg(strstr(p, "(reminder)") && strstr(p, "still firing since"), "%s", p);
	free(p);
	ck_assert_int_eq(scalar(e.db, "SELECT last_sent FROM alert_state WHERE series = 'a'"), T0 + 160 * MIN);
	ck_assert_int_eq(run_at(&e, 200), 2);
	env_free(&e);
}
END_TEST

START_TEST(test_dispatch_resolved)
{
	static const int sa[] = { 55, -1 }, sb[] = { 58, -1 };

	for (int wanted = 0; wanted < 2; wanted++) {
		struct env e;
		char *p;

		env_init(&e, wanted ? "" : ", \"resolved\": false");
		write_csv(&e, sa, sb);
		ck_assert_int_eq(run_at(&e, 60), 1);
		/* at minute 200 the window (1h) holds no spike: both are back to normal */
		ck_assert_int_eq(run_at(&e, 200), wanted ? 2 : 1);
		ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM alert_state WHERE state = 'resolved'"), 2);
		if (wanted) {
			p = last_payload(&e);
			ck_assert_msg(strstr(p, "[RESOLVED:2] disp") && strstr(p, "\"good\"") && strstr(p, "*Resolved* (2)") &&
			              !strstr(p, "normal"),
			              "%s", p);
			free(p);
		}
		/* clean again: nothing more */
		ck_assert_int_eq(run_at(&e, 260), wanted ? 2 : 1);
		/* a fires again: a new alert, not a reminder */
		{
			static const int sa2[] = { 55, 315, -1 };

			write_csv(&e, sa2, sb);
		}
		ck_assert_int_eq(run_at(&e, 320), wanted ? 3 : 2);
		p = last_payload(&e);
		ck_assert_msg(strstr(p, "[FIRING:1] disp") && !strstr(p, "reminder"), "%s", p);
		free(p);
		env_free(&e);
	}
}
END_TEST

/* A run scheduled before the newest run that notified changes nothing (a late backfill). */
START_TEST(test_dispatch_out_of_order)
{
	struct env e;
	static const int sa[] = { 55, 300, -1 }, none[] = { -1 };

	env_init(&e, "");
	write_csv(&e, sa, none);
	ck_assert_int_eq(run_at(&e, 305), 1);
	ck_assert_int_eq(run_at(&e, 60), 1);
	ck_assert_int_eq(scalar(e.db, "SELECT updated_run FROM alert_state WHERE series = 'a'"), T0 + 305 * MIN);
	env_free(&e);
}
END_TEST

/* Mutes and quiet hours: the alert is stored, the message kept as 'muted', not sent. */
START_TEST(test_dispatch_mutes)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct env e;
	static const int sa[] = { 55, -1 }, sb[] = { 58, -1 };
	int64_t id, now = time_now_ms();
	char *p;

	env_init(&e, "");
	write_csv(&e, sa, sb);
	ck_assert_int_eq(e.st->backend->notify->mute_add(e.st, "di*", "a", now + 3600000, "deploy", now, &id, &err), 0);
	ck_assert_int_eq(e.st->backend->notify->mute_add(e.st, "other", "*", now + 3600000, NULL, now, &id, &err), 0);
	ck_assert_int_eq(e.st->backend->notify->mute_add(e.st, "*", "*", now - 1, NULL, now - 10, &id, &err), 0);
	ck_assert_int_eq(run_at(&e, 60), 2);
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 1);
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM outbox WHERE state = 'muted' AND note = 'mute 1'"), 1);
	p = text(e.db, "SELECT payload FROM outbox WHERE state = 'pending'");
	ck_assert_msg(strstr(p, "*b*") && !strstr(p, "*a*"), "%s", p);
	free(p);
	p = text(e.db, "SELECT payload FROM outbox WHERE state = 'muted'");
	ck_assert_msg(strstr(p, "*a*") && !strstr(p, "*b*"), "%s", p);
	free(p);
	/* the anomalies are stored all the same */
	ck_assert_int_eq(scalar(e.db, "SELECT count(DISTINCT series) FROM anomalies WHERE alerted = 1"), 2);
	/* a muted series was never told: once the mute is gone it is sent */
	ck_assert_int_eq(scalar(e.db, "SELECT last_sent FROM alert_state WHERE series = 'a'"), 0);
	env_free(&e);

	/* quiet hours all day long (00:00 to 23:59): everything muted */
	env_init(&e, ", \"quiet_hours\": {\"from\": \"00:00\", \"to\": \"23:59\"}");
	write_csv(&e, sa, sb);
	if (time_now_ms() % 86400000 < 86340000) {   /* not in the last minute of the UTC day */
		ck_assert_int_eq(run_at(&e, 60), 1);
		ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM outbox WHERE state = 'muted' AND note LIKE "
		                              "'quiet hours (00:00-23:59 UTC)'"), 1);
	}
	env_free(&e);
}
END_TEST

/* The messages commit with the run's results: a run that cannot finish leaves no message. */
START_TEST(test_dispatch_atomic_and_dedup)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct env e;
	static const int sa[] = { 55, -1 }, none[] = { -1 };
	struct outbox_row row = {
		.dedup_key = "k1", .dest = "slack:${env:X}", .type = "slack", .url_ref = "${env:X}", .job = "disp",
		.scheduled_for = 1, .summary = "s", .payload = "{}", .state = "pending", .created_at = 1,
		.deadline = 2, .timeout_ms = 1000,
	};
	struct run_outcome o = { .state = "succeeded", .outcome = "clean", .outbox = &row, .n_outbox = 1 };

	env_init(&e, "");
	write_csv(&e, sa, none);
	ck_assert_int_eq(run_at(&e, 60), 1);
	/* finishing a run that is not running is refused, and its message is not written */
	ck_assert_int_eq(e.st->backend->run_finish(e.st, 1, 5, &o, NULL, 0, &err), -1);
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM outbox WHERE dedup_key = 'k1'"), 0);
	/* the same run again (same job and time) is refused before it notifies */
	{
		struct notify_ctx nctx = { .out = stderr };
		struct job_options opt = { .scheduled_ms = T0 + 60 * MIN, .store = e.st, .notify = &nctx };
		struct run_report rep;

		vigil_error_clear(&err);
		ck_assert_int_eq(job_run(e.spec, &opt, &rep, &err), -1);
		run_report_release(&rep);
	}
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM outbox"), 1);
	/* a message keyed like one already queued is not queued twice */
	ck_assert_int_eq(e.st->backend->notify->enqueue(e.st, &row, 1, NULL, 0, &err), 0);
	ck_assert_int_eq(e.st->backend->notify->enqueue(e.st, &row, 1, NULL, 0, &err), 0);
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM outbox WHERE dedup_key = 'k1'"), 1);
	/* the store keeps the reference, never a URL */
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM outbox WHERE url_ref LIKE '%://%'"), 0);
	env_free(&e);
}
END_TEST

/* Dry runs print what would be sent and change nothing. */
START_TEST(test_dispatch_dry_run)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct env e;
	static const int sa[] = { 55, -1 }, none[] = { -1 };
	char *out_path = xasprintf("%s/vigil-dry-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	int fd = mkstemp(out_path);
	FILE *out = fdopen(fd, "w+");
	struct notify_ctx nctx = { .out = out, .dry_run = 1 };
	struct job_options opt = { .scheduled_ms = T0 + 60 * MIN, .store = NULL, .notify = &nctx };
	struct run_report rep;
	char buf[65536];
	size_t n;

	env_init(&e, "");
	write_csv(&e, sa, none);
	opt.store = e.st;
	ck_assert_int_eq(job_run(e.spec, &opt, &rep, &err), 0);
	run_report_release(&rep);
	fflush(out);
	rewind(out);
	n = fread(buf, 1, sizeof(buf) - 1, out);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, "[dry run: slack target ${env:SLACK_URL}: would send]"), "%s", buf);
	ck_assert_msg(strstr(buf, "\"text\": \"[FIRING:1] disp: a\""), "%s", buf);
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM outbox"), 0);
	ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM alert_state"), 0);
	fclose(out);
	unlink(out_path);
	free(out_path);
	env_free(&e);
}
END_TEST

/* An incident of a series on which a detector failed, or absent from the run, is not resolved. */
START_TEST(test_dispatch_failed_series_not_resolved)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct env e;
	struct alert_state_row firing = {
		.target = NULL, .job = "disp", .series = "c", .state = "firing", .since = T0 + 55 * MIN,
		.last_sent = T0 + 60 * MIN, .updated_run = T0 + 60 * MIN,
	};
	struct incident inc = {
		.job = "disp", .series = "c", .kind = "anomaly", .labels_json = "{}", .state = "open",
		.start_ms = T0 + 55 * MIN, .last_seen_ms = T0 + 60 * MIN, .last_alert_ms = T0 + 55 * MIN, .n_alerts = 1,
		.peak_ms = T0 + 55 * MIN, .peak_value = 100, .peak_expected = NAN, .peak_score = 1, .peak_rarity = 3,
		.onset_expected = NAN, .onset_lower = NAN, .onset_upper = 50, .accepted_lower = NAN, .accepted_upper = NAN,
		.detectors = "threshold", .opened_run_ms = T0 + 60 * MIN, .updated_run_ms = T0 + 60 * MIN,
	};
	char *target;

	for (int failing = 1; failing >= 0; failing--) {
		env_init_with(&e, "", failing ? ", {\"detector\": \"test-fail\"}" : "");
		write_csv(&e, no_spikes, no_spikes);
		target = notify_target_key("slack", "${env:SLACK_URL}", e.dir);
		firing.target = target;
		firing.series = "c";
		ck_assert_int_eq(e.st->backend->notify->enqueue(e.st, NULL, 0, &firing, 1, &err), 0);
		inc.series = "c";
		ck_assert_int_eq(e.st->backend->incidents->open(e.st, &inc, &err), 0);
		/* c is in the data and clean for an hour: resolved, unless a detector failed on it */
		ck_assert_int_eq(run_at(&e, 120), failing ? 0 : 1);
		ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM alert_state WHERE series = 'c' AND state = 'resolved'"),
		                 !failing);
		ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM incidents WHERE series = 'c' AND state = 'open'"),
		                 failing);
		/* an incident of a series absent from the data stays open */
		inc.series = "gone";
		ck_assert_int_eq(e.st->backend->incidents->open(e.st, &inc, &err), 0);
		run_at(&e, 180);
		ck_assert_int_eq(scalar(e.db, "SELECT count(*) FROM incidents WHERE series = 'gone' AND state = 'open'"), 1);
		free(target);
		env_free(&e);
	}
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("messages");
	TCase *td = tcase_create("dispatch");

	tcase_add_test(tc, test_msgtext);
	tcase_add_test(tc, test_slack_group_hint);
	tcase_add_test(tc, test_jsonfmt);
	tcase_add_test(tc, test_template);
	tcase_add_test(tc, test_slack_escaping);
	tcase_add_test(tc, test_slack_limits);
	tcase_add_test(tc, test_slack_template);
	tcase_add_test(tc, test_incident_links);
	tcase_add_test(tc, test_job_labels);
	tcase_add_test(tc, test_slack_spec);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_redact);
	tcase_add_test(tc, test_retry_after_backoff);
	tcase_add_test(tc, test_quiet_and_patterns);
	tcase_add_test(td, test_dispatch_group_and_repeat);
	tcase_add_test(td, test_dispatch_repeat_due);
	tcase_add_test(td, test_dispatch_resolved);
	tcase_add_test(td, test_dispatch_out_of_order);
	tcase_add_test(td, test_dispatch_mutes);
	tcase_add_test(td, test_dispatch_atomic_and_dedup);
	tcase_add_test(td, test_dispatch_dry_run);
	tcase_add_test(td, test_dispatch_failed_series_not_resolved);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, td);
	return s;
}

int main(void)
{
	int rc;
	char *good = xasprintf("%s/test.so", getenv("VIGIL_TEST_PLUGINS") ? getenv("VIGIL_TEST_PLUGINS")
	                                                                  : "tests/plugins/.libs");
	struct vigil_error err = VIGIL_ERROR_INIT;

	reg = test_registry();
	if (registry_load_file(reg, good, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_FAILURE;
	}
	free(good);
	rc = run_suite(notify_suite());
	registry_free(reg);
	return rc;
}
