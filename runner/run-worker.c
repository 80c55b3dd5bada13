/*
 * run-worker.c - the daemon's side of run-worker.h: starting a worker,
 * sending it requests and reading its results (run-worker-main.c is the
 * worker's side).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "run-worker.h"
#include "fdio.h"
#include "xmalloc.h"
#include "banned.h"

extern char **environ;

/* ---- the daemon's side ------------------------------------------------------ */

static json_t *request_json(const struct worker_request *req)
{
	json_t *dirs = json_array();

	for (size_t i = 0; i < req->n_plugin_dirs; i++)
		json_array_append_new(dirs, json_string(req->plugin_dirs[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:b, s:o, s:s?}",
	                 "spec", req->spec_text, "spec_path", req->spec_path, "spec_dir", req->spec_dir,
	                 "store", req->store_path, "node", req->node, "run_id", (json_int_t)req->run_id,
	                 "scheduled_ms", (json_int_t)req->scheduled_ms,
	                 "window_from_ms", (json_int_t)req->window_from_ms, "dry_run", req->dry_run,
	                 "adhoc", req->adhoc, "plugin_dirs", dirs, "state", req->state_dir);
}

/* In the child between fork and exec: async-signal-safe calls only, no logging. */
static void child_exec(const char *exe, char *const argv[], int in_fd, int result_fd, int status_fd)
{
	struct rlimit no_core = { 0, 0 };
	struct sigaction dfl;
	sigset_t none;
	int err;

	setpgid(0, 0);
	/*
	 * A worker whose daemon died (kill -9) stops too: nothing renews its
	 * claim any more, and another node re-runs the run after the lease.
	 */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	setrlimit(RLIMIT_CORE, &no_core);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* out of the way first, so no dup2 below clobbers another pipe */
	in_fd = fcntl(in_fd, F_DUPFD, 100);
	result_fd = fcntl(result_fd, F_DUPFD, 100);
	status_fd = fcntl(status_fd, F_DUPFD, 100);
	if (in_fd < 0 || result_fd < 0 || status_fd < 0)
		goto fail;
	if (dup2(in_fd, 0) < 0 || dup2(result_fd, 3) < 0 || dup2(status_fd, 4) < 0)
		goto fail;
	status_fd = 4;
	/* keep 0-2, the result pipe on 3; the exec-status pipe (close-on-exec) on 4 */
	if (fcntl(4, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	for (int fd = 5; fd < 1024; fd++)
		close(fd);
	execve(exe, argv, environ);
fail:
	err = errno;
	if (write(status_fd >= 0 ? status_fd : 4, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int worker_spawn(const char *exe, struct worker *w, struct vigil_error *err)
{
	char *const argv[] = { (char *)exe, (char *)"serve", (char *)"--worker", NULL };
	int in[2] = { -1, -1 }, res[2] = { -1, -1 }, status[2] = { -1, -1 };
	pid_t pid;

	memset(w, 0, sizeof(*w));
	w->in_fd = w->result_fd = w->status_fd = -1;
	w->result = (struct strbuf)STRBUF_INIT;
	if (pipe2(in, O_CLOEXEC) || pipe2(res, O_CLOEXEC) || pipe2(status, O_CLOEXEC)) {
		vigil_error_set(err, VIGIL_E_IO, "cannot create pipes for a worker: %s", strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		vigil_error_set(err, VIGIL_E_IO, "cannot fork a worker: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_exec(exe, argv, in[0], res[1], status[1]);
	/* also in the parent, so signalling the group works even before the child ran */
	setpgid(pid, pid);
	close(in[0]);
	close(res[1]);
	close(status[1]);
	/*
	 * Not waited for: the loop would stall until the child is scheduled and
	 * has exec'd (most of a dispatch under load, docs/benchmarks.md).  A
	 * failed exec shows when the worker is reaped (worker_exec_errno()).
	 */
	fcntl(status[0], F_SETFL, fcntl(status[0], F_GETFL) | O_NONBLOCK);
	fcntl(res[0], F_SETFL, fcntl(res[0], F_GETFL) | O_NONBLOCK);
	w->pid = pid;
	w->in_fd = in[1];
	w->result_fd = res[0];
	w->status_fd = status[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (res[i] >= 0)
			close(res[i]);
		if (status[i] >= 0)
			close(status[i]);
	}
	return -1;
}

int worker_send(struct worker *w, const struct worker_request *req, int last, struct vigil_error *err)
{
	json_t *rq = request_json(req);
	char *text = json_dumps(rq, JSON_COMPACT);
	int rc = 0;

	json_decref(rq);
	strbuf_reset(&w->result);
	w->answered = 0;
	w->runs++;
	if (!text) {
		w->doomed = 1;
		return vigil_error_set(err, VIGIL_E_INTERNAL, "cannot encode the worker request");
	}
	/*
	 * One line (the compact JSON holds no raw newline).  The pipe holds it
	 * unless the spec is large: then this blocks until the worker reads it,
	 * which an idle worker does at once.  SIGPIPE is ignored by the daemon.
	 */
	if (w->in_fd < 0 || fd_write_all(w->in_fd, text, strlen(text)) || fd_write_all(w->in_fd, "\n", 1)) {
		w->doomed = 1;
		rc = vigil_error_set(err, VIGIL_E_IO, "cannot send the request to worker %ld: %s", (long)w->pid,
		                     w->in_fd < 0 ? "its input is closed" : strerror(errno));
	}
	if (last)
		worker_close_input(w);
	free(text);
	return rc;
}

void worker_close_input(struct worker *w)
{
	if (w->in_fd >= 0)
		close(w->in_fd);
	w->in_fd = -1;
}

void worker_signal(struct worker *w, int sig)
{
	w->doomed = 1;
	if (!w->reaped && kill(-w->pid, sig) < 0 && errno == ESRCH)
		kill(w->pid, sig);
}

int worker_read(struct worker *w)
{
	char buf[8192];

	if (w->result_fd < 0)
		return 1;
	for (;;) {
		ssize_t n = read(w->result_fd, buf, sizeof(buf));
		const char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return w->answered;
		if (n <= 0) {
			close(w->result_fd);
			w->result_fd = -1;
			return 1;
		}
		if (w->answered) {
			w->doomed = 1;   /* a second line nobody asked for */
			continue;
		}
		nl = memchr(buf, '\n', (size_t)n);
		if (w->result.len + (size_t)n <= WORKER_RESULT_MAX)
			strbuf_add(&w->result, buf, nl ? (size_t)(nl - buf) : (size_t)n);
		else
			w->doomed = 1;
		if (nl) {
			w->answered = 1;
			if (nl + 1 < buf + n)
				w->doomed = 1;
		}
	}
}

json_t *worker_result(const struct worker *w)
{
	json_t *o;

	if (!w->result.len)
		return NULL;
	o = json_loads(strbuf_str(&w->result), 0, NULL);
	if (o && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int worker_exec_errno(struct worker *w)
{
	int child_errno = 0;
	ssize_t n;

	if (w->status_fd < 0)
		return 0;
	do
		n = read(w->status_fd, &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(w->status_fd);
	w->status_fd = -1;
	return n == (ssize_t)sizeof(child_errno) ? child_errno : 0;
}

void worker_release(struct worker *w)
{
	worker_close_input(w);
	if (w->result_fd >= 0)
		close(w->result_fd);
	if (w->status_fd >= 0)
		close(w->status_fd);
	w->result_fd = w->status_fd = -1;
	strbuf_release(&w->result);
}
