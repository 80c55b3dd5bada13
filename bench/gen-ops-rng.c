/* gen-ops-rng.c - the random numbers of bench/gen-ops: its own generator, so a seed gives the same corpus everywhere. */
#include <math.h>

#include "gen-ops.h"
#include "banned.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void genops_rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed * 0x100000001b3ULL ^ (stream + 1) * 0xcbf29ce484222325ULL;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	r->have_spare = 0;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
double genops_unif(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

double genops_unif_in(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * genops_unif(r);
}

/* Uniform integer in [0, n). */
size_t genops_pick(struct rng *r, size_t n)
{
	return (size_t)(genops_unif(r) * (double)n);
}

double genops_gauss(struct rng *r)
{
	double u, v;

	if (r->have_spare) {
		r->have_spare = 0;
		return r->spare;
	}
	u = 1.0 - genops_unif(r);
	v = genops_unif(r);
	r->spare = sqrt(-2 * log(u)) * sin(2 * M_PI * v);
	r->have_spare = 1;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

double genops_poisson(struct rng *r, double m)
{
	double l, p = 1;
	int k = 0;

	if (m <= 0)
		return 0;
	if (m > 30)
		return fmax(0, round(m + sqrt(m) * genops_gauss(r)));
	l = exp(-m);
	do {
		k++;
		p *= genops_unif(r);
	} while (p > l);
	return k - 1;
}

void genops_shuffle(struct rng *r, int *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = genops_pick(r, i);
		int t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}
