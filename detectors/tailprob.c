/*
 * tailprob.c - conformal p-values with a peaks-over-threshold exponential
 * tail, over the last values of a statistic kept in a blocked sorted list.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TAILPROB_AVX2 1
#endif

#include "kit.h"
#include "tailprob.h"
#include "banned.h"

/* Fewer values than this: conformal p-values only. */
#define TAILPROB_MIN_FOR_TAIL 20
/* A block this small after a removal is merged into a neighbour. */
#define TAILPROB_MERGE (TAILPROB_BLOCK / 4)
/* Block tops counted an iteration (see COUNTS); top[] and cnt[] have this many to spare. */
#define TAILPROB_TOPS_STEP 16
/* Block tops a count reads at least (see tops_to_scan()): a history of 5 000 values has about 60 blocks. */
#define TAILPROB_SCAN 128

int tailprob_init(struct tailprob *t, size_t cap, double tail)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap ? cap : 1;
	t->tail = tail > 0 && tail <= 0.5 ? tail : 0.1;
	t->u = INFINITY;
	t->split = -INFINITY;
	t->refit = TAILPROB_REFIT;
	t->exact_every = 1;
#ifdef TAILPROB_AVX2
	__builtin_cpu_init();
	t->avx2 = __builtin_cpu_supports("avx2");
#endif
	/* blocks hold at least TAILPROB_MERGE values but one per neighbour pair: cap / MERGE * 2 + 2 bounds them */
	t->maxblocks = t->cap / TAILPROB_MERGE * 2 + 4;
	t->gen = 1;
	t->ring = malloc(t->cap * sizeof(*t->ring));
	t->blocks = malloc(t->maxblocks * sizeof(*t->blocks));
	t->order = malloc(t->maxblocks * sizeof(*t->order));
	t->spare = malloc(t->maxblocks * sizeof(*t->spare));
	/* +Inf tops and 0 sizes past the last block, up to scan and TAILPROB_TOPS_STEP to spare (see COUNTS) */
	t->scan = (t->maxblocks < TAILPROB_SCAN ? t->maxblocks : TAILPROB_SCAN) + TAILPROB_TOPS_STEP - 1;
	t->scan -= t->scan % TAILPROB_TOPS_STEP;
	t->top = malloc((t->maxblocks + TAILPROB_TOPS_STEP) * sizeof(*t->top));
	t->cnt = calloc(t->maxblocks + TAILPROB_TOPS_STEP, sizeof(*t->cnt));
	if (!t->ring || !t->blocks || !t->order || !t->spare || !t->top || !t->cnt) {
		tailprob_release(t);
		return -1;
	}
	for (size_t b = 0; b < t->maxblocks; b++)
		t->spare[t->nspare++] = t->maxblocks - 1 - b;
	for (size_t k = 0; k < t->maxblocks + TAILPROB_TOPS_STEP; k++)
		t->top[k] = INFINITY;
	return 0;
}

void tailprob_release(struct tailprob *t)
{
	free(t->ring);
	free(t->blocks);
	free(t->order);
	free(t->spare);
	free(t->top);
	free(t->cnt);
	free(t->bins);
	free(t->scratch);
	t->bins = NULL;
	t->scratch = NULL;
	t->ring = t->top = NULL;
	t->blocks = NULL;
	t->order = t->spare = NULL;
	t->cnt = NULL;
	t->n = t->ns = t->nblocks = 0;
}

int tailprob_sort_top(struct tailprob *t, double share)
{
	if (t->cap < TAILPROB_SORT_TOP_MIN || !(share >= t->tail + 0.1) || share > 0.5)
		return 0;
	t->bins = calloc(TAILPROB_BINS, sizeof(*t->bins));
	t->scratch = malloc(t->cap * sizeof(*t->scratch));
	if (!t->bins || !t->scratch)
		return -1;
	t->share = share;
	/* the split moves when the blocks hold more than share + 0.2 of the history, or less than tail + 0.05 */
	t->raise_at = (size_t)((share + 0.2) * (double)t->cap);
	t->lower_at = (size_t)((t->tail + 0.05) * (double)t->cap) + 1;
	/* about share * cap values in blocks, a third of the blocks or less: fewer tops to read at every count */
	t->scan = 2 * TAILPROB_TOPS_STEP;
	return 0;
}

static struct tailprob_block *blk(const struct tailprob *t, size_t k)
{
	return &t->blocks[t->order[k]];
}

/* Refresh top[k] and cnt[k] from the k-th block. */
static void sync(struct tailprob *t, size_t k)
{
	const struct tailprob_block *b = blk(t, k);

	t->cnt[k] = b->size;
	t->top[k] = b->v[b->size - 1];
}

/* Set a block's values from j on to +Inf (see block_rank() below). */
static void pad_block(struct tailprob_block *b, size_t j)
{
	for (; j < TAILPROB_BLOCK; j++)
		b->v[j] = INFINITY;
}

/*
 * Counting over the block tops, branch-free: how many of top[0..n) are < x
 * (<= x when strict), the first block whose top is >= x (> x), and with
 * tops_below() the sum of their sizes.  The comparisons are independent,
 * two lanes at a time with SSE2 or four with AVX2 (chosen at run time,
 * t->avx2), up to sixteen values an iteration: top[] holds +Inf (and cnt[]
 * 0) past the last block up to a multiple of TAILPROB_TOPS_STEP, so no lane
 * is masked and no count ends in a scalar loop.  Defined once per lane width:
 * the macro's body is the same code for both.
 */
#define COUNTS(SUFFIX, LANES, ATTR) \
typedef double lanes_##SUFFIX __attribute__((vector_size(LANES * sizeof(double)))); \
typedef long long mask_##SUFFIX __attribute__((vector_size(LANES * sizeof(double)))); \
ATTR static size_t tops_count_##SUFFIX(const double *w, size_t n, double x, int strict) \
{ \
	mask_##SUFFIX c0 = { 0 }, c1 = c0, c2 = c0, c3 = c0; \
	lanes_##SUFFIX lx = (lanes_##SUFFIX){ 0 } + x, l0, l1, l2, l3; \
	long long total = 0; \
\
	for (size_t i = 0; i < n; i += 4 * LANES) { \
		memcpy(&l0, w + i, sizeof(l0)); \
		memcpy(&l1, w + i + LANES, sizeof(l1)); \
		memcpy(&l2, w + i + 2 * LANES, sizeof(l2)); \
		memcpy(&l3, w + i + 3 * LANES, sizeof(l3)); \
		if (strict) { \
			c0 += l0 <= lx; \
			c1 += l1 <= lx; \
			c2 += l2 <= lx; \
			c3 += l3 <= lx; \
		} else { \
			c0 += l0 < lx; \
			c1 += l1 < lx; \
			c2 += l2 < lx; \
			c3 += l3 < lx; \
		} \
	} \
	c0 += c1 + c2 + c3; \
	for (int k = 0; k < LANES; k++) \
		total -= c0[k]; \
	return (size_t)total; \
} \
\
ATTR static size_t block_count_##SUFFIX(const double *w, double x, int strict) \
{ \
	return tops_count_##SUFFIX(w, TAILPROB_BLOCK, x, strict); \
} \
\
ATTR static size_t tops_below_##SUFFIX(const double *top, const uint64_t *cnt, size_t n, double x, \
                                       uint64_t *sum) \
{ \
	mask_##SUFFIX c0 = { 0 }, c1 = c0, s0 = c0, s1 = c0, m0, m1, n0, n1; \
	lanes_##SUFFIX lx = (lanes_##SUFFIX){ 0 } + x, l0, l1; \
	long long total = 0, t = 0; \
\
	for (size_t i = 0; i < n; i += 2 * LANES) { \
		memcpy(&l0, top + i, sizeof(l0)); \
		memcpy(&l1, top + i + LANES, sizeof(l1)); \
		memcpy(&n0, cnt + i, sizeof(n0)); \
		memcpy(&n1, cnt + i + LANES, sizeof(n1)); \
		m0 = l0 < lx; \
		m1 = l1 < lx; \
		c0 += m0; \
		c1 += m1; \
		s0 += n0 & m0; \
		s1 += n1 & m1; \
	} \
	c0 += c1; \
	s0 += s1; \
	for (int k = 0; k < LANES; k++) { \
		total -= c0[k]; \
		t += s0[k]; \
	} \
	*sum = (uint64_t)t; \
	return (size_t)total; \
}

COUNTS(sse, 2, )
#ifdef TAILPROB_AVX2
COUNTS(avx2, 4, __attribute__((target("avx2"))))
#endif

/*
 * Where x falls in a block: how many of its values are < x (<= x when
 * strict).  A block's array is TAILPROB_BLOCK long with +Inf past its
 * values, so the count reads the whole array, the same loop at every call
 * (+Inf is neither < nor <= a finite x): no lane is masked, and the loop's
 * end is always predicted.  x is finite.
 */
static size_t block_rank(const struct tailprob *t, const struct tailprob_block *b, double x, int strict)
{
#ifdef TAILPROB_AVX2
	if (t->avx2)
		return block_count_avx2(b->v, x, strict);
#endif
	(void)t;
	return block_count_sse(b->v, x, strict);
}

/*
 * How many block tops a count reads: at least t->scan (the +Inf past the
 * last block count for nothing), so that the loop runs the same number of
 * times at every push and its end is predicted, instead of changing with
 * the number of blocks from one call (and one view) to the next.
 */
static size_t tops_to_scan(const struct tailprob *t)
{
	return t->nblocks > t->scan ? t->nblocks : t->scan;
}

/* The first block (in value order) whose largest value is >= v (> v when strict); nblocks if none. */
static size_t block_for(const struct tailprob *t, double v, int strict)
{
#ifdef TAILPROB_AVX2
	if (t->avx2)
		return tops_count_avx2(t->top, tops_to_scan(t), v, strict);
#endif
	return tops_count_sse(t->top, tops_to_scan(t), v, strict);
}

/* The first block whose largest value is >= v (nblocks if none), and the number of values in the blocks before it. */
static size_t block_below(const struct tailprob *t, double v, size_t *below)
{
	uint64_t sum;
	size_t k;

#ifdef TAILPROB_AVX2
	if (t->avx2)
		k = tops_below_avx2(t->top, t->cnt, tops_to_scan(t), v, &sum);
	else
#endif
		k = tops_below_sse(t->top, t->cnt, tops_to_scan(t), v, &sum);
	*below = (size_t)sum;
	return k;
}

/* The bin of a value below the split (the first or the last bin beyond them). */
static size_t bin_of(const struct tailprob *t, double v)
{
	double f = (v - t->lo) * t->inv_width;

	return f >= TAILPROB_BINS ? TAILPROB_BINS - 1 : f > 0 ? (size_t)f : 0;
}

/*
 * How many of the values below the split are >= v (< split): those of the
 * bins above v's, and the part of its bin above v (the values taken as
 * spread evenly across a bin).
 */
static double bulk_ge(const struct tailprob *t, double v)
{
	/* four signed lanes: one SSE2 compare (a history holds fewer than 2^31 values) */
	typedef int32_t bins4 __attribute__((vector_size(4 * sizeof(int32_t))));
	size_t b = bin_of(t, v);
	bins4 s0 = { 0 }, s1 = s0, idx = { 0, 1, 2, 3 }, four = { 4, 4, 4, 4 }, lb = (bins4){ 0 } + (int32_t)b, c0, c1;
	int32_t above = 0;
	double f = (v - t->lo) * t->inv_width - (double)b;

	/* the bins above b, eight at a time (no branch: the same loop for every v) */
	for (size_t j = 0; j < TAILPROB_BINS; j += 8) {
		memcpy(&c0, t->bins + j, sizeof(c0));
		memcpy(&c1, t->bins + j + 4, sizeof(c1));
		s0 += c0 & (idx > lb);
		idx += four;
		s1 += c1 & (idx > lb);
		idx += four;
	}
	s0 += s1;
	for (int k = 0; k < 4; k++)
		above += s0[k];
	f = f > 1 ? 1 : f > 0 ? f : 0;
	return (double)above + (1 - f) * (double)t->bins[b];
}

/* How many values of the blocks are >= v. */
static size_t sorted_ge(const struct tailprob *t, double v)
{
	size_t below, k = block_below(t, v, &below);

	if (k == t->nblocks)
		return 0;
	return t->ns - below - block_rank(t, blk(t, k), v, 0);
}

/* How many values of the history are >= v: exact at or above the split, interpolated in a bin below it. */
static double count_ge(const struct tailprob *t, double v)
{
	if (v >= t->split)
		return (double)sorted_ge(t, v);
	return (double)t->ns + bulk_ge(t, v);
}

/* The value of rank r (0-based, ascending) below the split, interpolated within its bin. */
static double bulk_kth(const struct tailprob *t, size_t r)
{
	size_t acc = 0;

	for (size_t j = 0; j < TAILPROB_BINS; j++) {
		if (r < acc + t->bins[j])
			return t->inv_width > 0 ? t->lo + ((double)j + ((double)(r - acc) + 0.5) / t->bins[j]) /
			       t->inv_width : t->lo;
		acc += t->bins[j];
	}
	return t->lo;
}

/* The value of rank r (0-based, ascending), walking the block sizes from the nearer end. */
static double kth(const struct tailprob *t, size_t r)
{
	size_t bulk = t->n - t->ns;

	if (r >= t->n)
		return NAN;
	if (r < bulk)
		return bulk_kth(t, r);
	r -= bulk;
	if (r < t->ns / 2) {
		for (size_t k = 0; k < t->nblocks; k++) {
			if (r < t->cnt[k])
				return blk(t, k)->v[r];
			r -= t->cnt[k];
		}
	} else {
		size_t from_top = t->ns - 1 - r;   /* values above it */

		for (size_t k = t->nblocks; k-- > 0;) {
			if (from_top < t->cnt[k])
				return blk(t, k)->v[t->cnt[k] - 1 - from_top];
			from_top -= t->cnt[k];
		}
	}
	return NAN;
}

/* Insert v at position j of the k-th block (where it keeps the block sorted). */
static void insert_at(struct tailprob *t, size_t k, size_t j, double v)
{
	struct tailprob_block *b = blk(t, k);

	memmove(b->v + j + 1, b->v + j, (b->size - j) * sizeof(double));
	b->v[j] = v;
	b->size++;
	t->ns++;
	if (b->size == TAILPROB_BLOCK) {
		/* split in two halves; the new block follows in the order */
		size_t id = t->spare[--t->nspare];
		struct tailprob_block *nb = &t->blocks[id];

		nb->size = TAILPROB_BLOCK / 2;
		memcpy(nb->v, b->v + TAILPROB_BLOCK / 2, (TAILPROB_BLOCK / 2) * sizeof(double));
		pad_block(nb, TAILPROB_BLOCK / 2);
		b->size = TAILPROB_BLOCK / 2;
		pad_block(b, TAILPROB_BLOCK / 2);
		memmove(t->order + k + 2, t->order + k + 1, (t->nblocks - k - 1) * sizeof(*t->order));
		memmove(t->top + k + 2, t->top + k + 1, (t->nblocks - k - 1) * sizeof(*t->top));
		memmove(t->cnt + k + 2, t->cnt + k + 1, (t->nblocks - k - 1) * sizeof(*t->cnt));
		t->order[k + 1] = id;
		t->nblocks++;
		sync(t, k + 1);
	}
	sync(t, k);
}

/* The block for a new value v (the first whose top is > v, else the last), creating the first. */
static size_t block_to_insert(struct tailprob *t, double v)
{
	size_t k = block_for(t, v, 1);

	if (t->nblocks == 0) {
		size_t id = t->spare[--t->nspare];

		t->blocks[id].size = 0;
		pad_block(&t->blocks[id], 0);
		t->order[0] = id;
		t->nblocks = 1;
		return 0;
	}
	return k == t->nblocks ? t->nblocks - 1 : k;
}

static void insert_value(struct tailprob *t, double v)
{
	size_t k = block_to_insert(t, v);
	const struct tailprob_block *b = blk(t, k);

	insert_at(t, k, block_rank(t, b, v, 1), v);
}

static void drop_block(struct tailprob *t, size_t k)
{
	t->spare[t->nspare++] = t->order[k];
	memmove(t->order + k, t->order + k + 1, (t->nblocks - k - 1) * sizeof(*t->order));
	memmove(t->top + k, t->top + k + 1, (t->nblocks - k - 1) * sizeof(*t->top));
	memmove(t->cnt + k, t->cnt + k + 1, (t->nblocks - k - 1) * sizeof(*t->cnt));
	t->nblocks--;
	t->top[t->nblocks] = INFINITY;
	t->cnt[t->nblocks] = 0;
}

/* Whether k is the first block whose largest value is >= v (block_for(t, v, 0)). */
static int first_block_at_least(const struct tailprob *t, size_t k, double v)
{
	return k < t->nblocks && t->top[k] >= v && (k == 0 || t->top[k - 1] < v);
}

/* Merge the k-th block, when it is small, into a neighbour that has room, keeping the order. */
static void merge_small(struct tailprob *t, size_t k)
{
	const struct tailprob_block *b = blk(t, k);

	if (b->size < TAILPROB_MERGE) {
		if (k + 1 < t->nblocks && blk(t, k + 1)->size + b->size < TAILPROB_BLOCK) {
			struct tailprob_block *nx = blk(t, k + 1);

			memmove(nx->v + b->size, nx->v, nx->size * sizeof(double));
			memcpy(nx->v, b->v, b->size * sizeof(double));
			nx->size += b->size;
			sync(t, k + 1);
			drop_block(t, k);
		} else if (k > 0 && blk(t, k - 1)->size + b->size < TAILPROB_BLOCK) {
			struct tailprob_block *pv = blk(t, k - 1);

			memcpy(pv->v + pv->size, b->v, b->size * sizeof(double));
			pv->size += b->size;
			sync(t, k - 1);
			drop_block(t, k);
		}
	}
}

/* Remove one value equal to v, from block `hint` or the one after it if either is block_for()'s answer. */
static void remove_value(struct tailprob *t, double v, size_t hint)
{
	size_t k = first_block_at_least(t, hint, v) ? hint : first_block_at_least(t, hint + 1, v) ? hint + 1 :
	           block_for(t, v, 0);
	struct tailprob_block *b;

	if (k == t->nblocks)
		return;   /* not present: cannot happen */
	b = blk(t, k);
	{
		size_t j = block_rank(t, b, v, 0);

		memmove(b->v + j, b->v + j + 1, (b->size - j - 1) * sizeof(double));
	}
	b->v[--b->size] = INFINITY;
	t->ns--;
	if (b->size == 0) {
		drop_block(t, k);
		return;
	}
	sync(t, k);
	merge_small(t, k);
}

/* Count again the values below the split, in bins of equal width from the lowest of them up to the split. */
static void rebin(struct tailprob *t)
{
	double lo = t->split;

	for (size_t j = 0; j < t->n; j++)
		lo = t->ring[j] < lo ? t->ring[j] : lo;
	t->lo = lo;
	t->inv_width = t->split > lo && isfinite(TAILPROB_BINS / (t->split - lo)) ? TAILPROB_BINS / (t->split - lo) : 0;
	memset(t->bins, 0, TAILPROB_BINS * sizeof(*t->bins));
	for (size_t j = 0; j < t->n; j++)
		if (t->ring[j] < t->split)
			t->bins[bin_of(t, t->ring[j])]++;
}

/* The split moved: count the bins again; ties at the split that keep the blocks too full wait cap / 10 pushes. */
static void split_moved(struct tailprob *t)
{
	if (t->ns > t->raise_at)
		t->share_wait = t->cap / 10;
	rebin(t);
}

/* The number of values the blocks hold after the split moves: share of the history. */
static size_t share_count(const struct tailprob *t)
{
	size_t c = (size_t)ceil(t->share * (double)t->n);

	return c > 0 ? c : 1;
}

/* Raise the split: the values below the share_count() largest leave the blocks for the bins. */
static void raise_split(struct tailprob *t)
{
	size_t out = t->ns - share_count(t);
	double s = kth(t, t->n - t->ns + out);
	size_t lt = t->ns - sorted_ge(t, s);   /* the values below s, the first lt in order */

	while (lt > 0) {
		struct tailprob_block *b = blk(t, 0);

		if (lt >= b->size) {
			lt -= b->size;
			t->ns -= b->size;
			drop_block(t, 0);
			continue;
		}
		memmove(b->v, b->v + lt, (b->size - lt) * sizeof(double));
		b->size -= lt;
		pad_block(b, b->size);
		t->ns -= lt;
		lt = 0;
		sync(t, 0);
		merge_small(t, 0);
	}
	if (s > t->split)
		t->split = s;
	split_moved(t);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Lower the split: the largest values below it join the blocks (as new
 * first blocks: they are below every value there), so that the blocks hold
 * share_count() values again (more when there are ties).
 */
static void lower_split(struct tailprob *t)
{
	size_t m = 0, want = share_count(t) - t->ns, k, nb;
	double s, *w = t->scratch;

	for (size_t j = 0; j < t->n; j++)
		if (t->ring[j] < t->split)
			w[m++] = t->ring[j];
	if (m == 0)
		return;
	if (want > m)
		want = m;
	s = kit_select(w, m, m - want);
	/* w[m - want..m) are >= s; ties of s before them join too */
	k = 0;
	for (size_t j = 0; j < m; j++)
		if (w[j] >= s)
			w[k++] = w[j];
	qsort(w, k, sizeof(*w), cmp_double);
	/* blocks of TAILPROB_BLOCK / 2 values (the last ones may hold fewer), before the others */
	nb = (k + TAILPROB_BLOCK / 2 - 1) / (TAILPROB_BLOCK / 2);
	if (nb > t->nspare)
		return;   /* cannot happen: k >= 0.05 cap values make blocks of at least TAILPROB_MERGE */
	memmove(t->order + nb, t->order, t->nblocks * sizeof(*t->order));
	memmove(t->top + nb, t->top, t->nblocks * sizeof(*t->top));
	memmove(t->cnt + nb, t->cnt, t->nblocks * sizeof(*t->cnt));
	t->nblocks += nb;
	for (size_t b = 0, at = 0; b < nb; b++) {
		size_t id = t->spare[--t->nspare], size = k / nb + (b < k % nb);
		struct tailprob_block *nbk = &t->blocks[id];

		memcpy(nbk->v, w + at, size * sizeof(double));
		nbk->size = size;
		pad_block(nbk, size);
		t->order[b] = id;
		sync(t, b);
		at += size;
	}
	t->ns += k;
	t->split = s;
	split_moved(t);
}

/* Keep the blocks at about share of a full history (tailprob_sort_top()). */
static void keep_share(struct tailprob *t)
{
	if (!(t->share > 0) || t->n < t->cap)
		return;
	if (t->share_wait > 0)
		t->share_wait--;
	else if (t->ns > t->raise_at)
		raise_split(t);
	else if (t->ns < t->lower_at)
		lower_split(t);
}

/*
 * The sum of w[j] - u over n values, in eight interleaved partial sums
 * (four pairs, one SSE2 register each, then what is left over): short
 * chains of additions instead of one long one, and the same bits on every
 * CPU (each lane is plain double arithmetic in a fixed order).
 */
typedef double excess2 __attribute__((vector_size(2 * sizeof(double))));

static double excess_over(const double *w, size_t n, double u)
{
	excess2 a0 = { 0 }, a1 = a0, a2 = a0, a3 = a0, lu = a0 + u, l0, l1, l2, l3;
	double rest = 0;
	size_t j = 0;

	for (; j + 8 <= n; j += 8) {
		memcpy(&l0, w + j, sizeof(l0));
		memcpy(&l1, w + j + 2, sizeof(l1));
		memcpy(&l2, w + j + 4, sizeof(l2));
		memcpy(&l3, w + j + 6, sizeof(l3));
		a0 += l0 - lu;
		a1 += l1 - lu;
		a2 += l2 - lu;
		a3 += l3 - lu;
	}
	for (; j + 2 <= n; j += 2) {
		memcpy(&l0, w + j, sizeof(l0));
		a0 += l0 - lu;
	}
	for (; j < n; j++)
		rest += w[j] - u;
	a0 = (a0 + a1) + (a2 + a3);
	return (a0[0] + a0[1]) + rest;
}

/*
 * The values in (lo, hi] (lo >= split): how many, and the sum of their
 * excesses over `from`, in order.
 */
static size_t between(const struct tailprob *t, double lo, double hi, double from, double *sum)
{
	size_t k = block_for(t, lo, 1), c = 0;
	double s = 0;

	if (k < t->nblocks) {
		size_t j = block_rank(t, blk(t, k), lo, 1);

		for (; k < t->nblocks; k++, j = 0) {
			const struct tailprob_block *b = blk(t, k);

			for (; j < b->size && b->v[j] <= hi; j++, c++)
				s += b->v[j] - from;
			if (j < b->size)
				break;
		}
	}
	*sum = s;
	return c;
}

/*
 * Move the threshold to u from t->u, updating the count above it and their
 * excess from the values it passes: O(values passed) instead of a sum over
 * the whole tail.  Returns 0 (nothing changed) when the tail would be empty.
 */
static int tail_move(struct tailprob *t, double u)
{
	double u_old = t->u, passed;
	size_t c;

	if (u > u_old) {
		c = between(t, u_old, u, u_old, &passed);
		if (c >= t->above)
			return 0;
		t->above -= c;
		t->excess -= passed;
		t->excess -= (double)t->above * (u - u_old);
	} else if (u < u_old) {
		c = between(t, u, u_old, u, &passed);
		t->excess += (double)t->above * (u_old - u);
		t->above += c;
		t->excess += passed;
	}
	t->u = u;
	if (!(t->excess > 0)) {
		t->u = u_old;   /* rounding ate it: refit from scratch */
		return 0;
	}
	return 1;
}

/* Refit the exponential tail: threshold u at the (1 - tail) quantile, the values above it. */
static void tail_fit(struct tailprob *t)
{
	size_t n = t->n, ku, above = 0;
	double excess = 0, u_old = t->u;

	t->since_fit = 0;
	if (n >= TAILPROB_MIN_FOR_TAIL && ++t->fits < t->exact_every && t->above > 0 && t->excess > 0 &&
	    u_old >= t->split && isfinite(u_old)) {
		ku = (size_t)((1 - t->tail) * (double)n);
		if (ku >= n)
			ku = n - 1;
		if (ku >= n - t->ns && tail_move(t, kth(t, ku)))
			return;
	}
	t->fits = 0;
	t->above = 0;
	t->excess = 0;
	t->flat = 0;
	if (n < TAILPROB_MIN_FOR_TAIL) {
		t->u = INFINITY;
		return;
	}
	ku = (size_t)((1 - t->tail) * (double)n);
	if (ku >= n)
		ku = n - 1;
	if (ku < n - t->ns)
		lower_split(t);   /* cannot happen: the blocks hold more than the tail (keep_share()) */
	t->u = kth(t, ku);
	/* the values above u, from the top block down */
	for (size_t k = t->nblocks; k-- > 0;) {
		const struct tailprob_block *b = blk(t, k);
		size_t j = b->v[0] > t->u ? 0 : block_rank(t, b, t->u, 1);   /* a block wholly above u needs no count */

		excess += excess_over(b->v + j, b->size - j, t->u);
		above += b->size - j;
		if (j > 0)
			break;
	}
	t->excess = excess;
	t->above = above;
	if (!(t->excess > 0)) {
		/*
		 * For a degenerate tail (the top of the history is one value, as
		 * when the statistic is mostly 0): the scale of the whole history,
		 * its mean excess over its minimum, so that larger values still get
		 * smaller p.  Only a constant history leaves no scale (p = 0 above).
		 */
		double lowest = INFINITY, sum = 0;

		if (t->ns < n) {
			/* part of the history is only in bins: from the ring, in arrival order */
			for (size_t j = 0; j < n; j++)
				lowest = t->ring[j] < lowest ? t->ring[j] : lowest;
			for (size_t j = 0; j < n; j++)
				sum += t->ring[j] - lowest;
		} else {
			lowest = kth(t, 0);
			for (size_t k = 0; k < t->nblocks; k++) {
				const struct tailprob_block *b = blk(t, k);

				for (size_t j = 0; j < b->size; j++)
					sum += b->v[j] - lowest;
			}
		}
		t->flat = sum / (double)n;
	}
}

/* The mean excess over u of the values above it, or the flat scale if none. */
static double mean_excess(const struct tailprob *t)
{
	double me = t->above ? t->excess / (double)t->above : 0;

	return me > 0 ? me : t->flat;
}

/*
 * p beyond u, for a value v with `ge` values of the history >= v: the
 * exponential tail, continuous with the conformal p-value just above u; with
 * t->precedent, at least ge / (n + 1), the share of the history that
 * reached v (0 for a value above everything in it).
 */
static double tail_p(const struct tailprob *t, double v, double ge)
{
	double n1 = (double)t->n + 1, me = mean_excess(t), p;

	if (isinf(v) || !(me > 0))
		p = 0;   /* beyond u where nothing ever was: unprecedented */
	else
		p = ((double)t->above + 1) / n1 * exp(-(v - t->u) / me);
	if (t->precedent && ge / n1 > p)
		p = ge / n1;
	return p;
}

double tailprob_p(const struct tailprob *t, double v)
{
	size_t n = t->n;

	if (isnan(v) || n == 0)
		return 1;
	if (!(v > t->u))
		return (count_ge(t, v) + 1) / ((double)n + 1);
	return tail_p(t, v, t->precedent && !isinf(v) ? count_ge(t, v) : 0);
}

double tailprob_inverse(const struct tailprob *t, double p)
{
	size_t n = t->n;
	double ge, p_u = ((double)t->above + 1) / ((double)n + 1), me = mean_excess(t);

	if (n == 0 || !(p > 0))
		return INFINITY;
	ge = floor(p * ((double)n + 1) - 1);   /* at most this many past values may be >= v */
	if (isinf(t->u) || p >= p_u) {
		/* the smallest past value with at most ge past values >= it, or just above the largest */
		if (ge < 0)
			return INFINITY;
		if (ge >= (double)n)
			return kth(t, 0);
		if (ge < 1)
			return nextafter(kth(t, n - 1), INFINITY);
		return kth(t, n - (size_t)ge);
	}
	{
		double q = !(me > 0) ? nextafter(t->u, INFINITY) : t->u + me * log(p_u / p);

		if (t->precedent) {
			/* and where at most p (n + 1) past values are >= it (tail_p()) */
			double reach = floor(p * ((double)n + 1)), c;

			c = reach < 1 ? nextafter(kth(t, n - 1), INFINITY) : reach >= (double)n ? -INFINITY :
			    kth(t, n - (size_t)reach);
			/* ties at c (more than reach values >= c: the value below it in order is c too): just above them */
			if (reach >= 1 && reach < (double)n && kth(t, n - (size_t)reach - 1) == c)
				c = nextafter(c, INFINITY);
			q = c > q ? c : q;
		}
		return q;
	}
}

/*
 * The ring and the tail's count and excess for a push of v; returns 1 with
 * *old set when the history was full and its oldest value *old leaves (the
 * caller takes it out of the blocks).
 */
static int push_ring(struct tailprob *t, double v, double *old)
{
	int full = t->n == t->cap;

	if (full) {
		*old = t->ring[t->head];
		if (*old > t->u) {
			t->excess -= *old - t->u;
			t->above--;
		}
		t->ring[t->head] = v;
		t->head = t->head + 1 == t->cap ? 0 : t->head + 1;   /* no division per push */
	} else {
		t->ring[(t->head + t->n) % t->cap] = v;
		t->n++;
	}
	if (v > t->u) {
		t->excess += v - t->u;
		t->above++;
	}
	return full;
}

static void refit_due(struct tailprob *t)
{
	if (++t->since_fit >= t->refit || t->n <= 4 * TAILPROB_MIN_FOR_TAIL)
		tail_fit(t);
}

/* Take the oldest value out of the blocks or its bin. */
static void drop_oldest(struct tailprob *t, double old)
{
	if (old >= t->split)
		remove_value(t, old, t->hint_old);
	else
		t->bins[bin_of(t, old)]--;
}

void tailprob_push(struct tailprob *t, double v)
{
	double old;

	if (!isfinite(v))
		return;
	t->gen++;
	if (push_ring(t, v, &old))
		drop_oldest(t, old);
	if (v >= t->split)
		insert_value(t, v);
	else
		t->bins[bin_of(t, v)]++;
	keep_share(t);
	refit_due(t);
}

double tailprob_p_push(struct tailprob *t, double v)
{
	size_t k, j, below, ge;
	double p, old;

	if (!isfinite(v) || t->n == 0 || (v > t->u && !t->precedent) || v < t->split) {
		p = tailprob_p(t, v);
		tailprob_push(t, v);
		return p;
	}
	/*
	 * The values >= v start where v can be inserted (before its equals:
	 * the sorted values are the same whichever side of them v goes): in
	 * the bulk the conformal p-value, in the tail the count tail_p() needs.
	 */
	if (t->hint_gen == t->gen && t->hint_v == v) {
		k = t->hint_k;   /* where tailprob_prefetch() found it */
		below = t->hint_below;
	} else {
		k = block_below(t, v, &below);
	}
	t->gen++;
	if (k == t->nblocks) {
		k = t->nblocks - 1;
		j = t->cnt[k];
		ge = 0;
	} else {
		j = block_rank(t, blk(t, k), v, 0);
		ge = t->ns - below - j;
	}
	p = v > t->u ? tail_p(t, v, (double)ge) : ((double)ge + 1) / ((double)t->n + 1);
	/* the same bookkeeping as tailprob_push(), v inserted before the oldest value leaves */
	insert_at(t, k, j, v);
	/* a split of block k leaves the oldest value's block where it was or one further */
	if (push_ring(t, v, &old))
		drop_oldest(t, old);
	keep_share(t);
	refit_due(t);
	return p;
}

/* Prefetch the k-th block in value order (the last if k is nblocks). */
static void prefetch_block(const struct tailprob *t, size_t k)
{
	const struct tailprob_block *b = blk(t, k < t->nblocks ? k : t->nblocks - 1);

	/* the whole block, whatever its size: a fixed loop, no mispredicted exit */
	for (size_t j = 0; j < TAILPROB_BLOCK; j += 8)
		__builtin_prefetch(b->v + j);
}

void tailprob_prefetch(struct tailprob *t, double v)
{
	if (t->n == 0 || !isfinite(v) || v < t->split)
		return;
	/* the search tailprob_p_push() makes, kept for it */
	t->hint_k = block_below(t, v, &t->hint_below);
	t->hint_v = v;
	t->hint_gen = t->gen;
	prefetch_block(t, t->hint_k);
}

void tailprob_prefetch_oldest(struct tailprob *t)
{
	if (t->n == t->cap && t->ring[t->head] >= t->split) {
		t->hint_old = block_for(t, t->ring[t->head], 0);
		prefetch_block(t, t->hint_old);
	}
}
