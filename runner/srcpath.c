/* srcpath.c - the directories a spec's source files must lie under (see srcpath.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srcpath.h"
#include "xmalloc.h"
#include "banned.h"

/* 1 if real (resolved) is dir or lies under it. */
static int under(const char *real, const char *dir)
{
	char rdir[PATH_MAX];
	size_t n;

	if (!realpath(dir, rdir))
		return 0;
	n = strlen(rdir);
	if (n == 1)   /* "/" */
		return 1;
	return !strncmp(real, rdir, n) && (real[n] == '/' || real[n] == '\0');
}

char *srcpath_resolve(const char *resolved, const char *spec_dir, const char *jpath, const char *display,
                      struct vigil_error *err)
{
	char real[PATH_MAX], cwd[PATH_MAX];
	char *path = (resolved[0] != '/' && spec_dir) ? xasprintf("%s/%s", spec_dir, resolved) : xstrdup(resolved);
	const char *base = spec_dir ? spec_dir : getcwd(cwd, sizeof(cwd));
	const char *roots = getenv("VIGIL_SOURCE_ROOTS");
	int ok;

	if (!realpath(path, real)) {
		/* a missing file: judge its directory, so existence outside cannot be probed */
		char *slash, *dir = xstrdup(path);
		int found;

		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		found = realpath(slash ? (*dir ? dir : "/") : ".", real) != NULL;
		free(dir);
		if (!found)
			return path;   /* open() says what is missing */
	}
	ok = base && under(real, base);
	if (!ok && roots && *roots) {
		char *copy = xstrdup(roots), *save = NULL;

		for (char *d = strtok_r(copy, ":", &save); d && !ok; d = strtok_r(NULL, ":", &save))
			ok = *d == '/' && under(real, d);
		free(copy);
	}
	if (!ok) {
		vigil_error_set(err, VIGIL_E_SPEC, "%s: %s is outside the spec's directory%s: allow its directory "
		                "with VIGIL_SOURCE_ROOTS=DIR[:DIR...]", jpath, display,
		                roots && *roots ? " and VIGIL_SOURCE_ROOTS" : "");
		free(path);
		return NULL;
	}
	return path;
}
