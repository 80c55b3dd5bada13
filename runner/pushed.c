/* pushed.c - resolving and materialising pushed detectors on a node (see pushed.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "paths.h"
#include "pushed.h"
#include "timefmt.h"
#include "trust.h"
#include "xmalloc.h"
#include "banned.h"

struct pushed_name {
	char *name;
	char *path;                /* an override (--test), or NULL */
	char *sha256;              /* the override's, or what was last materialised */
	int64_t version;           /* last recorded in the store for this node (0: not yet) */
	char *last_error;          /* pushed_sync logs a failure once until it changes */
};

struct pushed {
	char *state;
	char *store_path;
	char *node;
	struct store *st;
	int own_store;
	char *dir;
	struct pushed_name *names;
	size_t n_names;
	pthread_mutex_t lock;      /* specs may be parsed by several threads (the daemon's loop, its API) */
};

int pushed_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > BUNDLE_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '.' || *c == '_' || *c == '-'))
			return 0;
	return 1;
}

struct pushed *pushed_new(const char *state, const char *store_path, const char *node)
{
	struct pushed *p = XNEW(struct pushed);
	char host[256];

	pthread_mutex_init(&p->lock, NULL);
	p->state = state ? xstrdup(state) : NULL;
	p->store_path = store_path ? xstrdup(store_path) : NULL;
	if (node) {
		p->node = xstrdup(node);
	} else {
		host[sizeof(host) - 1] = '\0';
		p->node = xstrdup(gethostname(host, sizeof(host) - 1) || !host[0] ? "localhost" : host);
	}
	return p;
}

void pushed_use_store(struct pushed *p, struct store *st)
{
	if (p->own_store)
		store_close(p->st);
	p->st = st;
	p->own_store = 0;
}

static struct pushed_name *name_slot(struct pushed *p, const char *name)
{
	for (size_t i = 0; i < p->n_names; i++)
		if (!strcmp(p->names[i].name, name))
			return &p->names[i];
	p->names = xreallocarray(p->names, p->n_names + 1, sizeof(*p->names));
	memset(&p->names[p->n_names], 0, sizeof(*p->names));
	p->names[p->n_names].name = xstrdup(name);
	return &p->names[p->n_names++];
}

void pushed_override(struct pushed *p, const char *name, const char *path, const char *sha256)
{
	struct pushed_name *n = name_slot(p, name);

	free(n->path);
	free(n->sha256);
	n->path = xstrdup(path);
	n->sha256 = xstrdup(sha256);
}

char *pushed_dir(struct pushed *p, struct vigil_error *err)
{
	if (!p->dir) {
		char *state = paths_state_dir(p->state, err), *dir;

		if (!state)
			return NULL;
		dir = xasprintf("%s/pushed", state);
		free(state);
		if ((mkdir(dir, 0700) && errno != EEXIST) || paths_check_private_dir(dir, err)) {
			if (!vigil_error_isset(err))
				vigil_error_set(err, VIGIL_E_IO, "cannot create '%s': %s", dir, strerror(errno));
			free(dir);
			return NULL;
		}
		p->dir = dir;
	}
	return xstrdup(p->dir);
}

static struct store *store_of(struct pushed *p, struct vigil_error *err)
{
	if (!p->st) {
		const char *env = getenv("VIGIL_STORE");
		char *path;

		if (p->store_path) {
			path = xstrdup(p->store_path);
		} else if (env && *env) {
			path = xstrdup(env);
		} else {
			char *state = paths_state_dir(p->state, err);

			if (!state)
				return NULL;
			path = xasprintf("%s/vigil.db", state);
			free(state);
		}
		p->st = store_open(path, err);
		free(path);
		if (!p->st)
			return NULL;
		p->own_store = 1;
	}
	if (!p->st->backend->pushed) {
		vigil_error_set(err, VIGIL_E_STORE, "the %s store keeps no pushed detectors", p->st->backend->name);
		return NULL;
	}
	return p->st;
}

/* The first file of a copy that is not private (nftw has no argument: one walk per thread at a time). */
static __thread char *not_private;

static int check_private(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_NS) {
		not_private = xasprintf("cannot stat '%s'", path);
		return 1;
	}
	if (st->st_uid != geteuid() || (st->st_mode & 077)) {
		not_private = xasprintf("'%s' has mode %04o and uid %lu: not private to vigil's user", path,
		                        (unsigned)(st->st_mode & 07777), (unsigned long)st->st_uid);
		return 1;
	}
	return 0;
}

/* 1 if dir holds the bundle sha256 (entry point entry) exactly as pushed, and may be run. */
static int copy_intact(const char *dir, const char *entry, const char *sha256, char *why, size_t len)
{
	struct bundle b = BUNDLE_INIT;
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path;
	int ok;

	if (bundle_read(&b, dir, entry, &err)) {
		snprintf(why, len, "%s", err.msg);
		bundle_release(&b);
		return 0;
	}
	ok = !strcmp(b.sha256, sha256);
	if (!ok)
		snprintf(why, len, "its files hash to %.12s", b.sha256);
	bundle_release(&b);
	if (ok && nftw(dir, check_private, 16, FTW_PHYS)) {
		snprintf(why, len, "%s", not_private ? not_private : strerror(errno));
		ok = 0;
	}
	free(not_private);
	not_private = NULL;
	path = xasprintf("%s/%s", dir, entry);
	if (ok && trust_check(path, "executable", &err)) {
		snprintf(why, len, "%s", err.msg);
		ok = 0;
	}
	free(path);
	return ok;
}

/* Write the bundle into a temporary directory beside final, and rename it into place. */
static int materialise(struct pushed *p, struct store *st, const char *name, const char *sha256,
                       const char *final, struct vigil_error *err)
{
	void *data = NULL;
	size_t len = 0;
	char *tmp;
	int rc = -1, fd;

	if (st->backend->pushed->bundle(st, sha256, &data, &len, err))
		return -1;
	if (!data)
		return vigil_error_set(err, VIGIL_E_STORE, "detector '%s': the store has no bundle %.12s", name, sha256);
	tmp = xasprintf("%s/.tmp-%.16s-XXXXXX", p->dir, sha256);
	if (!mkdtemp(tmp)) {
		vigil_error_set(err, VIGIL_E_IO, "cannot create a directory in '%s': %s", p->dir, strerror(errno));
		goto out;
	}
	if (bundle_unpack(data, len, sha256, tmp, NULL, err)) {
		vigil_error_prefix(err, "detector '%s'", name);
		bundle_remove_tree(tmp, NULL);
		goto out;
	}
	if (rename(tmp, final)) {
		int e = errno;

		bundle_remove_tree(tmp, NULL);
		/* another process put the same version in place first: fine */
		if (e != EEXIST && e != ENOTEMPTY) {
			vigil_error_set(err, VIGIL_E_IO, "cannot rename '%s' to '%s': %s", tmp, final, strerror(e));
			goto out;
		}
	}
	fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	rc = 0;
out:
	free(tmp);
	free(data);
	return rc;
}

/* Set a changed copy aside (renamed, then removed) so that it can be written again. */
static int set_aside(struct pushed *p, const char *name, const char *final, const char *why,
                     struct vigil_error *err)
{
	char *stale = xasprintf("%s/.stale-XXXXXX", p->dir);
	int rc = 0;

	log_warn("pushed", "detector '%s': the copy in '%s' was changed on disk (%s); materialising it again", name,
	         final, why);
	if (!mkdtemp(stale) || (rename(final, stale) && errno != ENOENT)) {   /* ENOENT: another process did */
		rc = vigil_error_set(err, VIGIL_E_IO, "detector '%s': the copy in '%s' was changed on disk (%s) and cannot "
		                     "be replaced: %s; refusing to run it", name, final, why, strerror(errno));
		rmdir(stale);
	} else {
		bundle_remove_tree(stale, NULL);
	}
	free(stale);
	return rc;
}

/*
 * quick: a copy of the version this resolver already materialised is taken
 * as it is (pushed_sync, which only looks for new versions: every use
 * checks the copy).
 */
static char *resolve(struct pushed *p, const char *name, int quick, struct pushed_info *info,
                     struct vigil_error *err)
{
	struct pushed_name *n = name_slot(p, name);
	struct store *st;
	json_t *latest = NULL;
	const char *sha, *entry;
	char *dir = NULL, *final = NULL, *path = NULL, why[1200];
	int64_t version;
	struct stat sb;

	if (n->path) {
		if (info) {
			info->version = 0;
			snprintf(info->sha256, sizeof(info->sha256), "%s", n->sha256);
		}
		return xstrdup(n->path);
	}
	if (!pushed_name_ok(name)) {
		vigil_error_set(err, VIGIL_E_SPEC, "'%s' is not a pushed detector's name (letters, digits, '.', '_', '-')",
		                name);
		return NULL;
	}
	if (!(st = store_of(p, err)) || st->backend->pushed->latest(st, name, &latest, err))
		return NULL;
	if (!latest) {
		vigil_error_set(err, VIGIL_E_SPEC, "no detector '%s' was pushed to the store (see 'vigil detectors push')",
		                name);
		return NULL;
	}
	sha = json_string_value(json_object_get(latest, "sha256"));
	entry = json_string_value(json_object_get(latest, "entry"));
	version = json_integer_value(json_object_get(latest, "version"));
	if (!sha || !entry || !(dir = pushed_dir(p, err)))
		goto out;
	final = xasprintf("%s/%s", dir, sha);
	if (quick && n->sha256 && !strcmp(n->sha256, sha) && n->version == version && lstat(final, &sb) == 0) {
		path = xasprintf("%s/%s", final, entry);
		goto out;
	}
	if (lstat(final, &sb) == 0 && !copy_intact(final, entry, sha, why, sizeof(why)) &&
	    set_aside(p, name, final, why, err))
		goto out;
	if (lstat(final, &sb) && materialise(p, st, name, sha, final, err))
		goto out;
	if (!copy_intact(final, entry, sha, why, sizeof(why))) {
		vigil_error_set(err, VIGIL_E_IO, "detector '%s': the copy in '%s' does not match version %lld: %s", name,
		                final, (long long)version, why);
		goto out;
	}
	if (n->version != version || !n->sha256 || strcmp(n->sha256, sha)) {
		struct vigil_error serr = VIGIL_ERROR_INIT;

		if (st->backend->pushed->node_seen(st, p->node, name, version, sha, time_now_ms(), &serr))
			log_warn("pushed", "detector '%s': cannot record that this node runs version %lld: %s", name,
			         (long long)version, serr.msg);
		else
			n->version = version;
		free(n->sha256);
		n->sha256 = xstrdup(sha);
	}
	if (info) {
		info->version = version;
		snprintf(info->sha256, sizeof(info->sha256), "%s", sha);
	}
	path = xasprintf("%s/%s", final, entry);
out:
	json_decref(latest);
	free(dir);
	free(final);
	return path;
}

char *pushed_resolve(struct pushed *p, const char *name, struct pushed_info *info, struct vigil_error *err)
{
	char *path;

	pthread_mutex_lock(&p->lock);
	path = resolve(p, name, 0, info, err);
	pthread_mutex_unlock(&p->lock);
	return path;
}

void pushed_sync(struct pushed *p)
{
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_names; i++) {
		struct pushed_name *n = &p->names[i];
		struct vigil_error err = VIGIL_ERROR_INIT;
		char *path;

		if (n->path)
			continue;
		path = resolve(p, n->name, 1, NULL, &err);
		n = &p->names[i];
		if (!path && (!n->last_error || strcmp(n->last_error, err.msg))) {
			log_warn("pushed", "detector '%s': %s", n->name, err.msg);
			free(n->last_error);
			n->last_error = xstrdup(err.msg);
		} else if (path) {
			free(n->last_error);
			n->last_error = NULL;
		}
		free(path);
	}
	pthread_mutex_unlock(&p->lock);
}

void pushed_free(struct pushed *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_names; i++) {
		free(p->names[i].name);
		free(p->names[i].path);
		free(p->names[i].sha256);
		free(p->names[i].last_error);
	}
	free(p->names);
	if (p->own_store)
		store_close(p->st);
	free(p->state);
	free(p->store_path);
	free(p->node);
	free(p->dir);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
