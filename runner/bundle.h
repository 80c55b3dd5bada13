/*
 * bundle.h - a pushed detector's files as one content-addressed blob
 * (`vigil detectors push`, docs/exec-protocol.md#pushed-detectors).
 *
 * A bundle is one executable, or a directory of files with one of them the
 * entry point.  Its canonical form, which is stored and hashed, is
 *
 *   "vigil-bundle 1 <entry>\n"
 *   then for each file, in byte order of its relative path:
 *   "<x|-> <size> <path>\n" and the file's bytes
 *
 * ("x": executable).  So the SHA-256 of the form covers the names, the
 * execute bits, the contents and which file is the entry point, and a copy
 * on disk is checked by reading it back into the same form.
 */
#ifndef VIGIL_BUNDLE_H
#define VIGIL_BUNDLE_H

#include <stddef.h>

#include "error.h"
#include "strbuf.h"

#define BUNDLE_MAX_BYTES ((size_t)64 << 20)   /* the whole bundle, as stored */
#define BUNDLE_MAX_FILES 1000
#define BUNDLE_NAME_MAX 64                     /* a pushed detector's name */

struct bundle {
	char *entry;               /* the entry point, relative to the bundle's top */
	struct strbuf form;        /* the canonical form */
	char sha256[65];           /* of form, hex */
	size_t n_files;
};

#define BUNDLE_INIT { NULL, STRBUF_INIT, "", 0 }

/*
 * Read path, an executable file or a directory, into b.  For a directory,
 * entry names the entry point (a relative path in it); NULL means the one
 * executable file at its top.  Files and directories whose names start
 * with '.' are left out; symbolic links and special files are refused.
 * The entry point must be a program (a "#!" line or ELF) with an execute
 * bit.  Returns 0, or -1 with err naming the file and the problem
 * (VIGIL_E_LIMIT when over a cap).
 */
int bundle_read(struct bundle *b, const char *path, const char *entry, struct vigil_error *err);

/*
 * Check that data is a well-formed bundle whose SHA-256 is sha256, and
 * write it into dir, an empty directory (mkdtemp): its directories 0700,
 * executables 0700 and other files 0600, each written and fsync'ed.
 * On failure dir may be left half-written (the caller writes into a
 * temporary name and renames it).  *entry (may be NULL) gets the entry point.
 */
int bundle_unpack(const void *data, size_t len, const char *sha256, const char *dir, char **entry,
                  struct vigil_error *err);

/* The entry point named in a bundle's first line, as a new string, or NULL. */
char *bundle_entry_of(const void *data, size_t len);

/* Remove a directory tree (a materialised bundle); 0 or -1 with err set. */
int bundle_remove_tree(const char *dir, struct vigil_error *err);

void bundle_release(struct bundle *b);

#endif
