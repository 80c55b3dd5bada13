/*
 * exec-proto-explain.c - the exec protocol's explain exchange: the request
 * carries an incident group (series, labels, anomalous or not, onsets), the
 * response ranked contributors (docs/exec-protocol.md#explain).  Not on a
 * hot path: the response is decoded with jansson, like describe's.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exec-proto.h"
#include "explain.h"
#include "log.h"
#include "xmalloc.h"
#include "banned.h"

#define TEXT_MAX 255

void exec_proto_explain_request(struct strbuf *sb, uint64_t id, const struct explain_input *in)
{
	strbuf_addf(sb, "{\"protocol\":%d,\"method\":\"explain\",\"id\":%llu,\"context\":{\"job\":",
	            EXEC_PROTOCOL_VERSION, (unsigned long long)id);
	exec_proto_put_string(sb, in->job ? in->job : "");
	if (in->run_id)
		strbuf_addf(sb, ",\"run_id\":%lld},\"series\":[", (long long)in->run_id);
	else
		strbuf_addstr(sb, ",\"run_id\":null},\"series\":[");
	for (size_t i = 0; i < in->n; i++) {
		const struct explain_series *s = &in->series[i];

		strbuf_addstr(sb, i ? ",{\"name\":" : "{\"name\":");
		exec_proto_put_string(sb, s->name ? s->name : "");
		strbuf_addstr(sb, ",\"labels\":{");
		for (size_t l = 0; l < s->n_labels; l++) {
			if (l)
				strbuf_addch(sb, ',');
			exec_proto_put_string(sb, s->labels[l].key);
			strbuf_addch(sb, ':');
			exec_proto_put_string(sb, s->labels[l].value);
		}
		strbuf_addf(sb, "},\"anomalous\":%s,\"onset\":", s->anomalous ? "true" : "false");
		if (s->anomalous && s->onset_ms != EXPLAIN_NO_ONSET)
			strbuf_addf(sb, "%lld}", (long long)s->onset_ms);
		else
			strbuf_addstr(sb, "null}");
	}
	strbuf_addstr(sb, "]}\n");
}

static int malformed(struct vigil_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int malformed(struct vigil_error *err, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vigil_error_set(err, VIGIL_E_PLUGIN, "malformed explain response: %s", msg);
}

static json_t *short_text(const char *s)
{
	char buf[TEXT_MAX + 1], esc[4 * TEXT_MAX + 8];

	snprintf(buf, sizeof(buf), "%s", s);
	return json_string(log_escape(esc, sizeof(esc), buf));
}

/* One member of "contributors", checked and copied; NULL after err. */
static json_t *contributor(json_t *c, size_t i, struct vigil_error *err)
{
	json_t *label = json_object_get(c, "label"), *value = json_object_get(c, "value");
	json_t *score = json_object_get(c, "score"), *out;
	static const char *const counts[] = { "anomalous", "normal" };

	if (!json_is_object(c))
		return malformed(err, "contributors[%zu] must be an object", i), NULL;
	if (!json_is_string(label) || !*json_string_value(label) || !json_is_string(value))
		return malformed(err, "contributors[%zu] needs \"label\" and \"value\" strings", i), NULL;
	if (!json_is_number(score) || !isfinite(json_number_value(score)))
		return malformed(err, "contributors[%zu] needs a finite \"score\" (larger is stronger)", i), NULL;
	out = json_pack("{s:o, s:o, s:f}", "label", short_text(json_string_value(label)), "value",
	                short_text(json_string_value(value)), "score", json_number_value(score));
	for (size_t k = 0; k < 2; k++) {
		json_t *v = json_object_get(c, counts[k]);

		if (!v || json_is_null(v))
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			json_decref(out);
			return malformed(err, "contributors[%zu]: counts must be integers >= 0", i), NULL;
		}
		json_object_set(out, counts[k], v);
	}
	if ((score = json_object_get(c, "p_value")) && !json_is_null(score)) {
		if (!json_is_number(score) || !(json_number_value(score) >= 0 && json_number_value(score) <= 1)) {
			json_decref(out);
			return malformed(err, "contributors[%zu]: \"p_value\" must be a number in [0, 1]", i), NULL;
		}
		json_object_set_new(out, "p_value", json_real(json_number_value(score)));
	}
	if (json_is_string(json_object_get(c, "text")))
		json_object_set_new(out, "text", short_text(json_string_value(json_object_get(c, "text"))));
	return out;
}

/* "first_moved": names of anomalous series of the request, with their onsets. */
static json_t *first_moved(json_t *arr, const struct explain_input *in, struct vigil_error *err)
{
	json_t *out = json_array(), *name;
	size_t i;

	if (arr && !json_is_null(arr) && !json_is_array(arr)) {
		json_decref(out);
		return malformed(err, "\"first_moved\" must be an array of series names"), NULL;
	}
	json_array_foreach(arr, i, name) {
		const struct explain_series *s = NULL;

		if (i >= EXPLAIN_FIRST_MOVED)
			break;
		for (size_t k = 0; json_is_string(name) && k < in->n && !s; k++)
			if (in->series[k].anomalous && in->series[k].name && !strcmp(in->series[k].name, json_string_value(name)))
				s = &in->series[k];
		if (!s) {
			json_decref(out);
			return malformed(err, "first_moved[%zu] is not the name of an anomalous series of the request",
			                 i), NULL;
		}
		json_array_append_new(out, json_pack("{s:s, s:o}", "series", s->name, "onset",
		                                     s->onset_ms == EXPLAIN_NO_ONSET ? json_null()
		                                     : json_integer((json_int_t)s->onset_ms)));
	}
	return out;
}

json_t *exec_proto_explain_response(const char *line, size_t len, uint64_t want_id,
                                    const struct explain_input *in, struct vigil_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *id, *e, *arr, *c, *hints = NULL;
	json_t *contributors, *moved;
	size_t i;

	if (!root) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "malformed explain response: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "malformed explain response: not a JSON object");
		goto out;
	}
	id = json_object_get(root, "id");
	if (!json_is_integer(id) || (uint64_t)json_integer_value(id) != want_id) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "explain response has %s id, expected %llu",
		                json_is_integer(id) ? "another" : "no", (unsigned long long)want_id);
		goto out;
	}
	if ((e = json_object_get(root, "error")) && !json_is_null(e)) {
		json_t *m = json_is_string(e) ? e : json_object_get(e, "message");
		char esc[512];

		vigil_error_set(err, VIGIL_E_PLUGIN, "%s", log_escape(esc, sizeof(esc), json_is_string(m)
		                ? json_string_value(m) : "failed without a message"));
		goto out;
	}
	arr = json_object_get(root, "contributors");
	if (!json_is_array(arr)) {
		malformed(err, "\"contributors\" must be an array");
		goto out;
	}
	contributors = json_array();
	json_array_foreach(arr, i, c) {
		json_t *one;

		if (i >= EXPLAIN_MAX_CONTRIBUTORS)
			break;
		if (!(one = contributor(c, i, err))) {
			json_decref(contributors);
			goto out;
		}
		json_array_append_new(contributors, one);
	}
	if (!(moved = first_moved(json_object_get(root, "first_moved"), in, err))) {
		json_decref(contributors);
		goto out;
	}
	hints = json_pack("{s:o, s:o}", "contributors", contributors, "first_moved", moved);
	e = json_object_get(root, "statistic");
	json_object_set_new(hints, "statistic", json_is_string(e) ? short_text(json_string_value(e)) : json_null());
out:
	json_decref(root);
	return hints;
}
