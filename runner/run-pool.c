/* run-pool.c - idle run workers kept for the next runs (see run-pool.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "run-pool.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

struct run_pool {
	char *exe;
	unsigned max_runs;
	int64_t idle_ms;
	struct worker **idle;      /* most recently used last */
	size_t n_idle;
	struct worker **retiring;  /* stdin closed or signalled, not reaped yet */
	size_t n_retiring;
};

struct run_pool *run_pool_new(const char *exe, unsigned max_runs, int64_t idle_ms)
{
	struct run_pool *p = XNEW(struct run_pool);

	p->exe = xstrdup(exe);
	p->max_runs = max_runs;
	p->idle_ms = idle_ms;
	return p;
}

static void worker_free(struct worker *w)
{
	worker_release(w);
	free(w);
}

static void push(struct worker ***arr, size_t *n, struct worker *w)
{
	*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
	(*arr)[(*n)++] = w;
}

/* Whether w exited (reaped now or before). */
static int reaped(struct worker *w)
{
	pid_t r;

	if (w->reaped)
		return 1;
	do
		r = waitpid(w->pid, &w->status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == w->pid || (r < 0 && errno == ECHILD))
		w->reaped = 1;
	return w->reaped;
}

/* Close w's stdin (it exits after its current request) and wait for that. */
static void retire(struct run_pool *p, struct worker *w, const char *why)
{
	log_debug("serve", "worker %ld retired after %u run%s (%s)", (long)w->pid, w->runs, w->runs == 1 ? "" : "s",
	          why);
	worker_close_input(w);
	if (reaped(w)) {
		worker_free(w);
		return;
	}
	push(&p->retiring, &p->n_retiring, w);
}

struct worker *run_pool_get(struct run_pool *p, int *last, struct vigil_error *err)
{
	struct worker *w = NULL;

	while (!w && p->n_idle) {
		w = p->idle[--p->n_idle];
		if (reaped(w)) {
			log_warn("serve", "idle worker %ld ended (status %d); starting another", (long)w->pid, w->status);
			worker_free(w);
			w = NULL;
		}
	}
	if (!w) {
		w = XNEW(struct worker);
		if (worker_spawn(p->exe, w, err)) {
			free(w);
			return NULL;
		}
	}
	*last = p->max_runs && w->runs + 1 >= p->max_runs;
	return w;
}

void run_pool_put(struct run_pool *p, struct worker *w, int64_t now_ms)
{
	if (w->reaped && w->result_fd < 0) {
		worker_free(w);
		return;
	}
	if (!w->answered || w->doomed || w->in_fd < 0) {
		if (w->doomed && !w->reaped)
			worker_signal(w, SIGKILL);   /* misbehaved or already signalled: it is not waited for */
		retire(p, w, w->in_fd < 0 ? "its last run" : "stopped");
		return;
	}
	w->idle_since_ms = now_ms;
	push(&p->idle, &p->n_idle, w);
}

void run_pool_tick(struct run_pool *p, int64_t now_ms)
{
	size_t kept = 0;

	for (size_t i = 0; i < p->n_retiring; i++) {
		if (reaped(p->retiring[i]))
			worker_free(p->retiring[i]);
		else
			p->retiring[kept++] = p->retiring[i];
	}
	p->n_retiring = kept;
	kept = 0;
	for (size_t i = 0; i < p->n_idle; i++) {
		struct worker *w = p->idle[i];

		if (reaped(w)) {
			log_warn("serve", "idle worker %ld ended (status %d)", (long)w->pid, w->status);
			worker_free(w);
		} else if (p->idle_ms > 0 && now_ms - w->idle_since_ms >= p->idle_ms) {
			retire(p, w, "idle");
		} else {
			p->idle[kept++] = w;
		}
	}
	p->n_idle = kept;
}

size_t run_pool_idle(const struct run_pool *p)
{
	return p->n_idle;
}

void run_pool_free(struct run_pool *p, int64_t grace_ms)
{
	int64_t until;

	if (!p)
		return;
	for (size_t i = 0; i < p->n_idle; i++)
		retire(p, p->idle[i], "the daemon stops");
	p->n_idle = 0;
	until = time_mono_ns() + grace_ms * 1000000;
	while (p->n_retiring && time_mono_ns() < until) {
		run_pool_tick(p, 0);
		if (p->n_retiring)
			usleep(5000);
	}
	for (size_t i = 0; i < p->n_retiring; i++) {
		struct worker *w = p->retiring[i];
		pid_t r;

		worker_signal(w, SIGKILL);
		do
			r = waitpid(w->pid, &w->status, 0);
		while (r < 0 && errno == EINTR);
		worker_free(w);
	}
	free(p->retiring);
	free(p->idle);
	free(p->exe);
	free(p);
}
