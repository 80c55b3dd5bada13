/* alert.c - turn detector flags into alerts according to the job's rules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "log.h"
#include "strbuf.h"
#include "xmalloc.h"
#include "banned.h"

size_t alert_recent_start(const struct spec_alert *a, const struct series *s)
{
	size_t start = 0;

	if (!s->n)
		return 0;
	if (a->recent_points && a->recent_points < s->n)
		start = s->n - a->recent_points;
	if (a->recent_ms) {
		int64_t cutoff = s->ts[s->n - 1] - a->recent_ms;
		size_t lo = 0, hi = s->n;

		while (lo < hi) {   /* first point with ts > cutoff */
			size_t mid = lo + (hi - lo) / 2;

			if (s->ts[mid] > cutoff)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (lo > start)
			start = lo;
	}
	return start;
}

static void add_alert(struct run_report *rep, const struct alert_item *item)
{
	if ((rep->n_alerts & (rep->n_alerts - 1)) == 0)
		rep->alerts = xreallocarray(rep->alerts, rep->n_alerts ? rep->n_alerts * 2 : 4,
		                            sizeof(*rep->alerts));
	rep->alerts[rep->n_alerts++] = *item;
}

size_t alert_needed(const struct job_spec *spec, struct detection *const *dets)
{
	size_t n_running = 0;

	for (size_t k = 0; k < spec->n_detectors; k++)
		n_running += spec->detectors[k].mode == MODE_ALERT && dets[k];
	if (!n_running)
		return 0;
	if (spec->alert.agree == AGREE_ALL)
		return n_running;
	if (spec->alert.agree == AGREE_AT_LEAST)
		return spec->alert.agree_k <= n_running ? spec->alert.agree_k : 0;
	return 1;
}

static int votes_for(const struct job_spec *spec, struct detection *const *dets, size_t k, size_t i)
{
	return spec->detectors[k].mode == MODE_ALERT && dets[k] && dets[k]->r.anomaly[i] &&
	       dets[k]->r.score[i] >= spec->alert.min_score;
}

size_t alert_votes(const struct job_spec *spec, struct detection *const *dets, size_t i)
{
	size_t votes = 0;

	for (size_t k = 0; k < spec->n_detectors; k++)
		votes += votes_for(spec, dets, k, i);
	return votes;
}

void alert_evaluate(const struct job_spec *spec, const struct series *s,
                    struct detection *const *dets, struct run_report *rep, uint8_t *alerted)
{
	size_t need = alert_needed(spec, dets);

	if (!need) {
		if (spec->alert.agree == AGREE_AT_LEAST)
			log_warn("alert", "job '%s': series '%s': fewer than %u alerting detectors ran; "
			         "no alert is possible", spec->name, s->name, spec->alert.agree_k);
		return;
	}
	for (size_t i = alert_recent_start(&spec->alert, s); i < s->n; i++) {
		struct alert_item item = { 0 };
		struct strbuf who = STRBUF_INIT;

		if (alert_votes(spec, dets, i) < need)
			continue;
		item.series = xstrdup(s->name);
		item.labels = xcalloc(s->n_labels ? s->n_labels : 1, sizeof(*item.labels));
		for (size_t k = 0; k < s->n_labels; k++) {
			item.labels[k].key = xstrdup(s->labels[k].key);
			item.labels[k].value = xstrdup(s->labels[k].value);
		}
		item.n_labels = s->n_labels;
		item.ts_ms = s->ts[i];
		item.value = s->v[i];
		item.expected = item.lower = item.upper = item.rarity = NAN;
		for (size_t k = 0; k < spec->n_detectors; k++) {
			const struct detection *det = dets[k];

			if (!votes_for(spec, dets, k, i))
				continue;
			strbuf_addf(&who, "%s%s", who.len ? "," : "", spec->detectors[k].id);
			if (det->r.score[i] > item.score)
				item.score = det->r.score[i];
			if (isnan(item.rarity) || detection_rarity(det, i) > item.rarity)
				item.rarity = detection_rarity(det, i);
			if (isnan(item.expected) && !isnan(det->r.expected[i])) {
				item.expected = det->r.expected[i];
				item.lower = det->r.lower[i];
				item.upper = det->r.upper[i];
			}
			if (!item.reason && detection_reason(det, i))
				item.reason = xstrdup(detection_reason(det, i));
		}
		item.detectors = strbuf_detach(&who);
		add_alert(rep, &item);
		if (alerted)
			alerted[i] = 1;
	}
}
