/* spec.c - parse and validate job spec v1, reporting every problem. */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cron.h"
#include "detect.h"
#include "exec-detector.h"
#include "notify.h"
#include "secret.h"
#include "spec.h"
#include "strbuf.h"
#include "regfile.h"
#include "suggest.h"
#include "timefmt.h"
#include "tz.h"
#include "xmalloc.h"
#include "banned.h"

static const char *const top_keys[] = {
	"version", "name", "description", "source", "window", "max_series", "detectors", "alert", "notify",
	"schedule", "bounds", "labels", "annotations", "explain", NULL,
};
static const char *const detector_keys[] = {
	"detector", "id", "params", "mode", "exec", "isolation", "limits", NULL,
};
static const char *const alert_keys[] = {
	"min_score", "recent", "recent_points", "agree", "resolve_after", "accept_after", "on_error", "on_no_data",
	"error_after", NULL,
};
static const char *const schedule_keys[] = {
	"cron", "timezone", "misfire", "max_catchup_age", "timeout", NULL,
};

static void check_keys(const json_t *obj, const char *const *keys, struct diag *d, const char *path,
                       const char *what)
{
	char where[64];

	snprintf(where, sizeof(where), "in %s", what);
	diag_check_keys(d, obj, keys, NULL, path, where);
}

static int valid_job_name(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 128)
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

static void list_names(struct strbuf *sb, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", names[i]);
}

static void parse_source(struct job_spec *spec, const json_t *src, struct diag *d)
{
	json_t *type = json_object_get(src, "type");
	const char *const *names = source_names();
	size_t n = 0;

	if (!json_is_object(src)) {
		diag_add(d, "$.source", "must be an object with a \"type\"");
		return;
	}
	while (names[n])
		n++;
	if (!json_is_string(type)) {
		struct strbuf sb = STRBUF_INIT;

		list_names(&sb, names, n);
		diag_add(d, "$.source.type", "is required (one of: %s)", strbuf_str(&sb));
		strbuf_release(&sb);
		return;
	}
	spec->source_type = source_find(json_string_value(type));
	if (!spec->source_type) {
		struct strbuf sb = STRBUF_INIT;
		const char *hint = suggest_closest(json_string_value(type), names, n);

		list_names(&sb, names, n);
		diag_add(d, "$.source.type", "unknown source type '%s'%s%s%s (known: %s)",
		         json_string_value(type), hint ? " (did you mean '" : "", hint ? hint : "",
		         hint ? "'?)" : "", strbuf_str(&sb));
		strbuf_release(&sb);
		return;
	}
	source_check_keys(spec->source_type, src, d, "$.source");
	spec->source_type->check(src, d, "$.source");
	spec->source = json_incref((json_t *)src);
}

/* "isolation" and "limits" of a plugin's entry (an executable has them in its exec object). */
static void parse_isolation(struct spec_detector *sd, const json_t *item, struct diag *d, const char *path)
{
	json_t *iso = json_object_get(item, "isolation"), *limits = json_object_get(item, "limits");
	int exec = json_object_get(item, "exec") != NULL;
	char sub[JPATH_MAX];

	jpath_key(sub, sizeof(sub), path, "isolation");
	if (iso && exec) {
		diag_add(d, sub, "an executable always runs in its own processes: remove \"isolation\"");
	} else if (iso) {
		if (json_is_string(iso) && !strcmp(json_string_value(iso), "process"))
			sd->isolate = 1;
		else if (json_is_string(iso) && !strcmp(json_string_value(iso), "in-process"))
			sd->isolate = 0;
		else
			diag_add(d, sub, "must be \"process\" (supervised worker processes) or \"in-process\"");
	}
	jpath_key(sub, sizeof(sub), path, "limits");
	if (limits && exec) {
		diag_add(d, sub, "an executable's limits go in its exec object: \"exec\": {\"limits\": ...}");
	} else if (limits) {
		if (sd->isolate == 0)
			diag_add(d, sub, "limits apply to isolated detectors only, and this one is \"in-process\"");
		else if (!exec_limits_parse(limits, &sd->limits, d, sub))
			sd->has_limits = 1;
	}
}

static void parse_detectors(struct job_spec *spec, const json_t *arr, const struct registry *reg,
                            struct diag *d)
{
	size_t i;
	json_t *item, *seen;

	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		diag_add(d, "$.detectors", "must be a non-empty array of detector entries");
		return;
	}
	spec->detectors = xcalloc(json_array_size(arr), sizeof(*spec->detectors));
	seen = json_object();
	json_array_foreach(arr, i, item) {
		struct spec_detector *sd = &spec->detectors[spec->n_detectors];
		char path[JPATH_MAX], sub[JPATH_MAX];
		json_t *name, *id, *mode, *params;

		jpath_index(path, sizeof(path), "$.detectors", i);
		if (!json_is_object(item)) {
			diag_add(d, path, "must be an object like {\"detector\": \"mad\"}");
			continue;
		}
		check_keys(item, detector_keys, d, path, "a detector entry");
		name = json_object_get(item, "detector");
		jpath_key(sub, sizeof(sub), path, "detector");
		if (!json_is_string(name)) {
			diag_add(d, sub, "is required: the name of a detector");
			continue;
		}
		sd->detector = xstrdup(json_string_value(name));
		sd->isolate = -1;
		run_limits_default(&sd->limits);
		parse_isolation(sd, item, d, path);
		if (json_object_get(item, "exec")) {
			jpath_key(sub, sizeof(sub), path, "exec");
			sd->entry = exec_spec_entry(reg, json_object_get(item, "exec"), sd->detector, spec->dir, d, sub);
		} else if (!(sd->entry = registry_find(reg, sd->detector))) {
			struct strbuf sb = STRBUF_INIT;
			size_t n;
			const char **names = registry_names(reg, &n);
			const char *hint = suggest_closest(sd->detector, names, n);

			list_names(&sb, names, n);
			if (hint)
				diag_add(d, sub, "unknown detector '%s' (did you mean '%s'?); known: %s",
				         sd->detector, hint, strbuf_str(&sb));
			else
				diag_add(d, sub, "unknown detector '%s'; known: %s", sd->detector,
				         n ? strbuf_str(&sb) : "none (no plugins found; see --plugin-dir)");
			strbuf_release(&sb);
			free(names);
		}
		id = json_object_get(item, "id");
		jpath_key(sub, sizeof(sub), path, "id");
		if (id && (!json_is_string(id) || !valid_job_name(json_string_value(id))))
			diag_add(d, sub, "must be a string of letters, digits, '_', '-' or '.'");
		sd->id = xstrdup(json_is_string(id) ? json_string_value(id) : sd->detector);
		mode = json_object_get(item, "mode");
		jpath_key(sub, sizeof(sub), path, "mode");
		sd->mode = MODE_ALERT;
		if (mode) {
			if (json_is_string(mode) && !strcmp(json_string_value(mode), "shadow"))
				sd->mode = MODE_SHADOW;
			else if (!json_is_string(mode) || strcmp(json_string_value(mode), "alert"))
				diag_add(d, sub, "must be \"alert\" (default) or \"shadow\"");
		}
		params = json_object_get(item, "params");
		jpath_key(sub, sizeof(sub), path, "params");
		if (params && !json_is_object(params))
			diag_add(d, sub, "must be an object");
		else if (sd->entry)
			detector_check_params(sd->entry, params, d, sub);
		sd->params = params ? json_incref(params) : NULL;
		/* a hash set, not a scan of the earlier entries: 40 000 detectors validate in linear time */
		if (json_object_get(seen, sd->id)) {
			if (id) {
				jpath_key(sub, sizeof(sub), path, "id");
				diag_add(d, sub, "duplicate id '%s'", sd->id);
			} else {
				diag_add(d, path, "detector '%s' is used twice: give each entry a distinct \"id\"",
				         sd->detector);
			}
		} else {
			json_object_set_new(seen, sd->id, json_true());
		}
		spec->n_detectors++;
	}
	json_decref(seen);
}

/* "alert", "ok" or "keep_last" at path into *out. */
static void parse_run_state(const json_t *v, enum run_state_policy *out, struct diag *d, const char *path)
{
	const char *s = json_string_value(v);

	if (s && !strcmp(s, "alert"))
		*out = RUN_STATE_ALERT;
	else if (s && !strcmp(s, "ok"))
		*out = RUN_STATE_OK;
	else if (s && !strcmp(s, "keep_last"))
		*out = RUN_STATE_KEEP_LAST;
	else if (s)
		diag_add(d, path, "unknown value '%s': must be \"alert\", \"ok\" or \"keep_last\"", s);
	else
		diag_add(d, path, "must be \"alert\", \"ok\" or \"keep_last\"");
}

/* A non-negative duration at path into *ms. */
static void parse_lifecycle_duration(const json_t *v, int64_t *ms, struct diag *d, const char *path)
{
	const char *s = json_string_value(v);

	if (s && *s == '-')
		diag_add(d, path, "must not be negative (got \"%s\")", s);
	else if (!s || duration_parse(s, ms))
		diag_add(d, path, "must be a duration like \"15m\", \"2h\" or \"1d\"");
}

static void parse_lifecycle(struct spec_alert *a, const json_t *alert, struct diag *d)
{
	json_t *v;

	if ((v = json_object_get(alert, "resolve_after")))
		parse_lifecycle_duration(v, &a->resolve_after_ms, d, "$.alert.resolve_after");
	if ((v = json_object_get(alert, "accept_after"))) {
		if (json_is_string(v) && !strcmp(json_string_value(v), "never"))
			a->accept_after_ms = 0;
		else
			parse_lifecycle_duration(v, &a->accept_after_ms, d, "$.alert.accept_after");
		if (json_is_string(v) && strcmp(json_string_value(v), "never") && a->accept_after_ms == 0)
			diag_add(d, "$.alert.accept_after", "must be longer than 0 (use \"never\" to never accept)");
	}
	if ((v = json_object_get(alert, "on_error")))
		parse_run_state(v, &a->on_error, d, "$.alert.on_error");
	if ((v = json_object_get(alert, "on_no_data")))
		parse_run_state(v, &a->on_no_data, d, "$.alert.on_no_data");
	if ((v = json_object_get(alert, "error_after"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000)
			diag_add(d, "$.alert.error_after", "must be an integer in [1, 1000]");
		else
			a->error_after = (unsigned)json_integer_value(v);
	}
}

static void parse_bounds(struct job_spec *spec, const json_t *v, struct diag *d)
{
	if (!v)
		return;
	if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_number(json_array_get(v, 0)) ||
	    !json_is_number(json_array_get(v, 1))) {
		diag_add(d, "$.bounds", "must be [lowest, highest], two numbers");
		return;
	}
	spec->bound_lo = json_number_value(json_array_get(v, 0));
	spec->bound_hi = json_number_value(json_array_get(v, 1));
	if (!(spec->bound_lo < spec->bound_hi))
		diag_add(d, "$.bounds", "the lowest value must be below the highest");
	else
		spec->has_bounds = 1;
}

static void parse_alert(struct job_spec *spec, const json_t *alert, struct diag *d)
{
	struct spec_alert *a = &spec->alert;
	json_t *v;
	size_t n_alerting = 0;

	a->agree = AGREE_ANY;
	a->resolve_after_ms = -1;
	a->accept_after_ms = 24LL * 3600 * 1000;
	a->on_error = RUN_STATE_ALERT;
	a->on_no_data = RUN_STATE_KEEP_LAST;
	a->error_after = 2;
	for (size_t i = 0; i < spec->n_detectors; i++)
		n_alerting += spec->detectors[i].mode == MODE_ALERT;
	if (!alert)
		return;
	if (!json_is_object(alert)) {
		diag_add(d, "$.alert", "must be an object");
		return;
	}
	check_keys(alert, alert_keys, d, "$.alert", "alert");
	parse_lifecycle(a, alert, d);
	if ((v = json_object_get(alert, "min_score"))) {
		if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1))
			diag_add(d, "$.alert.min_score", "must be a number in [0, 1]");
		else
			a->min_score = json_number_value(v);
	}
	if ((v = json_object_get(alert, "recent"))) {
		if (!json_is_string(v) || duration_parse(json_string_value(v), &a->recent_ms))
			diag_add(d, "$.alert.recent", "must be a duration like \"30m\", \"2h\" or \"1d\"");
	}
	if ((v = json_object_get(alert, "recent_points"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			diag_add(d, "$.alert.recent_points", "must be an integer >= 1");
		else
			a->recent_points = (size_t)json_integer_value(v);
	}
	if (json_object_get(alert, "recent") && json_object_get(alert, "recent_points"))
		diag_add(d, "$.alert", "use either \"recent\" or \"recent_points\", not both");
	if ((v = json_object_get(alert, "agree"))) {
		if (json_is_string(v) && !strcmp(json_string_value(v), "any")) {
			a->agree = AGREE_ANY;
		} else if (json_is_string(v) && !strcmp(json_string_value(v), "all")) {
			a->agree = AGREE_ALL;
		} else if (json_is_integer(v) && json_integer_value(v) >= 1) {
			a->agree = AGREE_AT_LEAST;
			a->agree_k = (unsigned)json_integer_value(v);
			if (spec->n_detectors && a->agree_k > n_alerting)
				diag_add(d, "$.alert.agree", "%u detectors must agree but the job has %zu alerting "
				         "(non-shadow) detector%s", a->agree_k, n_alerting, n_alerting == 1 ? "" : "s");
		} else {
			diag_add(d, "$.alert.agree", "must be \"any\", \"all\" or an integer >= 1");
		}
	}
}

static void parse_notify(struct job_spec *spec, const json_t *arr, struct diag *d)
{
	size_t i;
	json_t *item;

	if (!arr) {
		spec->notify = XNEW(struct spec_notify);
		spec->notify->type = &notify_stdout;
		spec->notify->cfg = json_pack("{s:s}", "type", "stdout");
		spec->n_notify = 1;
		return;
	}
	if (!json_is_array(arr)) {
		diag_add(d, "$.notify", "must be an array of targets like [{\"type\": \"stdout\"}]");
		return;
	}
	spec->notify = xcalloc(json_array_size(arr) + 1, sizeof(*spec->notify));
	json_array_foreach(arr, i, item) {
		char path[JPATH_MAX], sub[JPATH_MAX];
		json_t *type;
		const struct notify_type *t;

		jpath_index(path, sizeof(path), "$.notify", i);
		jpath_key(sub, sizeof(sub), path, "type");
		if (!json_is_object(item)) {
			diag_add(d, path, "must be an object with a \"type\"");
			continue;
		}
		type = json_object_get(item, "type");
		if (!json_is_string(type)) {
			diag_add(d, sub, "is required");
			continue;
		}
		t = notify_find(json_string_value(type));
		if (!t) {
			const char *const *names = notify_names();
			size_t n = 0;
			struct strbuf sb = STRBUF_INIT;
			const char *hint;

			while (names[n])
				n++;
			hint = suggest_closest(json_string_value(type), names, n);
			list_names(&sb, names, n);
			diag_add(d, sub, "unknown notify type '%s'%s%s%s (known: %s)", json_string_value(type),
			         hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "", strbuf_str(&sb));
			strbuf_release(&sb);
			continue;
		}
		notify_check_keys(t, item, d, path);
		t->check(item, d, path);
		spec->notify[spec->n_notify].type = t;
		spec->notify[spec->n_notify].cfg = json_incref(item);
		spec->n_notify++;
	}
}

/* misfire, max_catchup_age and timeout: how `vigil serve` runs the job. */
static void parse_schedule_runtime(struct job_spec *spec, const json_t *sch, struct diag *d)
{
	json_t *v;
	int64_t ms;

	if ((v = json_object_get(sch, "misfire"))) {
		if (json_is_string(v) && !strcmp(json_string_value(v), "run_once"))
			spec->misfire = MISFIRE_RUN_ONCE;
		else if (json_is_string(v) && !strcmp(json_string_value(v), "skip"))
			spec->misfire = MISFIRE_SKIP;
		else
			diag_add(d, "$.schedule.misfire", "must be \"run_once\" (default) or \"skip\"");
	}
	if ((v = json_object_get(sch, "max_catchup_age"))) {
		if (!json_is_string(v) || duration_parse(json_string_value(v), &ms))
			diag_add(d, "$.schedule.max_catchup_age", "must be a duration like \"1h\" or \"1d\"");
		else if (ms < 1000 || ms > 366LL * 86400 * 1000)
			diag_add(d, "$.schedule.max_catchup_age", "must be between 1s and 366d");
		else
			spec->max_catchup_ms = ms;
	}
	if ((v = json_object_get(sch, "timeout"))) {
		if (!json_is_string(v) || duration_parse(json_string_value(v), &ms))
			diag_add(d, "$.schedule.timeout", "must be a duration like \"30s\" or \"10m\"");
		else if (ms < 1000 || ms > 7LL * 86400 * 1000)
			diag_add(d, "$.schedule.timeout", "must be between 1s and 7d");
		else
			spec->timeout_ms = ms;
	}
}

static void parse_schedule(struct job_spec *spec, const json_t *sch, struct diag *d)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *expr = NULL, *zone = "UTC", *expr_path = "$.schedule";
	json_t *v;
	struct tz *tz;

	if (!sch)
		return;
	if (json_is_string(sch)) {
		expr = json_string_value(sch);
	} else if (json_is_object(sch)) {
		check_keys(sch, schedule_keys, d, "$.schedule", "schedule");
		expr_path = "$.schedule.cron";
		v = json_object_get(sch, "cron");
		if (!json_is_string(v)) {
			diag_add(d, expr_path, "is required: a cron expression like \"*/5 * * * *\"");
			return;
		}
		expr = json_string_value(v);
		v = json_object_get(sch, "timezone");
		if (v && !json_is_string(v)) {
			diag_add(d, "$.schedule.timezone", "must be a time zone name like \"Europe/Paris\"");
			return;
		}
		if (v)
			zone = json_string_value(v);
		parse_schedule_runtime(spec, sch, d);
	} else {
		diag_add(d, "$.schedule", "must be a cron expression or {\"cron\": ..., \"timezone\": ...}");
		return;
	}
	spec->cron = cron_parse(expr, &err);
	if (!spec->cron)
		diag_add(d, expr_path, "%s", err.msg);
	vigil_error_clear(&err);
	tz = tz_load(zone, &err);
	if (!tz)
		diag_add(d, "$.schedule.timezone", "%s", err.msg);
	if (spec->cron && tz) {
		int64_t next;

		vigil_error_clear(&err);
		if (cron_next(spec->cron, tz, time_now_ms() / 1000, &next, &err))
			diag_add(d, expr_path, "'%s' never fires: %s", expr, err.msg);
	}
	tz_free(tz);
	if (!spec->cron || !tz)
		return;
	spec->schedule_expr = xstrdup(expr);
	spec->timezone = xstrdup(zone);
}

/* A label or annotation name: a Prometheus label name ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes). */
static int valid_label_name(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 64 || isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

/* An http(s) URL that can stand in a Slack link (<url|text>): no space, '<', '>' or '|'. */
static int valid_link_url(const char *s)
{
	if (strncmp(s, "https://", 8) && strncmp(s, "http://", 7))
		return 0;
	return !strpbrk(s, " \t\r\n<>|\"");
}

/*
 * "labels" or "annotations" (key): an object of strings, kept in *out (an
 * empty object when absent).  Annotations ending in "_url" must be links.
 */
static void parse_string_map(const json_t *root, const char *key, size_t value_max, json_t **out,
                             struct diag *d)
{
	json_t *obj = json_object_get(root, key), *v;
	char path[JPATH_MAX], sub[JPATH_MAX];
	const char *name;
	int is_annotations = !strcmp(key, "annotations");

	*out = json_object();
	if (!obj)
		return;
	jpath_key(path, sizeof(path), "$", key);
	if (!json_is_object(obj)) {
		diag_add(d, path, "must be an object of strings, like {%s}",
		         is_annotations ? "\"runbook_url\": \"https://...\"" : "\"severity\": \"page\"");
		return;
	}
	json_object_foreach(obj, name, v) {
		size_t len = name[0] == '\0' ? 0 : strlen(name);

		jpath_key(sub, sizeof(sub), path, name);
		if (!valid_label_name(name))
			diag_add(d, sub, "is not a valid name (letters, digits and '_', not starting with a digit, "
			         "at most 64)");
		else if (!json_is_string(v))
			diag_add(d, sub, "must be a string");
		else if (strlen(json_string_value(v)) > value_max)
			diag_add(d, sub, "is longer than %zu bytes", value_max);
		else if (is_annotations && len > 4 && !strcmp(name + len - 4, "_url")
		         && !valid_link_url(json_string_value(v)))
			diag_add(d, sub, "must be an http:// or https:// URL without spaces, '<', '>', '|' or '\"'");
		else
			json_object_set(*out, name, v);
	}
}

/* "explain": {"exec": {...}}: the job's own root-cause executable (docs/spec.md#explain). */
static void parse_explain(struct job_spec *spec, const json_t *ex, const struct registry *reg, struct diag *d)
{
	static const char *const explain_keys[] = { "exec", NULL };

	if (!ex)
		return;
	if (!json_is_object(ex) || !json_object_get(ex, "exec")) {
		diag_add(d, "$.explain", "must be an object like {\"exec\": {\"path\": \"my-explainer.py\"}} "
		         "(without it, the built-in ranking explains)");
		return;
	}
	check_keys(ex, explain_keys, d, "$.explain", "explain");
	spec->explain_exec = exec_spec_explain(reg, json_object_get(ex, "exec"), spec->dir, d, "$.explain.exec");
}

static struct job_spec *spec_from_json(json_t *root, const char *path, const char *dir,
                                       const struct registry *reg, struct diag *d)
{
	struct job_spec *spec;
	size_t before = d->n;
	json_t *v;

	if (!json_is_object(root)) {
		diag_add(d, "$", "a job spec must be a JSON object");
		json_decref(root);
		return NULL;
	}
	spec = XNEW(struct job_spec);
	spec->root = root;
	spec->misfire = MISFIRE_RUN_ONCE;
	spec->max_catchup_ms = SPEC_DEFAULT_MAX_CATCHUP_MS;
	spec->timeout_ms = SPEC_DEFAULT_TIMEOUT_MS;
	spec->max_series = SPEC_DEFAULT_MAX_SERIES;
	spec->path = xstrdup(path);
	spec->dir = xstrdup(dir);
	check_keys(root, top_keys, d, "$", "the job spec");

	v = json_object_get(root, "version");
	if (v && !(json_is_integer(v) && json_integer_value(v) == 1))
		diag_add(d, "$.version", "unsupported spec version (this vigil reads version 1)");
	v = json_object_get(root, "name");
	if (!json_is_string(v))
		diag_add(d, "$.name", "is required: the job's name");
	else if (!valid_job_name(json_string_value(v)))
		diag_add(d, "$.name", "must be 1-128 letters, digits, '_', '-' or '.'");
	else
		spec->name = xstrdup(json_string_value(v));
	v = json_object_get(root, "description");
	if (v && !json_is_string(v))
		diag_add(d, "$.description", "must be a string");
	else if (v)
		spec->description = xstrdup(json_string_value(v));
	v = json_object_get(root, "source");
	if (!v)
		diag_add(d, "$.source", "is required: where the series come from");
	else
		parse_source(spec, v, d);
	v = json_object_get(root, "window");
	if (v && (!json_is_string(v) || duration_parse(json_string_value(v), &spec->window_ms)))
		diag_add(d, "$.window", "must be a duration like \"6h\" or \"7d\"");
	v = json_object_get(root, "max_series");
	if (v && !(json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= SPEC_MAX_MAX_SERIES))
		diag_add(d, "$.max_series", "must be an integer in [1, %d]", SPEC_MAX_MAX_SERIES);
	else if (v)
		spec->max_series = (size_t)json_integer_value(v);
	v = json_object_get(root, "detectors");
	if (!v)
		diag_add(d, "$.detectors", "is required: a list of detectors to run");
	else
		parse_detectors(spec, v, reg, d);
	parse_alert(spec, json_object_get(root, "alert"), d);
	parse_bounds(spec, json_object_get(root, "bounds"), d);
	parse_notify(spec, json_object_get(root, "notify"), d);
	parse_schedule(spec, json_object_get(root, "schedule"), d);
	parse_string_map(root, "labels", 256, &spec->labels, d);
	parse_string_map(root, "annotations", 2048, &spec->annotations, d);
	parse_explain(spec, json_object_get(root, "explain"), reg, d);

	if (d->n != before) {
		spec_free(spec);
		return NULL;
	}
	return spec;
}

static void add_json_error(struct diag *d, const json_error_t *jerr)
{
	if (jerr->line > 0)
		diag_add(d, NULL, "line %d, column %d: malformed JSON: %s", jerr->line, jerr->column, jerr->text);
	else
		diag_add(d, NULL, "malformed JSON: %s", jerr->text);
}

struct job_spec *spec_load(const char *path, const struct registry *reg, struct diag *d)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_error_t jerr;
	json_t *root;
	char *copy, *dir, *text;
	struct job_spec *spec;
	size_t len;

	/* a FIFO, device or directory is refused before anything blocks on it */
	text = regfile_read(path, SPEC_MAX_BYTES, &len, &err);
	if (!text) {
		diag_add(d, NULL, "%s", err.msg);
		return NULL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root) {
		add_json_error(d, &jerr);
		return NULL;
	}
	copy = xstrdup(path);
	dir = xstrdup(dirname(copy));
	free(copy);
	spec = spec_from_json(root, path, dir, reg, d);
	free(dir);
	return spec;
}

struct job_spec *spec_parse(const char *text, const char *dir, const struct registry *reg,
                            struct diag *d)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

	if (!root) {
		add_json_error(d, &jerr);
		return NULL;
	}
	return spec_from_json(root, d->file, dir ? dir : ".", reg, d);
}

void spec_free(struct job_spec *spec)
{
	if (!spec)
		return;
	for (size_t i = 0; i < spec->n_detectors; i++) {
		free(spec->detectors[i].id);
		free(spec->detectors[i].detector);
		json_decref(spec->detectors[i].params);
	}
	for (size_t i = 0; i < spec->n_notify; i++)
		json_decref(spec->notify[i].cfg);
	free(spec->detectors);
	free(spec->notify);
	json_decref(spec->source);
	json_decref(spec->labels);
	json_decref(spec->annotations);
	json_decref(spec->root);
	cron_free(spec->cron);
	free(spec->schedule_expr);
	free(spec->timezone);
	free(spec->name);
	free(spec->description);
	free(spec->path);
	free(spec->dir);
	free(spec);
}
