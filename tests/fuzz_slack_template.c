/*
 * fuzz_slack_template.c - fuzzing Slack message templates: the input is
 * "title\ntext\nseries name\nlabel value"; the Slack target's config check
 * runs on {"template": {"title", "text"}}, and a template it accepts is
 * rendered for a firing and a resolved series.  The body must be valid JSON.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>

#include "diag.h"
#include "notify.h"
#include "strbuf.h"
#include "fuzzutil.h"
#include "banned.h"

static char *next_line(char **p)
{
	char *s = *p, *nl;

	if (!s)
		return (char *)"";
	nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = NULL;
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *p = text;
	char *title = next_line(&p), *body = next_line(&p), *series = next_line(&p), *label = next_line(&p);
	json_t *cfg = json_object(), *tpl = json_object(), *t, *b;
	struct diag d;

	json_object_set_new(cfg, "template", tpl);  /* cfg owns it from here */
	if (size > 16384)
		goto out;
	t = json_string(title);
	b = json_string(body);
	if (!t || !b) {   /* not UTF-8: jansson refuses it before any template code */
		json_decref(t);
		json_decref(b);
		goto out;
	}
	if (*title)
		json_object_set_new(tpl, "title", t);
	else
		json_decref(t);
	json_object_set_new(tpl, "text", b);
	json_object_set_new(cfg, "type", json_string("slack"));
	json_object_set_new(cfg, "url", json_string("https://hooks.slack.com/services/T0/B0/x"));
	diag_init(&d, "fuzz.json");
	notify_slack.check(cfg, &d, "$.notify[0]");
	for (size_t i = 0; i < d.n; i++)
		fuzz_check_message(d.msgs[i], "slack check");
	if (!d.n) {
		struct vigil_label lab = { "host", label };
		struct alert_item a = { .series = series, .labels = &lab, .n_labels = 1, .ts_ms = 1700000000000,
		                        .value = 42.5, .score = 0.9, .expected = 10, .lower = 5, .upper = 15,
		                        .detectors = (char *)"mad", .reason = label };
		struct notify_series fs = { .series = series, .labels = &lab, .n_labels = 1, .alert = &a,
		                            .n_points = 3, .max_score = 0.9, .since_ms = 1699999000000 };
		struct notify_series rs = { .series = label, .labels = &lab, .n_labels = 1,
		                            .last_alert_ms = 1699999000000, .last_value = NAN };
		struct notify_message msg = { .job = "fuzz", .run_id = 7, .scheduled_ms = 1700000000000,
		                              .firing = &fs, .n_firing = 1, .resolved = &rs, .n_resolved = 1 };
		struct notify_policy pol;
		struct strbuf out = STRBUF_INIT;
		struct vigil_error err = VIGIL_ERROR_INIT;

		notify_policy_get(cfg, 10, &pol);
		if (notify_slack.render(cfg, &pol, &msg, &out, &err)) {
			fuzz_check_message(err.msg, "slack render");
		} else {
			json_error_t jerr;
			json_t *j = json_loadb(out.buf, out.len, 0, &jerr);

			if (!j) {
				fprintf(stderr, "the Slack body is not JSON: %s\n", jerr.text);
				abort();
			}
			json_decref(j);
		}
		strbuf_release(&out);
	}
	diag_release(&d);
out:
	json_decref(cfg);
	free(text);
	return 0;
}
