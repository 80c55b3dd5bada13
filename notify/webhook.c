/*
 * webhook.c - a generic JSON POST of each run's alerts, for receivers that
 * are not Slack (an incident tool, a chat bridge, a script).  Same outbox,
 * retries, grouping, resolved and repeat rules as Slack; the body is the
 * anomaly payload documented in docs/notify.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonfmt.h"
#include "incident.h"
#include "msgtext.h"
#include "notify.h"
#include "secret.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define WEBHOOK_DEFAULT_SERIES 100
#define WEBHOOK_HARD_MAX_SERIES 1000
#define WEBHOOK_TEXT_MAX 1000        /* any one string from outside */
#define WEBHOOK_MAX_HEADERS 16

static const char *const webhook_keys[] = {
	"url", "headers", "resolved", "repeat_interval", "retry_for", "timeout", "max_series", "quiet_hours",
	"chart_base_url", NULL,
};

static int valid_header_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

static void webhook_check(const json_t *cfg, struct diag *d, const char *path)
{
	char sub[JPATH_MAX], sub2[JPATH_MAX];
	json_t *v, *x;
	const char *key;

	notify_check_url(cfg, "url", 0, d, path);
	notify_policy_check(cfg, WEBHOOK_HARD_MAX_SERIES, d, path);
	v = json_object_get(cfg, "headers");
	if (!v)
		return;
	jpath_key(sub, sizeof(sub), path, "headers");
	if (!json_is_object(v) || json_object_size(v) > WEBHOOK_MAX_HEADERS) {
		diag_add(d, sub, "must be an object of at most %d headers like {\"Authorization\": "
		         "\"Bearer ${env:TOKEN}\"}", WEBHOOK_MAX_HEADERS);
		return;
	}
	json_object_foreach(v, key, x) {
		struct vigil_error err = VIGIL_ERROR_INIT;

		jpath_key(sub2, sizeof(sub2), sub, key);
		if (!valid_header_name(key) || !strcasecmp(key, "Content-Type") || !strcasecmp(key, "Content-Length") ||
		    !strcasecmp(key, "Host"))
			diag_add(d, sub2, "is not a header vigil can set (letters, digits and '-'; not Content-Type, "
			         "Content-Length or Host)");
		else if (!json_is_string(x) || strpbrk(json_string_value(x), "\r\n"))
			diag_add(d, sub2, "must be a string on one line");
		else if (secret_check(json_string_value(x), &err))
			diag_add(d, sub2, "%s", err.msg);
	}
}

static const char *webhook_dest(const json_t *cfg)
{
	return json_string_value(json_object_get(cfg, "url"));
}

static char *webhook_headers(const json_t *cfg)
{
	json_t *v = json_object_get(cfg, "headers");

	return json_is_object(v) && json_object_size(v) ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *iso(int64_t ms)
{
	char buf[40];

	time_format_iso(ms, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *labels_obj(const struct notify_series *s)
{
	json_t *o = json_object();

	for (size_t k = 0; k < s->n_labels; k++) {
		struct strbuf key = STRBUF_INIT;

		msgtext_append(&key, s->labels[k].key, 200, MSGTEXT_ONELINE);
		json_object_set_new(o, strbuf_str(&key), msgtext_json(s->labels[k].value, WEBHOOK_TEXT_MAX));
		strbuf_release(&key);
	}
	return o;
}

static json_t *detectors_arr(const char *list)
{
	json_t *a = json_array();
	char *copy = xstrdup(list ? list : ""), *p = copy;

	while (p && *p) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		json_array_append_new(a, msgtext_json(p, 200));
		p = comma ? comma + 1 : NULL;
	}
	free(copy);
	return a;
}

/* The job's labels and annotations as objects (empty when the spec has none). */
static void add_job_meta(json_t *root, const struct notify_message *msg)
{
	const char *names[2] = { "labels", "annotations" };
	const json_t *maps[2] = { msg->labels, msg->annotations };

	for (int i = 0; i < 2; i++) {
		json_t *o = json_object(), *v;
		const char *key;

		json_object_foreach((json_t *)maps[i], key, v)
			json_object_set_new(o, key, msgtext_json(json_string_value(v), WEBHOOK_TEXT_MAX * 2));
		json_object_set_new(root, names[i], o);
	}
}

/* An entry's links (docs/notify.md): its incident's page and its series' chart, null when there is none. */
static void add_links(json_t *o, const struct notify_policy *pol, const struct notify_message *msg,
                      const struct incident *inc)
{
	struct strbuf url = STRBUF_INIT;

	if (*inc->series)
		notify_chart_url(&url, pol->chart_base_url, msg->job, inc->series, inc->peak_ms ? inc->peak_ms : inc->start_ms);
	json_object_set_new(o, "chart_url", url.len ? json_string(url.buf) : json_null());
	strbuf_reset(&url);
	notify_incident_url(&url, pol->chart_base_url, msg, inc);
	json_object_set_new(o, "incident_url", url.len ? json_string(url.buf) : json_null());
	strbuf_release(&url);
}

/* The whole incident, with its id (or the token the store replaces by it). */
static json_t *incident_obj(const struct notify_message *msg, const struct incident *inc)
{
	json_t *o = incident_json(inc);

	json_object_set_new(o, "id", notify_incident_id_json(msg, inc));
	return o;
}

static int webhook_render(const json_t *cfg, const struct notify_policy *pol, const struct notify_message *msg,
                          struct strbuf *body, struct vigil_error *err)
{
	size_t max = pol->max_series ? pol->max_series : WEBHOOK_DEFAULT_SERIES;
	json_t *root = json_object(), *firing = json_array(), *resolved = json_array();
	char *dump;

	(void)cfg;
	if (max > WEBHOOK_HARD_MAX_SERIES)
		max = WEBHOOK_HARD_MAX_SERIES;
	for (size_t i = 0; i < msg->n_firing && i < max; i++) {
		const struct notify_series *s = &msg->firing[i];
		const struct incident *inc = s->inc;
		const struct alert_item *a = s->alert;
		json_t *o = json_object();

		json_object_set_new(o, "series", msgtext_json(s->series, WEBHOOK_TEXT_MAX));
		json_object_set_new(o, "labels", labels_obj(s));
		json_object_set_new(o, "time", iso(a ? a->ts_ms : inc->peak_ms ? inc->peak_ms : inc->start_ms));
		json_object_set_new(o, "ts_ms", json_integer(a ? a->ts_ms : inc->peak_ms ? inc->peak_ms : inc->start_ms));
		json_object_set_new(o, "value", num(a ? a->value : inc->peak_value));
		json_object_set_new(o, "expected", num(a ? a->expected : inc->peak_expected));
		json_object_set_new(o, "lower", num(inc->onset_lower));
		json_object_set_new(o, "upper", num(inc->onset_upper));
		json_object_set_new(o, "score", num(s->max_score));
		json_object_set_new(o, "rarity", num(inc->peak_rarity));
		json_object_set_new(o, "detectors", detectors_arr(inc->detectors));
		json_object_set_new(o, "reason", inc->evidence ? msgtext_json(inc->evidence, WEBHOOK_TEXT_MAX) : json_null());
		json_object_set_new(o, "points", json_integer((json_int_t)s->n_points));
		json_object_set_new(o, "since", iso(s->since_ms));
		json_object_set_new(o, "reminder", json_boolean(s->repeat));
		json_object_set_new(o, "now", num(s->last_value));
		add_links(o, pol, msg, inc);
		json_object_set_new(o, "incident", incident_obj(msg, inc));
		json_array_append_new(firing, o);
	}
	for (size_t i = 0; i < msg->n_resolved && i < max; i++) {
		const struct notify_series *s = &msg->resolved[i];
		json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:s}",
			"series", msgtext_json(s->series, WEBHOOK_TEXT_MAX), "labels", labels_obj(s),
			"since", iso(s->since_ms), "last_anomaly", s->last_alert_ms ? iso(s->last_alert_ms) : json_null(),
			"value", num(s->last_value), "state", s->inc->state);

		add_links(o, pol, msg, s->inc);
		json_object_set_new(o, "incident", incident_obj(msg, s->inc));
		json_array_append_new(resolved, o);
	}
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "status", json_string(msg->n_firing ? "firing" : "resolved"));
	json_object_set_new(root, "job", json_string(msg->job));
	json_object_set_new(root, "run_id", msg->run_id ? json_integer(msg->run_id) : json_null());
	json_object_set_new(root, "scheduled_for", iso(msg->scheduled_ms));
	add_job_meta(root, msg);
	json_object_set_new(root, "firing", firing);
	json_object_set_new(root, "firing_total", json_integer((json_int_t)msg->n_firing));
	json_object_set_new(root, "resolved", resolved);
	json_object_set_new(root, "resolved_total", json_integer((json_int_t)msg->n_resolved));
	json_object_set_new(root, "ongoing", json_integer((json_int_t)msg->n_ongoing));
	json_object_set_new(root, "hints", msg->n_firing && msg->hints ? json_deep_copy(msg->hints) : json_null());
	dump = jsonfmt_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!dump)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "webhook: cannot encode the message");
	strbuf_addstr(body, dump);
	free(dump);
	return 0;
}

static void webhook_classify(long status, const char *body, size_t len, struct notify_verdict *v)
{
	struct strbuf sb = STRBUF_INIT;
	char *copy = xstrndup(body, len);

	msgtext_append(&sb, copy, 120, MSGTEXT_ONELINE);
	free(copy);
	v->error[0] = '\0';
	if (status >= 200 && status < 300)
		v->kind = VERDICT_SENT;
	else if (status == 408 || status == 429 || status >= 500)
		v->kind = VERDICT_RETRY;
	else if (status == 401 || status == 403 || status == 404 || status == 410)
		v->kind = VERDICT_BROKEN;
	else
		v->kind = VERDICT_FAILED;
	if (v->kind != VERDICT_SENT)
		snprintf(v->error, sizeof(v->error), "HTTP %ld%s%s%s", status, sb.len ? ": " : "", strbuf_str(&sb),
		         status >= 300 && status < 400 ? " (redirects are not followed: check the URL)" : "");
	strbuf_release(&sb);
}

const struct notify_type notify_webhook = {
	.name = "webhook",
	.summary = "POST each run's alerts as JSON to a URL",
	.keys = webhook_keys,
	.check = webhook_check,
	.dest = webhook_dest,
	.headers = webhook_headers,
	.render = webhook_render,
	.classify = webhook_classify,
};
