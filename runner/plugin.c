/* plugin.c - the plugin loader, the detector registry and the host services. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "detect.h"
#include "exec-detector.h"
#include "log.h"
#include "params.h"
#include "paths.h"
#include "plugin.h"
#include "pushed.h"
#include "strbuf.h"
#include "suggest.h"
#include "trust.h"
#include "xmalloc.h"
#include "banned.h"

#ifndef VIGIL_PLUGIN_DIR
#define VIGIL_PLUGIN_DIR "/usr/local/lib/vigil/detectors"
#endif

/* The longest detector name: [a-z0-9_-]{1,64}. */
#define DETECTOR_NAME_MAX 64

/* Registration context handed to a plugin's init(). */
struct vigil_plugin_ctx {
	struct registry *reg;
	struct plugin *plugin;
	int refused;
};

/* The plugin whose init() is running on this thread, to tag its log lines. */
static __thread const char *initialising;

/* --- host services ---------------------------------------------------- */

static void host_log(int level, const char *fmt, ...)
{
	char msg[1024], esc[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vigil_log(level <= VIGIL_LOG_ERROR ? LOG_LVL_ERROR : level == VIGIL_LOG_WARNING ? LOG_LVL_WARNING
	          : level == VIGIL_LOG_INFO ? LOG_LVL_INFO : LOG_LVL_DEBUG,
	          "plugin", "%s%s%s%s", initialising ? "'" : "", initialising ? initialising : "",
	          initialising ? "': " : "", log_escape(esc, sizeof(esc), msg));
}

static int vdiag_report(struct vigil_diag *d, const char *key, const char *fmt, va_list ap)
{
	char msg[512], path[JPATH_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!d)
		return -1;
	d->failed = 1;
	if (d->spec) {
		if (key)
			jpath_key(path, sizeof(path), d->path ? d->path : "$", key);
		diag_add(d->spec, key ? path : d->path, "%s", msg);
	} else if (key) {
		vigil_error_set(d->err, VIGIL_E_PLUGIN, "param '%s': %s", key, msg);
	} else {
		vigil_error_set(d->err, VIGIL_E_PLUGIN, "%s", msg);
	}
	return -1;
}

static int host_error(struct vigil_diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_report(d, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

static int host_param_error(struct vigil_diag *d, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_report(d, key ? key : "", fmt, ap);
	va_end(ap);
	return -1;
}

static int host_set_reason(struct vigil_result *r, size_t i, const char *fmt, ...)
{
	struct detection *det = detection_of_result(r);
	va_list ap;
	char buf[256];

	if (!det || i >= r->n)
		return -1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	detection_set_reason(det, i, buf);
	return 0;
}

/* --- ABI 1.1: detectors that run other detectors ---------------------- */

/* What a plugin holds for a detector instance it asked the host for. */
struct vigil_instance {
	struct detector_instance *inst;
};

/* Report msg about the member `key` (NULL: the entry itself) of a params view. */
static int report_at(struct vigil_diag *d, const struct vigil_params *entry, const char *key,
                     const char *fmt, ...) VIGIL_PRINTF(4, 5);

static int report_at(struct vigil_diag *d, const struct vigil_params *entry, const char *key,
                     const char *fmt, ...)
{
	char msg[512], path[JPATH_MAX], sub[JPATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!d)
		return -1;
	d->failed = 1;
	params_path(entry, d->spec && d->path ? d->path : "params", path, sizeof(path));
	if (key)
		jpath_key(sub, sizeof(sub), path, key);
	if (d->spec)
		diag_add(d->spec, key ? sub : path, "%s", msg);
	else
		vigil_error_set(d->err, VIGIL_E_PLUGIN, "%s: %s", key ? sub : path, msg);
	return -1;
}

/* The detector an entry names, or NULL after reporting. */
static const struct detector_entry *entry_detector(const struct vigil_params *entry, struct vigil_diag *d)
{
	const struct detector_entry *e;
	const char *name;

	if (!entry)
		return NULL;
	if (params_string(entry, "detector", &name) != 1)
		return report_at(d, entry, "detector", "must be the name of a detector"), NULL;
	e = entry->reg ? registry_find(entry->reg, name) : NULL;
	if (!e) {
		size_t n = 0;
		const char **names = entry->reg ? registry_names(entry->reg, &n) : NULL;
		const char *hint = suggest_closest(name, names, n);

		if (hint)
			report_at(d, entry, "detector", "unknown detector '%s' (did you mean '%s'?)", name, hint);
		else
			report_at(d, entry, "detector", "unknown detector '%s'", name);
		free(names);
		return NULL;
	}
	return e;
}

static int host_instance_check(const struct vigil_params *entry, const char *const *extra_keys,
                               struct vigil_diag *d)
{
	const struct detector_entry *e;
	char path[JPATH_MAX], sub[JPATH_MAX];
	const char *key;
	json_t *v;
	int rc = 0;

	if (!entry)
		return d ? (d->failed = 1, -1) : -1;
	json_object_foreach(entry->values, key, v) {
		const char *names[16] = { "detector", "params" }, *hint;
		size_t n = 2;
		int known;

		for (size_t i = 0; extra_keys && extra_keys[i] && n < 16; i++)
			names[n++] = extra_keys[i];
		known = 0;
		for (size_t i = 0; i < n; i++)
			known |= !strcmp(key, names[i]);
		if (known)
			continue;
		hint = suggest_closest(key, names, n);
		if (hint)
			rc = report_at(d, entry, key, "unknown member (did you mean '%s'?)", hint);
		else
			rc = report_at(d, entry, key, "unknown member of a detector entry");
	}
	e = entry_detector(entry, d);
	if (!e)
		return -1;
	v = json_object_get(entry->values, "params");
	if (d && d->spec) {
		params_path(entry, d->path ? d->path : "$", path, sizeof(path));
		jpath_key(sub, sizeof(sub), path, "params");
		if (detector_check_params(e, v, d->spec, sub)) {
			d->failed = 1;
			rc = -1;
		}
	} else {
		struct diag tmp;

		diag_init(&tmp, "params");
		params_path(entry, "", path, sizeof(path));
		jpath_key(sub, sizeof(sub), path, "params");
		if (detector_check_params(e, v, &tmp, sub))
			rc = report_at(d, entry, "params", "%s", tmp.n ? tmp.msgs[0] : "rejected");
		diag_release(&tmp);
	}
	return rc;
}

static struct vigil_instance *host_instance_new(const struct vigil_params *entry, struct vigil_diag *d)
{
	const struct detector_entry *e = entry_detector(entry, d);
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct detector_instance *inst;
	struct vigil_instance *vi;

	if (!e)
		return NULL;
	{
		/* a member runs where it would run as a job's entry: third-party plugins isolated */
		struct detect_context ctx = { .isolate = -1 };

		inst = detector_instance_new_ctx(e, json_object_get(entry->values, "params"), &ctx, &err);
	}
	if (!inst) {
		report_at(d, entry, NULL, "detector '%s': %s", e->d.name, err.msg);
		return NULL;
	}
	vi = XNEW(struct vigil_instance);
	vi->inst = inst;
	return vi;
}

static void host_instance_free(struct vigil_instance *vi)
{
	if (!vi)
		return;
	detector_instance_free(vi->inst);
	free(vi);
}

static const char *host_instance_name(const struct vigil_instance *vi)
{
	return vi->inst->entry->d.name;
}

static uint32_t host_instance_flags(const struct vigil_instance *vi)
{
	return vi->inst->entry->d.flags;
}

static struct vigil_result *host_instance_detect(const struct vigil_instance *vi,
                                                 const struct vigil_series *vs, struct vigil_diag *d)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct detection *det = XNEW(struct detection);
	struct series s = {
		.name = (char *)(vs->name ? vs->name : ""),
		.labels = (struct vigil_label *)vs->labels,
		.n_labels = vs->n_labels,
		.ts = (int64_t *)vs->ts_ms,
		.v = (double *)vs->values,
		.n = vs->n,
	};

	if (detection_run(vi->inst, &s, det, &err)) {
		detection_release(det);
		free(det);
		if (d) {
			d->failed = 1;
			vigil_error_set(d->err, VIGIL_E_PLUGIN, "%s", err.msg);
		}
		return NULL;
	}
	return &det->r;
}

static const char *host_result_reason(const struct vigil_result *r, size_t i)
{
	struct detection *det = r ? detection_of_result((struct vigil_result *)r) : NULL;

	return det ? detection_reason(det, i) : NULL;
}

static void host_result_free(struct vigil_result *r)
{
	struct detection *det = r ? detection_of_result(r) : NULL;

	if (!det)
		return;
	detection_release(det);
	free(det);
}

static int host_register(struct vigil_plugin_ctx *ctx, const struct vigil_detector *det);

const struct vigil_host vigil_host_services = {
	.abi_version = VIGIL_ABI_VERSION,
	.struct_size = sizeof(struct vigil_host),
	.register_detector = host_register,
	.log = host_log,
	.param_number = params_number,
	.param_string = params_string,
	.param_bool = params_bool,
	.error = host_error,
	.param_error = host_param_error,
	.set_reason = host_set_reason,
	.param_count = params_count,
	.param_element = params_element,
	.instance_check = host_instance_check,
	.instance_new = host_instance_new,
	.instance_free = host_instance_free,
	.instance_name = host_instance_name,
	.instance_flags = host_instance_flags,
	.instance_detect = host_instance_detect,
	.result_reason = host_result_reason,
	.result_free = host_result_free,
};

/* --- registry --------------------------------------------------------- */

struct registry *registry_new(void)
{
	struct registry *reg = XNEW(struct registry);
	pthread_mutexattr_t attr;

	/* recursive: a plugin's check() may look detectors up while its file is being found */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&reg->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return reg;
}

static void push(void ***arr, size_t *n, void *item)
{
	if ((*n & (*n - 1)) == 0 || *n == 0)
		*arr = xreallocarray(*arr, *n ? *n * 2 : 4, sizeof(void *));
	(*arr)[(*n)++] = item;
}

static void add_refused(struct registry *reg, const char *msg)
{
	push((void ***)&reg->refused, &reg->n_refused, xstrdup(msg));
}

static void entry_free(struct detector_entry *e)
{
	json_decref(e->schema);
	free(e);
}

static void plugin_unload(struct plugin *p)
{
	if (p->desc.fini)
		p->desc.fini();
	if (p->handle)
		dlclose(p->handle);
	free(p->path);
	free(p);
}

void registry_free(struct registry *reg)
{
	if (!reg)
		return;
	exec_table_free(reg->execs);
	pushed_free(reg->pushed);
	for (size_t i = 0; i < reg->n_detectors; i++)
		entry_free(reg->detectors[i]);
	for (size_t i = reg->n_plugins; i-- > 0;)
		plugin_unload(reg->plugins[i]);
	for (size_t i = 0; i < reg->n_refused; i++)
		free(reg->refused[i]);
	for (size_t i = 0; i < reg->n_dirs; i++)
		free(reg->dirs[i]);
	for (size_t i = 0; i < reg->n_tried; i++)
		free(reg->tried[i]);
	free(reg->tried);
	pthread_mutex_destroy(&reg->lock);
	free(reg->dirs);
	free(reg->dir_sigs);
	free(reg->detectors);
	free(reg->plugins);
	free(reg->refused);
	free(reg);
}

/* vigil's own detector plugins (detectors/), trusted to run in-process. */
static const char *const builtin_plugins[] = {
	"threshold", "zscore", "mad", "iqr", "grubbs", "esd", "ewma", "cusum", "level_shift",
	"variance_shift", "ks", "changepoint", "auto", "holt_winters", "shesd", "spectral_residual",
	"matrix_profile", "knn_cad", "ensemble", NULL,
};

int registry_isolate_by_default(const struct detector_entry *e)
{
	const char *env = getenv("VIGIL_ISOLATION");

	if (e->exec)
		return 0;
	if (env && !strcmp(env, "process"))
		return 1;
	if (env && !strcmp(env, "in-process"))
		return 0;
	return !(e->plugin && e->plugin->builtin);
}

/* A detector already registered (the caller holds reg->lock). */
static const struct detector_entry *find_loaded(const struct registry *reg, const char *name)
{
	for (size_t i = 0; i < reg->n_detectors; i++)
		if (!strcmp(reg->detectors[i]->d.name, name))
			return reg->detectors[i];
	return NULL;
}

static int valid_name(const char *s)
{
	if (!s || !*s || strlen(s) > DETECTOR_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* The part of a plugin file's name before its first dot: the names it may register. */
static void file_stem(const char *path, char *stem, size_t size)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	snprintf(stem, size, "%.*s", (int)strcspn(base, "."), base);
}

/* Whether a plugin file whose name starts with stem may register the detector name. */
static int name_fits_file(const char *name, const char *stem)
{
	size_t len = strlen(stem);

	return !strncmp(name, stem, len) && (name[len] == '\0' || name[len] == '-' || name[len] == '_');
}

static int host_register(struct vigil_plugin_ctx *ctx, const struct vigil_detector *det)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *path = ctx->plugin ? ctx->plugin->path : "<built in>";
	struct detector_entry *e;
	json_error_t jerr;

	if (!det || VIGIL_ABI_MAJOR_OF(det->abi_version) != VIGIL_ABI_MAJOR) {
		log_warn("plugin", "'%s': detector refused: ABI major %u, host has %u", path,
		         det ? VIGIL_ABI_MAJOR_OF(det->abi_version) : 0, VIGIL_ABI_MAJOR);
		return -1;
	}
	if (det->struct_size < offsetof(struct vigil_detector, detect) + sizeof(det->detect)) {
		log_warn("plugin", "'%s': detector refused: struct_size %u is too small", path,
		         det->struct_size);
		return -1;
	}
	e = XNEW(struct detector_entry);
	memcpy(&e->d, det, det->struct_size < sizeof(e->d) ? det->struct_size : sizeof(e->d));
	e->plugin = ctx->plugin;
	e->reg = ctx->reg;
	if (!valid_name(e->d.name) || !e->d.detect || !e->d.create) {
		log_warn("plugin", "'%s': detector '%s' refused: needs a name of [a-z0-9_-], create() and detect()",
		         path, e->d.name ? e->d.name : "(null)");
		goto refuse;
	}
	if (ctx->plugin) {
		char stem[256];

		file_stem(path, stem, sizeof(stem));
		if (!name_fits_file(e->d.name, stem)) {
			/* vigil finds a detector's file by its name: this one could never be found */
			log_warn("plugin", "'%s': detector '%s' refused: a plugin file named '%s.so' may only register "
			         "'%s' or names that start with '%s-' or '%s_' (rename the file or the detector)",
			         path, e->d.name, stem, stem, stem, stem);
			goto refuse;
		}
	}
	e->schema = json_loads(e->d.params_schema ? e->d.params_schema : "{}", 0, &jerr);
	if (!e->schema) {
		log_warn("plugin", "'%s': detector '%s' refused: params_schema: %s", path, e->d.name, jerr.text);
		goto refuse;
	}
	if (params_schema_check(e->schema, &err)) {
		log_warn("plugin", "'%s': detector '%s' refused: %s", path, e->d.name, err.msg);
		goto refuse;
	}
	if (find_loaded(ctx->reg, e->d.name)) {
		log_info("plugin", "'%s': detector '%s' already loaded from an earlier directory; skipped",
		         path, e->d.name);
		entry_free(e);
		return 0;
	}
	push((void ***)&ctx->reg->detectors, &ctx->reg->n_detectors, e);
	return 0;
refuse:
	ctx->refused++;
	entry_free(e);
	return -1;
}

int registry_load_file(struct registry *reg, const char *path, struct vigil_error *err)
{
	struct vigil_plugin_ctx ctx = { .reg = reg };
	const struct vigil_plugin *desc;
	struct plugin *p;
	struct stat st;
	size_t before;
	int rc;

	if (lstat(path, &st))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "plugin '%s': %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode) && stat(path, &st))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "plugin '%s': dangling symlink", path);
	if (!S_ISREG(st.st_mode))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "plugin '%s': not a regular file", path);
	if (trust_check(path, "plugin", err))   /* its constructor runs with our privileges */
		return -1;

	p = XNEW(struct plugin);
	p->path = xstrdup(path);
	p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "plugin '%s': cannot load: %s", path, dlerror());
		goto fail;
	}
	desc = dlsym(p->handle, VIGIL_PLUGIN_SYMBOL);
	if (!desc) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "plugin '%s': no '%s' symbol (not a vigil plugin?)",
		                path, VIGIL_PLUGIN_SYMBOL);
		goto fail;
	}
	if (VIGIL_ABI_MAJOR_OF(desc->abi_version) != VIGIL_ABI_MAJOR) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "plugin '%s': built for ABI %u.%u, this vigil has ABI %u.%u",
		                path, VIGIL_ABI_MAJOR_OF(desc->abi_version), VIGIL_ABI_MINOR_OF(desc->abi_version),
		                VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR);
		goto fail;
	}
	if (desc->struct_size < offsetof(struct vigil_plugin, init) + sizeof(desc->init) || !desc->init) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "plugin '%s': malformed vigil_plugin object", path);
		goto fail;
	}
	memcpy(&p->desc, desc, desc->struct_size < sizeof(p->desc) ? desc->struct_size : sizeof(p->desc));
	for (const char *const *b = builtin_plugins; *b; b++)
		if (p->desc.name && !strcmp(p->desc.name, *b))
			p->builtin = 1;
	ctx.plugin = p;
	before = reg->n_detectors;
	initialising = p->path;
	rc = p->desc.init(&vigil_host_services, &ctx);
	initialising = NULL;
	if (rc != 0) {
		for (size_t i = before; i < reg->n_detectors; i++)
			entry_free(reg->detectors[i]);
		reg->n_detectors = before;
		vigil_error_set(err, VIGIL_E_PLUGIN, "plugin '%s': init failed", path);
		p->desc.fini = NULL;
		goto fail;
	}
	push((void ***)&reg->plugins, &reg->n_plugins, p);
	return 0;
fail:
	p->desc.fini = NULL;
	plugin_unload(p);
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.so names of dir (NULL with *n = 0 when it cannot be read). */
static char **list_plugins(const char *dir, size_t *n, int quiet)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **names = NULL;

	*n = 0;
	if (!dh) {
		if (errno != ENOENT && !quiet)
			log_warn("plugin", "cannot read plugin directory '%s': %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);

		if (len > 3 && !strcmp(de->d_name + len - 3, ".so"))
			push((void ***)&names, n, xstrdup(de->d_name));
	}
	closedir(dh);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* A hash of what a directory holds for the loader: names and file identities. */
static uint64_t dir_signature(const char *dir)
{
	size_t n;
	char **names = list_plugins(dir, &n, 1);
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		int64_t id[4] = { 0, 0, 0, 0 };

		if (stat(path, &st) == 0) {
			id[0] = (int64_t)st.st_ino;
			id[1] = (int64_t)st.st_size;
			id[2] = (int64_t)st.st_mtim.tv_sec;
			id[3] = (int64_t)st.st_mtim.tv_nsec;
		}
		h = fnv(h, names[i], strlen(names[i]) + 1);
		h = fnv(h, id, sizeof(id));
		free(path);
		free(names[i]);
	}
	free(names);
	return h;
}

int registry_stale(const struct registry *reg)
{
	for (size_t i = 0; i < reg->n_dirs; i++)
		if (dir_signature(reg->dirs[i]) != reg->dir_sigs[i])
			return 1;
	return 0;
}

/*
 * Load the plugin file at path unless it was tried before (the caller holds
 * reg->lock).  A missing file is not tried: it may appear later.  A refused
 * one is logged and listed in reg->refused once.
 */
static void load_once(struct registry *reg, const char *path)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct stat st;

	for (size_t i = 0; i < reg->n_tried; i++)
		if (!strcmp(reg->tried[i], path))
			return;
	if (lstat(path, &st) && errno == ENOENT)
		return;
	push((void ***)&reg->tried, &reg->n_tried, xstrdup(path));
	if (registry_load_file(reg, path, &err)) {
		log_warn("plugin", "%s", err.msg);
		add_refused(reg, err.msg);
	}
}

/* Load every *.so of the directory reg->dirs[i] (the caller holds reg->lock). */
static void load_dir_files(struct registry *reg, size_t i)
{
	size_t n;
	char **names = list_plugins(reg->dirs[i], &n, 0);

	for (size_t k = 0; k < n; k++) {
		char *path = xasprintf("%s/%s", reg->dirs[i], names[k]);

		load_once(reg, path);
		free(path);
		free(names[k]);
	}
	free(names);
}

/*
 * Find the file of a detector that is not loaded yet (the caller holds
 * reg->lock): in each directory in search order, NAME.so, then the file named
 * for each part of NAME before a '-' or '_', longest first ("acme-fast":
 * acme-fast.so, then acme.so).
 */
static const struct detector_entry *load_named(struct registry *reg, const char *name)
{
	const struct detector_entry *e = NULL;

	for (size_t i = 0; i < reg->n_dirs && !e; i++) {
		char stem[DETECTOR_NAME_MAX + 1];

		snprintf(stem, sizeof(stem), "%s", name);
		for (;;) {
			char *path = xasprintf("%s/%s.so", reg->dirs[i], stem), *dash, *under;

			load_once(reg, path);
			free(path);
			if ((e = find_loaded(reg, name)))
				break;
			dash = strrchr(stem, '-');
			under = strrchr(stem, '_');
			if (!dash || (under && under > dash))
				dash = under;
			if (!dash || dash == stem)
				break;
			*dash = '\0';
		}
	}
	return e;
}

const struct detector_entry *registry_find(const struct registry *creg, const char *name)
{
	/* reg is logically const: loading a detector's file on first use is a cache */
	struct registry *reg = (struct registry *)creg;
	const struct detector_entry *e;

	pthread_mutex_lock(&reg->lock);
	e = find_loaded(reg, name);
	if (!e && !reg->all_loaded && valid_name(name))
		e = load_named(reg, name);
	pthread_mutex_unlock(&reg->lock);
	return e;
}

void registry_load_all(struct registry *reg)
{
	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->n_dirs && !reg->all_loaded; i++)
		load_dir_files(reg, i);
	reg->all_loaded = 1;
	pthread_mutex_unlock(&reg->lock);
}

const char **registry_names(const struct registry *creg, size_t *n)
{
	struct registry *reg = (struct registry *)creg;
	const char **names;

	registry_load_all(reg);
	pthread_mutex_lock(&reg->lock);
	names = xcalloc(reg->n_detectors + 1, sizeof(*names));
	for (size_t i = 0; i < reg->n_detectors; i++)
		names[i] = reg->detectors[i]->d.name;
	*n = reg->n_detectors;
	pthread_mutex_unlock(&reg->lock);
	qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

void registry_add_dir(struct registry *reg, const char *dir)
{
	pthread_mutex_lock(&reg->lock);
	reg->dirs = xreallocarray(reg->dirs, reg->n_dirs + 1, sizeof(*reg->dirs));
	reg->dir_sigs = xreallocarray(reg->dir_sigs, reg->n_dirs + 1, sizeof(*reg->dir_sigs));
	/* absolute, so exec detectors found here are not looked up relative to dir again */
	reg->dirs[reg->n_dirs] = paths_absolute(dir);
	reg->dir_sigs[reg->n_dirs] = dir_signature(dir);
	reg->n_dirs++;
	reg->all_loaded = 0;
	pthread_mutex_unlock(&reg->lock);
}

void registry_load_dir(struct registry *reg, const char *dir)
{
	registry_add_dir(reg, dir);
	pthread_mutex_lock(&reg->lock);
	load_dir_files(reg, reg->n_dirs - 1);
	pthread_mutex_unlock(&reg->lock);
}

void registry_add_default(struct registry *reg, const char *const *extra_dirs, size_t n_extra)
{
	const char *env = getenv("VIGIL_PLUGIN_PATH");

	for (size_t i = 0; i < n_extra; i++)
		registry_add_dir(reg, extra_dirs[i]);
	if (env && *env) {
		char *copy = xstrdup(env), *save = NULL;

		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
			registry_add_dir(reg, d);
		free(copy);
	}
	registry_add_dir(reg, VIGIL_PLUGIN_DIR);
}
