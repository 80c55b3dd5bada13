/*
 * vigil/detector.h - the vigil detector plugin ABI.
 *
 * A plugin is a shared object that exports exactly one symbol, the data
 * object `vigil_plugin` (use VIGIL_PLUGIN_DEFINE).  vigil dlopen()s the file,
 * checks `vigil_plugin.abi_version`, and calls its init() with a table of host
 * services.  init() registers one or more detectors.
 *
 * Rules that keep this ABI stable for years:
 *   - every struct that crosses the boundary starts with `abi_version` and
 *     `struct_size`; the reader only reads `struct_size` bytes of it;
 *   - members are only ever appended; a callback whose meaning changes gets a
 *     new member (detect2), the old one stays;
 *   - the host refuses a plugin whose ABI major differs from its own, and
 *     accepts any minor (a plugin built against minor N runs on a host of
 *     minor >= N; a newer plugin on an older host runs if it uses nothing the
 *     host lacks: check `host->struct_size` before calling a newer service);
 *   - host objects are opaque; plugins never link against vigil itself.
 *
 * Ownership: everything the host passes to a callback is owned by the host
 * and valid only during that call, except `struct vigil_host`, which lives
 * until the plugin is unloaded.  Everything a plugin registers (descriptors,
 * strings in them) must stay valid until the plugin is unloaded; static const
 * data is the usual choice.  State returned by create() is owned by the
 * plugin and freed by destroy().
 *
 * Threads: detect() may be called from several threads at once, on the same
 * state.  A detector keeps no global mutable state and treats its state as
 * read-only in detect(); scratch memory is allocated per call.
 */
#ifndef VIGIL_DETECTOR_H
#define VIGIL_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIL_ABI_MAJOR 1
#define VIGIL_ABI_MINOR 2
#define VIGIL_ABI_VERSION (((uint32_t)VIGIL_ABI_MAJOR << 16) | VIGIL_ABI_MINOR)
#define VIGIL_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define VIGIL_ABI_MINOR_OF(v) ((uint32_t)(v) & 0xffffu)

/* The name of the one symbol a plugin exports. */
#define VIGIL_PLUGIN_SYMBOL "vigil_plugin"

#if defined(__GNUC__) || defined(__clang__)
#define VIGIL_EXPORT __attribute__((visibility("default")))
#define VIGIL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define VIGIL_EXPORT
#define VIGIL_PRINTF(fmt, args)
#endif

/* Opaque host objects. */
struct vigil_params;     /* a detector's validated params */
struct vigil_diag;       /* where a callback reports what went wrong */
struct vigil_plugin_ctx; /* registration context, valid during init() */
struct vigil_instance;   /* a detector instance run by the host for a plugin (ABI 1.1) */

enum vigil_log_level {
	VIGIL_LOG_ERROR = 3,
	VIGIL_LOG_WARNING = 4,
	VIGIL_LOG_INFO = 6,
	VIGIL_LOG_DEBUG = 7,
};

/* One label of a series (for example instance="web-2"). */
struct vigil_label {
	const char *key;
	const char *value;
};

/*
 * One time series, as the host hands it to detect().
 * Timestamps are milliseconds since the Unix epoch, non-decreasing (equal
 * timestamps can occur when a job keeps duplicates).  A value is NaN where
 * the point is missing; values may also be +Inf or -Inf.
 */
struct vigil_series {
	uint32_t abi_version;
	uint32_t struct_size;
	const char *name;
	const struct vigil_label *labels;
	size_t n_labels;
	size_t n;
	const int64_t *ts_ms;
	const double *values;
};

/*
 * The output of detect() for a series of n points.  The host allocates every
 * array with n elements and initialises score to 0, anomaly to 0, and
 * expected/lower/upper to NaN.  The detector writes:
 *   score[i]    evidence that point i is anomalous, in [0, 1]; by convention
 *               1 - p where p is the tail probability of the point under the
 *               detector's model of normal behaviour, so scores of different
 *               detectors are comparable;
 *   anomaly[i]  1 where the detector flags point i (its own threshold);
 *   expected[i], lower[i], upper[i]
 *               the model's expected value and normal band at i, where the
 *               detector has a model (leave NaN otherwise);
 *   warmup      how many leading points had too little history to be scored
 *               (their score must stay 0 and they are never flagged);
 *   rarity[i]   (ABI 1.2) how unusual point i is, as -log10 of its tail
 *               probability under the model: 4.6 reads "1 in 40 000".  Unlike
 *               score, it does not saturate, so a 5-sigma and a 50-sigma point
 *               rank apart.  Initialised to NaN; a detector that leaves it NaN
 *               gets -log10(1 - score) (at most 16).  Write it only when
 *               result->struct_size >= VIGIL_RESULT_HAS_RARITY.
 * A short reason per flagged point is set with host->set_reason().
 * Causality: unless the detector's flags contain VIGIL_DETECTOR_NONCAUSAL,
 * everything written for point i depends only on points 0..i.
 */
struct vigil_result {
	uint32_t abi_version;
	uint32_t struct_size;
	size_t n;
	double *score;
	uint8_t *anomaly;
	double *expected;
	double *lower;
	double *upper;
	size_t warmup;
	double *rarity;         /* ABI 1.2 */
};

/* struct_size of a vigil_result that has the rarity array (ABI >= 1.2). */
#define VIGIL_RESULT_HAS_RARITY (offsetof(struct vigil_result, rarity) + sizeof(double *))

enum vigil_detector_flags {
	/* detect() uses points after i to score point i (a batch method). */
	VIGIL_DETECTOR_NONCAUSAL = 1u << 0,
};

/*
 * A detector.  Register it from init() with host->register_detector().
 *
 * params_schema is a JSON object describing every parameter, used by the host
 * to validate specs (unknown keys, types, ranges), to supply defaults, and by
 * `vigil detectors`.  Each member maps a param name to an object with:
 *   "type"     "number", "integer", "boolean", "string", "array", "object",
 *              or an array of these;
 *   "default"  the value used when the spec leaves the param out (a param
 *              without a default is required);
 *   "min", "max"                inclusive bounds for numbers;
 *   "exclusive_min", "exclusive_max"  exclusive bounds for numbers;
 *   "enum"     allowed string values;
 *   "doc"      one line of documentation.
 */
struct vigil_detector {
	uint32_t abi_version;   /* VIGIL_ABI_VERSION */
	uint32_t struct_size;   /* sizeof(struct vigil_detector) */
	const char *name;       /* [a-z0-9_-]+, unique among loaded detectors; the plugin file's name
	                         * up to its first '.', alone or followed by '-' or '_' and more
	                         * (vigil finds the file by the name: docs/plugins.md) */
	const char *version;    /* the detector's own version, e.g. "1.2.0" */
	const char *summary;    /* one line */
	const char *params_schema;
	uint32_t flags;         /* enum vigil_detector_flags */

	/*
	 * Optional.  Cross-parameter checks beyond what the schema says.
	 * Report each problem with host->param_error() and return -1, or
	 * return 0.  Called by `vigil validate` and before create().
	 */
	int (*check)(const struct vigil_params *params, struct vigil_diag *diag);

	/*
	 * Build the detector's state from validated params.  Returns the
	 * state (never shared with other detector entries), or NULL after
	 * host->error().  A detector without state may return any non-NULL
	 * pointer, e.g. the address of a static const object.
	 */
	void *(*create)(const struct vigil_params *params, struct vigil_diag *diag);

	/* Free what create() returned.  May be NULL when there is nothing to free. */
	void (*destroy)(void *state);

	/*
	 * Score one series into result (see struct vigil_result).  Returns 0,
	 * or -1 after host->error() (the series fails with that reason; the
	 * host discards the partial result).
	 */
	int (*detect)(const void *state, const struct vigil_series *series,
	              struct vigil_result *result, struct vigil_diag *diag);
};

/*
 * Services of the host, passed to init().  The table lives until the plugin
 * is unloaded.  Read a member only if offsetof(member) < struct_size.
 */
struct vigil_host {
	uint32_t abi_version;
	uint32_t struct_size;

	/* Register a detector.  Returns 0, or -1 if it is refused (the reason is logged). */
	int (*register_detector)(struct vigil_plugin_ctx *ctx, const struct vigil_detector *detector);

	/* Log a line, tagged with the plugin's name. */
	void (*log)(int level, const char *fmt, ...) VIGIL_PRINTF(2, 3);

	/*
	 * Read a param (the spec's value, or the schema's default).
	 * Return 1 and set *out when the param has a value of that type,
	 * 0 when it has no value, -1 when it has another type.
	 * Strings stay valid for the life of params.
	 */
	int (*param_number)(const struct vigil_params *params, const char *key, double *out);
	int (*param_string)(const struct vigil_params *params, const char *key, const char **out);
	int (*param_bool)(const struct vigil_params *params, const char *key, int *out);

	/* Report an error.  The first error of a diag wins.  Both return -1. */
	int (*error)(struct vigil_diag *diag, const char *fmt, ...) VIGIL_PRINTF(2, 3);
	int (*param_error)(struct vigil_diag *diag, const char *key, const char *fmt, ...)
	        VIGIL_PRINTF(3, 4);

	/* Attach a short reason to point i of result.  Returns 0, or -1 if i is out of range. */
	int (*set_reason)(struct vigil_result *result, size_t i, const char *fmt, ...)
	        VIGIL_PRINTF(3, 4);

	/*
	 * --- Since ABI 1.1: structured params and detectors that run other
	 * detectors (`ensemble`).  Check offsetof(struct vigil_host, member) <
	 * host->struct_size before use.
	 */

	/*
	 * The number of elements of an "array" param: returns 1 and sets *out,
	 * 0 when the param has no value, -1 when it is not an array.
	 */
	int (*param_count)(const struct vigil_params *params, const char *key, size_t *out);

	/*
	 * Element `index` of the array param `key`, when that element is a JSON
	 * object, as params readable with param_number() and friends (no schema:
	 * a member that is absent reads as "no value").  The returned params are
	 * owned by `params` and live as long as it.  NULL when the param is not
	 * an array, the index is out of range or the element is not an object.
	 */
	const struct vigil_params *(*param_element)(const struct vigil_params *params, const char *key,
	                                            size_t index);

	/*
	 * Check a detector entry of the form {"detector": NAME, "params": {...}}
	 * given as params (typically from param_element()): the detector exists,
	 * its params pass its schema and its check(), and the entry has no
	 * members but "detector", "params" and those of extra_keys (a
	 * NULL-terminated list, or NULL).  Every problem is reported to diag
	 * with the entry's JSON path (so `vigil validate` shows
	 * $.detectors[0].params.detectors[1].params.window).  Returns 0 or -1.
	 * Call it from check().
	 */
	int (*instance_check)(const struct vigil_params *entry, const char *const *extra_keys,
	                      struct vigil_diag *diag);

	/*
	 * Create an instance of the detector an entry names (as above; the
	 * entry's other members, such as a weight, are ignored).  Returns the
	 * instance, owned by the caller until instance_free(), or NULL after
	 * reporting to diag.  Call it from create().
	 */
	struct vigil_instance *(*instance_new)(const struct vigil_params *entry, struct vigil_diag *diag);

	/* Free an instance.  NULL-safe. */
	void (*instance_free)(struct vigil_instance *inst);

	/* The detector's name and flags (enum vigil_detector_flags). */
	const char *(*instance_name)(const struct vigil_instance *inst);
	uint32_t (*instance_flags)(const struct vigil_instance *inst);

	/*
	 * Score a series with an instance.  Returns a result owned by the caller
	 * (free it with result_free()) with every array of series->n elements,
	 * policed like any detector's (scores in [0, 1], nothing inside the
	 * warm-up), or NULL after reporting to diag.  Safe to call from detect()
	 * on several threads at once.
	 */
	struct vigil_result *(*instance_detect)(const struct vigil_instance *inst,
	                                        const struct vigil_series *series, struct vigil_diag *diag);

	/* The reason the instance gave for point i of its result, or NULL. */
	const char *(*result_reason)(const struct vigil_result *result, size_t i);

	/* Free a result of instance_detect().  NULL-safe. */
	void (*result_free)(struct vigil_result *result);
};

/*
 * The one exported object of a plugin.
 * init() registers the plugin's detectors and returns 0, or returns -1 on
 * failure (after host->log()); on failure the host unregisters whatever was
 * registered and unloads the plugin.  fini() (optional) runs before unload.
 */
struct vigil_plugin {
	uint32_t abi_version;   /* VIGIL_ABI_VERSION */
	uint32_t struct_size;   /* sizeof(struct vigil_plugin) */
	const char *name;
	const char *version;
	int (*init)(const struct vigil_host *host, struct vigil_plugin_ctx *ctx);
	void (*fini)(void);
};

/* Define the exported object: VIGIL_PLUGIN_DEFINE("mine", "1.0.0", my_init, NULL); */
#define VIGIL_PLUGIN_DEFINE(name_, version_, init_, fini_)             \
	VIGIL_EXPORT const struct vigil_plugin vigil_plugin = {        \
		.abi_version = VIGIL_ABI_VERSION,                      \
		.struct_size = sizeof(struct vigil_plugin),            \
		.name = (name_),                                       \
		.version = (version_),                                 \
		.init = (init_),                                       \
		.fini = (fini_),                                       \
	}

/* Fill the two header fields of a descriptor: VIGIL_DETECTOR_HEADER, .name = ... */
#define VIGIL_DETECTOR_HEADER \
	.abi_version = VIGIL_ABI_VERSION, .struct_size = sizeof(struct vigil_detector)

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_DETECTOR_H */
