/* api-guard.c - request deadlines and rate-limited warnings for the API (see api-guard.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api-guard.h"
#include "log.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

struct guarded {
	struct guarded *prev, *next;
	int fd;
	int64_t since_ms;   /* waiting for a request since; 0: the request is in or being answered */
	int cut;            /* already shut down */
};

/* One rate limit of warnings: a burst per window, then a count. */
struct warn_limit {
	const char *what;   /* for the summary: "bad requests", "slow clients" */
	int64_t window_start;
	unsigned logged;
	unsigned long suppressed;
};

struct api_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int stop;
	int64_t deadline_ms;
	struct guarded *head;
	uint64_t n_cut;
	struct warn_limit requests, slow;
};

static int64_t mono_ms(void)
{
	return time_mono_ns() / 1000000;
}

/* Log msg (NULL: only end the window if it is over); with the guard's lock held. */
static void warn_limited(struct warn_limit *w, const char *msg, int flush)
{
	int64_t now = mono_ms();

	if (flush || now - w->window_start >= API_GUARD_LOG_WINDOW_MS) {
		if (w->suppressed)
			log_warn("api", "%lu more warnings about %s in the last %llds (at most %d logged a minute)",
			         w->suppressed, w->what, (long long)((now - w->window_start) / 1000),
			         API_GUARD_LOG_BURST);
		w->window_start = now;
		w->logged = 0;
		w->suppressed = 0;
	}
	if (!msg)
		return;
	if (w->logged < API_GUARD_LOG_BURST) {
		w->logged++;
		log_warn("api", "%s", msg);
	} else {
		w->suppressed++;
	}
}

void api_guard_warn(struct api_guard *g, const char *msg)
{
	pthread_mutex_lock(&g->lock);
	warn_limited(&g->requests, msg, 0);
	pthread_mutex_unlock(&g->lock);
}

static void *watchdog(void *arg)
{
	struct api_guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec ts;
		int64_t now = mono_ms();
		unsigned cut = 0;

		for (struct guarded *e = g->head; e; e = e->next) {
			int64_t since = __atomic_load_n(&e->since_ms, __ATOMIC_RELAXED);

			if (e->cut || !since || now - since < g->deadline_ms)
				continue;
			/*
			 * The descriptor is still the connection's: libmicrohttpd tells
			 * us it closed (under this lock) before it closes the socket.
			 */
			shutdown(e->fd, SHUT_RDWR);
			e->cut = 1;
			cut++;
		}
		if (cut) {
			char msg[160];

			g->n_cut += cut;
			snprintf(msg, sizeof(msg), "closed %u connection%s that sent no complete request within %llds",
			         cut, cut == 1 ? "" : "s", (long long)(g->deadline_ms / 1000));
			warn_limited(&g->slow, msg, 0);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&g->wake, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct api_guard *api_guard_new(int64_t deadline_ms)
{
	struct api_guard *g = XNEW(struct api_guard);

	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	g->deadline_ms = deadline_ms;
	g->requests.what = "bad requests";
	g->requests.window_start = mono_ms();
	g->slow.what = "slow clients";
	g->slow.window_start = g->requests.window_start;
	if (pthread_create(&g->thread, NULL, watchdog, g)) {
		log_error("api", "cannot start the request watchdog: slow clients are cut by the idle timeout only");
		g->stop = -1;
	}
	return g;
}

void api_guard_free(struct api_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	if (g->stop == 0) {
		g->stop = 1;
		pthread_cond_signal(&g->wake);
		pthread_mutex_unlock(&g->lock);
		pthread_join(g->thread, NULL);
		pthread_mutex_lock(&g->lock);
	}
	warn_limited(&g->requests, NULL, 1);
	warn_limited(&g->slow, NULL, 1);
	while (g->head) {
		struct guarded *e = g->head;

		g->head = e->next;
		free(e);
	}
	pthread_mutex_unlock(&g->lock);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->wake);
	free(g);
}

void api_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
	struct api_guard *g = cls;
	struct guarded *e;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		e = XNEW(struct guarded);
		e->fd = info ? info->connect_fd : -1;
		e->since_ms = e->fd >= 0 ? mono_ms() : 0;
		pthread_mutex_lock(&g->lock);
		e->next = g->head;
		if (g->head)
			g->head->prev = e;
		g->head = e;
		pthread_mutex_unlock(&g->lock);
		*socket_context = e;
		return;
	}
	e = *socket_context;
	if (!e)
		return;
	pthread_mutex_lock(&g->lock);
	if (e->prev)
		e->prev->next = e->next;
	else
		g->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	pthread_mutex_unlock(&g->lock);
	free(e);
	*socket_context = NULL;
}

/* since_ms is read by the watchdog: an atomic store, no lock needed */
static void set_since(struct MHD_Connection *c, int64_t v)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct guarded *e = info ? info->socket_context : NULL;

	if (e)
		__atomic_store_n(&e->since_ms, v, __ATOMIC_RELAXED);
}

void api_guard_request_read(struct MHD_Connection *c)
{
	set_since(c, 0);
}

void api_guard_request_done(struct MHD_Connection *c)
{
	set_since(c, mono_ms());
}

uint64_t api_guard_cut(struct api_guard *g)
{
	uint64_t n;

	pthread_mutex_lock(&g->lock);
	n = g->n_cut;
	pthread_mutex_unlock(&g->lock);
	return n;
}
