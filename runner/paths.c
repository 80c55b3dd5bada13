/* paths.c - the state directory (XDG base directory spec). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "xmalloc.h"
#include "banned.h"

int paths_mkdir_p(const char *path, unsigned mode, struct vigil_error *err)
{
	char *copy = xstrdup(path);
	struct stat st;

	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) && errno != EEXIST) {
			vigil_error_set(err, VIGIL_E_IO, "cannot create '%s': %s", copy, strerror(errno));
			free(copy);
			return -1;
		}
		*p = '/';
	}
	if (mkdir(copy, mode) && errno != EEXIST) {
		vigil_error_set(err, VIGIL_E_IO, "cannot create '%s': %s", copy, strerror(errno));
		free(copy);
		return -1;
	}
	free(copy);
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return vigil_error_set(err, VIGIL_E_IO, "'%s' is not a directory", path);
	return 0;
}

char *paths_absolute(const char *path)
{
	char *cwd, *abs;

	if (path[0] == '/' || !(cwd = getcwd(NULL, 0)))
		return xstrdup(path);
	abs = strcmp(path, ".") ? xasprintf("%s/%s", cwd, path) : xstrdup(cwd);
	free(cwd);
	return abs;
}

char *paths_state_dir(const char *override, struct vigil_error *err)
{
	const char *env;
	char *dir;

	if (override && *override)
		dir = xstrdup(override);
	else if ((env = getenv("VIGIL_STATE_DIR")) && *env)
		dir = xstrdup(env);
	else if ((env = getenv("XDG_STATE_HOME")) && *env == '/')
		dir = xasprintf("%s/vigil", env);
	else if ((env = getenv("HOME")) && *env)
		dir = xasprintf("%s/.local/state/vigil", env);
	else {
		vigil_error_set(err, VIGIL_E_IO, "no state directory: use --state, or set VIGIL_STATE_DIR, "
		                "XDG_STATE_HOME (an absolute path) or HOME");
		return NULL;
	}
	if (paths_mkdir_p(dir, 0700, err)) {
		free(dir);
		return NULL;
	}
	return dir;
}
