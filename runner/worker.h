/*
 * worker.h - supervised worker processes: a small pool per executable.
 *
 * A pool starts workers from one recipe (path, argv, environment, limits,
 * user) and sends each one request at a time.  The caller encodes requests
 * and decodes responses; the pool moves bytes, frames responses with the
 * caller's done() function, enforces the deadline and the output cap,
 * captures stderr, and turns every way a worker can fail into one precise
 * reason.  A worker that failed is stopped (SIGTERM to its group, a grace
 * period, SIGKILL) and the next request starts a fresh one.
 *
 * Lifecycles: WORKER_PERSISTENT keeps up to max_workers processes that
 * serve many requests, restarts one found dead, retires those idle longer
 * than idle_ms, and retires all of them when the executable file changes on
 * disk (a new file takes effect for the next request).  WORKER_ONESHOT
 * starts a process per request, closes its stdin after the request, and
 * requires it to exit with status 0.
 *
 * Pools are safe to use from several threads.
 */
#ifndef VIGIL_WORKER_H
#define VIGIL_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include "child.h"
#include "error.h"
#include "strbuf.h"

enum worker_lifecycle {
	WORKER_PERSISTENT,
	WORKER_ONESHOT,
};

/* The limits of a detector's workers, as a spec sets them ("limits"). */
struct run_limits {
	int64_t timeout_ms;           /* per request */
	int64_t grace_ms;             /* SIGTERM to SIGKILL */
	struct child_limits child;    /* rlimits */
	size_t output_max;            /* response cap; 0: 1 MiB + 256 bytes per point */
	size_t stderr_max;            /* stderr kept per request */
};

/* vigil's defaults: 30 s, 2 s, 4 GiB of address space, 256 files, 64 KiB of stderr. */
void run_limits_default(struct run_limits *l);

/* How to start a worker.  Owned by the pool once given to worker_pool_new(). */
struct worker_recipe {
	char *path;                   /* absolute */
	char *watch;                  /* the file whose replacement retires workers (NULL: path) */
	char **argv;                  /* NULL-terminated, owned strings */
	struct child_env env;
	struct child_limits limits;
	int set_user;
	uid_t uid;
	gid_t gid;
	unsigned child_flags;         /* enum child_flags */
	enum worker_lifecycle lifecycle;
	unsigned max_workers;         /* persistent: at most this many processes (>= 1) */
	int64_t idle_ms;              /* persistent: retire a worker idle this long (0: never) */
	int grace_ms;                 /* between SIGTERM and SIGKILL */
	size_t err_max;               /* stderr kept per request */
	/* Framing: the length of the complete response at the start of out, or 0. */
	size_t (*done)(const struct strbuf *out, void *arg);
};

/* What one call produced besides the response. */
struct worker_call {
	struct strbuf out;            /* the response bytes (complete per done()) */
	struct strbuf err;            /* stderr of the worker during the call, capped */
	size_t err_dropped;
	int leftover;                 /* bytes followed the response: the worker was retired */
	int64_t elapsed_ns;
	int started;                  /* a worker was started for this call */
	/*
	 * Optional, set by the caller: decode the complete response (0, or -1
	 * with err set).  A one-shot worker whose response it refuses is
	 * stopped at once, with check()'s reason, instead of being awaited;
	 * worker_pool_call() then fails with check_failed set.
	 */
	int (*check)(const char *resp, size_t len, void *arg, struct vigil_error *err);
	void *check_arg;
	int check_failed;
};

#define WORKER_CALL_INIT { STRBUF_INIT, STRBUF_INIT, 0, 0, 0, 0, NULL, NULL, 0 }

struct worker_pool;

/* A pool for recipe (taken over, also on failure).  Never NULL. */
struct worker_pool *worker_pool_new(struct worker_recipe *recipe);

/* Stop every worker (closing stdin first, then the group kill) and free the pool. */
void worker_pool_free(struct worker_pool *pool);

/*
 * Send req to a worker and read its response into call->out.  timeout_ms
 * bounds the whole exchange (and, for a one-shot worker, its exit);
 * out_max caps the response.  Returns 0, or -1 with err set to the reason
 * (cannot start, timed out, killed by a signal, exited, closed its stdout,
 * output too large, or call->check refused the response); call->err holds
 * what the worker wrote on stderr.
 */
int worker_pool_call(struct worker_pool *pool, const char *req, size_t len, int64_t timeout_ms,
                     size_t out_max, struct worker_call *call, struct vigil_error *err);

void worker_call_release(struct worker_call *call);

/* Retire workers idle past idle_ms and workers of a replaced executable. */
void worker_pool_reap(struct worker_pool *pool);

/* Number of live worker processes (for tests). */
size_t worker_pool_size(struct worker_pool *pool);

/* The pids of the live workers, up to max; returns how many (for tests). */
size_t worker_pool_pids(struct worker_pool *pool, pid_t *pids, size_t max);

/* Free a recipe that was not given to a pool. */
void worker_recipe_release(struct worker_recipe *r);

/* done() for one JSON document per line: complete at the first '\n'. */
size_t worker_done_line(const struct strbuf *out, void *arg);

#endif
