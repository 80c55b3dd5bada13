/* worker.c - pools of supervised worker processes (see worker.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"
#include "worker.h"
#include "xmalloc.h"
#include "banned.h"

/* The identity of a file on disk: a replaced file has another one. */
struct file_id {
	dev_t dev;
	ino_t ino;
	int64_t mtime_ns;
	off_t size;
};

struct worker {
	struct child c;
	struct file_id id;            /* of the watched file when the worker started */
	int64_t last_used_ns;
	int busy;
	unsigned long served;
};

struct worker_pool {
	struct worker_recipe r;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct worker **w;
	size_t n;
	struct file_id current;
	int64_t checked_ns;           /* when `current` was last read */
};

static int file_id_get(const char *path, struct file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st))
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	id->size = st.st_size;
	return 0;
}

static int file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mtime_ns == b->mtime_ns && a->size == b->size;
}

void run_limits_default(struct run_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->timeout_ms = 30000;
	l->grace_ms = 2000;
	l->child.memory_bytes = (int64_t)4096 << 20;
	l->child.files = 256;
	l->stderr_max = 64 << 10;
}

void worker_recipe_release(struct worker_recipe *r)
{
	if (r->argv)
		for (char **a = r->argv; *a; a++)
			free(*a);
	free(r->argv);
	free(r->path);
	free(r->watch);
	child_env_release(&r->env);
	memset(r, 0, sizeof(*r));
}

struct worker_pool *worker_pool_new(struct worker_recipe *recipe)
{
	struct worker_pool *p = XNEW(struct worker_pool);

	p->r = *recipe;
	memset(recipe, 0, sizeof(*recipe));
	if (!p->r.max_workers)
		p->r.max_workers = 1;
	if (!p->r.env.v)
		child_env_set(&p->r.env, "PATH", "/usr/local/bin:/usr/bin:/bin");
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	file_id_get(p->r.watch ? p->r.watch : p->r.path, &p->current);
	return p;
}

static void worker_stop(struct worker_pool *p, struct worker *w, const char *why)
{
	char text[128];
	int status = 0, exited = 0;
	pid_t pid = w->c.pid;
	int64_t until = time_mono_ns() + 200000000;

	/* A well-behaved worker exits when its stdin closes; give it a moment before signals. */
	if (w->c.in >= 0) {
		close(w->c.in);
		w->c.in = -1;
	}
	while (!(exited = child_try_reap(&w->c, &status)) && time_mono_ns() < until)
		usleep(1000);
	if (!exited)
		status = child_stop(&w->c, p->r.grace_ms);
	child_close_pipes(&w->c);
	child_status_text(status, text, sizeof(text));
	log_debug("worker", "'%s' pid %d retired (%s): %s after %lu request%s", p->r.path, (int)pid, why, text,
	          w->served, w->served == 1 ? "" : "s");
	free(w);
}

/* Remove w from the pool (lock held). */
static void pool_remove(struct worker_pool *p, struct worker *w)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->w[i] == w) {
			p->w[i] = p->w[--p->n];
			return;
		}
	}
}

void worker_pool_free(struct worker_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		worker_stop(p, p->w[i], "pool closed");
	free(p->w);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	worker_recipe_release(&p->r);
	free(p);
}

/* Re-read the watched file's identity, at most every 100 ms (lock held). */
static void refresh_identity(struct worker_pool *p, int64_t now)
{
	if (now - p->checked_ns < 100000000)
		return;
	p->checked_ns = now;
	file_id_get(p->r.watch ? p->r.watch : p->r.path, &p->current);
}

/* Retire idle workers that are stale, dead or replaced (lock held). */
static void reap_locked(struct worker_pool *p, int64_t now)
{
	refresh_identity(p, now);
	for (size_t i = 0; i < p->n;) {
		struct worker *w = p->w[i];
		int status;
		const char *why = NULL;

		if (!w || w->busy) {	/* NULL: a slot reserved by a worker starting */
			i++;
			continue;
		}
		if (!file_id_eq(&w->id, &p->current))
			why = "its executable was replaced";
		else if (p->r.idle_ms > 0 && now - w->last_used_ns > p->r.idle_ms * 1000000)
			why = "idle";
		else if (child_try_reap(&w->c, &status)) {
			char text[128];

			child_status_text(status, text, sizeof(text));
			log_warn("worker", "'%s': an idle worker %s; starting another when needed", p->r.path, text);
			child_close_pipes(&w->c);
			pool_remove(p, w);
			free(w);
			continue;
		}
		if (why) {
			pool_remove(p, w);
			worker_stop(p, w, why);
			continue;
		}
		i++;
	}
}

void worker_pool_reap(struct worker_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->checked_ns = 0;
	reap_locked(p, time_mono_ns());
	pthread_mutex_unlock(&p->lock);
}

size_t worker_pool_size(struct worker_pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->n;
	pthread_mutex_unlock(&p->lock);
	return n;
}

size_t worker_pool_pids(struct worker_pool *p, pid_t *pids, size_t max)
{
	size_t k = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n && k < max; i++)
		if (p->w[i])
			pids[k++] = p->w[i]->c.pid;
	pthread_mutex_unlock(&p->lock);
	return k;
}

static struct worker *worker_start(struct worker_pool *p, struct vigil_error *err)
{
	struct worker *w = XNEW(struct worker);

	w->c = (struct child)CHILD_INIT;
	w->c.path = p->r.path;
	w->c.argv = p->r.argv;
	w->c.env = p->r.env.v;
	w->c.limits = p->r.limits;
	w->c.set_user = p->r.set_user;
	w->c.uid = p->r.uid;
	w->c.gid = p->r.gid;
	w->c.flags = p->r.child_flags;
	/* Record the file the process will run before it starts, so a race errs on the side of a restart. */
	file_id_get(p->r.watch ? p->r.watch : p->r.path, &w->id);
	if (child_start(&w->c, err)) {
		free(w);
		return NULL;
	}
	w->last_used_ns = time_mono_ns();
	return w;
}

/* An idle worker, or a new one (lock not held on entry or exit). */
static struct worker *acquire(struct worker_pool *p, int *started, struct vigil_error *err)
{
	struct worker *w = NULL;

	*started = 0;
	if (p->r.lifecycle == WORKER_ONESHOT) {
		*started = 1;
		return worker_start(p, err);
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		reap_locked(p, time_mono_ns());
		for (size_t i = 0; i < p->n && !w; i++)
			if (p->w[i] && !p->w[i]->busy)
				w = p->w[i];
		if (w || p->n < p->r.max_workers)
			break;
		pthread_cond_wait(&p->freed, &p->lock);
	}
	if (w) {
		w->busy = 1;
		pthread_mutex_unlock(&p->lock);
		return w;
	}
	/* Reserve the slot, start outside the lock. */
	p->w = xreallocarray(p->w, p->n + 1, sizeof(*p->w));
	p->w[p->n++] = NULL;
	pthread_mutex_unlock(&p->lock);
	w = worker_start(p, err);
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++) {
		if (!p->w[i]) {
			if (w) {
				p->w[i] = w;
				w->busy = 1;
			} else {
				p->w[i] = p->w[--p->n];
			}
			break;
		}
	}
	pthread_cond_broadcast(&p->freed);
	pthread_mutex_unlock(&p->lock);
	*started = w != NULL;
	return w;
}

/* Give w back; stop it when it failed or is one-shot. */
static void release(struct worker_pool *p, struct worker *w, const char *failed)
{
	if (p->r.lifecycle == WORKER_ONESHOT) {
		child_stop(&w->c, 0);
		free(w);
		return;
	}
	pthread_mutex_lock(&p->lock);
	w->busy = 0;
	w->last_used_ns = time_mono_ns();
	if (failed)
		pool_remove(p, w);
	pthread_cond_broadcast(&p->freed);
	pthread_mutex_unlock(&p->lock);
	if (failed)
		worker_stop(p, w, failed);
}

static void fmt_ms(int64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

size_t worker_done_line(const struct strbuf *out, void *arg)
{
	size_t *scanned = arg;
	const char *nl;

	if (*scanned < out->len && (nl = memchr(out->buf + *scanned, '\n', out->len - *scanned)))
		return (size_t)(nl - out->buf) + 1;
	*scanned = out->len;
	return 0;
}

/*
 * Stop a worker that failed, and describe how it ended: the exit status or
 * signal says more than the symptom seen first.  After a timeout it is
 * stopped at once; otherwise it gets 100 ms to finish dying on its own, so
 * a crash is reported as the crash.
 */
static int fail_with_status(struct worker_pool *p, struct worker *w, const char *symptom,
                            int timed_out, struct worker_call *call, struct vigil_error *err)
{
	char text[128];
	int status = 0, exited = 0, sig;
	int64_t until = time_mono_ns() + 100000000;

	if (!timed_out) {
		while (!(exited = child_try_reap(&w->c, &status)) && time_mono_ns() < until)
			usleep(1000);
	}
	if (!exited)
		status = child_stop(&w->c, p->r.grace_ms);
	/*
	 * Whatever it wrote on stderr before it ended is in the pipe now: take it
	 * before the pipes close (a write that failed with EPIPE left it unread).
	 */
	child_drain_stderr(&w->c, &call->err, p->r.err_max, &call->err_dropped);
	child_close_pipes(&w->c);
	child_status_text(status, text, sizeof(text));
	sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (exited && sig)
		return vigil_error_set(err, VIGIL_E_PLUGIN, "crashed: %s", text);
	if (exited)
		return vigil_error_set(err, VIGIL_E_PLUGIN, "%s; %s", symptom, text);
	if (sig == SIGTERM)
		return vigil_error_set(err, VIGIL_E_PLUGIN, "%s; stopped with SIGTERM", symptom);
	if (sig == SIGKILL)
		return vigil_error_set(err, VIGIL_E_PLUGIN, "%s; killed with SIGKILL after ignoring SIGTERM for %d ms",
		                       symptom, p->r.grace_ms);
	return vigil_error_set(err, VIGIL_E_PLUGIN, "%s; then %s", symptom, text);
}

int worker_pool_call(struct worker_pool *p, const char *req, size_t len, int64_t timeout_ms,
                     size_t out_max, struct worker_call *call, struct vigil_error *err)
{
	int64_t t0 = time_mono_ns(), deadline;
	size_t scanned = 0;
	struct child_io io = {
		.in = req, .in_len = len, .close_in = p->r.lifecycle == WORKER_ONESHOT,
		.out = &call->out, .out_max = out_max, .done = p->r.done, .arg = &scanned,
		.err = &call->err, .err_max = p->r.err_max,
	};
	enum child_io_result res;
	struct worker *w;
	char tbuf[32], sym[64];
	int e, rc = -1;

	w = acquire(p, &call->started, err);
	if (!w)
		return -1;
	/* The deadline counts from when a worker takes the request, not while it waits for one. */
	deadline = time_mono_ns() + timeout_ms * 1000000;
	res = child_io(&w->c, &io, deadline, &e);
	call->err_dropped = io.err_dropped;
	fmt_ms(timeout_ms, tbuf, sizeof(tbuf));
	switch (res) {
	case CHILD_IO_DONE:
		rc = 0;
		break;
	case CHILD_IO_TIMEOUT:
		snprintf(sym, sizeof(sym), "timed out after %s", tbuf);
		fail_with_status(p, w, sym, 1, call, err);
		goto failed;
	case CHILD_IO_EOF:
		fail_with_status(p, w, "closed its stdout without a complete response", 0, call, err);
		goto failed;
	case CHILD_IO_EXITED:
		fail_with_status(p, w, "ended without a complete response", 0, call, err);
		goto failed;
	case CHILD_IO_CLOSED_STDIN:
		fail_with_status(p, w, "closed its stdin without reading the request", 0, call, err);
		goto failed;
	case CHILD_IO_TOO_BIG:
		child_stop(&w->c, 0);
		vigil_error_set(err, VIGIL_E_LIMIT, "response larger than %zu bytes (the output limit); worker stopped",
		                out_max);
		goto failed;
	case CHILD_IO_FAILED:
		child_stop(&w->c, 0);
		vigil_error_set(err, VIGIL_E_INTERNAL, "talking to the worker failed: %s", strerror(e));
		goto failed;
	}
	if (p->r.lifecycle == WORKER_PERSISTENT) {
		/* A persistent worker must write exactly one response per request. */
		size_t sc = 0, end = p->r.done(&call->out, &sc);

		if (end && end < call->out.len) {
			call->leftover = 1;
			call->out.len = end;
			call->out.buf[end] = '\0';
		}
	}
	if (call->check && call->check(call->out.buf, call->out.len, call->check_arg, err)) {
		call->check_failed = 1;
		rc = -1;
		if (p->r.lifecycle == WORKER_ONESHOT) {
			/* Not a response: its exit says nothing more, so it is not awaited. */
			child_drain_stderr(&w->c, &call->err, p->r.err_max, &call->err_dropped);
			child_stop(&w->c, 0);
			free(w);
			call->elapsed_ns = time_mono_ns() - t0;
			return -1;
		}
	}
	if (p->r.lifecycle == WORKER_ONESHOT) {
		/* The answer counts only from a process that then exits cleanly, in time. */
		int status;

		/* Its stdout is not read to the end: a grandchild may hold it; the group kill ends that. */
		close(w->c.in);
		w->c.in = -1;
		/* Wait for the exit, still reading stderr (what it says while exiting is logged too). */
		for (;;) {
			child_drain_stderr(&w->c, &call->err, p->r.err_max, &call->err_dropped);
			if (child_try_reap(&w->c, &status))
				break;
			if (time_mono_ns() >= deadline) {
				status = child_stop(&w->c, p->r.grace_ms);
				break;
			}
			usleep(1000);
		}
		child_drain_stderr(&w->c, &call->err, p->r.err_max, &call->err_dropped);
		child_close_pipes(&w->c);
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			char text[128];

			child_status_text(status, text, sizeof(text));
			vigil_error_set(err, VIGIL_E_PLUGIN, "answered but then %s", text);
			rc = -1;
		}
		free(w);
		call->elapsed_ns = time_mono_ns() - t0;
		return rc;
	}
	w->served++;
	release(p, w, call->leftover ? "it wrote more than one response" : NULL);
	call->elapsed_ns = time_mono_ns() - t0;
	return rc;
failed:
	if (p->r.lifecycle == WORKER_ONESHOT) {
		free(w);
	} else {
		pthread_mutex_lock(&p->lock);
		pool_remove(p, w);
		pthread_cond_broadcast(&p->freed);
		pthread_mutex_unlock(&p->lock);
		free(w);
	}
	call->elapsed_ns = time_mono_ns() - t0;
	return -1;
}

void worker_call_release(struct worker_call *call)
{
	strbuf_release(&call->out);
	strbuf_release(&call->err);
}
