/* detect.c - run a detector on a series and police what it returns. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "detect.h"
#include "exec-detector.h"
#include "isolate.h"
#include "log.h"
#include "params.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define DETECTION_MAGIC 0x76646574u

int detector_check_params(const struct detector_entry *e, const json_t *params,
                          struct diag *d, const char *path)
{
	struct vigil_params *p = params_build(e->schema, params, d, path);
	struct vigil_diag vd = { .spec = d, .path = path };
	int rc = 0;

	if (!p)
		return -1;
	p->reg = e->reg;
	if (e->d.check && e->d.check(p, &vd) != 0) {
		if (!vd.failed)
			diag_add(d, path, "rejected by detector '%s'", e->d.name);
		rc = -1;
	}
	params_free(p);
	return rc;
}

struct detector_instance *detector_instance_new(const struct detector_entry *e, const json_t *params,
                                                struct vigil_error *err)
{
	struct detector_instance *inst;
	struct diag d;
	struct vigil_diag vd = { .err = err };

	if (e->exec)    /* an executable's algorithm has no create(): its workers hold the state */
		return detector_instance_new_ctx(e, params, NULL, err);
	diag_init(&d, e->d.name);
	inst = XNEW(struct detector_instance);
	inst->entry = e;
	inst->params = params_build(e->schema, params, &d, "$.params");
	if (!inst->params) {
		vigil_error_set(err, VIGIL_E_SPEC, "%s", d.n ? d.msgs[0] : "invalid params");
		goto fail;
	}
	inst->params->reg = e->reg;
	inst->state = e->d.create(inst->params, &vd);
	if (!inst->state) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "detector '%s': create failed", e->d.name);
		goto fail;
	}
	diag_release(&d);
	return inst;
fail:
	diag_release(&d);
	params_free(inst->params);
	free(inst);
	return NULL;
}

void detector_instance_free(struct detector_instance *inst)
{
	if (!inst)
		return;
	if (inst->state && inst->entry->d.destroy)
		inst->entry->d.destroy(inst->state);
	worker_pool_free(inst->isolated);
	params_free(inst->params);
	free(inst->params_json);
	free(inst->job);
	free(inst->entry_id);
	free(inst);
}

struct detector_instance *detector_instance_new_ctx(const struct detector_entry *e, const json_t *params,
                                                    const struct detect_context *ctx,
                                                    struct vigil_error *err)
{
	struct detector_instance *inst;
	struct diag d;
	int isolate = ctx && ctx->isolate >= 0 ? ctx->isolate : ctx ? registry_isolate_by_default(e) : 0;

	if (!e->exec && !isolate) {
		inst = detector_instance_new(e, params, err);
	} else {
		diag_init(&d, e->d.name);
		inst = XNEW(struct detector_instance);
		inst->entry = e;
		inst->params = params_build(e->schema, params, &d, "$.params");
		if (!inst->params) {
			vigil_error_set(err, VIGIL_E_SPEC, "%s", d.n ? d.msgs[0] : "invalid params");
			diag_release(&d);
			free(inst);
			return NULL;
		}
		diag_release(&d);
		inst->params_json = json_dumps(inst->params->values, JSON_COMPACT | JSON_SORT_KEYS);
		if (!inst->params_json)
			inst->params_json = xstrdup("{}");
	}
	if (!inst)
		return NULL;
	inst->job = xstrdup(ctx && ctx->job ? ctx->job : "");
	inst->entry_id = xstrdup(ctx && ctx->entry_id ? ctx->entry_id : e->d.name);
	inst->run_id = ctx ? ctx->run_id : 0;
	if (!e->exec && isolate) {
		inst->isolated = isolate_pool_new(e, inst->job, ctx ? ctx->limits : NULL, &inst->timeout_ms,
		                                  &inst->output_max, err);
		if (!inst->isolated) {
			vigil_error_prefix(err, "detector '%s'", e->d.name);
			detector_instance_free(inst);
			return NULL;
		}
	}
	return inst;
}

struct detection *detection_of_result(struct vigil_result *r)
{
	struct detection *det = (struct detection *)r;

	return det->magic == DETECTION_MAGIC ? det : NULL;
}

void detection_set_reason(struct detection *det, size_t i, const char *reason)
{
	if (det->n_reasons && det->reasons[det->n_reasons - 1].i == i) {
		free(det->reasons[det->n_reasons - 1].text);
		det->reasons[det->n_reasons - 1].text = xstrdup(reason);
		return;
	}
	if (det->n_reasons == det->alloc_reasons) {
		det->alloc_reasons = det->alloc_reasons ? det->alloc_reasons * 2 : 16;
		det->reasons = xreallocarray(det->reasons, det->alloc_reasons, sizeof(*det->reasons));
	}
	if (det->n_reasons && det->reasons[det->n_reasons - 1].i > i)
		det->reasons_unsorted = 1;
	det->reasons[det->n_reasons].i = i;
	det->reasons[det->n_reasons].seq = det->n_reasons;
	det->reasons[det->n_reasons].text = xstrdup(reason);
	det->n_reasons++;
}

static int cmp_reason(const void *a, const void *b)
{
	const struct point_reason *x = a, *y = b;

	if (x->i != y->i)
		return (x->i > y->i) - (x->i < y->i);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sort reasons by point, keeping the last one set for a point. */
static void sort_reasons(struct detection *det)
{
	size_t o = 0;

	if (!det->reasons_unsorted)
		return;
	qsort(det->reasons, det->n_reasons, sizeof(*det->reasons), cmp_reason);
	for (size_t k = 0; k < det->n_reasons; k++) {
		if (o && det->reasons[o - 1].i == det->reasons[k].i) {
			free(det->reasons[o - 1].text);
			det->reasons[o - 1] = det->reasons[k];
			continue;
		}
		det->reasons[o++] = det->reasons[k];
	}
	det->n_reasons = o;
	det->reasons_unsorted = 0;
}

const char *detection_reason(const struct detection *det, size_t i)
{
	size_t lo = 0, hi = det->n_reasons;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (det->reasons[mid].i < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < det->n_reasons && det->reasons[lo].i == i ? det->reasons[lo].text : NULL;
}

double detection_rarity(const struct detection *det, size_t i)
{
	double r = det->r.rarity ? det->r.rarity[i] : NAN;
	double p;

	if (isfinite(r))
		return r < 0 ? 0 : r;
	p = 1.0 - det->r.score[i];
	if (!(p > 0))
		return DETECTION_RARITY_MAX;
	r = -log10(p);
	if (r > DETECTION_RARITY_MAX)
		r = DETECTION_RARITY_MAX;
	return r > 0 ? r : 0;
}

/*
 * A result array of n elements of `size` bytes.  A large one (a series of
 * hundreds of thousands of points) is mapped on its own and offered to the
 * kernel's transparent huge pages, so that touching it takes a fault per
 * 2 MiB instead of one per 4 KiB: page faults took about a tenth of the CPU
 * time of a million-point detection.  *mapped says which (result_free()).
 */
#define RESULT_MAP_MIN ((size_t)4 << 20)

static size_t result_bytes(size_t n, size_t size)
{
	return n * size;   /* checked by result_array() */
}

static void *result_array(size_t n, size_t size, int *mapped)
{
	void *p;

	*mapped = 0;
	if (n > SIZE_MAX / size || result_bytes(n, size) < RESULT_MAP_MIN)
		return xreallocarray(NULL, n ? n : 1, size);   /* reports an overflow */
	p = mmap(NULL, result_bytes(n, size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return xreallocarray(NULL, n, size);
#ifdef MADV_HUGEPAGE
	(void)madvise(p, result_bytes(n, size), MADV_HUGEPAGE);   /* a hint: without huge pages it is only slower */
#endif
	*mapped = 1;
	return p;
}

static void result_free(void *p, size_t n, size_t size, int mapped)
{
	if (mapped)
		munmap(p, result_bytes(n, size));
	else
		free(p);
}

void detection_init(struct detection *det, size_t n)
{
	memset(det, 0, sizeof(*det));
	det->magic = DETECTION_MAGIC;
	det->r.abi_version = VIGIL_ABI_VERSION;
	det->r.struct_size = sizeof(det->r);
	det->r.n = det->alloc_n = n;
	/* Touch every page here, so a detector's own time excludes page faults. */
	det->r.score = result_array(n, sizeof(double), &det->mapped[0]);
	det->r.anomaly = result_array(n, 1, &det->mapped[1]);
	memset(det->r.score, 0, n * sizeof(double));
	memset(det->r.anomaly, 0, n);
	det->r.expected = result_array(n, sizeof(double), &det->mapped[2]);
	det->r.lower = result_array(n, sizeof(double), &det->mapped[3]);
	det->r.upper = result_array(n, sizeof(double), &det->mapped[4]);
	det->r.rarity = result_array(n, sizeof(double), &det->mapped[5]);
	for (size_t i = 0; i < n; i++)
		det->r.expected[i] = det->r.lower[i] = det->r.upper[i] = det->r.rarity[i] = NAN;
}

void detection_release(struct detection *det)
{
	for (size_t k = 0; k < det->n_reasons; k++)
		free(det->reasons[k].text);
	free(det->reasons);
	result_free(det->r.score, det->alloc_n, sizeof(double), det->mapped[0]);
	result_free(det->r.anomaly, det->alloc_n, 1, det->mapped[1]);
	result_free(det->r.expected, det->alloc_n, sizeof(double), det->mapped[2]);
	result_free(det->r.lower, det->alloc_n, sizeof(double), det->mapped[3]);
	result_free(det->r.upper, det->alloc_n, sizeof(double), det->mapped[4]);
	result_free(det->r.rarity, det->alloc_n, sizeof(double), det->mapped[5]);
	memset(det, 0, sizeof(*det));
}

int detection_run(const struct detector_instance *inst, const struct series *s,
                  struct detection *det, struct vigil_error *err)
{
	struct vigil_series vs = {
		.abi_version = VIGIL_ABI_VERSION,
		.struct_size = sizeof(vs),
		.name = s->name,
		.labels = s->labels,
		.n_labels = s->n_labels,
		.n = s->n,
		.ts_ms = s->ts,
		.values = s->v,
	};
	struct vigil_diag vd = { .err = err };
	size_t bad = 0, n = s->n;
	int64_t t0;

	detection_init(det, n);
	t0 = time_mono_ns();
	if (inst->entry->exec || inst->isolated) {
		int rc = inst->entry->exec ? exec_detect(inst, s, det, err) : isolate_detect(inst, s, det, err);

		if (rc) {
			vigil_error_prefix(err, "detector '%s'", inst->entry->d.name);
			return -1;
		}
	} else if (inst->entry->d.detect(inst->state, &vs, &det->r, &vd) != 0) {
		if (!vigil_error_isset(err))
			vigil_error_set(err, VIGIL_E_PLUGIN, "detector '%s' failed without a reason",
			                inst->entry->d.name);
		vigil_error_prefix(err, "detector '%s'", inst->entry->d.name);
		return -1;
	}
	det->elapsed_s = (double)(time_mono_ns() - t0) / 1e9;
	sort_reasons(det);
	if (det->r.warmup > n)
		det->r.warmup = n;
	for (size_t i = 0; i < n; i++) {
		double sc = det->r.score[i];

		if (i < det->r.warmup) {
			det->r.score[i] = 0;
			det->r.anomaly[i] = 0;
			continue;
		}
		if (!(sc >= 0)) {
			bad += !isnan(sc) ? 0 : 1;
			det->r.score[i] = 0;
		} else if (sc > 1) {
			det->r.score[i] = 1;
		}
		det->r.anomaly[i] = det->r.anomaly[i] != 0;
	}
	if (bad)
		log_debug("detect", "detector '%s' returned %zu NaN scores on '%s'; set to 0",
		          inst->entry->d.name, bad, s->name);
	return 0;
}
