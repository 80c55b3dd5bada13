/* api-wait.c - long-polls as suspended connections (see api-wait.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "api-wait.h"
#include "xmalloc.h"
#include "banned.h"

struct api_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started, stop;
	int64_t poll_ms;
	unsigned max, n;
	struct MHD_Connection **conns;
};

/* Resume every waiting connection; the caller holds the lock. */
static void resume_all(struct api_wait *w)
{
	for (unsigned i = 0; i < w->n; i++)
		MHD_resume_connection(w->conns[i]);
	w->n = 0;
}

static void *waker(void *arg)
{
	struct api_wait *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(w->poll_ms % 1000) * 1000000L;
		until.tv_sec += (time_t)(w->poll_ms / 1000) + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT)
			;
		resume_all(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct api_wait *api_wait_new(unsigned max, int64_t poll_ms)
{
	struct api_wait *w = XNEW(struct api_wait);

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->poll_ms = poll_ms;
	w->max = max;
	w->conns = xcalloc(max ? max : 1, sizeof(*w->conns));
	w->started = pthread_create(&w->thread, NULL, waker, w) == 0;
	return w;
}

int api_wait_suspend(struct api_wait *w, struct MHD_Connection *c)
{
	int rc = -1;

	pthread_mutex_lock(&w->lock);
	if (w->started && !w->stop && w->n < w->max) {
		MHD_suspend_connection(c);
		w->conns[w->n++] = c;
		rc = 0;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void api_wait_stop(struct api_wait *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = 0;
	pthread_mutex_lock(&w->lock);
	resume_all(w);
	pthread_mutex_unlock(&w->lock);
}

void api_wait_free(struct api_wait *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->conns);
	free(w);
}
