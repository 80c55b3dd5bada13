/*
 * exec-detector.c - external executables as detectors: the "exec" object
 * of a spec entry, describing executables, their worker pools, and the
 * detect exchange (see exec-detector.h and docs/exec-protocol.md).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec-detector.h"
#include "exec-proto.h"
#include "explain.h"
#include "log.h"
#include "params.h"
#include "pushed.h"
#include "secret.h"
#include "suggest.h"
#include "trust.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define DEFAULT_IDLE_MS 300000
#define MAX_WORKERS 16

struct job_pool {
	char *job;
	struct worker_pool *pool;
};

struct exec_program {
	char *key;                  /* what makes two exec objects the same program */
	char *path;                 /* resolved, absolute */
	char **args;
	size_t n_args;
	json_t *env;                /* name -> value (may hold secret references) */
	char *spec_dir;
	int set_user;
	uid_t uid;
	gid_t gid;
	enum worker_lifecycle lifecycle;
	unsigned workers;
	int64_t idle_ms;
	struct run_limits limits;
	struct detector_entry **entries;
	size_t n_entries;
	char *error;                /* why describing it failed */
	int explains;               /* its describe advertised the explain method */
	struct job_pool *pools;
	size_t n_pools;
	pthread_mutex_t lock;
	uint64_t next_id;
};

struct exec_table {
	struct exec_program **v;
	size_t n;
	pthread_mutex_t lock;
};

static const char *const exec_keys[] = {
	"path", "pushed", "args", "env", "user", "lifecycle", "workers", "idle", "limits", NULL,
};
static const char *const limit_keys[] = {
	"timeout", "grace", "cpu", "memory_mb", "files", "processes", "output_mb", "stderr_kb", NULL,
};

const char *exec_program_path(const struct exec_program *p)
{
	return p->path;
}

/* --- the table --------------------------------------------------------- */

static struct exec_table *table_of(const struct registry *reg)
{
	/* The table is created on first use; reg is logically const (a cache). */
	struct registry *r = (struct registry *)reg;

	if (!r->execs) {
		r->execs = XNEW(struct exec_table);
		pthread_mutex_init(&r->execs->lock, NULL);
	}
	return r->execs;
}

static void program_free(struct exec_program *p)
{
	for (size_t i = 0; i < p->n_pools; i++) {
		worker_pool_free(p->pools[i].pool);
		free(p->pools[i].job);
	}
	free(p->pools);
	for (size_t i = 0; i < p->n_entries; i++) {
		json_decref(p->entries[i]->schema);
		free((char *)p->entries[i]->d.name);
		free((char *)p->entries[i]->d.version);
		free((char *)p->entries[i]->d.summary);
		free(p->entries[i]);
	}
	free(p->entries);
	for (size_t i = 0; i < p->n_args; i++)
		free(p->args[i]);
	free(p->args);
	json_decref(p->env);
	free(p->key);
	free(p->path);
	free(p->spec_dir);
	free(p->error);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void exec_table_free(struct exec_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		program_free(t->v[i]);
	free(t->v);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void exec_table_reap(struct exec_table *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++) {
		pthread_mutex_lock(&t->v[i]->lock);
		for (size_t k = 0; k < t->v[i]->n_pools; k++)
			worker_pool_reap(t->v[i]->pools[k].pool);
		pthread_mutex_unlock(&t->v[i]->lock);
	}
	pthread_mutex_unlock(&t->lock);
}

/* --- the exec object ---------------------------------------------------- */

static void check_keys(const json_t *obj, const char *const *keys, struct diag *d, const char *path,
                       const char *what)
{
	const char *key;
	json_t *v;
	char sub[JPATH_MAX];

	json_object_foreach((json_t *)obj, key, v) {
		size_t n = 0;
		int ok = 0;
		const char *hint;

		for (const char *const *k = keys; *k; k++, n++)
			ok |= !strcmp(key, *k);
		if (ok)
			continue;
		jpath_key(sub, sizeof(sub), path, key);
		hint = suggest_closest(key, keys, n);
		if (hint)
			diag_add(d, sub, "unknown key in %s (did you mean '%s'?)", what, hint);
		else
			diag_add(d, sub, "unknown key in %s", what);
	}
}

static int get_duration(const json_t *obj, const char *key, int64_t *out, struct diag *d, const char *path)
{
	json_t *v = json_object_get(obj, key);
	char sub[JPATH_MAX];

	if (!v)
		return 0;
	jpath_key(sub, sizeof(sub), path, key);
	if (!json_is_string(v) || duration_parse(json_string_value(v), out)) {
		diag_add(d, sub, "must be a duration like \"500ms\", \"30s\" or \"5m\"");
		return -1;
	}
	return 0;
}

static int get_count(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out,
                     struct diag *d, const char *path)
{
	json_t *v = json_object_get(obj, key);
	char sub[JPATH_MAX];

	if (!v)
		return 0;
	jpath_key(sub, sizeof(sub), path, key);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		diag_add(d, sub, "must be an integer from %lld to %lld", (long long)lo, (long long)hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

int exec_limits_parse(const json_t *limits, struct run_limits *l, struct diag *d, const char *path)
{
	size_t before = d->n;
	int64_t cpu = 0, mb = l->child.memory_bytes >> 20, out_mb = 0, err_kb = (int64_t)(l->stderr_max >> 10);

	if (!json_is_object(limits)) {
		diag_add(d, path, "must be an object like {\"timeout\": \"10s\", \"memory_mb\": 1024}");
		return -1;
	}
	check_keys(limits, limit_keys, d, path, "limits");
	get_duration(limits, "timeout", &l->timeout_ms, d, path);
	get_duration(limits, "grace", &l->grace_ms, d, path);
	if (!get_duration(limits, "cpu", &cpu, d, path) && cpu)
		l->child.cpu_s = (cpu + 999) / 1000;
	if (!get_count(limits, "memory_mb", 0, 1 << 20, &mb, d, path))
		l->child.memory_bytes = mb << 20;
	get_count(limits, "files", 0, 1 << 20, &l->child.files, d, path);
	get_count(limits, "processes", 0, 1 << 20, &l->child.processes, d, path);
	if (!get_count(limits, "output_mb", 0, 1 << 14, &out_mb, d, path))
		l->output_max = (size_t)out_mb << 20;
	if (!get_count(limits, "stderr_kb", 0, 1 << 20, &err_kb, d, path))
		l->stderr_max = (size_t)err_kb << 10;
	if (l->child.files && l->child.files < 8) {
		char fp[JPATH_MAX];

		jpath_key(fp, sizeof(fp), path, "files");
		diag_add(d, fp, "must be 0 (no limit) or at least 8");
	}
	return d->n == before ? 0 : -1;
}

/* The materialised entry point of a {"pushed": NAME} exec object, or NULL after diag_add. */
static char *pushed_path(const struct registry *reg, const json_t *name, struct diag *d, const char *path)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char sub[JPATH_MAX], *materialised, *checked;

	jpath_key(sub, sizeof(sub), path, "pushed");
	if (!json_is_string(name) || !*json_string_value(name)) {
		diag_add(d, sub, "must be the name of a detector pushed with 'vigil detectors push'");
		return NULL;
	}
	if (!reg->pushed) {
		diag_add(d, sub, "pushed detectors are not available here (no store)");
		return NULL;
	}
	materialised = pushed_resolve(reg->pushed, json_string_value(name), NULL, &err);
	if (!materialised) {
		diag_add(d, sub, "%s", err.msg);
		return NULL;
	}
	/* the same checks as any executable's (owner, modes, execute bit) */
	checked = child_resolve(materialised, NULL, NULL, 0, &err);
	free(materialised);
	if (!checked)
		diag_add(d, sub, "%s", err.msg);
	return checked;
}

/* Build a program from the exec object (not yet described); NULL after diag_add. */
static struct exec_program *program_parse(const struct registry *reg, const json_t *exec,
                                          const char *spec_dir, struct diag *d, const char *path)
{
	struct exec_program *p;
	struct vigil_error err = VIGIL_ERROR_INIT;
	char sub[JPATH_MAX];
	size_t before = d->n;
	json_t *v, *limits;
	int64_t n;
	const char *user = getenv("VIGIL_EXEC_USER");

	if (!json_is_object(exec)) {
		diag_add(d, path, "must be an object like {\"path\": \"my-detector.py\"}");
		return NULL;
	}
	check_keys(exec, exec_keys, d, path, "an exec object");
	p = XNEW(struct exec_program);
	pthread_mutex_init(&p->lock, NULL);
	p->spec_dir = xstrdup(spec_dir ? spec_dir : ".");
	p->lifecycle = WORKER_PERSISTENT;
	p->workers = 1;
	p->idle_ms = DEFAULT_IDLE_MS;
	run_limits_default(&p->limits);

	v = json_object_get(exec, "path");
	jpath_key(sub, sizeof(sub), path, "path");
	if (json_object_get(exec, "pushed")) {
		if (v)
			diag_add(d, sub, "give either \"path\" (a file) or \"pushed\" (a detector pushed to the store), "
			         "not both");
		else
			p->path = pushed_path(reg, json_object_get(exec, "pushed"), d, path);
	} else if (!json_is_string(v) || !*json_string_value(v)) {
		diag_add(d, sub, "is required: the executable (a name found in the detector directories, "
		         "or a path; relative paths start at the spec's directory)");
	} else {
		p->path = child_resolve(json_string_value(v), p->spec_dir, (const char *const *)reg->dirs,
		                        reg->n_dirs, &err);
		if (!p->path)
			diag_add(d, sub, "%s", err.msg);
	}
	v = json_object_get(exec, "args");
	jpath_key(sub, sizeof(sub), path, "args");
	if (v) {
		size_t i;
		json_t *a;

		if (!json_is_array(v) || json_array_size(v) > 256)
			diag_add(d, sub, "must be an array of strings");
		else
			json_array_foreach(v, i, a) {
				char ap[JPATH_MAX];

				jpath_index(ap, sizeof(ap), sub, i);
				if (!json_is_string(a)) {
					diag_add(d, ap, "must be a string");
					continue;
				}
				p->args = xreallocarray(p->args, p->n_args + 1, sizeof(char *));
				p->args[p->n_args++] = xstrdup(json_string_value(a));
			}
	}
	v = json_object_get(exec, "env");
	jpath_key(sub, sizeof(sub), path, "env");
	p->env = json_object();
	if (v) {
		const char *k;
		json_t *val;

		if (!json_is_object(v))
			diag_add(d, sub, "must be an object of strings, like {\"MODEL\": \"/srv/model.bin\"}");
		else
			json_object_foreach(v, k, val) {
				char ep[JPATH_MAX];

				jpath_key(ep, sizeof(ep), sub, k);
				vigil_error_clear(&err);
				if (!*k || strchr(k, '=') || !strncmp(k, "VIGIL_", 6))
					diag_add(d, ep, "must be a variable name without '=' (VIGIL_* names are vigil's)");
				else if (!json_is_string(val))
					diag_add(d, ep, "must be a string");
				else if (secret_check(json_string_value(val), &err))
					diag_add(d, ep, "%s", err.msg);
				else
					json_object_set(p->env, k, val);
			}
	}
	v = json_object_get(exec, "user");
	jpath_key(sub, sizeof(sub), path, "user");
	if (v && !json_is_string(v))
		diag_add(d, sub, "must be a user name or number");
	else if (v)
		user = json_string_value(v);
	if (user && *user) {
		vigil_error_clear(&err);
		if (child_lookup_user(user, &p->uid, &p->gid, &err))
			diag_add(d, v ? sub : path, "%s%s", v ? "" : "VIGIL_EXEC_USER: ", err.msg);
		else
			p->set_user = 1;
	}
	v = json_object_get(exec, "lifecycle");
	jpath_key(sub, sizeof(sub), path, "lifecycle");
	if (v) {
		if (json_is_string(v) && !strcmp(json_string_value(v), "persistent"))
			p->lifecycle = WORKER_PERSISTENT;
		else if (json_is_string(v) && !strcmp(json_string_value(v), "oneshot"))
			p->lifecycle = WORKER_ONESHOT;
		else
			diag_add(d, sub, "must be \"persistent\" (default) or \"oneshot\"");
	}
	n = p->workers;
	if (!get_count(exec, "workers", 1, MAX_WORKERS, &n, d, path))
		p->workers = (unsigned)n;
	get_duration(exec, "idle", &p->idle_ms, d, path);

	limits = json_object_get(exec, "limits");
	jpath_key(sub, sizeof(sub), path, "limits");
	if (limits)
		exec_limits_parse(limits, &p->limits, d, sub);
	if (d->n != before) {
		program_free(p);
		return NULL;
	}
	{
		/* Two exec objects that are equal (after resolving the path) are one program. */
		json_t *canon = json_deep_copy(exec);
		char *text;

		json_object_set_new(canon, "path", json_string(p->path));
		text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
		p->key = xasprintf("%s\n%s\n%s", text ? text : "", p->spec_dir, user ? user : "");
		free(text);
		json_decref(canon);
	}
	return p;
}

/* --- workers ------------------------------------------------------------ */

static struct worker_recipe *recipe_new(const struct exec_program *p, const char *job,
                                        struct vigil_error *err)
{
	struct worker_recipe *r = XNEW(struct worker_recipe);
	const char *k;
	json_t *v;

	r->path = xstrdup(p->path);
	r->argv = xcalloc(p->n_args + 2, sizeof(char *));
	r->argv[0] = xstrdup(p->path);
	for (size_t i = 0; i < p->n_args; i++)
		r->argv[i + 1] = xstrdup(p->args[i]);
	/* A scrubbed environment: only what the spec allows, and vigil's context. */
	child_env_set(&r->env, "PATH", "/usr/local/bin:/usr/bin:/bin");
	child_env_set(&r->env, "LANG", "C.UTF-8");
	child_env_pass(&r->env, "TZ");
	json_object_foreach(p->env, k, v) {
		char *val = secret_resolve(json_string_value(v), p->spec_dir, err);

		if (!val) {
			vigil_error_prefix(err, "exec env '%s'", k);
			worker_recipe_release(r);
			free(r);
			return NULL;
		}
		child_env_set(&r->env, k, val);
		free(val);
	}
	child_env_set(&r->env, "VIGIL_PROTOCOL", "1");
	child_env_set(&r->env, "VIGIL_JOB", job ? job : "");
	child_env_set(&r->env, "VIGIL_SPEC_DIR", p->spec_dir);
	child_env_set(&r->env, "VIGIL_LIFECYCLE", p->lifecycle == WORKER_ONESHOT ? "oneshot" : "persistent");
	r->limits = p->limits.child;
	r->set_user = p->set_user;
	r->uid = p->uid;
	r->gid = p->gid;
	{
		const char *allow = getenv("VIGIL_EXEC_ALLOW_ROOT");

		if (allow && !strcmp(allow, "1"))
			r->child_flags |= CHILD_ALLOW_ROOT;
	}
	r->lifecycle = p->lifecycle;
	r->max_workers = p->workers;
	r->idle_ms = p->idle_ms;
	r->grace_ms = (int)p->limits.grace_ms;
	r->err_max = p->limits.stderr_max;
	r->done = worker_done_line;
	return r;
}

static struct worker_pool *pool_for(struct exec_program *p, const char *job, struct vigil_error *err)
{
	struct worker_pool *pool = NULL;
	struct worker_recipe *r;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_pools && !pool; i++)
		if (!strcmp(p->pools[i].job, job ? job : ""))
			pool = p->pools[i].pool;
	if (!pool) {
		r = recipe_new(p, job, err);
		if (r) {
			pool = worker_pool_new(r);
			free(r);
			p->pools = xreallocarray(p->pools, p->n_pools + 1, sizeof(*p->pools));
			p->pools[p->n_pools].job = xstrdup(job ? job : "");
			p->pools[p->n_pools].pool = pool;
			p->n_pools++;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return pool;
}

/* Log what a worker wrote on stderr, line by line, escaped, with its context. */
static void log_stderr(const struct exec_program *p, const struct worker_call *call, const char *job,
                       const char *series)
{
	const char *s = call->err.buf, *end = s + call->err.len;
	char esc[1024], line[900];

	while (s && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), s);
		log_escape(esc, sizeof(esc), line);
		log_warn("exec", "job '%s': series '%s': '%s' stderr: %s", job ? job : "", series ? series : "-",
		         p->path, esc);
		s = nl ? nl + 1 : end;
	}
	if (call->err_dropped)
		log_warn("exec", "job '%s': series '%s': '%s' stderr: %zu more bytes dropped (limits.stderr_kb)",
		         job ? job : "", series ? series : "-", p->path, call->err_dropped);
}

/* --- describe ----------------------------------------------------------- */

static int describe(struct exec_program *p, struct vigil_error *err)
{
	struct worker_recipe *r = recipe_new(p, "", err);
	struct worker_pool *pool;
	struct worker_call call = WORKER_CALL_INIT;
	struct strbuf req = STRBUF_INIT;
	json_t *dets, *item;
	size_t i;
	int rc = -1;

	if (!r)
		return -1;
	r->lifecycle = WORKER_PERSISTENT;
	r->max_workers = 1;
	pool = worker_pool_new(r);
	free(r);
	exec_proto_describe_request(&req, 0);
	if (worker_pool_call(pool, req.buf, req.len, p->limits.timeout_ms, 4 << 20, &call, err)) {
		log_stderr(p, &call, "", "-");
		vigil_error_prefix(err, "describe");
		goto out;
	}
	log_stderr(p, &call, "", "-");
	dets = exec_proto_describe_response(call.out.buf, call.out.len, 0, &p->explains, err);
	if (!dets)
		goto out;
	json_array_foreach(dets, i, item) {
		struct detector_entry *e;
		json_t *name = json_object_get(item, "name"), *params = json_object_get(item, "params");
		json_t *ver = json_object_get(item, "version"), *sum = json_object_get(item, "summary");
		json_t *mh = json_object_get(item, "min_history"), *causal = json_object_get(item, "causal");
		struct vigil_error serr = VIGIL_ERROR_INIT;

		if (!json_is_string(name) || !*json_string_value(name) || strlen(json_string_value(name)) > 64) {
			vigil_error_set(err, VIGIL_E_PLUGIN, "describe: detectors[%zu] has no valid \"name\"", i);
			break;
		}
		if (params && !json_is_object(params)) {
			vigil_error_set(err, VIGIL_E_PLUGIN, "describe: detector '%s': \"params\" must be an object",
			                json_string_value(name));
			break;
		}
		if (params && params_schema_check(params, &serr)) {
			vigil_error_set(err, VIGIL_E_PLUGIN, "describe: detector '%s': %s", json_string_value(name),
			                serr.msg);
			break;
		}
		if (mh && (!json_is_integer(mh) || json_integer_value(mh) < 0)) {
			vigil_error_set(err, VIGIL_E_PLUGIN, "describe: detector '%s': \"min_history\" must be an "
			                "integer >= 0", json_string_value(name));
			break;
		}
		e = XNEW(struct detector_entry);
		e->d.abi_version = VIGIL_ABI_VERSION;
		e->d.struct_size = sizeof(e->d);
		e->d.name = xstrdup(json_string_value(name));
		e->d.version = xstrdup(json_is_string(ver) ? json_string_value(ver) : "");
		e->d.summary = xstrdup(json_is_string(sum) ? json_string_value(sum) : "");
		e->d.flags = json_is_false(causal) ? VIGIL_DETECTOR_NONCAUSAL : 0;
		e->schema = params ? json_incref(params) : json_object();
		e->exec = p;
		e->min_history = mh ? (size_t)json_integer_value(mh) : 0;
		p->entries = xreallocarray(p->entries, p->n_entries + 1, sizeof(*p->entries));
		p->entries[p->n_entries++] = e;
	}
	json_decref(dets);
	rc = vigil_error_isset(err) ? -1 : 0;
out:
	worker_call_release(&call);
	strbuf_release(&req);
	worker_pool_free(pool);
	return rc;
}

/* The program for exec (described on first use), or NULL after diag_add. */
static struct exec_program *program_get(const struct registry *reg, const json_t *exec,
                                        const char *spec_dir, struct diag *d, const char *path)
{
	struct exec_table *t = table_of(reg);
	struct exec_program *p = program_parse(reg, exec, spec_dir, d, path), *found = NULL;

	if (!p)
		return NULL;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n && !found; i++)
		if (!strcmp(t->v[i]->key, p->key))
			found = t->v[i];
	if (found) {
		program_free(p);
		p = found;
	} else {
		struct vigil_error err = VIGIL_ERROR_INIT;

		if (describe(p, &err)) {
			char esc[1100];

			p->error = xstrdup(log_escape(esc, sizeof(esc), err.msg));
		}
		t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
		t->v[t->n++] = p;
	}
	pthread_mutex_unlock(&t->lock);
	if (p->error) {
		diag_add(d, path, "'%s': %s", p->path, p->error);
		return NULL;
	}
	return p;
}

const struct detector_entry *exec_spec_entry(const struct registry *reg, const json_t *exec,
                                             const char *name, const char *spec_dir,
                                             struct diag *d, const char *path)
{
	struct exec_program *p = program_get(reg, exec, spec_dir, d, path);
	const char **names;
	const char *hint;
	struct strbuf sb = STRBUF_INIT;
	char parent[JPATH_MAX], sub[JPATH_MAX];
	char *dot;

	if (!p || !name)
		return NULL;
	for (size_t i = 0; i < p->n_entries; i++)
		if (!strcmp(p->entries[i]->d.name, name))
			return p->entries[i];
	names = xcalloc(p->n_entries + 1, sizeof(char *));
	for (size_t i = 0; i < p->n_entries; i++) {
		names[i] = p->entries[i]->d.name;
		strbuf_addf(&sb, "%s%s", i ? ", " : "", names[i]);
	}
	hint = suggest_closest(name, names, p->n_entries);
	/* Report it at the entry's "detector" key: path is "<entry>.exec". */
	snprintf(parent, sizeof(parent), "%s", path);
	dot = strrchr(parent, '.');
	if (dot)
		*dot = '\0';
	jpath_key(sub, sizeof(sub), parent, "detector");
	if (hint)
		diag_add(d, sub, "'%s' does not offer detector '%s' (did you mean '%s'?); it offers: %s", p->path,
		         name, hint, strbuf_str(&sb));
	else
		diag_add(d, sub, "'%s' does not offer detector '%s'; it offers: %s", p->path, name, strbuf_str(&sb));
	strbuf_release(&sb);
	free(names);
	return NULL;
}

void exec_discover(struct registry *reg)
{
	for (size_t i = 0; i < reg->n_dirs; i++) {
		DIR *dh = opendir(reg->dirs[i]);
		struct dirent *de;

		if (!dh)
			continue;
		while ((de = readdir(dh))) {
			size_t len = strlen(de->d_name);
			char *path;
			struct stat st;

			if (de->d_name[0] == '.' || (len > 3 && !strcmp(de->d_name + len - 3, ".so")))
				continue;
			path = xasprintf("%s/%s", reg->dirs[i], de->d_name);
			/* only programs: not libtool's .la files, whatever their mode */
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) &&
			    !access(path, X_OK) && trust_looks_executable(path)) {
				json_t *exec = json_pack("{s:s}", "path", path);
				struct diag d;

				diag_init(&d, path);
				if (!program_get(reg, exec, reg->dirs[i], &d, "$.exec")) {
					for (size_t k = 0; k < d.n; k++) {
						log_warn("exec", "%s", d.msgs[k]);
						reg->refused = xreallocarray(reg->refused, reg->n_refused + 1, sizeof(char *));
						reg->refused[reg->n_refused++] = xstrdup(d.msgs[k]);
					}
				}
				diag_release(&d);
				json_decref(exec);
			}
			free(path);
		}
		closedir(dh);
	}
}

void exec_foreach_entry(const struct registry *reg,
                        void (*fn)(void *arg, const struct detector_entry *e, const char *path), void *arg)
{
	if (!reg->execs)
		return;
	for (size_t i = 0; i < reg->execs->n; i++)
		for (size_t k = 0; k < reg->execs->v[i]->n_entries; k++)
			fn(arg, reg->execs->v[i]->entries[k], reg->execs->v[i]->path);
}

/* --- detect ------------------------------------------------------------- */

/* What check_detect() needs to decode a detect response (worker_call's check). */
struct detect_check {
	uint64_t id;
	size_t n, min_history;
	struct detection *det;
};

static int check_detect(const char *resp, size_t len, void *arg, struct vigil_error *err)
{
	const struct detect_check *c = arg;

	return exec_proto_detect_response(resp, len, c->id, c->n, c->min_history, c->det, err);
}

int exec_detect(const struct detector_instance *inst, const struct series *s, struct detection *det,
                struct vigil_error *err)
{
	struct exec_program *p = inst->entry->exec;
	struct worker_pool *pool = pool_for(p, inst->job, err);
	struct worker_call call = WORKER_CALL_INIT;
	struct strbuf req = STRBUF_INIT;
	struct exec_context ctx = { .job = inst->job, .run_id = inst->run_id, .entry_id = inst->entry_id };
	size_t out_max = p->limits.output_max ? p->limits.output_max : ((size_t)1 << 20) + s->n * 256;
	struct detect_check chk = { .n = s->n, .min_history = inst->entry->min_history, .det = det };
	uint64_t id;
	int rc;

	if (!pool)
		return -1;
	pthread_mutex_lock(&p->lock);
	id = chk.id = ++p->next_id;
	pthread_mutex_unlock(&p->lock);
	exec_proto_detect_request(&req, id, inst->entry->d.name, inst->params_json, &ctx, s);
	/* The response is decoded as soon as it is complete (a one-shot garbage answer is not awaited). */
	call.check = check_detect;
	call.check_arg = &chk;
	rc = worker_pool_call(pool, req.buf, req.len, p->limits.timeout_ms, out_max, &call, err);
	if (rc && call.check_failed && call.out.len) {
		/* Keep a short, escaped sample of what it said, for the log. */
		char sample[120], esc[400];

		snprintf(sample, sizeof(sample), "%.*s", (int)(call.out.len < 100 ? call.out.len : 100), call.out.buf);
		log_info("exec", "job '%s': series '%s': '%s' answered: %s%s", inst->job ? inst->job : "",
		         s->name, p->path, log_escape(esc, sizeof(esc), sample), call.out.len > 100 ? "..." : "");
	}
	if (call.leftover && rc == 0)
		log_warn("exec", "job '%s': series '%s': '%s' wrote more than one line for a request; worker retired",
		         inst->job ? inst->job : "", s->name, p->path);
	log_stderr(p, &call, inst->job, s->name);
	worker_call_release(&call);
	strbuf_release(&req);
	return rc;
}

/* --- explain ------------------------------------------------------------ */

const struct exec_program *exec_spec_explain(const struct registry *reg, const json_t *exec, const char *spec_dir,
                                             struct diag *d, const char *path)
{
	struct exec_program *p = program_get(reg, exec, spec_dir, d, path);

	if (p && !p->explains) {
		diag_add(d, path, "'%s' does not answer explain requests (its describe response has no "
		         "\"explain\": true)", p->path);
		return NULL;
	}
	return p;
}

struct explain_check {
	uint64_t id;
	const struct explain_input *in;
	json_t *hints;
};

static int check_explain(const char *resp, size_t len, void *arg, struct vigil_error *err)
{
	struct explain_check *c = arg;

	c->hints = exec_proto_explain_response(resp, len, c->id, c->in, err);
	return c->hints ? 0 : -1;
}

json_t *exec_explain(const struct exec_program *cp, const struct explain_input *in, struct vigil_error *err)
{
	/* Programs are shared, logically const: only the pools and the id counter change. */
	struct exec_program *p = (struct exec_program *)cp;
	struct worker_pool *pool = pool_for(p, in->job, err);
	struct worker_call call = WORKER_CALL_INIT;
	struct strbuf req = STRBUF_INIT;
	size_t out_max = p->limits.output_max ? p->limits.output_max : (size_t)1 << 20;
	struct explain_check chk = { .in = in };

	if (!pool)
		return NULL;
	pthread_mutex_lock(&p->lock);
	chk.id = ++p->next_id;
	pthread_mutex_unlock(&p->lock);
	exec_proto_explain_request(&req, chk.id, in);
	call.check = check_explain;
	call.check_arg = &chk;
	if (worker_pool_call(pool, req.buf, req.len, p->limits.timeout_ms, out_max, &call, err)) {
		json_decref(chk.hints);   /* it answered, then failed to exit cleanly (one-shot) */
		chk.hints = NULL;
	}
	log_stderr(p, &call, in->job, "-");
	worker_call_release(&call);
	strbuf_release(&req);
	return chk.hints;
}
