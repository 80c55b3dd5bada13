/*
 * plugin.h - finding, loading and registering detector plugins.
 *
 * Search path, first match of a detector name wins: each --plugin-dir, then
 * each directory of $VIGIL_PLUGIN_PATH (colon-separated), then the installed
 * plugin directory.  Plugins are loaded on demand: a detector name is looked
 * for in the file of that name (NAME.so), then in the file named for each part
 * of NAME before a '-' or '_' (acme-fast: acme-fast.so, then acme.so), and a
 * file may only register names that fit its own (acme.so: acme, acme-*,
 * acme_*).  Only `vigil detectors` and an unknown name (to list what is known)
 * load every *.so of the path.  Files are loaded with dlopen(RTLD_NOW |
 * RTLD_LOCAL) after trust_check().  A file that is refused (not a regular
 * file, untrusted, dlopen error, no `vigil_plugin` symbol, another ABI major,
 * failed init) is reported with its path and skipped; the others still load.
 */
#ifndef VIGIL_PLUGIN_H
#define VIGIL_PLUGIN_H

#include <jansson.h>
#include <pthread.h>
#include <vigil/detector.h>

#include "error.h"

struct registry;
struct exec_program;
struct exec_table;
struct pushed;

struct plugin {
	char *path;
	void *handle;
	struct vigil_plugin desc;   /* zero-padded copy of the plugin's object */
	int builtin;                /* one of vigil's own detector plugins: runs in-process by default */
};

/*
 * A detector: from a plugin (plugin set), or an algorithm of an external
 * executable (exec set; d.create and d.detect are NULL, see exec-detector.h).
 */
struct detector_entry {
	struct vigil_detector d;    /* zero-padded copy of the descriptor */
	json_t *schema;             /* parsed params_schema */
	struct plugin *plugin;
	const struct registry *reg; /* the registry it is in: where its params find other detectors */
	struct exec_program *exec;
	size_t min_history;         /* from an executable's describe (0 for plugins) */
};

struct registry {
	struct plugin **plugins;
	size_t n_plugins;
	struct detector_entry **detectors;
	size_t n_detectors;
	char **refused;             /* one message per refused file, for `vigil detectors` */
	size_t n_refused;
	char **dirs;                /* the directories searched, in order (executables are found here too) */
	uint64_t *dir_sigs;         /* a hash of each directory's *.so files (names, inodes, mtimes, sizes) */
	size_t n_dirs;
	struct exec_table *execs;   /* external executables described so far, and their workers */
	char **tried;               /* plugin files loaded or refused, so each is tried once */
	size_t n_tried;
	int all_loaded;             /* every *.so of dirs was tried (registry_load_all) */
	pthread_mutex_t lock;       /* loading on demand happens under it (recursive) */
	struct pushed *pushed;      /* resolves specs' {"exec": {"pushed": NAME}} (pushed.h); NULL: none; freed with reg */
};

struct registry *registry_new(void);
void registry_free(struct registry *reg);

/* Load one plugin file.  Returns 0, or -1 with err naming the path. */
int registry_load_file(struct registry *reg, const char *path, struct vigil_error *err);

/* Append dir to the search path; nothing is loaded until a name is looked up. */
void registry_add_dir(struct registry *reg, const char *dir);

/*
 * Append dir to the search path and load every *.so of it now, in name order;
 * refused files are logged and listed in reg->refused.
 */
void registry_load_dir(struct registry *reg, const char *dir);

/* The standard search path: extra dirs (may be NULL), $VIGIL_PLUGIN_PATH, the installed dir. */
void registry_add_default(struct registry *reg, const char *const *extra_dirs, size_t n_extra);

/* Load every *.so of the search path not tried yet (for `vigil detectors`). */
void registry_load_all(struct registry *reg);

/*
 * The detector called name, its plugin file loaded on first use (thread-safe;
 * reg is logically const), or NULL when no file of the search path has it.
 */
const struct detector_entry *registry_find(const struct registry *reg, const char *name);

/*
 * Every detector name the search path provides, sorted, after loading every
 * plugin file (for the message about an unknown name).  *n is set; the caller frees
 * the array (not the names, which live as long as reg).
 */
const char **registry_names(const struct registry *reg, size_t *n);

/*
 * Whether a detector runs in supervised worker processes when its spec
 * entry does not say: $VIGIL_ISOLATION ("process" or "in-process") if set,
 * else in-process for vigil's built-in plugins and external executables
 * (already separate processes), process isolation for other plugins.
 */
int registry_isolate_by_default(const struct detector_entry *e);

/*
 * Whether any plugin file loaded into reg was replaced, removed or added
 * since (a long-running process rebuilds its registry when it was).
 */
int registry_stale(const struct registry *reg);

/* The host services table given to every plugin. */
extern const struct vigil_host vigil_host_services;

#endif
