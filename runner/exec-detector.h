/*
 * exec-detector.h - detectors that are external executables speaking the
 * protocol of docs/exec-protocol.md.
 *
 * A spec entry names one with an "exec" object next to "detector", the
 * name of one of the algorithms the executable offers:
 *
 *   {"detector": "level-shift", "exec": {"path": "shift.py", "lifecycle": "persistent",
 *    "args": [], "env": {}, "user": "nobody", "workers": 1, "idle": "5m",
 *    "limits": {"timeout": "30s", ...}}, "params": {...}}
 *
 * Validating the spec runs the executable once with a `describe` request;
 * its algorithms become detector entries (params schema, minimum history)
 * kept in the registry, so params are checked like a plugin's and the rest
 * of vigil (detect, alerting, the store) treats them as any detector.
 * Executables with the same exec object share one description and, per
 * job, one pool of workers.
 */
#ifndef VIGIL_EXEC_DETECTOR_H
#define VIGIL_EXEC_DETECTOR_H

#include <jansson.h>

#include "detect.h"
#include "diag.h"
#include "plugin.h"
#include "worker.h"

/*
 * Check the exec object at path (a JSON path like "$.detectors[0].exec"),
 * describe the executable (once per registry), and return the entry for
 * algorithm `name`, or NULL after adding every problem to d.  spec_dir
 * resolves relative paths; a bare name is looked up in reg's directories.
 */
const struct detector_entry *exec_spec_entry(const struct registry *reg, const json_t *exec,
                                             const char *name, const char *spec_dir,
                                             struct diag *d, const char *path);

/* Parse a "limits" object over l (holding the defaults); problems go to d. */
int exec_limits_parse(const json_t *limits, struct run_limits *l, struct diag *d, const char *path);

/*
 * Find the executables of reg's directories (regular files with an execute
 * bit, not *.so, not hidden), describe each, and register their algorithms
 * in reg->execs; failures go to reg->refused.  For `vigil detectors`.
 */
void exec_discover(struct registry *reg);

/* Every described executable's entries, for listing: calls fn for each. */
void exec_foreach_entry(const struct registry *reg,
                        void (*fn)(void *arg, const struct detector_entry *e, const char *path), void *arg);

/* The executable's path (for messages and listings). */
const char *exec_program_path(const struct exec_program *p);

/* Run one detect request for inst over s into det (detection_run calls this). */
int exec_detect(const struct detector_instance *inst, const struct series *s, struct detection *det,
                struct vigil_error *err);

struct explain_input;

/*
 * The program of a spec's "explain": {"exec": ...} object at path (the exec
 * object's JSON path), described once per registry like a detector's; NULL
 * after adding every problem to d, including a program whose describe does
 * not advertise the explain method.
 */
const struct exec_program *exec_spec_explain(const struct registry *reg, const json_t *exec, const char *spec_dir,
                                             struct diag *d, const char *path);

/*
 * Send p an explain request for in (docs/exec-protocol.md#explain) and
 * return its contributors, first_moved and statistic as a new object, or
 * NULL with err set (could not run, timed out, malformed response, its
 * error message).  Its stderr is logged.
 */
json_t *exec_explain(const struct exec_program *p, const struct explain_input *in, struct vigil_error *err);

/* Retire idle workers of every pool (a long-running process calls this between runs). */
void exec_table_reap(struct exec_table *t);

void exec_table_free(struct exec_table *t);

#endif
