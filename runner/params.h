/*
 * params.h - detector params: checked against the detector's schema, with
 * defaults filled in, and read by plugins through host services.
 */
#ifndef VIGIL_PARAMS_H
#define VIGIL_PARAMS_H

#include <jansson.h>
#include <vigil/detector.h>

#include "diag.h"
#include "error.h"

struct registry;

struct vigil_params {
	json_t *values;  /* the spec's values merged over the schema's defaults */
	/* Where detector entries in these params are looked up (ABI 1.1 instance services). */
	const struct registry *reg;
	/* A view of an array element (params_element): its parent and place in it. */
	const struct vigil_params *parent;
	char *key;
	size_t index;
	/* Views handed out by params_element(), owned and freed with these params. */
	struct vigil_params **views;
	size_t n_views;
};

/*
 * The host side of struct vigil_diag: while validating a spec, errors go to
 * `spec` under `path`; while running, into `err`.
 */
struct vigil_diag {
	struct diag *spec;
	const char *path;
	struct vigil_error *err;
	int failed;
};

/*
 * Check spec_params (a JSON object, or NULL for none) against schema (the
 * detector's parsed params_schema): unknown keys (with a suggestion), types,
 * bounds, enums, required params.  Every problem is added to d under path.
 * Returns the merged params, or NULL if there was any problem.
 */
struct vigil_params *params_build(const json_t *schema, const json_t *spec_params,
                                  struct diag *d, const char *path);
void params_free(struct vigil_params *p);

/* The host service implementations (also used directly by built-in code). */
int params_number(const struct vigil_params *p, const char *key, double *out);
int params_string(const struct vigil_params *p, const char *key, const char **out);
int params_bool(const struct vigil_params *p, const char *key, int *out);

/* Array params (host services of ABI 1.1): see struct vigil_host. */
int params_count(const struct vigil_params *p, const char *key, size_t *out);
const struct vigil_params *params_element(const struct vigil_params *p, const char *key, size_t index);

/*
 * The JSON path of view p (params_element()) below its root params, whose
 * path is `root` ("$.detectors[0].params" + ".detectors[1]"); root itself
 * for params that are not a view.
 */
void params_path(const struct vigil_params *p, const char *root, char *buf, size_t len);

/* Check that a schema is well formed; returns 0 or -1 with err set. */
int params_schema_check(const json_t *schema, struct vigil_error *err);

#endif
