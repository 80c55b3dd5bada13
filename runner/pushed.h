/*
 * pushed.h - detectors pushed to the store (`vigil detectors push`), as a
 * node sees them: a spec's {"exec": {"pushed": "NAME"}} resolves to the
 * entry point of NAME's latest version, materialised on first use or on
 * change under STATE/pushed/<sha256>/ (see docs/exec-protocol.md#pushed-detectors).
 *
 * Materialising verifies the bundle's SHA-256, writes it into a private
 * temporary directory and renames that into place, so a process sees a
 * version whole or not at all.  A copy found changed on disk (its content,
 * names or execute bits no longer hash to its name) is set aside and
 * materialised again.  Each resolution records in the store which version
 * this node runs.
 */
#ifndef VIGIL_PUSHED_H
#define VIGIL_PUSHED_H

#include <stdint.h>

#include "error.h"
#include "store.h"

struct pushed;

/* What a name resolved to. */
struct pushed_info {
	int64_t version;           /* 0 for a --test candidate */
	char sha256[65];
};

/*
 * A resolver.  state: the state directory (NULL: the default, paths.h);
 * store_path: the store (NULL: $VIGIL_STORE, else STATE/vigil.db), opened
 * on first use; node: the name recorded with what it materialises (NULL:
 * the host name).  Nothing is opened or created until a name is resolved.
 */
struct pushed *pushed_new(const char *state, const char *store_path, const char *node);

/* Use st (borrowed; it must outlive p) instead of opening the store. */
void pushed_use_store(struct pushed *p, struct store *st);

/* Resolve name to path (an entry point already materialised) instead: `push --test`'s candidate. */
void pushed_override(struct pushed *p, const char *name, const char *path, const char *sha256);

/*
 * The absolute path of the entry point of name's latest version,
 * materialised if needed, as a new string; info (may be NULL) gets its
 * version.  NULL with err set when nothing was pushed under name, the store
 * cannot be read, or the copy cannot be written or verified.
 */
char *pushed_resolve(struct pushed *p, const char *name, struct pushed_info *info, struct vigil_error *err);

/*
 * Resolve again every name resolved so far, so that a new version is
 * materialised (and reported) before a run needs it; failures are logged.
 * A long-running process calls this now and then.
 */
void pushed_sync(struct pushed *p);

/* The materialised copies' directory (STATE/pushed), or NULL when it cannot be had (err set). */
char *pushed_dir(struct pushed *p, struct vigil_error *err);

void pushed_free(struct pushed *p);

/* 1 if name may name a pushed detector: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
int pushed_name_ok(const char *name);

#endif
