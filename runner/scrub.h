/*
 * scrub.h - resolved secrets never leave the process in text.
 *
 * secret_resolve() registers every value it resolves, with the reference it
 * came from ("${env:PROM_TOKEN}").  Every error (vigil_error_set), log line
 * (vigil_log) and API answer passes through scrub_*(), which replaces each
 * registered value by its reference, whatever produced the text: an upstream
 * body echoing a request header, curl, a detector's stderr.
 *
 * Besides the value itself, its percent-encoded and JSON-escaped forms are
 * registered, and for a URL its user information when it holds a password,
 * the password, and the values of
 * credential-looking query parameters (redact.h), and any path segment or
 * query value of 16 or more bytes mixing letters and digits (a webhook's
 * secret path).  Values shorter than SCRUB_MIN_LEN bytes are not registered:
 * they cannot be told apart from ordinary text.  The registry holds at most
 * SCRUB_MAX_ENTRIES values per process, the oldest leaving first.
 * Thread-safe.
 */
#ifndef VIGIL_SCRUB_H
#define VIGIL_SCRUB_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

#define SCRUB_MIN_LEN 4
#define SCRUB_MAX_ENTRIES 4096

/* Register value (and its derived forms) as a secret shown as ref. */
void scrub_register(const char *value, const char *ref);

/* Register only the secret parts of the URLs in url (as scrub_register does), shown as ref. */
void scrub_register_url(const char *url, const char *ref);

/* Register the "Basic" credentials curl sends for user:password, shown as ref. */
void scrub_register_basic(const char *user, const char *password, const char *ref);

/* 1 if anything is registered. */
int scrub_active(void);

/* A newly allocated copy of text with every registered value replaced. */
char *scrub_dup(const char *text);

/* Scrub the NUL-terminated text in buf (size bytes), truncating if it grows. */
void scrub_buf(char *buf, size_t size);

/* vsnprintf into buf (size bytes), the whole text scrubbed before it is cut to size. */
void scrub_vformat(char *buf, size_t size, const char *fmt, va_list ap);

/* Scrub every string (not keys) of a JSON value in place. */
void scrub_json(json_t *v);

/*
 * Quote len bytes of text from outside (an upstream body): scrubbed first,
 * then control characters and invalid UTF-8 escaped (log_escape), white space
 * runs collapsed, cut to at most max_chars characters before escaping with
 * "..." when cut.  Writes into dst (dstlen bytes) and returns it.
 */
char *scrub_quote(char *dst, size_t dstlen, const char *text, size_t len, size_t max_chars);

/* Forget every registered value (tests). */
void scrub_reset(void);

#endif
