/*
 * api-request.h - strict parsing of what an HTTP client sends to the API,
 * as pure functions (no libmicrohttpd), so they are unit-tested and fuzzed.
 *
 * libmicrohttpd hands the access handler a URL already percent-decoded into
 * a C string: "/api/jobs/cpu%00" arrives as "/api/jobs/cpu", and a repeated
 * query parameter silently wins or loses.  The API therefore checks the raw
 * request target first (api_target_check) and answers 400 on anything odd.
 */
#ifndef VIGIL_API_REQUEST_H
#define VIGIL_API_REQUEST_H

#include <stddef.h>

/* Query parameters past this many are refused (no endpoint takes more than a few). */
#define API_MAX_PARAMS 16

/*
 * Check a raw request target ("/path?query", as on the request line).
 * Refused: a target not starting with '/', a malformed %-escape, a control
 * character (raw or escaped: 0x00-0x1f, 0x7f) in the path or in a query
 * name or value, more than API_MAX_PARAMS parameters, a parameter given
 * twice.  Returns 0, or -1 with a message for the 400 answer in msg.
 */
int api_target_check(const char *target, size_t len, char *msg, size_t msg_size);

/*
 * A decimal integer in [lo, hi]: optional '-', digits, nothing else (no
 * spaces, no '+', no overflow: an out-of-range value is an error, never
 * clamped).  Returns 0 with *v set, or -1.
 */
int api_parse_int(const char *s, long long lo, long long hi, long long *v);

/*
 * The token of an Authorization header value (value_len bytes, which may
 * hold a NUL) equals expected: the scheme "Bearer" (any case), one space,
 * then exactly the token's bytes.  Takes the same time wherever they differ.
 */
int api_bearer_matches(const char *value, size_t value_len, const char *expected);

/* Compare two byte strings in time independent of where they differ. */
int api_token_equal_n(const char *given, size_t given_len, const char *expected, size_t expected_len);

#endif
