/*
 * exec-proto.h - the external detector protocol, version 1: encoding
 * requests and decoding responses (one JSON document per line).  The
 * protocol itself is specified in docs/exec-protocol.md.
 *
 * The detect exchange is on the hot path (a 1000-point series is ~20 kB
 * each way), so it has its own encoder and a small pull parser with an
 * exact fast path for short decimals; everything else goes through jansson.
 */
#ifndef VIGIL_EXEC_PROTO_H
#define VIGIL_EXEC_PROTO_H

#include <jansson.h>
#include <stdint.h>

#include "detect.h"
#include "error.h"
#include "series.h"
#include "strbuf.h"

#define EXEC_PROTOCOL_VERSION 1

/* Context sent with every detect request. */
struct exec_context {
	const char *job;
	int64_t run_id;            /* 0 when the run is not stored */
	const char *entry_id;      /* the detector entry's id in the job */
};

/* Append a detect request for s as one line (ending in '\n'). */
void exec_proto_detect_request(struct strbuf *sb, uint64_t id, const char *detector,
                               const char *params_json, const struct exec_context *ctx,
                               const struct series *s);

/* Append a describe request as one line. */
void exec_proto_describe_request(struct strbuf *sb, uint64_t id);

/*
 * Decode a detect response for a series of n points into det (initialised
 * by the caller with detection_init-like defaults: scores 0, NaN bands).
 * min_history is the warm-up used when the response has none.  Returns 0,
 * or -1 with err saying what was wrong ("malformed response: ...",
 * "response has id 4, expected 5", or the detector's own error message).
 */
int exec_proto_detect_response(const char *line, size_t len, uint64_t want_id, size_t n,
                               size_t min_history, struct detection *det, struct vigil_error *err);

/*
 * Decode a describe response.  Returns the "detectors" array (new
 * reference), or NULL with err set.  *explains is set when the response
 * advertises the explain method ("explain": true); the array may then be
 * empty (an executable that only explains).
 */
json_t *exec_proto_describe_response(const char *line, size_t len, uint64_t want_id, int *explains,
                                     struct vigil_error *err);

struct explain_input;

/*
 * Append an explain request for the incident group in (one line): every
 * series with its labels, whether it is anomalous and its onset
 * (runner/exec-proto-explain.c).
 */
void exec_proto_explain_request(struct strbuf *sb, uint64_t id, const struct explain_input *in);

/*
 * Decode an explain response to in into hints of explain.h's form (a new
 * object; "method", "program" and the counts are the caller's).  Returns
 * NULL with err set: "malformed explain response: ...", a wrong id, or
 * the executable's own error message.
 */
json_t *exec_proto_explain_response(const char *line, size_t len, uint64_t want_id,
                                    const struct explain_input *in, struct vigil_error *err);

/* Append v as a JSON number (null for NaN, "inf"/"-inf" strings for infinities). */
void exec_proto_put_double(struct strbuf *sb, double v);

/* Append s as a JSON string (invalid UTF-8 becomes U+FFFD). */
void exec_proto_put_string(struct strbuf *sb, const char *s);

#endif
