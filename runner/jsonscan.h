/*
 * jsonscan.h - a strict pull scanner over a JSON text in memory.
 *
 * The HTTP sources read large responses (a Prometheus answer for 1 000 series
 * of 10 000 points is 250 MB) where building a jansson tree would cost ten
 * times the text in memory.  The scanner walks the text once, in place: the
 * caller asks for the value it expects next and skips what it does not need.
 * It validates as it goes (a truncated or malformed body is an error naming
 * the byte offset) and never recurses, so nesting depth costs nothing.
 *
 * Every function returns 0 (or 1/0 for the iteration calls) on success and -1
 * on error; the first error is kept in s->msg and every later call fails.
 */
#ifndef VIGIL_JSONSCAN_H
#define VIGIL_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

enum jtype {
	JT_ERROR = -1,
	JT_END = 0,   /* no more input */
	JT_OBJECT,
	JT_ARRAY,
	JT_STRING,
	JT_NUMBER,
	JT_TRUE,
	JT_FALSE,
	JT_NULL,
};

struct jscan {
	const char *start, *p, *end;
	int failed;
	char msg[256];
	struct strbuf scratch;   /* decoded strings that held escapes */
	char last;               /* internal: the last significant character consumed */
};

void jscan_init(struct jscan *s, const char *buf, size_t len);
void jscan_release(struct jscan *s);

/* The type of the next value (whitespace skipped); JT_END at the end of input. */
enum jtype jscan_peek(struct jscan *s);
/* A name for a type, for messages ("an object", "a string", ...). */
const char *jscan_type_name(enum jtype t);

/* Record an error at the current position ("at byte N: ..."); returns -1. */
int jscan_fail(struct jscan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Objects: jscan_object(s) consumes '{'; then jscan_key(s, &k, &klen)
 * returns 1 with the next member's key (its value comes next), 0 after the
 * closing '}', -1 on error.  The key points into the input or the scratch
 * buffer and is valid until the next string is read.
 */
int jscan_object(struct jscan *s);
int jscan_key(struct jscan *s, const char **key, size_t *len);

/* Arrays: jscan_array(s) consumes '['; jscan_next(s) returns 1 if an element follows, 0 after ']'. */
int jscan_array(struct jscan *s);
int jscan_next(struct jscan *s);

/* A string value, unescaped (valid until the next string is read). */
int jscan_string(struct jscan *s, const char **str, size_t *len);
/* A number value as its text (validated JSON number grammar). */
int jscan_number_text(struct jscan *s, const char **text, size_t *len);
/* A number value as a double. */
int jscan_double(struct jscan *s, double *v);
/*
 * The elements of an array (after jscan_array()) that are numbers or null
 * (NaN), in one tight loop: element i goes to out[*count] while *count <
 * cap, and *count counts them all.  Returns 0 after the closing ']', -1 on
 * error, or 1 when the next element is something else: the caller reads that
 * one value (and counts it), then calls again.
 */
int jscan_doubles(struct jscan *s, double *out, size_t cap, size_t *count);
/* null: returns 0 and consumes it; any other value is an error. */
int jscan_null(struct jscan *s);
/* Skip one value of any type. */
int jscan_skip(struct jscan *s);
/* Check that only whitespace remains. */
int jscan_finish(struct jscan *s);

/* Key comparison helper. */
static inline int jscan_key_is(const char *key, size_t len, const char *name)
{
	size_t n = 0;

	while (name[n])
		n++;
	return n == len && !__builtin_memcmp(key, name, len);
}

/*
 * Parse [p, p+len) as a decimal number (JSON grammar or "+Inf", "-Inf",
 * "NaN", "Infinity").  Correctly rounded (Clinger's fast path, else
 * strtod).  Returns 0 and sets *v, or -1.
 */
int json_parse_double(const char *p, size_t len, double *v);

/*
 * Parse a decimal number of units of unit_ms milliseconds exactly into
 * milliseconds: "1795299300.5" with unit_ms 1000 (seconds) gives
 * 1795299300500.  Fractions of a millisecond are truncated toward minus
 * infinity; exponents are accepted.  Returns 0, or -1 when the text is not a
 * number or the result is out of range.
 */
int json_decimal_to_ms(const char *p, size_t len, int64_t unit_ms, int64_t *ms);

#endif
