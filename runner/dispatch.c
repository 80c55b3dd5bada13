/* dispatch.c - decide what each queued target is told about a run (see dispatch.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "msgtext.h"
#include "mute.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

/* What the store says about one series of (target, job). */
struct known {
	const char *series;
	int firing;
	int64_t since, last_alert_ts, last_sent, updated_run;
	int seen;                  /* alerting in this run */
};

/* One alerting series of the run: its alerts are contiguous in rep->alerts. */
struct group {
	const struct alert_item *newest;
	const struct alert_item *first;
	size_t n;
	double max_score;
};

static char *own(struct dispatch *d, char *s)
{
	if (d->n_owned == d->alloc_owned) {
		d->alloc_owned = d->alloc_owned ? d->alloc_owned * 2 : 16;
		d->owned = xreallocarray(d->owned, d->alloc_owned, sizeof(*d->owned));
	}
	d->owned[d->n_owned++] = s;
	return s;
}

static int cmp_known(const void *a, const void *b)
{
	return strcmp(((const struct known *)a)->series, ((const struct known *)b)->series);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static struct known *find_known(struct known *k, size_t n, const char *series)
{
	struct known key = { .series = series };

	return n ? bsearch(&key, k, n, sizeof(*k), cmp_known) : NULL;
}

static int in_sorted(const char **names, size_t n, const char *name)
{
	return n && bsearch(&name, names, n, sizeof(*names), cmp_str) != NULL;
}

/* Most severe first, then by name. */
static int cmp_firing(const void *a, const void *b)
{
	const struct notify_series *x = a, *y = b;

	if (x->max_score != y->max_score)
		return x->max_score < y->max_score ? 1 : -1;
	return strcmp(x->series, y->series);
}

static int cmp_resolved(const void *a, const void *b)
{
	return strcmp(((const struct notify_series *)a)->series, ((const struct notify_series *)b)->series);
}

struct lists {
	struct notify_series *firing, *resolved;
	size_t n_firing, n_resolved;
};

static void list_add(struct notify_series **arr, size_t *n, const struct notify_series *s)
{
	*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
	(*arr)[(*n)++] = *s;
}

static void add_state(struct dispatch *d, const char *target, const char *job, const char *series,
                      const char *state, int64_t since, int64_t last_alert_ts, int64_t last_sent, int64_t run)
{
	struct alert_state_row *r;

	d->states = xreallocarray(d->states, d->n_states + 1, sizeof(*d->states));
	r = &d->states[d->n_states++];
	*r = (struct alert_state_row){
		.target = target, .job = job, .series = own(d, xstrdup(series)), .state = state, .since = since,
		.last_alert_ts = last_alert_ts, .last_sent = last_sent, .updated_run = run,
	};
}

static char *summary_of(const struct notify_message *msg)
{
	struct strbuf sb = STRBUF_INIT, names = STRBUF_INIT;
	const struct notify_series *list = msg->n_firing ? msg->firing : msg->resolved;
	size_t n = msg->n_firing ? msg->n_firing : msg->n_resolved;

	strbuf_addch(&sb, '[');
	if (msg->n_firing)
		strbuf_addf(&sb, "FIRING:%zu", msg->n_firing);
	if (msg->n_resolved)
		strbuf_addf(&sb, "%sRESOLVED:%zu", msg->n_firing ? ", " : "", msg->n_resolved);
	strbuf_addf(&sb, "] %s:", msg->job);
	for (size_t i = 0; i < n && i < 3; i++) {
		strbuf_addstr(&names, i ? ", " : " ");
		strbuf_addstr(&names, list[i].series);
	}
	if (n > 3)
		strbuf_addf(&names, " and %zu more", n - 3);
	msgtext_append(&sb, strbuf_str(&names), 160, MSGTEXT_ONELINE);
	strbuf_release(&names);
	return strbuf_detach(&sb);
}

static void add_row(struct dispatch *d, const struct job_spec *spec, const struct spec_notify *t,
                    const struct notify_policy *pol, const char *target, const char *url_ref,
                    const struct notify_message *msg, const char *kind, const char *note, int64_t now_ms)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct strbuf body = STRBUF_INIT;
	struct outbox_row *r;
	json_t *key;
	char *key_text;

	if (t->type->render(t->cfg, pol, msg, &body, &err)) {
		log_error("notify", "job '%s': %s target: %s", spec->name, t->type->name, err.msg);
		strbuf_release(&body);
		return;
	}
	key = json_pack("[s, I, s, s]", spec->name, (json_int_t)msg->scheduled_ms, target, kind);
	key_text = json_dumps(key, JSON_COMPACT);
	json_decref(key);
	d->rows = xreallocarray(d->rows, d->n_rows + 1, sizeof(*d->rows));
	r = &d->rows[d->n_rows++];
	*r = (struct outbox_row){
		.dedup_key = own(d, key_text ? key_text : xstrdup(kind)),
		.dest = target,
		.type = t->type->name,
		.url_ref = url_ref,
		.base_dir = spec->dir,
		.headers = t->type->headers ? t->type->headers(t->cfg) : NULL,
		.job = spec->name,
		.run_id = msg->run_id,
		.scheduled_for = msg->scheduled_ms,
		.summary = own(d, summary_of(msg)),
		.payload = own(d, strbuf_detach(&body)),
		.state = strcmp(kind, "muted") ? "pending" : "muted",
		.note = note ? own(d, xstrdup(note)) : NULL,
		.created_at = now_ms,
		.deadline = now_ms + pol->retry_for_ms,
		.timeout_ms = pol->timeout_ms,
	};
	if (r->headers)
		own(d, (char *)r->headers);
}

static double newest_value(const struct series *s)
{
	for (size_t i = s->n; i-- > 0;)
		if (!isnan(s->v[i]))
			return s->v[i];
	return NAN;
}

static void plan_target(const struct job_spec *spec, const struct spec_notify *t, const struct run_report *rep,
                        const struct series_set *set, struct store *st, int64_t sched, int64_t now_ms,
                        int64_t mute_clock,
                        const struct group *groups, size_t n_groups, const char **present, size_t n_present,
                        const char **failed, size_t n_failed, struct dispatch *d)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct notify_policy pol;
	const char *url_ref = t->type->dest(t->cfg);
	char *target = own(d, notify_target_key(t->type->name, url_ref, spec->dir));
	json_t *rows = NULL, *r;
	struct known *known = NULL;
	size_t n_known = 0, i, n_ongoing = 0;
	struct mute_set mutes = MUTE_SET_INIT;
	struct lists send = { 0 }, muted = { 0 };
	struct strbuf note = STRBUF_INIT;
	int quiet;
	int64_t newest_run = INT64_MIN;

	notify_policy_get(t->cfg, 0, &pol);
	if (st && st->backend->notify && st->backend->notify->alert_states(st, target, spec->name, &rows, &err)) {
		log_error("notify", "job '%s': %s target: cannot read alert state (notifying every alert as new): %s",
		          spec->name, t->type->name, err.msg);
		rows = NULL;
	}
	known = xcalloc(json_array_size(rows) + 1, sizeof(*known));
	json_array_foreach(rows, i, r) {
		struct known *k = &known[n_known++];

		k->series = json_string_value(json_object_get(r, "series"));
		k->firing = !strcmp(json_string_value(json_object_get(r, "state")), "firing");
		k->since = json_integer_value(json_object_get(r, "since"));
		k->last_alert_ts = json_integer_value(json_object_get(r, "last_alert_ts"));
		k->last_sent = json_integer_value(json_object_get(r, "last_sent"));
		k->updated_run = json_integer_value(json_object_get(r, "updated_run"));
		if (k->updated_run > newest_run)
			newest_run = k->updated_run;
		if (!k->series)
			n_known--;
	}
	qsort(known, n_known, sizeof(*known), cmp_known);
	if (newest_run > sched) {
		char a[40], b[40];

		time_format_iso(sched, a, sizeof(a));
		time_format_iso(newest_run, b, sizeof(b));
		log_info("notify", "job '%s': %s target: the run scheduled for %s is older than the last one "
		         "notified (%s): not notifying", spec->name, t->type->name, a, b);
		strbuf_addf(&d->notes, "[dry run: %s target %s: nothing to send (the run is older than the last "
		            "notified run, %s)]\n", t->type->name, url_ref, b);
		goto out;
	}
	quiet = mute_quiet_now(&pol, mute_clock);
	if (st && mute_set_load(st, spec->name, mute_clock, &mutes, &err)) {
		log_error("notify", "job '%s': cannot read mutes (sending anyway): %s", spec->name, err.msg);
		mute_set_release(&mutes);
	}
	if (quiet)
		strbuf_addf(&note, "quiet hours (%02d:%02d-%02d:%02d %s)", pol.quiet_from / 60, pol.quiet_from % 60,
		            pol.quiet_to / 60, pol.quiet_to % 60, pol.quiet_tz);

	/* Firing series: new, reminder, or already notified. */
	for (i = 0; i < n_groups; i++) {
		const struct group *g = &groups[i];
		const char *name = g->newest->series;
		struct known *k = find_known(known, n_known, name);
		int was_firing = k && k->firing;
		int64_t since = was_firing ? k->since : g->first->ts_ms, last_sent = was_firing ? k->last_sent : 0;
		int due = !last_sent || (pol.repeat_ms && sched - last_sent >= pol.repeat_ms);
		const struct mute *m = quiet ? NULL : mute_set_match(&mutes, name);
		struct notify_series ns = {
			.series = name, .labels = g->newest->labels, .n_labels = g->newest->n_labels, .alert = g->newest,
			.n_points = g->n, .max_score = g->max_score, .since_ms = since, .last_value = NAN,
			.repeat = due && last_sent != 0,
		};

		if (k)
			k->seen = 1;
		if (!due) {
			n_ongoing++;
		} else if (quiet || m) {
			list_add(&muted.firing, &muted.n_firing, &ns);
			if (m && !quiet && !strstr(strbuf_str(&note), "mute "))
				strbuf_addf(&note, "%smute %lld", note.len ? ", " : "", (long long)m->id);
		} else {
			list_add(&send.firing, &send.n_firing, &ns);
			last_sent = sched;
		}
		add_state(d, target, spec->name, name, "firing", since, g->newest->ts_ms, last_sent, sched);
	}
	/* Firing series scored clean in this run: back to normal. */
	for (i = 0; i < n_known; i++) {
		struct known *k = &known[i];
		const struct series *s;
		const struct mute *m;
		struct notify_series ns;

		if (!k->firing || k->seen || !in_sorted(present, n_present, k->series) ||
		    in_sorted(failed, n_failed, k->series))
			continue;
		add_state(d, target, spec->name, k->series, "resolved", sched, k->last_alert_ts, k->last_sent, sched);
		if (!pol.resolved || !k->last_sent)
			continue;   /* not wanted, or the target never heard of it */
		s = series_set_find(set, k->series);
		ns = (struct notify_series){
			.series = d->states[d->n_states - 1].series, .labels = s ? s->labels : NULL,
			.n_labels = s ? s->n_labels : 0, .since_ms = k->since, .last_alert_ms = k->last_alert_ts,
			.last_value = s ? newest_value(s) : NAN,
		};
		m = quiet ? NULL : mute_set_match(&mutes, k->series);
		if (quiet || m)
			list_add(&muted.resolved, &muted.n_resolved, &ns);
		else
			list_add(&send.resolved, &send.n_resolved, &ns);
		if (m && !quiet && !strstr(strbuf_str(&note), "mute "))
			strbuf_addf(&note, "%smute %lld", note.len ? ", " : "", (long long)m->id);
	}

	for (int pass = 0; pass < 2; pass++) {
		struct lists *l = pass ? &muted : &send;
		struct notify_message msg = {
			.job = spec->name, .run_id = rep->run_id, .scheduled_ms = sched,
			.firing = l->firing, .n_firing = l->n_firing, .resolved = l->resolved, .n_resolved = l->n_resolved,
			.n_ongoing = pass ? 0 : n_ongoing, .labels = spec->labels, .annotations = spec->annotations,
		};

		if (!l->n_firing && !l->n_resolved)
			continue;
		if (l->n_firing > 1)
			qsort(l->firing, l->n_firing, sizeof(*l->firing), cmp_firing);
		if (l->n_resolved > 1)
			qsort(l->resolved, l->n_resolved, sizeof(*l->resolved), cmp_resolved);
		add_row(d, spec, t, &pol, target, url_ref, &msg, pass ? "muted" : "send",
		        pass ? strbuf_str(&note) : NULL, now_ms);
	}
	if (!send.n_firing && !send.n_resolved)
		strbuf_addf(&d->notes, "[dry run: %s target %s: nothing to send%s]\n", t->type->name, url_ref,
		            n_ongoing ? " (series still anomalous were already notified)" :
		            muted.n_firing + muted.n_resolved ? " (muted)" : "");
out:
	free(send.firing);
	free(send.resolved);
	free(muted.firing);
	free(muted.resolved);
	strbuf_release(&note);
	mute_set_release(&mutes);
	free(known);
	json_decref(rows);
}

void dispatch_plan(const struct job_spec *spec, const struct run_report *rep, const struct series_set *set,
                   struct store *st, int64_t scheduled_ms, int64_t now_ms, int64_t mute_clock_ms,
                   struct dispatch *d)
{
	struct group *groups = NULL;
	const char **present = NULL, **failed = NULL;
	size_t n_groups = 0, n_present = 0, n_failed = 0, i, n_queued = 0;

	for (i = 0; i < spec->n_notify; i++)
		n_queued += spec->notify[i].type->render != NULL;
	if (!n_queued || rep->failed)
		return;
	groups = xcalloc(rep->n_alerts + 1, sizeof(*groups));
	for (i = 0; i < rep->n_alerts; i++) {
		const struct alert_item *a = &rep->alerts[i];
		struct group *g = n_groups ? &groups[n_groups - 1] : NULL;

		if (!g || strcmp(g->first->series, a->series)) {
			g = &groups[n_groups++];
			g->first = g->newest = a;
			g->max_score = a->score;
		}
		g->n++;
		if (a->ts_ms >= g->newest->ts_ms)
			g->newest = a;
		if (a->score > g->max_score)
			g->max_score = a->score;
	}
	present = xcalloc(set->n + 1, sizeof(*present));
	for (i = 0; i < set->n; i++)
		if (set->items[i]->n)
			present[n_present++] = set->items[i]->name;
	qsort(present, n_present, sizeof(*present), cmp_str);
	failed = xcalloc(rep->n_failures + 1, sizeof(*failed));
	for (i = 0; i < rep->n_failures; i++)
		failed[n_failed++] = rep->failures[i].series;
	qsort(failed, n_failed, sizeof(*failed), cmp_str);
	for (i = 0; i < spec->n_notify; i++)
		if (spec->notify[i].type->render)
			plan_target(spec, &spec->notify[i], rep, set, st, scheduled_ms, now_ms, mute_clock_ms, groups, n_groups,
			            present, n_present, failed, n_failed, d);
	free(groups);
	free(present);
	free(failed);
}

void dispatch_print(const struct dispatch *d, FILE *out)
{
	for (size_t i = 0; i < d->n_rows; i++) {
		const struct outbox_row *r = &d->rows[i];
		json_t *body = json_loads(r->payload, 0, NULL);
		char *pretty = body ? json_dumps(body, JSON_INDENT(2)) : NULL;

		fprintf(out, "[dry run: %s target %s: %s%s%s]\n%s\n", r->type, r->url_ref,
		        strcmp(r->state, "muted") ? "would send" : "would keep muted", r->note ? ": " : "",
		        r->note ? r->note : "", pretty ? pretty : r->payload);
		free(pretty);
		json_decref(body);
	}
	fputs(strbuf_str(&d->notes), out);
}

void dispatch_release(struct dispatch *d)
{
	for (size_t i = 0; i < d->n_owned; i++)
		free(d->owned[i]);
	free(d->owned);
	free(d->rows);
	free(d->states);
	strbuf_release(&d->notes);
	memset(d, 0, sizeof(*d));
}
