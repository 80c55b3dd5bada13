/*
 * mute.h - muting: snoozes from `vigil mute` and quiet hours per target.
 *
 * A mute silences the series of the jobs matching its patterns (shell globs,
 * fnmatch) until a time.  Quiet hours silence a whole target for a daily
 * stretch of wall-clock time in a zone.  Muted alerts are still stored (the
 * anomalies, and the message in the outbox as 'muted'), just not sent.
 */
#ifndef VIGIL_MUTE_H
#define VIGIL_MUTE_H

#include <stdint.h>

#include "error.h"
#include "notify.h"
#include "store.h"

struct mute {
	int64_t id;
	char *job_pattern;
	char *series_pattern;
	char *reason;              /* or NULL */
	int64_t until_ms;
};

struct mute_set {
	struct mute *items;
	size_t n;
};

#define MUTE_SET_INIT { NULL, 0 }

/* Check a pattern from the command line: not empty, at most 256 bytes, no control characters. */
int mute_pattern_check(const char *pattern, struct vigil_error *err);

/* 1 if name matches the glob pattern. */
int mute_pattern_match(const char *pattern, const char *name);

/* Load the mutes active at now (created before it, ending after it) whose job pattern matches job.  Returns 0, or -1 with err set. */
int mute_set_load(struct store *st, const char *job, int64_t now_ms, struct mute_set *set, struct vigil_error *err);

/* The first mute of set matching series, or NULL. */
const struct mute *mute_set_match(const struct mute_set *set, const char *series);

void mute_set_release(struct mute_set *set);

/* 1 if now is inside pol's quiet hours, else 0 (also when the zone cannot be loaded: logged). */
int mute_quiet_now(const struct notify_policy *pol, int64_t now_ms);

#endif
