/*
 * run-worker.h - one claimed run executed in a child process.
 *
 * The daemon never runs a job in its own process: a worker is `vigil serve
 * --worker`, started with fork + execve (git's run-command discipline:
 * argv prepared before fork, only async-signal-safe calls in the child, a
 * close-on-exec pipe reporting exec failure, its own process group, no core
 * files, fds >= 4 closed).  So a job can be stopped at its timeout or at
 * shutdown by signalling its group, and a crashing detector takes only its
 * run down.
 *
 * The request (JSON on the worker's stdin) carries the spec's text as the
 * daemon last validated it, so an invalid edit of the file never reaches a
 * run.  The worker finishes the run in the store itself (fenced by the
 * node's claim), stores the series for the API, notifies, and writes one
 * JSON result line on fd 3 for the daemon's metrics.
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

/* A running worker, as the daemon sees it. */
struct worker {
	pid_t pid;                 /* also its process group */
	int result_fd;             /* -1 once read to the end */
	int status_fd;             /* exec status: the errno of a failed exec, else end of file */
	struct strbuf result;
};

/* The largest result line read from a worker. */
#define WORKER_RESULT_MAX (256 * 1024)

/*
 * Start a worker running exe (the vigil binary) for req.  Returns 0 with w
 * filled, or -1 with err set (pipes, fork).  The exec is not waited for: a
 * worker whose exec failed exits with status 127 and worker_exec_errno()
 * then tells why.
 */
int worker_spawn(const char *exe, const struct worker_request *req, struct worker *w, struct vigil_error *err);

/*
 * Read what is available on the result pipe.  Returns 1 at end of file
 * (result_fd closed), 0 otherwise.
 */
int worker_read(struct worker *w);

/* The parsed result line, or NULL (the worker died before writing it). */
json_t *worker_result(const struct worker *w);

/* Once the worker was reaped: the errno of its failed exec, 0 if it ran. */
int worker_exec_errno(struct worker *w);

void worker_release(struct worker *w);

/* The worker side: read a request on stdin, run it.  Returns the process exit status. */
int worker_main(void);

#endif
