/*
 * api-guard.h - what keeps slow or hostile HTTP clients from taking the API
 * down (issue 14): an absolute deadline per request, and rate-limited
 * warnings about bad requests.
 *
 * libmicrohttpd's CONNECTION_TIMEOUT is an idle timeout, restarted by every
 * byte, so a client sending one header line every few seconds holds its
 * connection forever (slowloris).  The guard notes when each connection
 * started waiting for a request (connect, or the end of the previous
 * request); a watchdog thread shuts down, once a second, the connections
 * whose request has not fully arrived within the deadline.  With libmicro-
 * httpd's per-IP connection limit, one address cannot hold the others' slots.
 */
#ifndef VIGIL_API_GUARD_H
#define VIGIL_API_GUARD_H

#include <stdint.h>
#include <microhttpd.h>

struct api_guard;

/* Start the watchdog; requests must arrive within deadline_ms of their start. */
struct api_guard *api_guard_new(int64_t deadline_ms);
/* Stop it (after MHD_stop_daemon), logging what the rate limit held back. */
void api_guard_free(struct api_guard *g);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback; cls is the guard. */
void api_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* The request of c has fully arrived (headers and body): its clock stops. */
void api_guard_request_read(struct MHD_Connection *c);
/* The answer to c's request is done: the clock restarts for the next one. */
void api_guard_request_done(struct MHD_Connection *c);

/* Connections shut down for missing the deadline so far. */
uint64_t api_guard_cut(struct api_guard *g);

/*
 * Log a warning about a bad request or client: the first API_GUARD_LOG_BURST
 * of each API_GUARD_LOG_WINDOW_MS are logged, the others counted and
 * summarised in one line at the first warning after the window (or at
 * api_guard_free).  Connections cut for the deadline have a limit of their
 * own, logged as one line per watchdog round.
 */
void api_guard_warn(struct api_guard *g, const char *msg);

#define API_GUARD_LOG_BURST 5
#define API_GUARD_LOG_WINDOW_MS 60000

#endif
