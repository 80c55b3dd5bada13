/* trust.c - owner and mode checks before loading or running a file (see trust.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"
#include "xmalloc.h"
#include "banned.h"

/* NULL if st is acceptable, else why not (into buf). */
static const char *judge(const char *name, const struct stat *st, int is_dir, char *buf, size_t len)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me) {
		snprintf(buf, len, "'%s' is owned by uid %lu, not by root or the user running vigil (uid %lu)",
		         name, (unsigned long)st->st_uid, (unsigned long)me);
		return buf;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(is_dir && (st->st_mode & S_ISVTX))) {
		snprintf(buf, len, "'%s' is writable by %s (mode %04o)", name,
		         (st->st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(st->st_mode & 07777));
		return buf;
	}
	return NULL;
}

int trust_check(const char *path, const char *what, struct vigil_error *err)
{
	char real[PATH_MAX], why[PATH_MAX + 160];
	struct stat st;
	char *slash;

	if (!realpath(path, real))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "%s '%s': %s", what, path, strerror(errno));
	if (stat(real, &st))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "%s '%s': %s", what, path, strerror(errno));
	if (judge(real, &st, S_ISDIR(st.st_mode), why, sizeof(why)))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "%s '%s': refused: %s", what, path, why);
	/* every directory above it, up to / */
	while ((slash = strrchr(real, '/'))) {
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(real, &st))
			return vigil_error_set(err, VIGIL_E_PLUGIN, "%s '%s': '%s': %s", what, path, real,
			                       strerror(errno));
		if (judge(real, &st, 1, why, sizeof(why)))
			return vigil_error_set(err, VIGIL_E_PLUGIN, "%s '%s': refused: %s", what, path, why);
		if (!strcmp(real, "/"))
			break;
	}
	return 0;
}

int trust_looks_executable(const char *path)
{
	unsigned char head[4];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return 0;
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n >= 2 && head[0] == '#' && head[1] == '!')
		return 1;
	return n == 4 && !memcmp(head, "\x7f" "ELF", 4);
}
