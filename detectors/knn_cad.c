/*
 * knn_cad.c - k-nearest-neighbour conformal anomaly detection (KNN-CAD).
 *
 * Burnaev and Ishimtsev, "Conformalized density- and distance-based anomaly
 * detection in time-series data" (arXiv:1608.04585, 2016), the KNN-CAD
 * detector of the NAB scoreboard.  Each point is represented by the last
 * `dim` values (a time-delay embedding).  Its non-conformity is the sum of
 * the squared distances to its k nearest neighbours among the last
 * `training` embeddings; its p-value is the rank of that non-conformity
 * among the non-conformities of the recent embeddings (the inductive
 * conformal predictor), continued by an exponential tail (tailprob.c), and
 * the score is 1 - p.  After a point with p <= alpha is flagged, the next
 * `refractory` points score 0 (as KNN-CAD does, for one fifth of NAB's
 * probation), so one event raises one alarm.
 *
 * The metric is refit on the training embeddings every training / 2 points,
 * as KNN-CAD refits its own: "euclidean" (the default) is the plain
 * distance (the p-values do not depend on the scale, and a fixed metric
 * keeps the non-conformities of different refits comparable),
 * "mahalanobis" uses the embeddings' covariance (with a small ridge),
 * "second_moment" KNN-CAD's inverse of X'X.  The embeddings are stored transformed (x -> L^-1 (x - mean), L
 * the Cholesky factor of the matrix) so each distance is a plain Euclidean
 * one.  On NAB the scaled Euclidean distance does best: whitening gives the
 * noise directions of smooth embeddings as much weight as the signal.  Causal: the metric and the training set come from earlier points.
 * An embedding with a missing or infinite value is not scored.
 * O(n training dim) time, O(training dim) memory.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "kit.h"
#include "tailprob.h"
#include "banned.h"

static const struct vigil_host *host;

#define KNN_MAX_DIM 64
#define KNN_RIDGE 1e-6

enum knn_metric { METRIC_MAHALANOBIS, METRIC_SECOND_MOMENT, METRIC_EUCLIDEAN };

struct knn {
	size_t dim, k, training, refractory;
	double alpha;
	enum knn_metric metric;
};

static void *knn_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct knn *s = calloc(1, sizeof(*s));
	double v;

	if (!s) {
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "dim", &v);
	s->dim = (size_t)v;
	host->param_number(p, "k", &v);
	s->k = (size_t)v;
	host->param_number(p, "training", &v);
	s->training = (size_t)v;
	host->param_number(p, "refractory", &v);
	s->refractory = (size_t)v;
	host->param_number(p, "alpha", &s->alpha);
	{
		const char *m = "euclidean";

		host->param_string(p, "metric", &m);
		s->metric = !strcmp(m, "euclidean") ? METRIC_EUCLIDEAN :
		            !strcmp(m, "second_moment") ? METRIC_SECOND_MOMENT : METRIC_MAHALANOBIS;
	}
	return s;
}

static int knn_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double k, t;

	if (host->param_number(p, "k", &k) == 1 && host->param_number(p, "training", &t) == 1 && k + 1 >= t)
		return host->param_error(d, "k", "must be below training - 1 (%g >= %g)", k, t - 1);
	return 0;
}

/* One detect() call's model. */
struct knn_run {
	size_t dim, cap, n, head;
	enum knn_metric metric;
	double *raw;        /* cap x dim: the embeddings as they came */
	double *white;      /* cap x dim: whitened with the current metric */
	double mean[KNN_MAX_DIM];
	double chol[KNN_MAX_DIM * KNN_MAX_DIM];   /* lower-triangular L, covariance = L L^T */
	double *dist;       /* cap scratch */
};

/* Cholesky of the dim x dim a (lower triangle) in place; 0, or -1 if not positive definite. */
static int cholesky(double *a, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		double s = a[j * n + j];

		for (size_t k = 0; k < j; k++)
			s -= a[j * n + k] * a[j * n + k];
		if (!(s > 0))
			return -1;
		a[j * n + j] = sqrt(s);
		for (size_t i = j + 1; i < n; i++) {
			double t = a[i * n + j];

			for (size_t k = 0; k < j; k++)
				t -= a[i * n + k] * a[j * n + k];
			a[i * n + j] = t / a[j * n + j];
		}
	}
	return 0;
}

/* out = L^-1 (e - mean) by forward substitution. */
static void whiten(const struct knn_run *kr, const double *e, double *out)
{
	size_t n = kr->dim;

	for (size_t i = 0; i < n; i++) {
		double t = e[i] - kr->mean[i];

		for (size_t k = 0; k < i; k++)
			t -= kr->chol[i * n + k] * out[k];
		out[i] = t / kr->chol[i * n + i];
	}
}

/*
 * The metric from the stored embeddings: mean, covariance plus a ridge
 * relative to its trace, Cholesky; then re-whiten every stored embedding.
 */
static void refit_metric(struct knn_run *kr)
{
	size_t n = kr->dim, m = kr->n;
	double *c = kr->chol, trace = 0;

	memset(kr->mean, 0, sizeof(kr->mean));
	memset(c, 0, n * n * sizeof(double));
	if (kr->metric == METRIC_MAHALANOBIS)
		for (size_t t = 0; t < m; t++)
			for (size_t i = 0; i < n; i++)
				kr->mean[i] += kr->raw[t * n + i] / (double)m;
	for (size_t t = 0; t < m; t++) {
		const double *e = kr->raw + t * n;

		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j <= i; j++)
				c[i * n + j] += (e[i] - kr->mean[i]) * (e[j] - kr->mean[j]);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j <= i; j++)
			c[i * n + j] /= (double)(m > 1 ? m - 1 : 1);
		trace += c[i * n + i];
	}
	for (size_t i = 0; i < n; i++)
		c[i * n + i] += KNN_RIDGE * (trace > 0 ? trace / (double)n : 1) + 1e-300;
	if (kr->metric == METRIC_EUCLIDEAN) {
		/*
		 * The identity: the conformal p-values do not depend on the scale,
		 * and a fixed metric keeps the non-conformities comparable across
		 * refits.
		 */
		memset(c, 0, n * n * sizeof(double));
		for (size_t i = 0; i < n; i++)
			c[i * n + i] = 1;
	} else if (cholesky(c, n)) {
		/* degenerate (constant data): Euclidean distances */
		memset(c, 0, n * n * sizeof(double));
		for (size_t i = 0; i < n; i++)
			c[i * n + i] = 1;
	}
	for (size_t t = 0; t < m; t++)
		whiten(kr, kr->raw + t * n, kr->white + t * n);
}

/* Sum of the k smallest squared distances from w to the stored embeddings, skipping `self` (or none). */
static double ncm(struct knn_run *kr, const double *w, size_t k, size_t self)
{
	size_t n = kr->dim, m = 0;
	double sum = 0;

	for (size_t t = 0; t < kr->n; t++) {
		const double *q = kr->white + t * n;
		double d2 = 0;

		if (t == self)
			continue;
		for (size_t i = 0; i < n; i++)
			d2 += (w[i] - q[i]) * (w[i] - q[i]);
		kr->dist[m++] = d2;
	}
	if (k > m)
		k = m;
	if (!k)
		return 0;
	kit_select(kr->dist, m, k - 1);
	for (size_t t = 0; t < k; t++)
		sum += kr->dist[t];
	return sum;
}

static int knn_detect(const void *state, const struct vigil_series *ser, struct vigil_result *r,
                      struct vigil_diag *d)
{
	const struct knn *s = state;
	const double *x = ser->values;
	size_t n = ser->n, dim = s->dim, warm = n, since_fit = 0, quiet_until = 0;
	struct knn_run kr;
	struct tailprob tp;
	int fitted = 0, have_ref = 0, ref_exp = 0;
	double ref = 0, last = 0, filled[KNN_MAX_DIM];
	size_t bad = 0;

	memset(&kr, 0, sizeof(kr));
	kr.dim = dim;
	kr.cap = s->training;
	kr.metric = s->metric;
	kr.raw = malloc(kr.cap * dim * sizeof(double));
	kr.white = malloc(kr.cap * dim * sizeof(double));
	kr.dist = malloc(kr.cap * sizeof(double));
	if (!kr.raw || !kr.white || !kr.dist || tailprob_init(&tp, s->training, 0.1)) {
		free(kr.raw);
		free(kr.white);
		free(kr.dist);
		return host->error(d, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		double e[KNN_MAX_DIM], w[KNN_MAX_DIM], p, a;
		int ok;

		/* causal fill: the last finite value so far */
		if (isfinite(x[i])) {
			if (!have_ref) {
				/* relative to the first value, scaled by its binary exponent: no overflow near 1e308 */
				ref = x[i];
				ref_exp = ref != 0 ? ilogb(ref) : 0;
				have_ref = 1;
			}
			last = ldexp(x[i] - ref, -ref_exp);
		}
		filled[i % dim] = have_ref ? last : NAN;
		bad += !isfinite(x[i]);
		if (i >= dim)
			bad -= !isfinite(x[i - dim]);
		/* the embedding: the current point present, at most a quarter of it missing */
		ok = i + 1 >= dim && isfinite(x[i]) && 4 * bad <= dim;
		for (size_t j = 0; j < dim && ok; j++) {
			e[j] = filled[(i + 1 + j) % dim];
			ok &= !isnan(e[j]);
		}
		if (!fitted && kr.n == kr.cap) {
			/* training set complete: the metric, then the calibration non-conformities */
			refit_metric(&kr);
			for (size_t t = 0; t < kr.n; t++)
				tailprob_push(&tp, ncm(&kr, kr.white + t * dim, s->k, t));
			fitted = 1;
			since_fit = 0;
			warm = i;
		}
		if (i + 1 < dim)
			continue;
		if (!ok) {
			if (isinf(x[i]) && fitted) {
				r->score[i] = 1;
				r->anomaly[i] = 1;
				host->set_reason(r, i, "infinite value");
			}
			continue;
		}
		if (!fitted) {
			memcpy(kr.raw + kr.n * dim, e, dim * sizeof(double));
			kr.n++;
			continue;
		}
		if (++since_fit >= kr.cap / 2) {
			since_fit = 0;
			refit_metric(&kr);
		}
		whiten(&kr, e, w);
		a = ncm(&kr, w, s->k, SIZE_MAX);
		p = tailprob_p(&tp, a);
		tailprob_push(&tp, a);
		/* the embedding joins the training set, replacing the oldest */
		memcpy(kr.raw + kr.head * dim, e, dim * sizeof(double));
		memcpy(kr.white + kr.head * dim, w, dim * sizeof(double));
		kr.head = (kr.head + 1) % kr.cap;
		if (i < quiet_until)
			continue;
		r->score[i] = 1 - p;
		if (p <= s->alpha) {
			r->anomaly[i] = 1;
			host->set_reason(r, i, "the last %zu points are far from their %zu nearest neighbours (p = %.2g)",
			                 dim, s->k, p);
			quiet_until = i + 1 + s->refractory;
		}
	}
	r->warmup = warm;
	tailprob_release(&tp);
	free(kr.raw);
	free(kr.white);
	free(kr.dist);
	return 0;
}

static const struct vigil_detector knn_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "knn_cad",
	.version = "1.0.0",
	.summary = "k-nearest-neighbour conformal anomaly detection on time-delay embeddings (KNN-CAD)",
	.params_schema = "{"
		"\"dim\": {\"type\": \"integer\", \"default\": 19, \"min\": 1, \"max\": 64,"
		" \"doc\": \"values per embedding (the last dim points)\"},"
		"\"k\": {\"type\": \"integer\", \"default\": 27, \"min\": 1, \"max\": 10000,"
		" \"doc\": \"nearest neighbours summed into the non-conformity\"},"
		"\"training\": {\"type\": \"integer\", \"default\": 300, \"min\": 10, \"max\": 100000,"
		" \"doc\": \"recent embeddings that are the neighbours and the calibration set\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.0035, \"exclusive_min\": 0, \"max\": 1,"
		" \"doc\": \"flag when the conformal p-value is at most this (KNN-CAD: 0.0035)\"},"
		"\"metric\": {\"type\": \"string\", \"default\": \"euclidean\","
		" \"enum\": [\"mahalanobis\", \"second_moment\", \"euclidean\"],"
		" \"doc\": \"distance: euclidean, mahalanobis (covariance-whitened) or second_moment (KNN-CAD's inverse of X'X)\"},"
		"\"refractory\": {\"type\": \"integer\", \"default\": 60, \"min\": 0, \"max\": 1000000,"
		" \"doc\": \"points that score 0 after a flag\"}"
	"}",
	.check = knn_check,
	.create = knn_create,
	.destroy = free,
	.detect = knn_detect,
};

static int knn_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &knn_detector);
}

VIGIL_PLUGIN_DEFINE("knn_cad", "1.0.0", knn_init, NULL);
