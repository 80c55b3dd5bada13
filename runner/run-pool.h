/*
 * run-pool.h - the daemon's idle run workers (run-worker.h), reused for the
 * next runs as PHP-FPM or Apache reuse theirs.
 *
 * Starting a worker costs a fork + exec, the dynamic linking of vigil, a new
 * store connection (a new PostgreSQL backend with cold caches) and plugin
 * loading; a reused worker has all of that already.  A worker is retired
 * (its stdin closed: it exits) after max_runs requests, after idle_ms
 * without one, or when the pool closes.  Workers that are signalled, crash
 * or misbehave are never reused: the daemon drops them and the pool starts
 * another when one is needed.  At most as many workers as the daemon's
 * concurrency exist, busy or idle.  Single-threaded: the daemon's loop owns it.
 */
#ifndef VIGIL_RUN_POOL_H
#define VIGIL_RUN_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "run-worker.h"

/* The default of `vigil serve --worker-runs`. */
#define RUN_POOL_MAX_RUNS_DEFAULT 100
/* A worker idle this long is retired. */
#define RUN_POOL_IDLE_MS (5 * 60 * 1000)

struct run_pool;

/* A pool starting exe; each worker serves at most max_runs requests (0: no limit). */
struct run_pool *run_pool_new(const char *exe, unsigned max_runs, int64_t idle_ms);

/*
 * Close every idle worker's stdin, wait up to grace_ms for them and the
 * retiring ones to exit, SIGKILL the rest, and free the pool (NULL-safe).
 */
void run_pool_free(struct run_pool *p, int64_t grace_ms);

/*
 * A worker for a request: the most recently used idle one, else a new one.
 * *last is set when this request is the worker's last (max_runs): the
 * caller passes it to worker_send().  Returns NULL with err set when no
 * worker can be started.  The caller owns the worker until run_pool_put().
 */
struct worker *run_pool_get(struct run_pool *p, int *last, struct vigil_error *err);

/*
 * Give back a worker whose run ended: idle again if it answered, is not
 * doomed and has requests left; else retired (a reaped one is freed).
 */
void run_pool_put(struct run_pool *p, struct worker *w, int64_t now_ms);

/* Reap retired workers that exited and idle ones that died; retire those idle too long. */
void run_pool_tick(struct run_pool *p, int64_t now_ms);

/* Idle workers (for logs and tests). */
size_t run_pool_idle(const struct run_pool *p);

#endif
