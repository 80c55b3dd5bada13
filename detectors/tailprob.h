/*
 * tailprob.h - calibrated tail probabilities for raw anomaly statistics
 * (part of libdetkit).
 *
 * Many detectors compute a statistic with no known distribution (a nearest-
 * neighbour distance, a saliency ratio, a forecast error on heavy-tailed
 * data).  A tailprob turns it into p = P(V >= v) under the statistic's own
 * recent history, so that score = 1 - p follows the convention of
 * <vigil/detector.h> and means the same across detectors and series:
 *   - inside the bulk, p is the conformal p-value (#{past >= v} + 1) / (n + 1);
 *   - beyond the (1 - tail) quantile u, p continues with an exponential tail
 *     fitted to the excesses over u (the peaks-over-threshold method, as in
 *     Siffer et al., "Anomaly detection in streams with extreme value
 *     theory", KDD 2017, with the GPD shape fixed at 0), so unprecedented
 *     values keep getting smaller p instead of tying at 1 / (n + 1); when
 *     the top of the history is a single value (a statistic that is mostly
 *     0) the scale is the mean excess of the whole history over its
 *     minimum, and only a constant history gives p = 0 above it.
 * The history is the last `cap` pushed values, kept sorted in blocks of
 * at most TAILPROB_BLOCK: O(TAILPROB_BLOCK + cap / TAILPROB_BLOCK) to query
 * and to push (branch-free counts over the block maxima and over one block;
 * a push moves at most a block).  With tailprob_sort_top() only the top of
 * a full history is in blocks and the bulk below it is counted in bins: a
 * push there is O(TAILPROB_BINS).  The threshold u is refit every `refit`
 * pushes (TAILPROB_REFIT unless the caller sets another interval): from
 * scratch, O(tail * cap), with the excess summed in eight interleaved
 * partial sums (the same bits on every CPU), or, for all but one refit in
 * `exact_every`, moved from the values it passes; the count of the values
 * above it and their excess are kept at every push.
 */
#ifndef VIGIL_DETECTORS_TAILPROB_H
#define VIGIL_DETECTORS_TAILPROB_H

#include <stddef.h>
#include <stdint.h>

#define TAILPROB_REFIT 16

/*
 * A block of the sorted history: at most TAILPROB_BLOCK values, ascending,
 * and +Inf in the rest of the array (a power of two: see block_rank()).
 */
#define TAILPROB_BLOCK 128
struct tailprob_block {
	size_t size;
	double v[TAILPROB_BLOCK];
};

struct tailprob {
	size_t cap, n, head;
	double tail;
	double *ring;     /* values in arrival order (a ring of cap) */
	/*
	 * The same values sorted, as a list of blocks (order[] holds the block
	 * indices in value order): an update moves at most a block's values and
	 * the block index, not the whole history.
	 */
	struct tailprob_block *blocks;
	size_t *order, *spare;
	size_t nblocks, nspare, maxblocks;
	size_t scan;      /* block tops every count reads at least (see tailprob.c) */
	/*
	 * top[k] and cnt[k]: the largest value and the size of the k-th block
	 * in value order, kept beside order[] so that searches and counts walk
	 * one contiguous array instead of visiting every block.
	 */
	double *top;
	uint64_t *cnt;
	/*
	 * The tail: threshold u (refit every `refit` pushes), and the
	 * count and total excess of the values above it, kept exact at every
	 * push; `flat` is the scale used when nothing is above u.
	 */
	double u, excess, flat;
	size_t above, since_fit;
	size_t refit;   /* TAILPROB_REFIT after tailprob_init(); a caller may set another (>= 1) */
	/*
	 * 1 after tailprob_init(): every refit sums the tail's excess afresh.  A
	 * caller may set k > 1: then k - 1 refits of every k move the threshold
	 * and update the count and excess from the values it passes (O(values
	 * passed) instead of O(tail * cap)), with the rounding of those updates.
	 */
	size_t exact_every, fits;
	/*
	 * 0 after tailprob_init(); a caller may set 1: beyond u, p is then at
	 * least the share of the history at or above v, ge / (n + 1), so that a
	 * value the statistic has reached k times among its last n is never
	 * rarer than k / (n + 1) however thin the exponential tail says it is
	 * (a nightly job's spike, seen every night, stops being news); a value
	 * above everything in the history keeps the exponential tail.
	 */
	int precedent;
	int avx2;   /* count with AVX2 (set by tailprob_init when the CPU has it; same results) */
	/*
	 * What the prefetch hints found, for the push that follows them: the
	 * block a push of hint_v lands in and the values before it (valid while
	 * gen, bumped by every push, is hint_gen), and the block of the oldest
	 * value (checked against the block tops before it is used).
	 */
	size_t gen, hint_gen, hint_k, hint_below, hint_old;
	double hint_v;
	/*
	 * The values in the blocks: all of the history (ns == n), or with
	 * tailprob_sort_top() only those at or above `split`, the others counted
	 * in TAILPROB_BINS bins of equal width from `lo` up to split.
	 */
	size_t ns;
	double share, split, lo, inv_width;
	uint32_t *bins;
	double *scratch;           /* room for the history, to lower the split */
	size_t raise_at, lower_at; /* ns beyond which the split moves */
	size_t share_wait;         /* pushes before the split may rise again (ties held it) */
};

/* Returns 0, or -1 when out of memory.  tail in (0, 0.5]. */
int tailprob_init(struct tailprob *t, size_t cap, double tail);

/*
 * Keep only about the top `share` of a full history sorted (share in
 * [tail + 0.1, 0.5]; call after tailprob_init(), before any push; a history
 * of fewer than TAILPROB_SORT_TOP_MIN values stays wholly sorted).  Once the
 * history is full, the values below a split point are only counted in
 * TAILPROB_BINS bins of equal width between the lowest of them and the
 * split: a push below the split costs O(TAILPROB_BINS) instead of a search
 * and a move in the blocks.  The split is set so that the blocks hold share
 * of the history, and moves again when they hold more than share + 0.2 of it
 * (up: their lowest values leave for the bins) or fewer than tail + 0.05
 * (down: the largest values of the bins are selected from the history,
 * sorted and join the blocks).  Every p at or above the split (every p below
 * tail + 0.05), the tail's threshold and scale, and the inverse of every p
 * below tail are what the fully sorted history gives (the degenerate tail's
 * scale up to rounding: it is summed in arrival order); a p in the bulk is
 * interpolated within a bin, off by at most one bin's count.  Returns 0, or
 * -1 when out of memory (then the history stays wholly sorted).
 */
#define TAILPROB_BINS 64
#define TAILPROB_SORT_TOP_MIN 1024
int tailprob_sort_top(struct tailprob *t, double share);
void tailprob_release(struct tailprob *t);

/* P(V >= v) under the history; 1 with no history, 0 for v = +Inf. */
double tailprob_p(const struct tailprob *t, double v);

/*
 * The smallest statistic whose tail probability is at most p (the inverse of
 * tailprob_p(), for bands): +Inf with no history.
 */
double tailprob_inverse(const struct tailprob *t, double p);

/* Add v (finite) to the history, dropping the oldest value when full. */
void tailprob_push(struct tailprob *t, double v);

/*
 * tailprob_p(t, v) and then tailprob_push(t, v), with the same results, in
 * one search of the history where v falls in its bulk.
 */
double tailprob_p_push(struct tailprob *t, double v);

/*
 * Hints: fetch into the cache the part of the history that a push of v (or
 * the removal of the oldest value at the next push) will touch, so that the
 * memory latency overlaps with other work, and remember where it is, so the
 * push does not search for it again.  No effect on any result.
 */
void tailprob_prefetch(struct tailprob *t, double v);
void tailprob_prefetch_oldest(struct tailprob *t);

#endif
