/*
 * isolate.c - plugin isolation: the runner's side (a pool of plugin-host
 * workers per instance, binary frames) and the worker's main loop.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "isolate.h"
#include "log.h"
#include "params.h"
#include "xmalloc.h"
#include "banned.h"

#ifndef VIGIL_PLUGIN_HOST_PATH
#define VIGIL_PLUGIN_HOST_PATH "/usr/local/libexec/vigil/vigil-plugin-host"
#endif

#define FRAME_REQUEST 0x51524756u   /* "VGRQ" */
#define FRAME_OK 0x4b4f4756u        /* "VGOK" */
#define FRAME_ERROR 0x52454756u     /* "VGER" */
#define MAX_FRAME ((uint64_t)1 << 36)

struct frame_header {
	uint32_t magic;
	uint32_t version;
	uint64_t len;
};

const char *isolate_host_path(void)
{
	const char *env = getenv("VIGIL_PLUGIN_HOST");

	return env && *env ? env : VIGIL_PLUGIN_HOST_PATH;
}

/* --- frames ------------------------------------------------------------- */

static void put(struct strbuf *sb, const void *p, size_t n)
{
	strbuf_add(sb, p, n);
}

static void put_u32(struct strbuf *sb, uint32_t v)
{
	put(sb, &v, sizeof(v));
}

static void put_u64(struct strbuf *sb, uint64_t v)
{
	put(sb, &v, sizeof(v));
}

static void put_str(struct strbuf *sb, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);

	put_u32(sb, n);
	put(sb, s, n);
}

/* Pad to 8 bytes from the frame's start, so arrays read in place are aligned. */
static void put_align(struct strbuf *sb)
{
	static const char zeros[8];

	if (sb->len % 8)
		put(sb, zeros, 8 - sb->len % 8);
}

static void begin_frame(struct strbuf *sb, uint32_t magic)
{
	struct frame_header h = { .magic = magic, .version = 1, .len = 0 };

	strbuf_reset(sb);
	put(sb, &h, sizeof(h));
}

static void end_frame(struct strbuf *sb)
{
	struct frame_header *h = (struct frame_header *)sb->buf;

	h->len = sb->len - sizeof(*h);
}

/* Framing for the pool: the length of a complete frame at the start of out. */
static size_t frame_done(const struct strbuf *out, void *arg)
{
	struct frame_header h;

	(void)arg;
	if (out->len < sizeof(h))
		return 0;
	memcpy(&h, out->buf, sizeof(h));
	if (h.len > MAX_FRAME)
		return sizeof(h);   /* nonsense: let the decoder reject it */
	return out->len - sizeof(h) >= h.len ? (size_t)(sizeof(h) + h.len) : 0;
}

struct reader {
	const char *start, *p, *end;  /* start: the payload, 16 bytes after the frame's start */
	int bad;
};

static void get_align(struct reader *r)
{
	size_t off = (size_t)(r->p - r->start) % 8;

	if (off && !r->bad) {
		if ((size_t)(r->end - r->p) < 8 - off)
			r->bad = 1;
		else
			r->p += 8 - off;
	}
}

static void get(struct reader *r, void *out, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p, n);
	r->p += n;
}

static uint32_t get_u32(struct reader *r)
{
	uint32_t v;

	get(r, &v, sizeof(v));
	return v;
}

static uint64_t get_u64(struct reader *r)
{
	uint64_t v;

	get(r, &v, sizeof(v));
	return v;
}

static char *get_str(struct reader *r)
{
	uint32_t n = get_u32(r);
	char *s;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return xstrdup("");
	}
	s = xstrndup(r->p, n);
	r->p += n;
	return s;
}

/* A pointer to n elements of size sz in the frame (not copied), or NULL. */
static const void *get_array(struct reader *r, uint64_t n, size_t sz)
{
	const void *p = r->p;

	if (r->bad || n > (uint64_t)(r->end - r->p) / sz) {
		r->bad = 1;
		return NULL;
	}
	r->p += n * sz;
	return p;
}

/* --- the runner's side -------------------------------------------------- */

struct worker_pool *isolate_pool_new(const struct detector_entry *e, const char *job,
                                     const struct run_limits *limits, int64_t *timeout_ms,
                                     size_t *output_max, struct vigil_error *err)
{
	struct worker_recipe r;
	struct run_limits l;
	const char *host = isolate_host_path();

	if (!e->plugin)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "only plugins can be isolated"), NULL;
	if (access(host, X_OK))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "cannot isolate it: plugin host '%s': %s (set "
		                       "VIGIL_PLUGIN_HOST, or \"isolation\": \"in-process\")", host,
		                       strerror(errno)), NULL;
	if (limits)
		l = *limits;
	else
		run_limits_default(&l);
	memset(&r, 0, sizeof(r));
	r.path = xstrdup(host);
	r.watch = xstrdup(e->plugin->path);
	r.argv = xcalloc(3, sizeof(char *));
	r.argv[0] = xstrdup("vigil-plugin-host");
	r.argv[1] = xstrdup(e->plugin->path);
	child_env_set(&r.env, "PATH", "/usr/local/bin:/usr/bin:/bin");
	child_env_set(&r.env, "LANG", "C.UTF-8");
	child_env_pass(&r.env, "TZ");
	child_env_pass(&r.env, "VIGIL_LOG_LEVEL");
	child_env_set(&r.env, "VIGIL_JOB", job ? job : "");
#ifdef __SANITIZE_ADDRESS__
	/*
	 * An ASan build cannot run under RLIMIT_AS (it reserves terabytes of
	 * shadow memory), and ASan's own malloc limits do not hold here: such a
	 * build runs its workers without a memory limit.  Crashes are left to the
	 * kernel, so they are reported as signals, as in a normal build.
	 */
	{
		const char *old = getenv("ASAN_OPTIONS");
		char *opts = xasprintf("%s%shandle_segv=0:handle_abort=0", old ? old : "", old && *old ? ":" : "");

		child_env_set(&r.env, "ASAN_OPTIONS", opts);
		free(opts);
		l.child.memory_bytes = 0;
	}
#endif
	r.limits = l.child;
	/* The plugin ran as vigil's user before; isolation does not change whose it is. */
	r.child_flags = CHILD_ALLOW_ROOT;
	r.lifecycle = WORKER_PERSISTENT;
	r.max_workers = 1;
	r.grace_ms = (int)l.grace_ms;
	r.err_max = l.stderr_max;
	r.done = frame_done;
	*timeout_ms = l.timeout_ms;
	*output_max = l.output_max;
	return worker_pool_new(&r);
}

static void log_worker_stderr(const struct detector_instance *inst, const struct series *s,
                              const struct worker_call *call)
{
	const char *p = call->err.buf, *end = p + call->err.len;
	char line[900], esc[1024];

	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), p);
		log_warn("isolate", "job '%s': series '%s': detector '%s' worker: %s", inst->job, s->name,
		         inst->entry->d.name, log_escape(esc, sizeof(esc), line));
		p = nl ? nl + 1 : end;
	}
}

int isolate_detect(const struct detector_instance *inst, const struct series *s, struct detection *det,
                   struct vigil_error *err)
{
	struct strbuf req = STRBUF_INIT;
	struct worker_call call = WORKER_CALL_INIT;
	size_t out_max = inst->output_max ? inst->output_max : ((size_t)1 << 20) + s->n * 64;
	struct frame_header h;
	struct reader rd;
	int rc = -1;

	begin_frame(&req, FRAME_REQUEST);
	put_str(&req, inst->entry->d.name);
	put_str(&req, inst->params_json);
	put_str(&req, s->name);
	put_u32(&req, (uint32_t)s->n_labels);
	for (size_t i = 0; i < s->n_labels; i++) {
		put_str(&req, s->labels[i].key);
		put_str(&req, s->labels[i].value);
	}
	put_u64(&req, s->n);
	put_align(&req);
	put(&req, s->ts, s->n * sizeof(*s->ts));
	put(&req, s->v, s->n * sizeof(*s->v));
	end_frame(&req);
	if (worker_pool_call(inst->isolated, req.buf, req.len, inst->timeout_ms, out_max, &call, err))
		goto out;
	memcpy(&h, call.out.buf, sizeof(h));
	rd.start = rd.p = call.out.buf + sizeof(h);
	rd.end = call.out.buf + call.out.len;
	rd.bad = 0;
	if (h.magic == FRAME_ERROR) {
		char *msg = get_str(&rd);

		vigil_error_set(err, VIGIL_E_PLUGIN, "%s", msg);
		free(msg);
		goto out;
	}
	if (h.magic != FRAME_OK || h.len != call.out.len - sizeof(h)) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "the plugin host answered with a malformed frame");
		goto out;
	}
	{
		uint64_t n = get_u64(&rd), warmup = get_u64(&rd), nr;
		const double *sc, *ex, *lo, *hi, *ra;
		const uint8_t *an;

		if (n != s->n) {
			vigil_error_set(err, VIGIL_E_PLUGIN, "the plugin host answered for %llu points, not %zu",
			                (unsigned long long)n, s->n);
			goto out;
		}
		get_align(&rd);
		sc = get_array(&rd, n, sizeof(double));
		ex = get_array(&rd, n, sizeof(double));
		lo = get_array(&rd, n, sizeof(double));
		hi = get_array(&rd, n, sizeof(double));
		ra = get_array(&rd, n, sizeof(double));
		an = get_array(&rd, n, 1);
		nr = get_u64(&rd);
		if (rd.bad) {
			vigil_error_set(err, VIGIL_E_PLUGIN, "the plugin host answered with a truncated frame");
			goto out;
		}
		memcpy(det->r.score, sc, n * sizeof(double));
		memcpy(det->r.expected, ex, n * sizeof(double));
		memcpy(det->r.lower, lo, n * sizeof(double));
		memcpy(det->r.upper, hi, n * sizeof(double));
		memcpy(det->r.rarity, ra, n * sizeof(double));
		memcpy(det->r.anomaly, an, n);
		det->r.warmup = warmup;
		for (uint64_t k = 0; k < nr && !rd.bad; k++) {
			uint64_t i = get_u64(&rd);
			char *text = get_str(&rd);

			if (!rd.bad && i < n)
				detection_set_reason(det, (size_t)i, text);
			free(text);
		}
		if (rd.bad) {
			vigil_error_set(err, VIGIL_E_PLUGIN, "the plugin host answered with a truncated frame");
			goto out;
		}
	}
	rc = 0;
out:
	log_worker_stderr(inst, s, &call);
	worker_call_release(&call);
	strbuf_release(&req);
	return rc;
}

/* --- the worker's side -------------------------------------------------- */

static int read_full(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t got = read(fd, p, n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static void answer_error(struct strbuf *out, const char *msg)
{
	begin_frame(out, FRAME_ERROR);
	put_str(out, msg);
	end_frame(out);
}

/* The instance of the last request, kept while the detector and params stay the same. */
struct cached {
	char *name, *params;
	struct detector_instance *inst;
};

static void handle(struct registry *reg, const char *load_error, struct cached *cache, const char *payload,
                   size_t len, struct strbuf *out)
{
	struct reader rd = { .start = payload, .p = payload, .end = payload + len, .bad = 0 };
	char *name = get_str(&rd), *params = get_str(&rd), *sname = get_str(&rd);
	uint32_t n_labels = get_u32(&rd);
	struct vigil_label *labels = NULL;
	struct series s;
	struct detection det;
	struct vigil_error err = VIGIL_ERROR_INIT;
	const int64_t *ts;
	const double *v;
	uint64_t n;

	if (!rd.bad && n_labels <= 100000) {
		labels = xcalloc(n_labels ? n_labels : 1, sizeof(*labels));
		for (uint32_t i = 0; i < n_labels; i++) {
			labels[i].key = get_str(&rd);
			labels[i].value = get_str(&rd);
		}
	} else {
		rd.bad = 1;
		n_labels = 0;
	}
	n = get_u64(&rd);
	get_align(&rd);
	ts = get_array(&rd, n, sizeof(int64_t));
	v = get_array(&rd, n, sizeof(double));
	if (rd.bad) {
		answer_error(out, "malformed request frame");
		goto done;
	}
	if (load_error) {
		answer_error(out, load_error);
		goto done;
	}
	if (!cache->inst || strcmp(cache->name, name) || strcmp(cache->params, params)) {
		const struct detector_entry *e = registry_find(reg, name);
		json_error_t jerr;
		json_t *pj;

		detector_instance_free(cache->inst);
		free(cache->name);
		free(cache->params);
		cache->inst = NULL;
		cache->name = xstrdup(name);
		cache->params = xstrdup(params);
		if (!e) {
			char msg[256];

			snprintf(msg, sizeof(msg), "the plugin no longer offers detector '%s'", name);
			answer_error(out, msg);
			goto done;
		}
		pj = json_loads(params, 0, &jerr);
		cache->inst = detector_instance_new(e, pj, &err);
		json_decref(pj);
		if (!cache->inst) {
			answer_error(out, err.msg);
			goto done;
		}
	}
	memset(&s, 0, sizeof(s));
	s.name = sname;
	s.labels = labels;
	s.n_labels = n_labels;
	s.ts = (int64_t *)ts;
	s.v = (double *)v;
	s.n = (size_t)n;
	if (detection_run(cache->inst, &s, &det, &err)) {
		/* detection_run prefixed "detector 'x': "; the runner adds it again. */
		const char *msg = err.msg;
		size_t plen = strlen(name) + strlen("detector '': ");

		if (!strncmp(msg, "detector '", 10) && strlen(msg) > plen)
			msg += plen;
		answer_error(out, msg);
		detection_release(&det);
		goto done;
	}
	begin_frame(out, FRAME_OK);
	put_u64(out, n);
	put_u64(out, det.r.warmup);
	put_align(out);
	put(out, det.r.score, n * sizeof(double));
	put(out, det.r.expected, n * sizeof(double));
	put(out, det.r.lower, n * sizeof(double));
	put(out, det.r.upper, n * sizeof(double));
	put(out, det.r.rarity, n * sizeof(double));
	put(out, det.r.anomaly, n);
	put_u64(out, det.n_reasons);
	for (size_t k = 0; k < det.n_reasons; k++) {
		put_u64(out, det.reasons[k].i);
		put_str(out, det.reasons[k].text);
	}
	end_frame(out);
	detection_release(&det);
done:
	for (uint32_t i = 0; labels && i < n_labels; i++) {
		free((char *)labels[i].key);
		free((char *)labels[i].value);
	}
	free(labels);
	free(name);
	free(params);
	free(sname);
}

int isolate_worker_main(int argc, char **argv)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct cached cache = { NULL, NULL, NULL };
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	const char *load_error = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: vigil-plugin-host PLUGIN.so  (started by vigil; speaks binary frames)\n");
		registry_free(reg);
		return 2;
	}
	if (registry_load_file(reg, argv[1], &err))
		load_error = err.msg;
	for (;;) {
		struct frame_header h;

		if (read_full(0, &h, sizeof(h)))
			break;
		if (h.magic != FRAME_REQUEST || h.len > MAX_FRAME) {
			fprintf(stderr, "vigil-plugin-host: bad frame from the runner\n");
			break;
		}
		strbuf_reset(&in);
		strbuf_grow(&in, (size_t)h.len);
		if (read_full(0, in.buf, (size_t)h.len))
			break;
		in.len = (size_t)h.len;
		handle(reg, load_error, &cache, in.buf, in.len, &out);
		if (fd_write_all(1, out.buf, out.len))
			break;
	}
	detector_instance_free(cache.inst);
	free(cache.name);
	free(cache.params);
	strbuf_release(&in);
	strbuf_release(&out);
	registry_free(reg);
	return 0;
}
