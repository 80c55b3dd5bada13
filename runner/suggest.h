/* suggest.h - "did you mean" for misspelt names. */
#ifndef VIGIL_SUGGEST_H
#define VIGIL_SUGGEST_H

#include <stddef.h>

/* Edit distance (optimal string alignment) between a and b, capped at 64. */
unsigned suggest_distance(const char *a, const char *b);

/*
 * The candidate closest to word, or NULL if none is close enough (distance
 * at most a third of the word's length, at least 1, or a prefix match).
 */
const char *suggest_closest(const char *word, const char *const *candidates, size_t n);

#endif
