/*
 * sortwin.h - a sliding window of the last `cap` finite values kept sorted,
 * with its median and MAD in O(log cap) (part of libdetkit).  The same
 * technique as detectors/mad.c: one memmove per step, and the MAD as the
 * median of the two sorted sequences of distances left and right of the
 * median, found by a galloping search from where the last one ended.
 */
#ifndef VIGIL_DETECTORS_SORTWIN_H
#define VIGIL_DETECTORS_SORTWIN_H

#include <stddef.h>

struct sortwin {
	size_t cap, n, head;
	double *ring;     /* arrival order */
	double *sorted;
	size_t mad_split;  /* where the MAD's search ended last time: the next one starts there */
};

int sortwin_init(struct sortwin *w, size_t cap);
void sortwin_release(struct sortwin *w);

/* Add a finite value (others are ignored), dropping the oldest when full. */
void sortwin_push(struct sortwin *w, double v);

/*
 * Median and robust scale of the window: 1.4826 MAD, or when the MAD is 0
 * (more than half of the values equal) 1.2533 times the mean absolute
 * deviation from the median (Iglewicz and Hoaglin); 0 for a constant
 * window.  n must be > 0.
 */
void sortwin_stats(struct sortwin *w, double *median, double *scale);

#endif
