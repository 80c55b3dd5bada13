/*
 * run-worker.h - claimed runs executed in child processes.
 *
 * The daemon never runs a job in its own process: a worker is `vigil serve
 * --worker`, started with fork + execve (git's run-command discipline:
 * argv prepared before fork, only async-signal-safe calls in the child, a
 * close-on-exec pipe reporting exec failure, its own process group, no core
 * files, fds >= 5 closed).  So a job can be stopped at its timeout or at
 * shutdown by signalling its group, and a crashing detector takes only its
 * run (and its worker) down.
 *
 * A worker runs several runs one after another (run-pool.h keeps the idle
 * ones): each request is one JSON line on its stdin and carries the spec's
 * text as the daemon last validated it, so an invalid edit of the file never
 * reaches a run.  The worker keeps its store connection and loaded plugins
 * between runs, finishes each run in the store itself (fenced by the node's
 * claim), stores the series for the API, notifies, and writes one JSON
 * result line on fd 3 for the daemon's metrics.  It exits when its stdin
 * closes; before a request it re-executes itself if a plugin file it could
 * load changed on disk, so a replaced plugin is used by the next run.
 */
#ifndef VIGIL_RUN_WORKER_H
#define VIGIL_RUN_WORKER_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "strbuf.h"

/* What a worker is asked to do. */
struct worker_request {
	const char *spec_text;
	const char *spec_path;     /* for messages */
	const char *spec_dir;      /* relative paths in the spec start here */
	const char *store_path;
	const char *node;
	int64_t run_id;
	int64_t scheduled_ms;
	int64_t window_from_ms;
	int dry_run;               /* print notifications instead of sending them */
	int adhoc;                 /* an ad-hoc run (runner/adhoc.h): results kept with the run, nobody notified */
	const char *const *plugin_dirs;
	size_t n_plugin_dirs;
	const char *state_dir;     /* where pushed detectors are materialised (pushed.h) */
};

/* A worker process, as the daemon sees it. */
struct worker {
	pid_t pid;                 /* also its process group */
	int in_fd;                 /* requests; -1 once closed (the worker then exits) */
	int result_fd;             /* -1 once read to the end */
	int status_fd;             /* exec status: the errno of a failed exec, else end of file */
	struct strbuf result;      /* the current request's result line */
	int answered;              /* the result line is complete (its '\n' arrived) */
	int doomed;                /* signalled, or wrote more than one line: never given another request */
	unsigned runs;             /* requests sent */
	int64_t idle_since_ms;     /* monotonic, while idle */
	int reaped;
	int status;                /* waitpid() status once reaped */
};
/* The largest result line read from a worker. */
#define WORKER_RESULT_MAX (256 * 1024)

/*
 * Start a worker running exe (the vigil binary).  Returns 0 with w filled,
 * or -1 with err set (pipes, fork).  The exec is not waited for: a worker
 * whose exec failed exits with status 127 and worker_exec_errno() then
 * tells why.
 */
int worker_spawn(const char *exe, struct worker *w, struct vigil_error *err);

/*
 * Send req to an idle worker (w->answered and w->result are reset).  With
 * last, its stdin is closed after the request: it exits when done.
 * Returns 0, or -1 with err set (the worker is gone; doomed).
 */
int worker_send(struct worker *w, const struct worker_request *req, int last, struct vigil_error *err);

/*
 * Read what is available on the result pipe.  Returns 1 once the result
 * line is complete (w->answered) or at end of file (result_fd closed), 0
 * otherwise.
 */
int worker_read(struct worker *w);

/* Close the worker's stdin: it exits after its current request. */
void worker_close_input(struct worker *w);

/* Signal the worker's process group (not after it was reaped); it is doomed. */
void worker_signal(struct worker *w, int sig);

/* The parsed result line, or NULL (the worker died before writing it). */
json_t *worker_result(const struct worker *w);

/* Once the worker was reaped: the errno of its failed exec, 0 if it ran. */
int worker_exec_errno(struct worker *w);

void worker_release(struct worker *w);

/*
 * The worker side: run the requests read on stdin until it closes.
 * Returns the process exit status (0, or 3 for a bad request or an
 * unusable store, after which no result line is written).
 */
int worker_main(void);

#endif
