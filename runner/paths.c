/* paths.c - the state directory (XDG base directory spec). */
#include <errno.h>
#include <fcntl.h>
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
	if (paths_mkdir_p(dir, 0700, err) || paths_check_private_dir(dir, err)) {
		free(dir);
		return NULL;
	}
	return dir;
}

int paths_check_private_dir(const char *dir, struct vigil_error *err)
{
	struct stat st;

	if (stat(dir, &st))
		return vigil_error_set(err, VIGIL_E_IO, "state directory '%s': %s", dir, strerror(errno));
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return vigil_error_set(err, VIGIL_E_IO, "state directory '%s' is writable by %s (mode %04o): it holds "
		                       "run errors and alert text; chmod 700 it", dir,
		                       (st.st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(st.st_mode & 07777));
	return 0;
}

int paths_private_file(const char *path, struct vigil_error *err)
{
	struct stat st;
	int fd;

	/*
	 * Never open an existing store here: closing any descriptor of a file
	 * drops the process's POSIX locks on it, SQLite's included.
	 */
	if (lstat(path, &st) == 0) {
		if (S_ISREG(st.st_mode) && (st.st_mode & 077) && st.st_uid == geteuid())
			chmod(path, st.st_mode & 0700);   /* an older vigil created it 0644 */
		return 0;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;   /* created meanwhile by another process: sqlite takes it from here */
		return vigil_error_set(err, VIGIL_E_IO, "cannot create '%s': %s", path, strerror(errno));
	}
	close(fd);
	return 0;
}
