/*
 * gen-ops.h - the parts of bench/gen-ops (a generated corpus of ops metrics
 * with planted anomalies, in NAB's layout): its random numbers
 * (gen-ops-rng.c), the plan of every series (gen-ops-plan.c), their values
 * (gen-ops-values.c), and the program that writes them (gen-ops.c).
 */
#ifndef VIGIL_GEN_OPS_H
#define VIGIL_GEN_OPS_H

#include <stddef.h>
#include <stdint.h>

#define DAY 86400
#define WEEK (7 * DAY)
#define PROBATION 750 /* NAB's probationary rows for files of >= 5000 rows */
#define MAX_ANOMALIES 4
#define MAX_GAPS 3
#define SERIES_PER_CATEGORY 5

/* A random stream: xoshiro256**, seeded with splitmix64. */
struct rng {
	uint64_t s[4];
	int have_spare;
	double spare;
};

/* Stream `stream` of corpus `seed`: the same pair, the same numbers. */
void genops_rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
double genops_unif(struct rng *r);                           /* [0, 1) */
double genops_unif_in(struct rng *r, double lo, double hi);  /* [lo, hi) */
size_t genops_pick(struct rng *r, size_t n);                 /* an integer in [0, n) */
double genops_gauss(struct rng *r);                          /* standard normal */
double genops_poisson(struct rng *r, double m);              /* Poisson (normal above 30) */
void genops_shuffle(struct rng *r, int *v, size_t n);

enum metric { LATENCY, COUNTS, PERCENT, QUEUE, KPI, SHIFT, NMETRICS };

/* Per metric: its category and file name stem. */
struct genops_metric {
	const char *category;
	const char *file;
};

extern const struct genops_metric genops_metrics[NMETRICS];

enum kind {
	SPIKE, DIP, VARIANCE, MISSING_PEAK, FLATLINE,      /* transient */
	LEVEL_UP, LEVEL_DOWN, RAMP, SEASON_BREAK, WEEKLY,  /* persistent: the last of a series */
	LEVEL_UP_5SD,                                      /* opsShift's only anomaly */
	NKINDS
};

extern const char *const genops_kind_names[NKINDS];

/* Persistent kinds last to the end of a series (and are its last anomaly). */
static inline int genops_persistent(enum kind k)
{
	return k >= LEVEL_UP;
}

struct anomaly {
	enum kind kind;
	size_t onset;   /* grid index */
	size_t dur;     /* grid points it lasts (persistent: to the end) */
	double size;    /* sd multiple, factor or hours, per kind */
	size_t row;     /* onset's row once gaps are cut */
	size_t first, last; /* its window, rows */
};

struct gap {
	size_t from, len; /* grid indices removed */
};

/* The shape parameters of one series. */
struct series {
	enum metric metric;
	char name[64];         /* "<category>/<file>.csv" */
	uint64_t stream;
	int64_t start;         /* seconds since the epoch, a multiple of step */
	int64_t step;
	size_t n;              /* grid points */
	double base;           /* mean level (or rate per minute for counts) */
	double trend;          /* relative change over the whole series */
	double amp;            /* daily peak over trough, minus 1 */
	double sharp;          /* daily shape exponent */
	double trough_h;       /* hour of the daily trough */
	double weekend;        /* weekend factor */
	double noise;          /* relative noise (sd for percent and shift) */
	double heavy;          /* probability of a heavy-tailed outlier */
	int64_t batch_at;      /* the nightly batch: second of day it starts */
	int64_t batch_len;     /* seconds */
	double batch_size;
	size_t nanom;
	struct anomaly anom[MAX_ANOMALIES];
	size_t ngaps;
	struct gap gaps[MAX_GAPS];
};

/*
 * The plan of every series of corpus `seed` (*np of them; free() the array):
 * shapes, anomalies and gaps.  Depends on the seed only.
 */
struct series *genops_plan(uint64_t seed, size_t *np);

/* Every grid value of a planned series (s->n of them; free() them). */
double *genops_values(const struct series *s, uint64_t seed);

#endif
