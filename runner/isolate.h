/*
 * isolate.h - running a plugin's detect() in supervised worker processes.
 *
 * An isolated detector instance owns a pool of `vigil-plugin-host`
 * workers.  Each worker loads the plugin file itself (so a replaced file
 * takes effect at the next worker start), builds the detector with the
 * job's params, and answers one request per series.  A worker that
 * crashes, aborts, spins past the deadline or runs out of its limits fails
 * only that series, with the reason recorded (for example "detector 'x':
 * crashed: killed by signal 11 (SIGSEGV)"); the next series gets a fresh
 * worker.
 *
 * Runner and worker are the same build of vigil, so the frames between them
 * are binary: a 16-byte header (magic, kind, payload length) and the
 * series' arrays as they are in memory.  The worker program is found at
 * $VIGIL_PLUGIN_HOST, else at the installed path.
 */
#ifndef VIGIL_ISOLATE_H
#define VIGIL_ISOLATE_H

#include "detect.h"
#include "worker.h"

/*
 * The pool for an isolated instance of plugin detector e.  *timeout_ms and
 * *output_max get the limits to use per series.  NULL with err set when
 * the worker program cannot be found.
 */
struct worker_pool *isolate_pool_new(const struct detector_entry *e, const char *job,
                                     const struct run_limits *limits, int64_t *timeout_ms,
                                     size_t *output_max, struct vigil_error *err);

/* Score s in a worker (detection_run calls this). */
int isolate_detect(const struct detector_instance *inst, const struct series *s, struct detection *det,
                   struct vigil_error *err);

/* The worker's main loop: vigil-plugin-host PLUGIN.so.  Returns the exit status. */
int isolate_worker_main(int argc, char **argv);

/* The path of the worker program ($VIGIL_PLUGIN_HOST or the installed one). */
const char *isolate_host_path(void);

#endif
