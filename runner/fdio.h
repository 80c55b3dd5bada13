/*
 * fdio.h - writing to a file descriptor without short writes.
 */
#ifndef VIGIL_FDIO_H
#define VIGIL_FDIO_H

#include <stddef.h>

/* Write all of buf to fd, again after EINTR and short writes.  Returns 0, or -1 (errno set by write()). */
int fd_write_all(int fd, const void *buf, size_t len);

#endif
