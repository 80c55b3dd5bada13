/*
 * dispatch.h - from a run's alerts to the messages of its queued targets.
 *
 * For each queued target (slack, webhook) of a job, one message per run at
 * most, about the incidents the run opened, changed or still has open
 * (runner/incident.h), decided from what the store says the target was told
 * per (target, job, series) -- a job-level incident uses "@error" or
 * "@no_data" as its series:
 *
 *  - an open incident the target was not told about is listed as firing;
 *  - one it was told about is not listed again until repeat_interval has
 *    passed since (then as a reminder); meanwhile it is only counted;
 *  - one that reopened (flapping) after the target was told it resolved is
 *    only counted until repeat_interval has passed;
 *  - one that closed (resolved or accepted) is listed under "resolved" when
 *    the target wants resolved messages and had been told it was firing;
 *    one that opened and closed within the run is listed as firing (over);
 *  - a run older than the newest run the state has seen (a late backfill)
 *    notifies nothing.
 *
 * Muted series (vigil mute) and quiet hours move listed series into a
 * second message kept in the outbox as 'muted'.  Time for repeat and
 * resolve decisions is the run's scheduled time, so replays are
 * deterministic; mutes and quiet hours use the wall clock, except in
 * backfills and replays, which judge them at the run's scheduled time (a
 * mute applies from its creation to its end).
 *
 * The result is a set of outbox rows and alert-state rows that the caller
 * writes in the run's own transaction (struct run_outcome), so a crash
 * leaves either the run with its messages or neither.  Every row is keyed
 * (job, scheduled time, target, kind): a run executed twice enqueues once.
 */
#ifndef VIGIL_DISPATCH_H
#define VIGIL_DISPATCH_H

#include <stdint.h>
#include <stdio.h>

#include "notify.h"
#include "series.h"
#include "spec.h"
#include "store.h"
#include "strbuf.h"

struct dispatch {
	struct outbox_row *rows;
	size_t n_rows;
	struct alert_state_row *states;
	size_t n_states;
	struct strbuf notes;       /* for dry runs: targets with nothing to send, and why */
	char **owned;              /* strings the rows point to */
	size_t n_owned, alloc_owned;
	/*
	 * Set by the caller when the run's incidents are stored with its
	 * messages (notify_id_token_new): messages then link to the pages of
	 * the incidents the run opens (notify_message.id_token).  "": they link
	 * to their series instead.
	 */
	char id_token[NOTIFY_ID_TOKEN_MAX];
};

#define DISPATCH_INIT { NULL, 0, NULL, 0, STRBUF_INIT, NULL, 0, 0, "" }

/*
 * Decide the messages of spec's queued targets for the run in rep, whose
 * series are set.  st (may be NULL) is read for alert state and mutes; a
 * store that cannot be read is logged and treated as empty (a duplicate is
 * better than a lost alert).  Never fails: a target that cannot be rendered
 * is logged and skipped.  now_ms stamps the outbox rows (the wall clock);
 * mutes and quiet hours are judged at mute_clock_ms (the wall clock too, or
 * the run's scheduled time for backfills and replays).
 */
void dispatch_plan(const struct job_spec *spec, const struct run_report *rep, const struct series_set *set,
                   struct store *st, int64_t scheduled_ms, int64_t now_ms, int64_t mute_clock_ms,
                   struct dispatch *d);

/* Print the planned messages (payloads indented) and notes, for --dry-run. */
void dispatch_print(const struct dispatch *d, FILE *out);

void dispatch_release(struct dispatch *d);

#endif
