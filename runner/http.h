/*
 * http.h - the small libcurl client shared by the HTTP sources.
 *
 * One client per fetch: its curl handle keeps the connection alive across
 * the pages or chunks of that fetch.  Requests ask for gzip, have a connect
 * and a total timeout, verify TLS unless the spec says otherwise, and stop
 * receiving as soon as the body passes the size cap.  Connection errors,
 * timeouts and HTTP 5xx are retried with exponential backoff and jitter;
 * nothing else is.  libcurl honours the usual proxy variables (http_proxy,
 * https_proxy, no_proxy).
 *
 * Messages name the source and its URL as the spec wrote it, without
 * userinfo or query string, so resolved secrets never appear:
 * "prometheus http://127.0.0.1:9099: HTTP 400 bad_data: ...".
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "error.h"
#include "jsonscan.h"
#include "strbuf.h"

/* The spec keys every HTTP source accepts (append to its own key list). */
#define HTTP_CONFIG_KEYS \
	"url", "timeout", "connect_timeout", "retries", "retry_backoff", "max_response_bytes", \
	"tls_verify", "ca_file", "headers", "bearer_token", "username", "password"

#define HTTP_DEFAULT_TIMEOUT_MS 30000
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define HTTP_DEFAULT_RETRIES 2
#define HTTP_DEFAULT_BACKOFF_MS 500
#define HTTP_DEFAULT_MAX_BYTES ((size_t)512 << 20)

/* Validate the HTTP keys of a source object (url required). */
void http_check_config(const json_t *cfg, struct diag *d, const char *path);

struct http_client;

/*
 * A client for the source object cfg (its HTTP keys), with secrets resolved
 * now; source names the source type for messages.  NULL with err set when a
 * secret cannot be resolved.
 */
struct http_client *http_client_new(const char *source, const json_t *cfg, const char *spec_dir,
                                    struct vigil_error *err);
void http_client_free(struct http_client *c);

/* The resolved base URL (may hold secrets: never print it). */
const char *http_client_url(const struct http_client *c);
/* "<source> <url as written>[ (note)]", the prefix of every message. */
const char *http_client_name(const struct http_client *c);
/* Add a note to the name, e.g. "page 3" (NULL to clear). */
void http_client_set_note(struct http_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct http_response {
	long status;
	const char *body;         /* owned by the client, valid until the next request */
	size_t len;
	const char *content_type; /* "" when absent */
};

/*
 * GET url (absolute; built from http_client_url()).  Returns 0 when a
 * response arrived, whatever its status (a 5xx only after the retries ran
 * out); -1 with err set when none did, or the body passed the size cap.
 */
int http_get(struct http_client *c, const char *url, struct http_response *resp, struct vigil_error *err);

/* Append "&key=value" (or "?key=value" for the first parameter), URL-encoded. */
void http_add_param(struct strbuf *url, const char *key, const char *value);

/* err = "<name>: HTTP <status>: <detail>" (detail NULL: an excerpt of the body).  Returns -1. */
int http_fail_status(struct http_client *c, const struct http_response *r, const char *detail,
                     struct vigil_error *err);

/*
 * The body did not scan as the JSON expected: err says so, naming HTML or
 * other non-JSON bodies by their content type and first bytes, and a
 * truncated or malformed body by the scanner's message.  Returns -1.
 */
int http_fail_json(struct http_client *c, const struct http_response *r, const char *scan_msg,
                   struct vigil_error *err);

/* Process-wide counters, for benchmarks: time spent inside transfers, bytes received. */
struct http_stats {
	int64_t transfer_ns;
	uint64_t bytes;
	uint64_t requests;
};
void http_stats_get(struct http_stats *out);

/* An escaped excerpt of the body's first bytes, for messages. */
const char *http_body_excerpt(const struct http_response *r, char *buf, size_t len);

#endif
