/*
 * promote.h - promoting a shadow detector of a job spec to an alerting one
 * (`vigil promote`, POST /api/jobs/{job}/promote, the detectors page).
 *
 * The change is made on the spec's text, not on a re-encoded tree, so the
 * rest of the file keeps its layout and comments-free JSON stays as the
 * author wrote it: the shadow entry loses its "mode" member, and the entry
 * it replaces (if one is named) is removed from "detectors".  The result is
 * shown as a unified diff, validated like any spec before it is written,
 * and written atomically (a temporary file in the same directory, fsync,
 * rename).
 */
#ifndef VIGIL_PROMOTE_H
#define VIGIL_PROMOTE_H

#include "error.h"
#include "strbuf.h"

struct registry;

/* Lines of context around each change in promote_diff. */
#define PROMOTE_DIFF_CONTEXT 3
/* Spec files larger than this are refused (the daemon's own limit). */
#define PROMOTE_FILE_MAX (16 * 1024 * 1024)

/*
 * The text of a spec with detector id promoted: its "mode": "shadow"
 * member removed and, when replace is not NULL, the detector entry with
 * that id removed.  Returns a new string, or NULL with err set (VIGIL_E_USAGE
 * when there is no such detector, it is not a shadow one, or replace names
 * the detector itself or none of the spec's; VIGIL_E_SPEC when the text is
 * not a JSON object with a "detectors" array).
 */
char *promote_edit(const char *text, const char *id, const char *replace, struct vigil_error *err);

/*
 * Append a unified diff from old to new (labels "a/NAME" and "b/NAME") to
 * out; nothing when they are equal.  Texts of more than 20 000 lines are
 * shown as one hunk replacing the whole file.
 */
void promote_diff(const char *name, const char *old, const char *new, struct strbuf *out);

/*
 * Append text (a diff) to out with what looks like a secret hidden: the
 * string value of a credential-looking key ("webhook_url": "[redacted]")
 * and the credentials in URLs (redact.h).  For showing, never for applying.
 */
void promote_redact(const char *text, struct strbuf *out);

/* Read a spec file whole (at most PROMOTE_FILE_MAX bytes); a new string, or NULL with err set. */
char *promote_read(const char *path, struct vigil_error *err);

/*
 * Can the daemon or the CLI write path in place (its directory writable,
 * for the temporary file and the rename)?  1 or 0.
 */
int promote_writable(const char *path);

/*
 * Check text as a spec (spec_parse with reg, relative paths from path's
 * directory), then replace path with it atomically.  0, or -1 with err set:
 * VIGIL_E_SPEC with the first problem ("checkout.json: $.alert.agree: ...")
 * when it does not validate (nothing is written), VIGIL_E_IO when it cannot
 * be written (the file is left as it was).
 */
int promote_write(const char *path, const char *text, const struct registry *reg, struct vigil_error *err);

#endif
