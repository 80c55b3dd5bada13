/*
 * api.h - the daemon's HTTP API (libmicrohttpd), documented in docs/api.md.
 *
 * Read-only endpoints are open; mutating ones (POST) need the operator's
 * bearer token, or, when none is configured, a listen address on loopback.
 * Every error is a JSON object {"error": "..."} with a 4xx or 5xx status.
 */
#ifndef VIGIL_API_H
#define VIGIL_API_H

#include "error.h"
#include "serve.h"
#include "strbuf.h"

struct api_config {
	const char *listen;        /* "HOST:PORT" (IPv4, or [IPv6]); port 0 picks one */
	const char *token;         /* NULL: none configured */
	const char *store_path;    /* the API reads through its own store connection */
};

struct api;

/* Start serving in a thread of libmicrohttpd's.  NULL with err set on failure. */
struct api *api_start(const struct api_config *cfg, struct serve *sv, struct vigil_error *err);
void api_stop(struct api *api);

/* "HOST:PORT" actually bound (with the port picked when 0 was asked). */
const char *api_address(const struct api *api);

/* Split "HOST:PORT" / "[V6]:PORT"; 0, or -1 with err set.  *loopback: 127.0.0.0/8 or ::1. */
int api_parse_listen(const char *listen, char *host, size_t host_size, unsigned *port, int *loopback,
                     struct vigil_error *err);

/* Compare a presented token with the configured one in time independent of where they differ. */
int api_token_equal(const char *given, const char *expected);

/* Append v as a JSON number with 9 significant digits (null when not finite). */
void api_format_number(struct strbuf *sb, double v);

/* A deep copy of a spec with secret-looking values replaced by "[redacted]". */
json_t *api_redact(const json_t *spec);

#endif
