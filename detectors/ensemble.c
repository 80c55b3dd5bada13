/*
 * ensemble.c - combine other detectors into one entry.
 *
 * The members are detector entries ({"detector", "params", "weight"}) that
 * the host instantiates and runs (host services of ABI 1.1).  Per point:
 *   max   score = the largest member score; flagged when any member flags;
 *   mean  score = the weighted mean of the member scores; flagged when the
 *         members flagging carry at least half of the weight;
 *   vote  flagged when the members flagging carry at least `min_votes` of
 *         weight (default: a strict majority); score = the largest s such
 *         that members scoring >= s carry `min_votes` of weight (with unit
 *         weights: the min_votes-th highest score), so a score threshold
 *         asks the same question of the scores as the vote of the flags.
 * With `threshold` set, a point is flagged when the combined score is at
 * least that instead.  Expected value and band come from the first member
 * that has them at the point; the reason of a flag names the members that
 * flagged and gives the first one's reason.  The ensemble is causal, so its
 * members must be; its warm-up is the shortest of theirs.
 * Cost: the sum of the members', plus O(n k log k) for k members.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "banned.h"

static const struct vigil_host *host;

enum combine { COMBINE_MAX, COMBINE_MEAN, COMBINE_VOTE };

struct member {
	struct vigil_instance *inst;
	double weight;
};

struct ensemble {
	struct member *m;
	size_t n;
	enum combine how;
	double min_votes;       /* in weight */
	double threshold;       /* NaN: use the members' flags */
	double total_weight;
};

#define ENSEMBLE_MAX_MEMBERS 64

static const char *const entry_keys[] = { "weight", NULL };

static double member_weight(const struct vigil_params *e)
{
	double w = 1;

	return host->param_number(e, "weight", &w) == 1 ? w : 1;
}

static int ensemble_check(const struct vigil_params *p, struct vigil_diag *d)
{
	size_t n = 0;
	double total = 0, votes, w;
	int rc = 0;

	if (host->param_count(p, "detectors", &n) != 1 || n == 0)
		return host->param_error(d, "detectors", "needs at least one detector entry");
	if (n > ENSEMBLE_MAX_MEMBERS)
		return host->param_error(d, "detectors", "at most %d members (got %zu)", ENSEMBLE_MAX_MEMBERS, n);
	for (size_t k = 0; k < n; k++) {
		const struct vigil_params *e = host->param_element(p, "detectors", k);
		char key[48];

		snprintf(key, sizeof(key), "detectors[%zu]", k);
		if (!e) {
			rc = host->param_error(d, "detectors", "member %zu is not an object", k);
			continue;
		}
		if (host->param_number(e, "weight", &w) == -1 || (host->param_number(e, "weight", &w) == 1 &&
		                                                   !(w > 0 && isfinite(w)))) {
			rc = host->param_error(d, "detectors", "member %zu: \"weight\" must be a number > 0", k);
			continue;
		}
		if (host->instance_check(e, entry_keys, d))
			rc = -1;
		total += member_weight(e);
	}
	if (rc == 0 && host->param_number(p, "min_votes", &votes) == 1 && votes > total)
		return host->param_error(d, "min_votes", "exceeds the members' total weight (%g > %g)", votes, total);
	return rc;
}

static void ensemble_destroy(void *state)
{
	struct ensemble *e = state;

	if (!e)
		return;
	for (size_t k = 0; k < e->n; k++)
		host->instance_free(e->m[k].inst);
	free(e->m);
	free(e);
}

static void *ensemble_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct ensemble *e = calloc(1, sizeof(*e));
	const char *how = "max";
	size_t n = 0;

	if (!e) {
		host->error(d, "out of memory");
		return NULL;
	}
	if (host->param_count(p, "detectors", &n) != 1 || n == 0 || n > ENSEMBLE_MAX_MEMBERS) {
		free(e);
		host->param_error(d, "detectors", "needs 1 to %d detector entries", ENSEMBLE_MAX_MEMBERS);
		return NULL;
	}
	e->m = calloc(n, sizeof(*e->m));
	if (!e->m) {
		free(e);
		host->error(d, "out of memory");
		return NULL;
	}
	for (size_t k = 0; k < n; k++) {
		const struct vigil_params *entry = host->param_element(p, "detectors", k);

		if (!entry) {
			host->param_error(d, "detectors", "member %zu is not an object", k);
			goto fail;
		}
		e->m[k].weight = member_weight(entry);
		e->m[k].inst = host->instance_new(entry, d);
		if (!e->m[k].inst)
			goto fail;
		e->n = k + 1;
		if (host->instance_flags(e->m[k].inst) & VIGIL_DETECTOR_NONCAUSAL) {
			host->error(d, "member %zu ('%s') is not causal; an ensemble must be", k,
			            host->instance_name(e->m[k].inst));
			goto fail;
		}
		e->total_weight += e->m[k].weight;
	}
	host->param_string(p, "combine", &how);
	e->how = !strcmp(how, "mean") ? COMBINE_MEAN : !strcmp(how, "vote") ? COMBINE_VOTE : COMBINE_MAX;
	e->threshold = NAN;
	host->param_number(p, "threshold", &e->threshold);
	if (host->param_number(p, "min_votes", &e->min_votes) != 1 || !(e->min_votes > 0)) {
		/* a strict majority of the weight; with unit weights floor(n / 2) + 1 */
		e->min_votes = floor(e->total_weight / 2) + 1;
		if (e->min_votes > e->total_weight)
			e->min_votes = e->total_weight;
	}
	return e;
fail:
	ensemble_destroy(e);
	return NULL;
}

struct ranked {
	double score, weight;
};

static int cmp_ranked_desc(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return (x->score < y->score) - (x->score > y->score);
}

static int ensemble_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                           struct vigil_diag *d)
{
	const struct ensemble *e = state;
	struct vigil_result **res = calloc(e->n, sizeof(*res));
	struct ranked *rk = calloc(e->n, sizeof(*rk));
	size_t warm = s->n;
	int rc = 0;

	if (!res || !rk) {
		free(res);
		free(rk);
		return host->error(d, "out of memory");
	}
	for (size_t k = 0; k < e->n; k++) {
		res[k] = host->instance_detect(e->m[k].inst, s, d);
		if (!res[k]) {
			rc = -1;
			goto out;
		}
		if (res[k]->warmup < warm)
			warm = res[k]->warmup;
	}
	for (size_t i = 0; i < s->n; i++) {
		double score = 0, flagged_w = 0, sum = 0;
		size_t first_flag = e->n, n_flag = 0;
		int flag;

		for (size_t k = 0; k < e->n; k++) {
			double sk = res[k]->score[i];

			if (res[k]->anomaly[i]) {
				flagged_w += e->m[k].weight;
				n_flag++;
				if (first_flag == e->n)
					first_flag = k;
			}
			if (isnan(r->expected[i]) && !isnan(res[k]->expected[i])) {
				r->expected[i] = res[k]->expected[i];
				r->lower[i] = res[k]->lower[i];
				r->upper[i] = res[k]->upper[i];
			}
			rk[k].score = sk;
			rk[k].weight = e->m[k].weight;
			sum += e->m[k].weight * sk;
			if (sk > score)
				score = sk;
		}
		switch (e->how) {
		case COMBINE_MAX:
			flag = n_flag > 0;
			break;
		case COMBINE_MEAN:
			score = sum / e->total_weight;
			flag = flagged_w >= 0.5 * e->total_weight;
			break;
		default: {
			double acc = 0;

			qsort(rk, e->n, sizeof(*rk), cmp_ranked_desc);
			score = 0;
			for (size_t k = 0; k < e->n; k++) {
				acc += rk[k].weight;
				if (acc >= e->min_votes) {
					score = rk[k].score;
					break;
				}
			}
			flag = flagged_w >= e->min_votes;
			break;
		}
		}
		if (!isnan(e->threshold))
			flag = score >= e->threshold;
		r->score[i] = score;
		if (!flag || i < warm)
			continue;
		r->anomaly[i] = 1;
		if (first_flag < e->n) {
			const char *why = host->result_reason(res[first_flag], i);

			host->set_reason(r, i, "%zu of %zu detectors: %s%s%s", n_flag, e->n,
			                 host->instance_name(e->m[first_flag].inst), why ? ": " : "", why ? why : "");
		} else {
			host->set_reason(r, i, "combined score %.4g of %zu detectors", score, e->n);
		}
	}
	r->warmup = warm;
out:
	for (size_t k = 0; k < e->n; k++)
		host->result_free(res[k]);
	free(res);
	free(rk);
	return rc;
}

static const struct vigil_detector ensemble_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "ensemble",
	.version = "1.0.0",
	.summary = "combine other detectors: max, weighted mean or vote of their scores and flags",
	.params_schema = "{"
		"\"detectors\": {\"type\": \"array\","
		" \"doc\": \"member entries: {\\\"detector\\\": NAME, \\\"params\\\": {...}, \\\"weight\\\": W}\"},"
		"\"combine\": {\"type\": \"string\", \"default\": \"max\", \"enum\": [\"max\", \"mean\", \"vote\"],"
		" \"doc\": \"how member scores and flags combine\"},"
		"\"min_votes\": {\"type\": \"number\", \"default\": null, \"exclusive_min\": 0,"
		" \"doc\": \"vote: weight of flagging members needed (default a strict majority)\"},"
		"\"threshold\": {\"type\": \"number\", \"default\": null, \"min\": 0, \"max\": 1,"
		" \"doc\": \"flag when the combined score is at least this (default: from the members' flags)\"}"
	"}",
	.check = ensemble_check,
	.create = ensemble_create,
	.destroy = ensemble_destroy,
	.detect = ensemble_detect,
};

static int ensemble_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	if (h->struct_size < offsetof(struct vigil_host, result_free) + sizeof(h->result_free)) {
		h->log(VIGIL_LOG_ERROR, "ensemble needs a host with detector ABI 1.1 or later");
		return -1;
	}
	host = h;
	return h->register_detector(ctx, &ensemble_detector);
}

VIGIL_PLUGIN_DEFINE("ensemble", "1.0.0", ensemble_init, NULL);
