/* fuzzutil.h - checks the fuzz targets share (see tests/fuzz-main.c). */
#ifndef VIGIL_FUZZUTIL_H
#define VIGIL_FUZZUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless msg is a non-empty message (a failure must say why). */
static inline void fuzz_check_message(const char *msg, const char *what)
{
	if (!msg || !msg[0]) {
		fprintf(stderr, "%s failed without a message\n", what);
		abort();
	}
}

/* A NUL-terminated copy of the input. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
