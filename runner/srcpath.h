/*
 * srcpath.h - which files a spec may read (CSV and SQLite sources).
 *
 * A spec names a file relative to its own directory, or by absolute path.
 * Either way, once symlinks are resolved, the file must lie under the spec's
 * directory (the working directory for a spec without one) or under one of
 * the source roots: the directories listed, separated by ':', in
 * $VIGIL_SOURCE_ROOTS.  So a spec cannot make vigil read, and quote in its
 * errors, a file such as the API token or /etc/shadow.
 */
#ifndef VIGIL_SRCPATH_H
#define VIGIL_SRCPATH_H

#include "error.h"

/*
 * Return the path to open for `resolved` (the spec's value with references
 * resolved), or NULL with err set to "<jpath>: ..." when the file is missing
 * or outside the allowed directories.  display names the file in messages.
 */
char *srcpath_resolve(const char *resolved, const char *spec_dir, const char *jpath, const char *display,
                      struct vigil_error *err);

#endif
