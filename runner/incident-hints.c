/*
 * incident-hints.c - root-cause hints for one stored incident (GET
 * /api/incidents/{id}, the incident page): the built-in ranking of
 * runner/explain.h over the job's incidents that fired with it.
 */
#include "config.h"

#include <string.h>

#include "explain.h"
#include "incident-hints.h"
#include "xmalloc.h"
#include "banned.h"

/* One series of the group or of the job: its labels as the explanation needs them. */
struct hint_series {
	json_t *labels;                  /* owned */
	struct vigil_label *kv;
	size_t n;
};

static void set_labels(struct hint_series *h, json_t *labels)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	h->labels = labels;
	h->kv = xcalloc(json_object_size(labels) + 1, sizeof(*h->kv));
	json_object_foreach(labels, k, v) {
		if (!json_is_string(v))
			continue;
		h->kv[i].key = k;
		h->kv[i++].value = json_string_value(v);
	}
	h->n = i;
}

static json_t *labels_of(const char *text)
{
	json_t *o = json_loads(text ? text : "{}", 0, NULL);

	if (json_is_object(o))
		return o;
	json_decref(o);
	return json_object();
}

static int overlaps(const struct incident *a, const struct incident *b)
{
	int64_t a_end = a->end_ms ? a->end_ms : a->last_seen_ms > a->start_ms ? a->last_seen_ms : INT64_MAX / 2;
	int64_t b_end = b->end_ms ? b->end_ms : b->last_seen_ms > b->start_ms ? b->last_seen_ms : INT64_MAX / 2;

	return a->start_ms <= b_end + INCIDENT_HINTS_PAD_MS && b->start_ms <= a_end + INCIDENT_HINTS_PAD_MS;
}

json_t *incident_hints(struct store *st, const struct incident *inc)
{
	struct incident_filter f = { .job = inc->job, .all = 1, .limit = INCIDENT_HINTS_MAX };
	struct incident *incs = NULL;
	struct hint_series *hs;
	struct explain_series *es;
	json_t *list = NULL, *row, *hints = NULL, *group = json_object();
	size_t n = 0, n_group = 0, m = 0, i;

	if (strcmp(inc->kind ? inc->kind : "anomaly", "anomaly") || !st->backend->incidents ||
	    st->backend->incidents->list(st, &f, &incs, &n, NULL))
		goto out;
	/* the group: this incident and the job's others that were open within the pad of it (one per series) */
	for (i = 0; i < n; i++)
		if (!strcmp(incs[i].kind, "anomaly") && *incs[i].series && overlaps(&incs[i], inc) &&
		    !json_object_get(group, incs[i].series))
			json_object_set_new(group, incs[i].series, json_integer((json_int_t)i));
	if (!json_object_get(group, inc->series) || json_object_size(group) < 2 ||
	    st->backend->series_list(st, inc->job, &list, NULL))
		goto out;
	n_group = json_object_size(group);
	hs = xcalloc(n_group + json_array_size(list) + 1, sizeof(*hs));
	es = xcalloc(n_group + json_array_size(list) + 1, sizeof(*es));
	{
		const char *name;
		json_t *idx;

		json_object_foreach(group, name, idx) {
			const struct incident *g = &incs[json_integer_value(idx)];

			set_labels(&hs[m], labels_of(g->labels_json));
			es[m] = (struct explain_series){ .name = g->series, .labels = hs[m].kv, .n_labels = hs[m].n,
			                                 .anomalous = 1, .onset_ms = g->start_ms };
			m++;
		}
	}
	/* the job's other series (those of its latest run) are the normal ones */
	json_array_foreach(list, i, row) {
		const char *name = json_string_value(json_object_get(row, "series"));
		json_t *labels = json_object_get(row, "labels");

		if (!name || json_object_get(group, name))
			continue;
		set_labels(&hs[m], json_is_string(labels) ? labels_of(json_string_value(labels))
		                   : json_is_object(labels) ? json_incref(labels) : json_object());
		es[m] = (struct explain_series){ .name = name, .labels = hs[m].kv, .n_labels = hs[m].n,
		                                 .onset_ms = EXPLAIN_NO_ONSET };
		m++;
	}
	hints = explain_builtin(&(struct explain_input){ .job = inc->job, .series = es, .n = m });
	for (i = 0; i < m; i++) {
		json_decref(hs[i].labels);
		free(hs[i].kv);
	}
	free(hs);
	free(es);
out:
	json_decref(list);
	json_decref(group);
	incidents_free(incs, n);
	return hints;
}
