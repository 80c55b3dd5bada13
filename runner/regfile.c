/* regfile.c - open a file that must be a regular file (see regfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regfile.h"
#include "xmalloc.h"
#include "banned.h"

static const char *kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

int regfile_open(const char *path, struct stat *st, struct vigil_error *err)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), flags;

	if (fd < 0) {
		if (errno == ENXIO || errno == EWOULDBLOCK)
			return vigil_error_set(err, VIGIL_E_IO, "is not a regular file");
		return vigil_error_set(err, VIGIL_E_IO, "cannot open: %s", strerror(errno));
	}
	if (fstat(fd, st)) {
		int e = errno;

		close(fd);
		return vigil_error_set(err, VIGIL_E_IO, "cannot stat: %s", strerror(e));
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		if (S_ISDIR(st->st_mode))
			return vigil_error_set(err, VIGIL_E_IO, "is a directory");
		return vigil_error_set(err, VIGIL_E_IO, "is %s, not a regular file", kind(st->st_mode));
	}
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

char *regfile_read(const char *path, size_t max, size_t *len, struct vigil_error *err)
{
	struct stat st;
	size_t cap, n = 0;
	char *buf;
	int fd = regfile_open(path, &st, err);

	if (fd < 0)
		return NULL;
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		vigil_error_set(err, VIGIL_E_LIMIT, "larger than %zu bytes", max);
		return NULL;
	}
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n + 1 == cap) {
			/* the file grew while we read it */
			if (cap > max) {
				free(buf);
				close(fd);
				vigil_error_set(err, VIGIL_E_LIMIT, "larger than %zu bytes", max);
				return NULL;
			}
			cap = cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			close(fd);
			vigil_error_set(err, VIGIL_E_IO, "cannot read: %s", strerror(e));
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}
