/* dispatch.c - decide what each queued target is told about a run (see dispatch.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "incident.h"
#include "log.h"
#include "msgtext.h"
#include "mute.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

/* What the store says a target was told about one series (or job-level kind) of the job. */
struct known {
	const char *series;
	int firing;
	int64_t since, last_alert_ts, last_sent, updated_run;
};

/* The newest alerting point of one series in the run (alerts of a series are contiguous). */
struct newest {
	const char *series;
	const struct alert_item *alert;
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

static struct known *find_known(struct known *k, size_t n, const char *series)
{
	struct known key = { .series = series };

	return n ? bsearch(&key, k, n, sizeof(*k), cmp_known) : NULL;
}

/* Job-level incidents first, then the most unusual, then by name. */
static int cmp_firing(const void *a, const void *b)
{
	const struct notify_series *x = a, *y = b;
	int jx = !*x->series, jy = !*y->series;
	double rx = isnan(x->inc->peak_rarity) ? -1 : x->inc->peak_rarity;
	double ry = isnan(y->inc->peak_rarity) ? -1 : y->inc->peak_rarity;

	if (jx != jy)
		return jy - jx;
	if (rx != ry)
		return rx < ry ? 1 : -1;
	return strcmp(x->series, y->series);
}

static int cmp_resolved(const void *a, const void *b)
{
	const struct notify_series *x = a, *y = b;
	int jx = !*x->series, jy = !*y->series;

	if (jx != jy)
		return jy - jx;
	return strcmp(x->series, y->series);
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
		strbuf_addstr(&names, *list[i].series ? list[i].series : !strcmp(list[i].inc->kind, "error")
		              ? "runs failing" : "no data");
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
	for (size_t i = s ? s->n : 0; i-- > 0;)
		if (!isnan(s->v[i]))
			return s->v[i];
	return NAN;
}

/* The alert-state key of an incident: its series, or "@error" / "@no_data" for the job's runs. */
static const char *state_key(const struct incident *inc, char *buf, size_t len)
{
	if (inc->series && *inc->series)
		return inc->series;
	snprintf(buf, len, "@%s", inc->kind);
	return buf;
}

static const struct alert_item *newest_alert(const struct newest *nw, size_t n, const char *series)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(nw[mid].series, series);

		if (!c)
			return nw[mid].alert;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_newest(const void *a, const void *b)
{
	return strcmp(((const struct newest *)a)->series, ((const struct newest *)b)->series);
}

struct plan_in {
	const struct job_spec *spec;
	const struct run_report *rep;
	const struct series_set *set;
	struct store *st;
	int64_t sched, now_ms, mute_clock;
	const struct newest *newest;
	size_t n_newest;
};

static void plan_target(const struct plan_in *in, const struct spec_notify *t, struct dispatch *d)
{
	const struct job_spec *spec = in->spec;
	const struct run_report *rep = in->rep;
	int64_t sched = in->sched;
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
	if (in->st && in->st->backend->notify &&
	    in->st->backend->notify->alert_states(in->st, target, spec->name, &rows, &err)) {
		log_error("notify", "job '%s': %s target: cannot read alert state (notifying every incident as new): %s",
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
	quiet = mute_quiet_now(&pol, in->mute_clock);
	if (in->st && mute_set_load(in->st, spec->name, in->mute_clock, &mutes, &err)) {
		log_error("notify", "job '%s': cannot read mutes (sending anyway): %s", spec->name, err.msg);
		mute_set_release(&mutes);
	}
	if (quiet)
		strbuf_addf(&note, "quiet hours (%02d:%02d-%02d:%02d %s)", pol.quiet_from / 60, pol.quiet_from % 60,
		            pol.quiet_to / 60, pol.quiet_to % 60, pol.quiet_tz);

	for (i = 0; i < rep->n_incidents; i++) {
		struct incident *inc = &rep->incidents[i];
		unsigned ev = rep->incident_events[i];
		char keybuf[32];
		const char *key = state_key(inc, keybuf, sizeof(keybuf));
		struct known *k = find_known(known, n_known, key);
		int told = k && k->firing && k->since == inc->start_ms;
		int open = !strcmp(inc->state, "open");
		int64_t last_sent = k && k->since == inc->start_ms ? k->last_sent : 0;
		int due = pol.repeat_ms && last_sent && sched - last_sent >= pol.repeat_ms;
		const struct series *s = *inc->series ? series_set_find(in->set, inc->series) : NULL;
		const struct mute *m;
		struct notify_series ns = {
			.series = inc->series, .labels = s ? s->labels : NULL, .n_labels = s ? s->n_labels : 0, .inc = inc,
			.alert = *inc->series ? newest_alert(in->newest, in->n_newest, inc->series) : NULL,
			.n_points = (size_t)inc->n_alerts, .max_score = inc->peak_score, .since_ms = inc->start_ms,
			.last_alert_ms = inc->last_alert_ms, .last_value = newest_value(s),
		};
		struct lists *to;
		int listed_resolved = 0;

		if (!(ev & (INCIDENT_OPENED | INCIDENT_CLOSED | INCIDENT_REOPENED)) && !open)
			continue;   /* written (its cursor moved), nothing happened */
		if (open && told && !due) {
			n_ongoing++;
			add_state(d, target, spec->name, key, "firing", inc->start_ms, inc->last_alert_ms, last_sent, sched);
			continue;
		}
		if (open && !told && (ev & INCIDENT_REOPENED) && last_sent && !due) {
			n_ongoing++;   /* flapping: told recently; the state stays "resolved", so no resolve is sent either */
			continue;
		}
		if (!open && !told && !(ev & INCIDENT_OPENED)) {
			/* closed after a silent flap, or never told: the target has nothing to take back */
			if (k)
				add_state(d, target, spec->name, key, "resolved", inc->start_ms, inc->last_alert_ms, last_sent,
				          sched);
			continue;
		}
		if (!open && told) {
			listed_resolved = 1;
			if (!pol.resolved) {
				add_state(d, target, spec->name, key, "resolved", inc->start_ms, inc->last_alert_ms, last_sent,
				          sched);
				continue;
			}
		}
		ns.repeat = open && told;
		m = quiet ? NULL : mute_set_match(&mutes, *inc->series ? inc->series : key);
		to = quiet || m ? &muted : &send;
		if (listed_resolved)
			list_add(&to->resolved, &to->n_resolved, &ns);
		else
			list_add(&to->firing, &to->n_firing, &ns);
		if (m && !strstr(strbuf_str(&note), "mute "))
			strbuf_addf(&note, "%smute %lld", note.len ? ", " : "", (long long)m->id);
		if (to == &send) {
			last_sent = sched;
			inc->last_notified_ms = sched;
		}
		add_state(d, target, spec->name, key, open ? "firing" : "resolved", inc->start_ms, inc->last_alert_ms,
		          last_sent, sched);
	}

	for (int pass = 0; pass < 2; pass++) {
		struct lists *l = pass ? &muted : &send;
		struct notify_message msg = {
			.job = spec->name, .run_id = rep->run_id, .scheduled_ms = sched,
			.firing = l->firing, .n_firing = l->n_firing, .resolved = l->resolved, .n_resolved = l->n_resolved,
			.n_ongoing = pass ? 0 : n_ongoing, .labels = spec->labels, .annotations = spec->annotations,
			.hints = rep->hints, .incidents = rep->incidents, .n_incidents = rep->n_incidents,
			.id_token = *d->id_token ? d->id_token : NULL,
		};

		if (!l->n_firing && !l->n_resolved)
			continue;
		if (l->n_firing > 1)
			qsort(l->firing, l->n_firing, sizeof(*l->firing), cmp_firing);
		if (l->n_resolved > 1)
			qsort(l->resolved, l->n_resolved, sizeof(*l->resolved), cmp_resolved);
		add_row(d, spec, t, &pol, target, url_ref, &msg, pass ? "muted" : "send",
		        pass ? strbuf_str(&note) : NULL, in->now_ms);
	}
	if (!send.n_firing && !send.n_resolved)
		strbuf_addf(&d->notes, "[dry run: %s target %s: nothing to send%s]\n", t->type->name, url_ref,
		            n_ongoing ? " (open incidents were already notified)" :
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
	struct plan_in in = { .spec = spec, .rep = rep, .set = set, .st = st, .sched = scheduled_ms, .now_ms = now_ms,
	                      .mute_clock = mute_clock_ms };
	struct newest *nw;
	size_t i, n_queued = 0, n = 0;

	for (i = 0; i < spec->n_notify; i++)
		n_queued += spec->notify[i].type->render != NULL;
	if (!n_queued)
		return;
	nw = xcalloc(rep->n_alerts + 1, sizeof(*nw));
	for (i = 0; i < rep->n_alerts; i++) {
		const struct alert_item *a = &rep->alerts[i];

		if (!n || strcmp(nw[n - 1].series, a->series))
			nw[n++] = (struct newest){ a->series, a };
		else if (a->ts_ms >= nw[n - 1].alert->ts_ms)
			nw[n - 1].alert = a;
	}
	qsort(nw, n, sizeof(*nw), cmp_newest);
	in.newest = nw;
	in.n_newest = n;
	for (i = 0; i < spec->n_notify; i++)
		if (spec->notify[i].type->render)
			plan_target(&in, &spec->notify[i], d);
	free(nw);
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
