/*
 * spectral_residual.c - spectral residual saliency (Microsoft's SR).
 *
 * Ren et al., "Time-Series Anomaly Detection Service at Microsoft", KDD
 * 2019, section 4.1, and Microsoft's reference implementation
 * (anomalydetector, spectral_residual_transform): for a sequence x, with A
 * and P the amplitude and phase of its Fourier transform,
 *   L = log A,  R = L - h_q * L  (h_q: a trailing mean of q log-amplitudes),
 *   S = |IFFT(exp(R + i P))|    (the saliency map),
 * and a point is salient when (S - mean S) / mean S over the last z points
 * is large.  The sequence is first extended by m points predicted from the
 * average slope of the last ones, so the point of interest is not at the
 * edge of the transform.
 *
 * Causal with a sliding window: point i is scored on the window of the
 * `window` points ending at i (gaps interpolated), so its saliency uses no
 * later point.  The statistic is the saliency ratio of the last point; the
 * score is 1 - p, p its tail probability among the last `calibration`
 * ratios (tailprob.c), and the point is flagged when the ratio reaches
 * `threshold` (the paper's tau) and p <= alpha: on seasonal data the ratio
 * alone passes 3 every hundred points or so.  The saliency has no direction, nor has
 * this detector.  O(n w log w) time (two FFTs of w + m points per point),
 * O(w) memory; GSL's mixed-radix FFT, fast when w + m has only the factors
 * 2, 3, 5 and 7 (the default 123 + 5 = 128).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_fft_complex.h>
#include <vigil/detector.h>

#include "period.h"
#include "tailprob.h"
#include "banned.h"

static const struct vigil_host *host;

#define SR_EXTEND 5          /* m, the points predicted past the end */
#define SR_LOOK_AHEAD 5      /* points the predicted slope is averaged over */
#define SR_EPS 1e-8

struct sr {
	size_t window, mag_window, score_window, calibration, min_history;
	double threshold, alpha;
	gsl_fft_complex_wavetable *wt;   /* read-only after create: shared by concurrent detect()s */
};

static void *sr_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct sr *s = calloc(1, sizeof(*s));
	double v;

	if (!s) {
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "window", &v);
	s->window = (size_t)v;
	host->param_number(p, "mag_window", &v);
	s->mag_window = (size_t)v;
	host->param_number(p, "score_window", &v);
	s->score_window = (size_t)v;
	host->param_number(p, "calibration", &v);
	s->calibration = (size_t)v;
	host->param_number(p, "min_history", &v);
	s->min_history = (size_t)v;
	host->param_number(p, "threshold", &s->threshold);
	host->param_number(p, "alpha", &s->alpha);
	s->wt = gsl_fft_complex_wavetable_alloc(s->window + SR_EXTEND);
	if (!s->wt) {
		free(s);
		host->error(d, "out of memory");
		return NULL;
	}
	return s;
}

static int sr_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double w, z;

	if (host->param_number(p, "window", &w) == 1 && host->param_number(p, "score_window", &z) == 1 && z > w)
		return host->param_error(d, "score_window", "must not exceed window (%g > %g)", z, w);
	return 0;
}

static void sr_destroy(void *state)
{
	struct sr *s = state;

	gsl_fft_complex_wavetable_free(s->wt);
	free(s);
}

/* Microsoft's average_filter: trailing mean of n, the first n - 1 averaged over what there is. */
static void average_filter(const double *v, size_t len, size_t n, double *out)
{
	double sum = 0;

	if (n > len)
		n = len;
	for (size_t i = 0; i < len; i++) {
		sum += v[i];
		if (i >= n)
			sum -= v[i - n];
		out[i] = sum / (double)(i + 1 < n ? i + 1 : n);
	}
}

/* Scratch of one detect() call. */
struct sr_work {
	double *seq;       /* the window, extended */
	double *z;         /* packed complex, N */
	double *mag, *logmag, *avg;
	gsl_fft_complex_workspace *ws;
};

/*
 * The saliency ratio of the last point of seq[0..w) (finite values): extend,
 * transform, keep the spectral residual, transform back, compare the last
 * saliency with the trailing mean of score_window saliencies.
 */
static double saliency_ratio(const struct sr *s, struct sr_work *wk, size_t w)
{
	size_t N = w + SR_EXTEND;
	double *seq = wk->seq, *z = wk->z, *mag = wk->mag, *lm = wk->logmag, *avg = wk->avg;
	double next, sl = 0, ave;

	/* predict_next over the last look_ahead + 1 points, excluding the very last as MS does */
	{
		const double *v = seq + w - SR_LOOK_AHEAD - 2;
		size_t nv = SR_LOOK_AHEAD + 1;
		double last = v[nv - 1];

		for (size_t i = 0; i + 1 < nv; i++)
			sl += (last - v[i]) / (double)(nv - 1 - i);
		next = v[1] + sl;
	}
	for (size_t i = w; i < N; i++)
		seq[i] = next;
	/* the saliency is scale-free: scale to at most 1 so no square overflows */
	{
		double big = 0;

		for (size_t i = 0; i < N; i++)
			if (fabs(seq[i]) > big)
				big = fabs(seq[i]);
		if (!(big > 0) || !isfinite(big))
			big = 1;
		for (size_t i = 0; i < N; i++) {
			z[2 * i] = seq[i] / big;
			z[2 * i + 1] = 0;
		}
	}
	gsl_fft_complex_forward(z, 1, N, s->wt, wk->ws);
	for (size_t k = 0; k < N; k++) {
		double m = sqrt(z[2 * k] * z[2 * k] + z[2 * k + 1] * z[2 * k + 1]);

		mag[k] = m;
		lm[k] = m <= SR_EPS ? 0 : log(m);
	}
	average_filter(lm, N, s->mag_window, avg);
	for (size_t k = 0; k < N; k++) {
		if (mag[k] <= SR_EPS) {
			z[2 * k] = z[2 * k + 1] = 0;
			continue;
		}
		double f = exp(lm[k] - avg[k]) / mag[k];

		z[2 * k] *= f;
		z[2 * k + 1] *= f;
	}
	gsl_fft_complex_inverse(z, 1, N, s->wt, wk->ws);
	for (size_t i = 0; i < w; i++)
		mag[i] = sqrt(z[2 * i] * z[2 * i] + z[2 * i + 1] * z[2 * i + 1]);
	/* the trailing mean of the saliency at the last real point */
	{
		size_t zn = s->score_window < w ? s->score_window : w;
		double sum = 0;

		for (size_t i = w - zn; i < w; i++)
			sum += mag[i];
		ave = sum / (double)zn;
	}
	if (ave <= SR_EPS)
		ave = SR_EPS;
	return fabs(mag[w - 1] - ave) / ave;
}

static int sr_detect(const void *state, const struct vigil_series *ser, struct vigil_result *r,
                     struct vigil_diag *d)
{
	const struct sr *s = state;
	const double *x = ser->values;
	size_t n = ser->n, w = s->window, N = w + SR_EXTEND, warm = n;
	struct sr_work wk;
	struct tailprob tp;
	int rc = 0;

	memset(&wk, 0, sizeof(wk));
	wk.seq = malloc(N * sizeof(double));
	wk.z = malloc(2 * N * sizeof(double));
	wk.mag = malloc(N * sizeof(double));
	wk.logmag = malloc(N * sizeof(double));
	wk.avg = malloc(N * sizeof(double));
	wk.ws = gsl_fft_complex_workspace_alloc(N);
	if (!wk.seq || !wk.z || !wk.mag || !wk.logmag || !wk.avg || !wk.ws ||
	    tailprob_init(&tp, s->calibration, 0.1)) {
		rc = host->error(d, "out of memory");
		goto out_nocalib;
	}
	/* the warm-up: a full window, then min_history ratios to calibrate on */
	for (size_t i = w - 1; i < n; i++) {
		double v = x[i], ratio, p;
		size_t finite;

		if (warm == n && tp.n >= s->min_history)
			warm = i;
		if (isnan(v))
			continue;
		if (isinf(v)) {
			if (i < warm)
				continue;
			r->score[i] = 1;
			r->anomaly[i] = 1;
			host->set_reason(r, i, "infinite value");
			continue;
		}
		finite = period_fill_gaps(x + i + 1 - w, w, wk.seq);
		if (finite < w / 2)
			continue;
		ratio = saliency_ratio(s, &wk, w);
		if (!isfinite(ratio))
			continue;
		p = tailprob_p(&tp, ratio);
		tailprob_push(&tp, ratio);
		if (i < warm)
			continue;
		r->score[i] = 1 - p;
		if (ratio >= s->threshold && p <= s->alpha) {
			r->anomaly[i] = 1;
			host->set_reason(r, i, "spectral residual saliency %.3g times its local mean", ratio + 1);
		}
	}
	r->warmup = warm;
	tailprob_release(&tp);
out_nocalib:
	free(wk.seq);
	free(wk.z);
	free(wk.mag);
	free(wk.logmag);
	free(wk.avg);
	if (wk.ws)
		gsl_fft_complex_workspace_free(wk.ws);
	return rc;
}

static const struct vigil_detector sr_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "spectral_residual",
	.version = "1.0.0",
	.summary = "spectral residual saliency of a sliding window (Microsoft's SR, Ren et al. 2019)",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 123, \"min\": 16, \"max\": 65536,"
		" \"doc\": \"points of the sliding window (fastest when window + 5 has only factors 2, 3, 5, 7)\"},"
		"\"mag_window\": {\"type\": \"integer\", \"default\": 3, \"min\": 1, \"max\": 1000,"
		" \"doc\": \"q: log-amplitudes averaged for the residual\"},"
		"\"score_window\": {\"type\": \"integer\", \"default\": 21, \"min\": 1, \"max\": 65536,"
		" \"doc\": \"z: saliencies averaged for the ratio\"},"
		"\"threshold\": {\"type\": \"number\", \"default\": 3, \"exclusive_min\": 0,"
		" \"doc\": \"tau: flag only a saliency ratio at least this\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.001, \"exclusive_min\": 0, \"max\": 1,"
		" \"doc\": \"and only when the ratio's tail probability is at most this\"},"
		"\"calibration\": {\"type\": \"integer\", \"default\": 1000, \"min\": 1, \"max\": 1000000,"
		" \"doc\": \"past ratios the score's tail probability is calibrated on\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 100, \"min\": 0, \"max\": 1000000,"
		" \"doc\": \"ratios computed before scoring starts\"}"
	"}",
	.check = sr_check,
	.create = sr_create,
	.destroy = sr_destroy,
	.detect = sr_detect,
};

static int sr_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &sr_detector);
}

VIGIL_PLUGIN_DEFINE("spectral_residual", "1.0.0", sr_init, NULL);
