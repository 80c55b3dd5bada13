/*
 * changepoint.c - Bayesian online change point detection (Adams and MacKay
 * 2007, "Bayesian Online Changepoint Detection", arXiv:0710.3742).
 *
 * The series is a sequence of segments; within a segment values are
 * normal with unknown mean and variance (a Normal-Gamma prior, so the
 * predictive of the next value given a run of n values is Student's t with
 * 2 alpha_n degrees of freedom, Murphy 2007 "Conjugate Bayesian analysis of
 * the Gaussian distribution", 3.5); a new segment starts before each point
 * with constant probability H = 1 / expected_run.  After each point the
 * posterior over the run length (how many points the current segment has)
 * is updated exactly: every hypothesis grows by one with weight
 * (1 - H) x predictive, and a new, empty run gets H.
 *
 * The first `warmup` finite values fix the units: values are standardised
 * by their median and robust sd (chart.h), the prior of a new segment is
 * centred there (mean ~ N(0, 1 / (kappa0 tau)), precision tau ~ Gamma(1, 1),
 * kappa0 = 0.01: a new segment may sit anywhere within about ten warm-up sds
 * and has about the warm-up's noise), and the warm-up itself is the
 * first run, so scoring starts with a confident model.
 *
 * Score of point i: the posterior probability, given points 0..i, that a
 * segment started at one of the last `max_lag` points (i included): the
 * probability of a change "now", allowing for the few points the evidence
 * for a small change needs to accumulate.  With max_lag 1 it is the
 * probability that i starts a new segment.  Flags: one per change, at the
 * first point where the score reaches `threshold`; the next flag needs
 * max_lag points below it first (common.h, struct onset).  expected is the predictive mean (over all run lengths), the band
 * +- 3 predictive sds of the most probable run.
 *
 * Pruning keeps the cost O(n R): run lengths whose probability falls below
 * 1e-12 are dropped, and when more than `max_runs` remain the least
 * probable goes (never the newest).  Missing values change nothing;
 * infinite ones are flagged and skipped.  O(R) state.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "chart.h"
#include "common.h"
#include "banned.h"

#define PRIOR_KAPPA 0.01
#define PRIOR_ALPHA 1.0
#define PRIOR_BETA 1.0
#define PRUNE_BELOW 1e-12
/* c(nu) = lgamma((nu + 1) / 2) - lgamma(nu / 2) is tabulated for runs up to this many points. */
#define LGAMMA_TABLE 4096

static const struct vigil_host *host;

struct changepoint {
	double hazard, threshold;
	size_t warmup, max_lag, max_runs;
	double *c;              /* c(2 alpha0 + n) for n < LGAMMA_TABLE */
};

/* One run-length hypothesis: a segment that started at point `start`. */
struct run {
	size_t start, n;        /* first point, finite values seen */
	double mean, m2;        /* Welford sums of the standardised values */
	double mass;            /* posterior probability */
	double lp;              /* scratch: log predictive of the current value */
};

static int changepoint_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double w, l, r;

	if (host->param_number(p, "warmup", &w) == 1 && host->param_number(p, "max_lag", &l) == 1 && l >= w)
		return host->param_error(d, "max_lag", "must be below warmup (%g >= %g)", l, w);
	if (host->param_number(p, "max_runs", &r) == 1 && host->param_number(p, "max_lag", &l) == 1 &&
	    r < l + 2)
		return host->param_error(d, "max_runs", "must be at least max_lag + 2 (%g < %g)", r, l + 2);
	return 0;
}

static void changepoint_destroy(void *state)
{
	struct changepoint *c = state;

	if (!c)
		return;
	free(c->c);
	free(c);
}

static void *changepoint_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct changepoint *c = calloc(1, sizeof(*c));
	double v;

	if (!c || !(c->c = malloc(LGAMMA_TABLE * sizeof(*c->c)))) {
		free(c);
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "expected_run", &v);
	c->hazard = 1 / v;
	host->param_number(p, "threshold", &c->threshold);
	host->param_number(p, "warmup", &v);
	c->warmup = (size_t)v;
	host->param_number(p, "max_lag", &v);
	c->max_lag = (size_t)v;
	host->param_number(p, "max_runs", &v);
	c->max_runs = (size_t)v;
	for (size_t n = 0; n < LGAMMA_TABLE; n++) {
		double nu = 2 * PRIOR_ALPHA + (double)n;
		int sign;

		c->c[n] = lgamma_r((nu + 1) / 2, &sign) - lgamma_r(nu / 2, &sign);
	}
	return c;
}

/* lgamma((nu + 1) / 2) - lgamma(nu / 2) for a run of n values: the table, or its asymptotic series. */
static double lgamma_ratio(const struct changepoint *c, size_t n)
{
	double nu = 2 * PRIOR_ALPHA + (double)n;

	if (n < LGAMMA_TABLE)
		return c->c[n];
	return 0.5 * log(nu / 2) - 1 / (4 * nu) + 1 / (24 * nu * nu * nu);
}

/* The Student t predictive of a run: location, squared scale, dof. */
static void predictive(const struct run *h, double *loc, double *scale2, double *nu)
{
	double n = (double)h->n, kappa = PRIOR_KAPPA + n, alpha = PRIOR_ALPHA + n / 2;
	double beta = PRIOR_BETA + h->m2 / 2 + PRIOR_KAPPA * n * h->mean * h->mean / (2 * kappa);

	*loc = n * h->mean / kappa;
	*scale2 = beta * (kappa + 1) / (alpha * kappa);
	*nu = 2 * alpha;
}

/* Drop runs below PRUNE_BELOW, then the least probable ones beyond max_runs (never the last, newest). */
static size_t prune(const struct changepoint *c, struct run *runs, size_t k)
{
	size_t o = 0;

	for (size_t j = 0; j < k; j++)
		if (runs[j].mass >= PRUNE_BELOW || j == k - 1)
			runs[o++] = runs[j];
	while (o > c->max_runs) {
		size_t worst = 0;

		for (size_t j = 1; j + 1 < o; j++)
			if (runs[j].mass < runs[worst].mass)
				worst = j;
		memmove(runs + worst, runs + worst + 1, (o - worst - 1) * sizeof(*runs));
		o--;
	}
	return o;
}

static int changepoint_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                              struct vigil_diag *d)
{
	const struct changepoint *c = state;
	const double *x = s->values;
	double *score = r->score, *expected = r->expected, *lower = r->lower, *upper = r->upper;
	uint8_t *anomaly = r->anomaly;
	size_t n = s->n, warm = n, k = 0, first = n;
	struct run *runs = malloc((c->max_runs + 2) * sizeof(*runs));
	struct chart_baseline b;
	struct onset on;

	if (!runs || baseline_init(&b, c->warmup)) {
		free(runs);
		return host->error(d, "out of memory for %zu run lengths", c->max_runs);
	}
	onset_init(&on, c->max_lag);
	for (size_t i = 0; i < n; i++) {
		double v = x[i], u, best = -INFINITY, total = 0, recent = 0, mix = 0, total_mass = 0;
		size_t map = 0, recent_start = i;
		double recent_best = -1;

		if (!b.ready) {
			if (isfinite(v) && first == n)
				first = i;
			if (!baseline_feed(&b, v))
				continue;
			if (!(b.sd > 0))
				b.sd = 1e-9 * fmax(1, fabs(b.mu));
			/* the warm-up is the first run; a new one may start after it */
			runs[0] = (struct run){ .start = first };
			for (size_t j = 0; j < b.have; j++) {
				double z = (b.buf[j] - b.mu) / b.sd, delta = z - runs[0].mean;

				runs[0].n++;
				runs[0].mean += delta / (double)runs[0].n;
				runs[0].m2 += delta * (z - runs[0].mean);
			}
			runs[0].mass = 1 - c->hazard;
			runs[1] = (struct run){ .start = i + 1, .mass = c->hazard };
			k = 2;
			continue;
		}
		if (warm == n)
			warm = i;
		/* the predictive of x[i] from points before it */
		for (size_t j = 0; j < k; j++) {
			if (runs[j].mass > runs[map].mass)
				map = j;
			if (runs[j].n) {
				double loc, s2, nu;

				predictive(&runs[j], &loc, &s2, &nu);
				mix += runs[j].mass * loc;
				total_mass += runs[j].mass;
			}
		}
		{
			double loc, s2, nu;

			predictive(&runs[map], &loc, &s2, &nu);
			expected[i] = b.mu + b.sd * (total_mass > 0 ? mix / total_mass : loc);
			if (nu > 2) {
				double sd = sqrt(s2 * nu / (nu - 2));

				lower[i] = b.mu + b.sd * (loc - 3 * sd);
				upper[i] = b.mu + b.sd * (loc + 3 * sd);
			}
		}
		if (isnan(v))
			continue;
		u = (v - b.mu) / b.sd;
		if (!isfinite(u)) {
			score[i] = 1;
			anomaly[i] = 1;
			host->set_reason(r, i, "infinite value (%g)", v);
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			double loc, s2, nu, dv;

			predictive(&runs[j], &loc, &s2, &nu);
			dv = u - loc;
			runs[j].lp = lgamma_ratio(c, runs[j].n) - 0.5 * log(nu * M_PI * s2) -
			             (nu + 1) / 2 * log1p(dv * dv / (nu * s2));
			if (runs[j].lp > best)
				best = runs[j].lp;
		}
		/* grow every run by x[i]; the posterior given 0..i */
		for (size_t j = 0; j < k; j++) {
			struct run *h = &runs[j];
			double delta = u - h->mean;

			h->mass *= exp(h->lp - best);
			total += h->mass;
			if (h->start + c->max_lag > i) {
				recent += h->mass;
				if (h->mass > recent_best) {
					recent_best = h->mass;
					recent_start = h->start;
				}
			}
			h->n++;
			h->mean += delta / (double)h->n;
			h->m2 += delta * (u - h->mean);
		}
		if (!(total > 0)) {   /* cannot happen with finite u; keep the model sane anyway */
			runs[0] = runs[map];
			runs[0].mass = 1;
			total = 1;
			k = 1;
		}
		for (size_t j = 0; j < k; j++)
			runs[j].mass *= (1 - c->hazard) / total;
		runs[k++] = (struct run){ .start = i + 1, .mass = c->hazard };
		k = prune(c, runs, k);

		score[i] = recent / total;
		if (onset_step(&on, score[i] >= c->threshold)) {
			anomaly[i] = 1;
			host->set_reason(r, i, "change point: probability %.3f of a new segment in the last %zu points,"
			                 " most likely since %zu points ago", score[i], c->max_lag,
			                 i - recent_start);
		}
	}
	r->warmup = warm;
	baseline_release(&b);
	free(runs);
	return 0;
}

static const struct vigil_detector changepoint_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "changepoint",
	.version = "1.0.0",
	.summary = "Bayesian online change point detection (Adams-MacKay, Normal-Gamma model)",
	.params_schema = "{"
		"\"expected_run\": {\"type\": \"number\", \"default\": 250, \"min\": 2,"
		" \"doc\": \"expected points between changes (the hazard is its inverse)\"},"
		"\"threshold\": {\"type\": \"number\", \"default\": 0.9, \"exclusive_min\": 0, \"max\": 1,"
		" \"doc\": \"flag when the probability of a recent change reaches this\"},"
		"\"max_lag\": {\"type\": \"integer\", \"default\": 10, \"min\": 1, \"max\": 1000,"
		" \"doc\": \"a change counts as recent for this many points after it\"},"
		"\"warmup\": {\"type\": \"integer\", \"default\": 50, \"min\": 5, \"max\": 1000000,"
		" \"doc\": \"finite points that fix the units and form the first segment\"},"
		"\"max_runs\": {\"type\": \"integer\", \"default\": 20, \"min\": 3, \"max\": 100000,"
		" \"doc\": \"run-length hypotheses kept (the cost per point)\"}"
	"}",
	.check = changepoint_check,
	.create = changepoint_create,
	.destroy = changepoint_destroy,
	.detect = changepoint_detect,
};

static int changepoint_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &changepoint_detector);
}

VIGIL_PLUGIN_DEFINE("changepoint", "1.0.0", changepoint_init, NULL);
