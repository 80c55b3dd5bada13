/*
 * regfile.h - open a file that must be a regular file.
 *
 * Spec files and CSV sources are named by users; a FIFO, a device or a
 * directory there would block a read forever or fail with an obscure
 * message.  The file is opened with O_NONBLOCK (so a FIFO without a writer
 * does not block the open), checked with fstat, and refused unless regular.
 */
#ifndef VIGIL_REGFILE_H
#define VIGIL_REGFILE_H

#include <stddef.h>
#include <sys/stat.h>

#include "error.h"

/*
 * Open path read-only (close-on-exec, blocking mode restored).  Returns the
 * descriptor with *st filled, or -1 with err set to "cannot open: <why>",
 * "is a directory" or "is a FIFO|device|socket, not a regular file" (the
 * caller prefixes the name it shows).
 */
int regfile_open(const char *path, struct stat *st, struct vigil_error *err);

/*
 * Read the whole regular file path (at most max bytes) into a new
 * NUL-terminated buffer.  Returns it with *len set, or NULL with err set.
 */
char *regfile_read(const char *path, size_t max, size_t *len, struct vigil_error *err);

#endif
