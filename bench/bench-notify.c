/*
 * bench-notify.c - notifications: Slack messages built per second, the time
 * from the end of detection to the HTTP request, and what one webhook
 * receives under a burst of 1 000 alerts.
 *
 * A small HTTP server in a thread on 127.0.0.1 (answers "ok", notes when
 * each request arrives) stands in for Slack.  Usage: bench-notify [SECONDS]
 * (how long the burst is watched, default 10) [render-only].  Needs VIGIL_PLUGIN_PATH.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchutil.h"
#include "job.h"
#include "outbox.h"
#include "spec.h"
#include "store.h"
#include "strbuf.h"
#include "xmalloc.h"

/* --- the stand-in for Slack ------------------------------------------------ */

#define MAX_REQ 100000

static struct {
	int fd, port, stop;
	int64_t arrived[MAX_REQ];      /* time_mono_ns at each request's first byte */
	size_t n;
	pthread_mutex_t lock;
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void serve_conn(int c)
{
	char buf[1 << 16];
	size_t have = 0;

	for (;;) {
		char *end;
		size_t body = 0, head;
		int64_t first = 0;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			struct pollfd p = { c, POLLIN, 0 };
			ssize_t r;

			if (srv.stop)
				return;
			if (poll(&p, 1, 100) <= 0)
				continue;
			r = read(c, buf + have, sizeof(buf) - have);
			if (r <= 0)
				return;
			if (!have && !first)
				first = time_mono_ns();
			have += (size_t)r;
		}
		if (!first)
			first = time_mono_ns();
		head = (size_t)(end - buf) + 4;
		for (char *p = buf; p < end; p++)
			if (!strncasecmp(p, "\r\nContent-Length:", 17))
				body = strtoul(p + 17, NULL, 10);
		while (have < head + body) {
			ssize_t r = read(c, buf + have, sizeof(buf) - have);

			if (r <= 0)
				return;
			have += (size_t)r;
		}
		pthread_mutex_lock(&srv.lock);
		if (srv.n < MAX_REQ)
			srv.arrived[srv.n++] = first;
		pthread_mutex_unlock(&srv.lock);
		if (write(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok", 66) != 66)
			return;
		memmove(buf, buf + head + body, have - head - body);
		have -= head + body;
	}
}

static void *server(void *arg)
{
	(void)arg;
	while (!srv.stop) {
		struct pollfd p = { srv.fd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 100) <= 0)
			continue;
		c = accept(srv.fd, NULL, NULL);
		if (c < 0)
			continue;
		serve_conn(c);
		close(c);
	}
	return NULL;
}

static void server_start(pthread_t *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) || listen(srv.fd, 16) ||
	    getsockname(srv.fd, (struct sockaddr *)&a, &len)) {
		perror("bench-notify: loopback server");
		exit(1);
	}
	srv.port = ntohs(a.sin_port);
	pthread_create(t, NULL, server, NULL);
}

static size_t arrivals(void)
{
	size_t n;

	pthread_mutex_lock(&srv.lock);
	n = srv.n;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* --- helpers ------------------------------------------------------------------ */

static char *tmpdir;

static void write_csv(const char *path, size_t n_series, size_t n_points, size_t n_spiking)
{
	FILE *f = fopen(path, "w");

	fprintf(f, "host,ts,value\n");
	for (size_t m = 0; m < n_points; m++)
		for (size_t s = 0; s < n_series; s++)
			fprintf(f, "host-%04zu,%zu,%d\n", s, 1795212000 + 60 * m,
			        s < n_spiking && m == n_points - 1 ? 100 : 10);
	fclose(f);
}

static struct job_spec *make_spec(const struct registry *reg, const char *name, const char *csv)
{
	char *json = xasprintf("{\"name\": \"%s\", \"source\": {\"type\": \"csv\", \"path\": \"%s\", \"series_column\": "
	                       "\"host\", \"time_column\": \"ts\"}, \"detectors\": [{\"detector\": \"threshold\", "
	                       "\"params\": {\"upper\": 50}}], \"notify\": [{\"type\": \"slack\", \"webhook_url\": "
	                       "\"${env:BENCH_HOOK}\", \"max_series\": 40}]}", name, csv);
	struct diag d;
	struct job_spec *spec;

	diag_init(&d, name);
	spec = spec_parse(json, tmpdir, reg, &d);
	if (!spec) {
		diag_print(&d);
		exit(1);
	}
	diag_release(&d);
	free(json);
	return spec;
}

static int64_t detect_end;

static void on_series(void *arg, const struct job_spec *spec, const struct series *s,
                      struct detection *const *dets, const uint8_t *alerted)
{
	(void)arg, (void)spec, (void)s, (void)dets, (void)alerted;
	detect_end = time_mono_ns();   /* the last call is the end of detection */
}

/* --- 1. messages built per second --------------------------------------------- */

/* CPU time of this process: the machine may be shared, so wall-clock rates undersell. */
static int64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void bench_render(size_t n_firing, int reps)
{
	const struct notify_type *t = notify_find("slack");
	json_t *cfg = json_pack("{s:s, s:s, s:i, s:s}", "type", "slack", "webhook_url", "${env:X}", "max_series", 40,
	                        "chart_base_url", "https://vigil.example.com");
	struct notify_policy pol;
	struct alert_item *a = xcalloc(n_firing, sizeof(*a));
	struct notify_series *s = xcalloc(n_firing, sizeof(*s));
	struct vigil_label lab = { "host", "web-1" };
	struct notify_message msg = { .job = "bench", .run_id = 1, .scheduled_ms = 1795212000000LL,
	                              .firing = s, .n_firing = n_firing };
	double *rate = xcalloc((size_t)reps, sizeof(double)), *cpu_rate = xcalloc((size_t)reps, sizeof(double));
	char **names = xcalloc(n_firing, sizeof(char *));
	size_t bytes = 0;

	notify_policy_get(cfg, 0, &pol);
	for (size_t i = 0; i < n_firing; i++) {
		names[i] = xasprintf("web-%04zu.example.com:9100", i);
		a[i] = (struct alert_item){ .series = names[i], .labels = &lab, .n_labels = 1,
		                            .ts_ms = 1795212000000LL, .value = 94.5, .score = 0.99, .expected = 40.9,
		                            .lower = 14.4, .upper = 67.4, .detectors = "mad,zscore",
		                            .reason = "robust z-score 10.1 from the rolling median 40.9" };
		s[i] = (struct notify_series){ .series = names[i], .labels = &lab, .n_labels = 1, .alert = &a[i],
		                               .n_points = 3, .max_score = 0.99, .since_ms = 1795212000000LL };
	}
	for (int r = 0; r < reps; r++) {
		int64_t t0 = time_mono_ns(), c0 = cpu_ns();
		size_t n = 0;

		while (time_mono_ns() - t0 < 300000000LL) {   /* 0.3 s */
			struct strbuf sb = STRBUF_INIT;
			struct vigil_error err = VIGIL_ERROR_INIT;

			t->render(cfg, &pol, &msg, &sb, &err);
			bytes = sb.len;
			strbuf_release(&sb);
			n++;
		}
		rate[r] = (double)n / seconds_since(t0);
		cpu_rate[r] = (double)n / ((double)(cpu_ns() - c0) / 1e9);
	}
	printf("render   slack message, %3zu firing series: %8.0f messages/s wall, %8.0f per CPU second (medians of "
	       "%d), %zu bytes each\n", n_firing, median(rate, (size_t)reps), median(cpu_rate, (size_t)reps), reps,
	       bytes);
	free(cpu_rate);
	for (size_t i = 0; i < n_firing; i++)
		free(names[i]);
	free(names);
	free(a);
	free(s);
	free(rate);
	json_decref(cfg);
}

/* --- 2. end of detection to HTTP request --------------------------------------- */

static void bench_latency(const struct registry *reg, struct store *st, int reps)
{
	char *csv = xasprintf("%s/latency.csv", tmpdir);
	double *ms = xcalloc((size_t)reps, sizeof(double));
	struct outbox_sender *sender = outbox_sender_new(st);

	write_csv(csv, 10, 1440, 3);
	for (int r = 0; r < reps; r++) {
		char name[32];
		struct job_spec *spec;
		struct notify_ctx nctx = { .out = stderr };
		struct job_options opt = { .scheduled_ms = 1795300000000LL, .store = st, .notify = &nctx,
		                           .on_series = on_series };
		struct run_report rep;
		struct vigil_error err = VIGIL_ERROR_INIT;
		size_t before = arrivals();

		snprintf(name, sizeof(name), "latency-%d", r);
		spec = make_spec(reg, name, csv);
		if (job_run(spec, &opt, &rep, &err)) {
			fprintf(stderr, "bench-notify: %s\n", err.msg);
			exit(1);
		}
		run_report_release(&rep);
		/* what `vigil run` does after each job */
		if (outbox_send_due(sender, time_now_ms(), NULL, &err)) {
			fprintf(stderr, "bench-notify: %s\n", err.msg);
			exit(1);
		}
		while (arrivals() == before)
			usleep(100);
		ms[r] = (double)(srv.arrived[before] - detect_end) / 1e6;
		spec_free(spec);
		usleep(1100000);   /* let the webhook's bucket refill: measure the path, not the throttle */
	}
	{
		double med = median(ms, (size_t)reps);   /* sorts ms */

		printf("latency  end of detection -> HTTP request at the webhook: median %.2f ms, max %.2f ms (%d runs; "
		       "store commit with the message, claim, POST)\n", med, ms[reps - 1], reps);
	}
	outbox_sender_free(sender);
	free(ms);
	free(csv);
}

/* --- 3. a burst of 1 000 alerts -------------------------------------------------- */

static void bench_burst(const struct registry *reg, struct store *st, int watch_s)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *csv = xasprintf("%s/burst.csv", tmpdir);
	struct job_spec *spec;
	struct notify_ctx nctx = { .out = stderr };
	struct job_options opt = { .scheduled_ms = 1795300000000LL, .store = st, .notify = &nctx };
	struct run_report rep;
	struct outbox_sender *sender = outbox_sender_new(st);
	size_t before, got, max_in_1s = 0;
	int64_t t0;
	struct outbox_row *rows = xcalloc(1000, sizeof(*rows));
	char **keys = xcalloc(1000, sizeof(char *));

	/* (a) one run in which 1 000 series alert: one message */
	write_csv(csv, 1000, 30, 1000);
	spec = make_spec(reg, "burst-run", csv);
	before = arrivals();
	job_run(spec, &opt, &rep, &err);
	outbox_flush(sender, time_now_ms() + 3000, &err);
	printf("burst    one run with %zu alerting series -> %zu message(s) to the webhook\n", rep.n_alerts,
	       arrivals() - before);
	run_report_release(&rep);
	spec_free(spec);
	sleep(4);   /* refill the bucket */

	/* (b) 1 000 messages queued at once for one webhook */
	for (size_t i = 0; i < 1000; i++) {
		keys[i] = xasprintf("burst-%zu", i);
		rows[i] = (struct outbox_row){ .dedup_key = keys[i], .dest = "slack:${env:BENCH_HOOK}", .type = "slack",
		                               .url_ref = "${env:BENCH_HOOK}", .job = "burst", .scheduled_for = 1,
		                               .summary = "burst", .payload = "{\"text\":\"burst\"}", .state = "pending",
		                               .created_at = time_now_ms(), .deadline = time_now_ms() + 3600000,
		                               .timeout_ms = 10000 };
	}
	st->backend->notify->enqueue(st, rows, 1000, NULL, 0, &err);
	before = arrivals();
	t0 = time_mono_ns();
	outbox_flush(sender, time_now_ms() + (int64_t)watch_s * 1000, &err);
	got = arrivals() - before;
	for (size_t i = before; i < before + got; i++) {
		size_t k = i;

		while (k < before + got && srv.arrived[k] - srv.arrived[i] < 1000000000LL)
			k++;
		if (k - i > max_in_1s)
			max_in_1s = k - i;
	}
	printf("burst    1000 messages queued for one webhook: %zu sent in %.1f s = %.2f messages/s; at most %zu "
	       "in any 1 s (bucket: 1/s, burst %.0f)\n", got, seconds_since(t0), (double)got / seconds_since(t0),
	       max_in_1s, OUTBOX_BURST);
	if (got > 1) {
		double steady = (double)(srv.arrived[before + got - 1] - srv.arrived[before + (size_t)OUTBOX_BURST]) / 1e9;

		printf("burst    after the first %.0f: %.3f s between messages on average\n", OUTBOX_BURST,
		       steady / (double)(got - 1 - (size_t)OUTBOX_BURST));
	}
	for (size_t i = 0; i < 1000; i++)
		free(keys[i]);
	free(keys);
	free(rows);
	outbox_sender_free(sender);
	free(csv);
}

int main(int argc, char **argv)
{
	int watch = argc > 1 ? atoi(argv[1]) : 10;
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct registry *reg = registry_new();
	pthread_t t;
	struct store *st;
	char *db, *hook;

	registry_add_default(reg, NULL, 0);
	if (!registry_find(reg, "threshold")) {
		fprintf(stderr, "bench-notify: the threshold detector is not found (set VIGIL_PLUGIN_PATH)\n");
		return 1;
	}
	tmpdir = xasprintf("%s/vigil-bench-notify-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	db = xasprintf("%s/vigil.db", tmpdir);
	st = store_open(db, &err);
	if (!st) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	server_start(&t);
	hook = xasprintf("http://127.0.0.1:%d/services/T0/B0/bench", srv.port);
	setenv("BENCH_HOOK", hook, 1);

	bench_render(10, 5);
	bench_render(500, 5);
	if (argc < 3 || strcmp(argv[2], "render-only")) {
		bench_latency(reg, st, 15);
		bench_burst(reg, st, watch);
	}

	srv.stop = 1;
	pthread_join(t, NULL);
	close(srv.fd);
	store_close(st);
	registry_free(reg);
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);

		if (system(cmd))
			fprintf(stderr, "bench-notify: could not remove %s\n", tmpdir);
		free(cmd);
	}
	free(db);
	free(hook);
	free(tmpdir);
	return 0;
}
