/*
 * api-wait.h - long-polls without holding a thread (GET /api/runs/{id}?wait=).
 *
 * libmicrohttpd serves every request in its one internal thread, so a
 * handler that slept until a run ended would stop the whole API.  A
 * waiting request is suspended instead (MHD_suspend_connection: it keeps
 * its connection, no thread); a small thread resumes every suspended one
 * each poll period, and its handler looks at the run again and either
 * answers or suspends once more.  At most `max` requests wait at once.
 */
#ifndef VIGIL_API_WAIT_H
#define VIGIL_API_WAIT_H

#include <stdint.h>
#include <microhttpd.h>

struct api_wait;

/* Start the resuming thread: every poll_ms, at most max waiting connections. */
struct api_wait *api_wait_new(unsigned max, int64_t poll_ms);

/*
 * Suspend c (from its handler, which then returns MHD_YES without an answer)
 * until the next round.  Returns 0, or -1 when max connections wait already
 * or the API is stopping: answer now.
 */
int api_wait_suspend(struct api_wait *w, struct MHD_Connection *c);

/* Stop waiting: resume every waiting connection and refuse new waits (before MHD_stop_daemon). */
void api_wait_stop(struct api_wait *w);

/* Free (after api_wait_stop; NULL-safe). */
void api_wait_free(struct api_wait *w);

#endif
