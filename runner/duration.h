/*
 * duration.h - the one duration grammar of vigil, shared by the runner and
 * the detector plugins (which link it through libdetkit, no .so of vigil's).
 */
#ifndef VIGIL_DURATION_H
#define VIGIL_DURATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse a duration: one or more <number><unit> groups, units ms, s, m, h, d,
 * w ("90s", "1h30m", "7d").  A bare number is not a duration.  Returns 0 and
 * sets *ms (> 0), or -1.
 */
int duration_parse(const char *s, int64_t *ms);
/* Format a duration compactly ("1h30m", "7d", "250ms"). */
void duration_format(int64_t ms, char *buf, size_t len);

#endif
