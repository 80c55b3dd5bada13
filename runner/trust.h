/*
 * trust.h - whether a file may be loaded or run with vigil's privileges
 * (sshd's StrictModes, for plugins and external detectors).
 *
 * A plugin (.so) or executable is trusted only when it and every directory
 * above it (after symlinks are resolved) are owned by root or by the
 * effective user running vigil, and are not writable by group or others.
 * A directory with the sticky bit (such as /tmp) may be writable by all:
 * there, nobody can replace another user's entry.
 */
#ifndef VIGIL_TRUST_H
#define VIGIL_TRUST_H

#include "error.h"

/*
 * 0 if path may be loaded or run, else -1 with err set to
 * "<what> '<path>': refused: <reason>" (what: "plugin", "executable").
 */
int trust_check(const char *path, const char *what, struct vigil_error *err);

/*
 * 1 if path starts like a program the kernel can run (an ELF header or "#!"),
 * else 0: libtool's .la files and data files are not external detectors,
 * whatever their mode.
 */
int trust_looks_executable(const char *path);

#endif
