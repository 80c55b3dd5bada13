/* suggest.c - closest-match suggestions for unknown keys and names. */
#include <string.h>

#include "suggest.h"
#include "banned.h"

#define MAXLEN 64

unsigned suggest_distance(const char *a, const char *b)
{
	unsigned d[MAXLEN + 1][MAXLEN + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > MAXLEN || lb > MAXLEN)
		return MAXLEN;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

const char *suggest_closest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	unsigned best_d = MAXLEN, limit;
	size_t len = strlen(word);

	limit = (unsigned)(len / 3);
	if (limit < 1)
		limit = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned dist = suggest_distance(word, candidates[i]);

		if (dist <= limit && dist < best_d) {
			best = candidates[i];
			best_d = dist;
		}
	}
	return best;
}
