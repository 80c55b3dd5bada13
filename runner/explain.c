/*
 * explain.c - root-cause hints for an incident group: the built-in ranking
 * of shared label values (one-sided Fisher exact test), the series that
 * moved first, and the dispatch to a job's explain executable (explain.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec-detector.h"
#include "explain.h"
#include "log.h"
#include "spec.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

/* --- counting label pairs ---------------------------------------------- */

struct pair {
	const char *key, *value;   /* borrowed from the input */
	size_t anomalous, normal;
	double log_p;              /* natural log of the one-sided p-value */
};

/* Open addressing over the pairs held by anomalous series (the only candidates). */
struct pair_table {
	struct pair *v;
	size_t n, cap;             /* cap: a power of two */
	size_t *slots;             /* index + 1 into v; 0: empty */
};

static uint64_t pair_hash(const char *key, const char *value)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *s = (const unsigned char *)key; *s; s++)
		h = (h ^ *s) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;   /* a byte no UTF-8 text holds separates key and value */
	for (const unsigned char *s = (const unsigned char *)value; *s; s++)
		h = (h ^ *s) * 1099511628211ull;
	return h;
}

/* The slot of key=value: its pair (index + 1), or the empty slot where it would go. */
static size_t *pair_slot(struct pair_table *t, const char *key, const char *value)
{
	size_t i = (size_t)pair_hash(key, value) & (t->cap - 1);

	while (t->slots[i]) {
		const struct pair *p = &t->v[t->slots[i] - 1];

		if (!strcmp(p->key, key) && !strcmp(p->value, value))
			break;
		i = (i + 1) & (t->cap - 1);
	}
	return &t->slots[i];
}

static void table_init(struct pair_table *t, size_t max_pairs)
{
	t->cap = 16;
	while (t->cap < 2 * max_pairs)
		t->cap <<= 1;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	t->v = xcalloc(max_pairs ? max_pairs : 1, sizeof(*t->v));
	t->n = 0;
}

static void table_release(struct pair_table *t)
{
	free(t->slots);
	free(t->v);
}

/* --- the statistic ------------------------------------------------------ */

static double lchoose(double n, double k)
{
	return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
}

/*
 * log P(X >= a) for X hypergeometric: n_anom draws from total series of
 * which with_pair have the pair.  The first term is exact (log-gamma); the
 * others follow by the ratio P(k+1)/P(k), so the tail costs one pass and
 * does not underflow for tiny p-values.
 */
static double fisher_log_p(size_t a, size_t with_pair, size_t n_anom, size_t total)
{
	double K = (double)with_pair, n = (double)n_anom, N = (double)total;
	size_t hi = with_pair < n_anom ? with_pair : n_anom;
	double log_first = lchoose(K, (double)a) + lchoose(N - K, n - (double)a) - lchoose(N, n);
	double sum = 1, term = 1;

	for (size_t k = a; k < hi; k++) {
		double kk = (double)k;

		term *= (K - kk) * (n - kk) / ((kk + 1) * (N - K - n + kk + 1));
		sum += term;
		if (term < sum * 1e-17)
			break;
	}
	return fmin(0, log_first + log(sum));
}

static int pair_better(const void *pa, const void *pb)
{
	const struct pair *a = pa, *b = pb;
	int c;

	if (a->log_p != b->log_p)
		return a->log_p < b->log_p ? -1 : 1;
	if (a->anomalous != b->anomalous)
		return a->anomalous > b->anomalous ? -1 : 1;
	if ((c = strcmp(a->key, b->key)))
		return c;
	return strcmp(a->value, b->value);
}

static json_t *contributor_json(const struct pair *p, size_t n_anom, size_t n_norm)
{
	struct strbuf text = STRBUF_INIT;
	double p_value = exp(p->log_p);
	json_t *c;

	strbuf_addf(&text, "%zu of %zu anomalous series have %s=\"%s\"; %zu of %zu normal one%s", p->anomalous,
	            n_anom, p->key, p->value, p->normal, n_norm, n_norm == 1 ? "" : "s");
	c = json_pack("{s:s, s:s, s:I, s:I, s:f, s:f, s:s}", "label", p->key, "value", p->value,
	              "anomalous", (json_int_t)p->anomalous, "normal", (json_int_t)p->normal,
	              "p_value", p_value, "score", -p->log_p / log(10), "text", strbuf_str(&text));
	strbuf_release(&text);
	return c;
}

static json_t *rank_contributors(const struct explain_input *in, size_t n_anom, size_t n_norm)
{
	struct pair_table t;
	size_t max_pairs = 0;
	json_t *out = json_array();

	for (size_t i = 0; i < in->n; i++)
		if (in->series[i].anomalous)
			max_pairs += in->series[i].n_labels;
	table_init(&t, max_pairs);
	for (size_t i = 0; i < in->n; i++) {
		const struct explain_series *s = &in->series[i];

		for (size_t l = 0; l < s->n_labels; l++) {
			size_t *slot = pair_slot(&t, s->labels[l].key, s->labels[l].value);

			if (!*slot) {
				if (!s->anomalous)
					continue;
				t.v[t.n].key = s->labels[l].key;
				t.v[t.n].value = s->labels[l].value;
				*slot = ++t.n;
			}
			if (s->anomalous)
				t.v[*slot - 1].anomalous++;
			else
				t.v[*slot - 1].normal++;
		}
	}
	/* Keep the over-represented pairs of at least two anomalous series, then rank them. */
	{
		size_t kept = 0;

		for (size_t i = 0; i < t.n; i++) {
			struct pair *p = &t.v[i];

			if (p->anomalous < 2 || (double)p->anomalous * (double)n_norm <= (double)p->normal * (double)n_anom)
				continue;
			p->log_p = fisher_log_p(p->anomalous, p->anomalous + p->normal, n_anom, n_anom + n_norm);
			if (p->log_p > log(EXPLAIN_MAX_P))
				continue;
			t.v[kept++] = *p;
		}
		qsort(t.v, kept, sizeof(*t.v), pair_better);
		for (size_t i = 0; i < kept && i < EXPLAIN_MAX_CONTRIBUTORS; i++)
			json_array_append_new(out, contributor_json(&t.v[i], n_anom, n_norm));
	}
	table_release(&t);
	return out;
}

/* --- first to move ------------------------------------------------------- */

static int onset_earlier(const void *pa, const void *pb)
{
	const struct explain_series *a = *(const struct explain_series *const *)pa;
	const struct explain_series *b = *(const struct explain_series *const *)pb;

	if (a->onset_ms != b->onset_ms)
		return a->onset_ms < b->onset_ms ? -1 : 1;
	return strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

static json_t *first_moved(const struct explain_input *in)
{
	const struct explain_series **v = xcalloc(in->n ? in->n : 1, sizeof(*v));
	size_t n = 0;
	json_t *out = json_array();

	for (size_t i = 0; i < in->n; i++)
		if (in->series[i].anomalous && in->series[i].onset_ms != EXPLAIN_NO_ONSET)
			v[n++] = &in->series[i];
	qsort(v, n, sizeof(*v), onset_earlier);
	for (size_t i = 0; i < n && i < EXPLAIN_FIRST_MOVED; i++)
		json_array_append_new(out, json_pack("{s:s, s:I}", "series", v[i]->name ? v[i]->name : "",
		                                     "onset", (json_int_t)v[i]->onset_ms));
	free(v);
	return out;
}

/* --- entry points -------------------------------------------------------- */

json_t *explain_builtin(const struct explain_input *in)
{
	size_t n_anom = 0, n_norm;

	for (size_t i = 0; i < in->n; i++)
		n_anom += in->series[i].anomalous != 0;
	n_norm = in->n - n_anom;
	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "method", "builtin", "statistic",
	                 "fisher-exact-one-sided", "anomalous", (json_int_t)n_anom, "normal", (json_int_t)n_norm,
	                 "contributors", rank_contributors(in, n_anom, n_norm), "first_moved", first_moved(in));
}

int explain_group(const struct job_spec *spec, const struct explain_input *in, json_t **hints,
                  struct vigil_error *err)
{
	struct vigil_error e = VIGIL_ERROR_INIT;
	size_t n_anom = 0;
	json_t *h;

	*hints = NULL;
	if (!spec || !spec->explain_exec) {
		*hints = explain_builtin(in);
		return 0;
	}
	h = exec_explain(spec->explain_exec, in, &e);
	if (!h) {
		char esc[1100];

		vigil_error_prefix(&e, "explain: '%s'", exec_program_path(spec->explain_exec));
		log_warn("explain", "job '%s': %s; the incident goes without hints", in->job ? in->job : "",
		         log_escape(esc, sizeof(esc), e.msg));
		return vigil_error_set(err, e.code, "%s", e.msg);
	}
	for (size_t i = 0; i < in->n; i++)
		n_anom += in->series[i].anomalous != 0;
	json_object_set_new(h, "method", json_string("exec"));
	json_object_set_new(h, "program", json_string(exec_program_path(spec->explain_exec)));
	json_object_set_new(h, "anomalous", json_integer((json_int_t)n_anom));
	json_object_set_new(h, "normal", json_integer((json_int_t)(in->n - n_anom)));
	*hints = h;
	return 0;
}

void explain_summary(const json_t *hints, struct strbuf *sb)
{
	json_t *best = json_array_get(json_object_get(hints, "contributors"), 0);
	json_t *first = json_array_get(json_object_get(hints, "first_moved"), 0);
	json_t *text = json_object_get(best, "text");
	size_t start = sb->len;

	if (json_is_string(text)) {
		strbuf_addstr(sb, json_string_value(text));
	} else if (best) {
		strbuf_addf(sb, "label %s=\"%s\"", json_string_value(json_object_get(best, "label")),
		            json_string_value(json_object_get(best, "value")));
	}
	if (json_is_string(json_object_get(first, "series"))) {
		char when[40];

		time_format_iso(json_integer_value(json_object_get(first, "onset")), when, sizeof(when));
		strbuf_addf(sb, "%sfirst to move: %s at %s", sb->len > start ? "; " : "",
		            json_string_value(json_object_get(first, "series")), when);
	}
}
