/* paths.h - where vigil keeps its state. */
#ifndef VIGIL_PATHS_H
#define VIGIL_PATHS_H

#include "error.h"

/*
 * The state directory: `override` if not NULL, else $VIGIL_STATE_DIR, else
 * $XDG_STATE_HOME/vigil, else ~/.local/state/vigil.  Created (mode 0700,
 * with parents) if missing.  Returns a newly allocated path, or NULL.
 */
char *paths_state_dir(const char *override, struct vigil_error *err);

/* mkdir -p with mode; 0 or -1 with err set. */
int paths_mkdir_p(const char *path, unsigned mode, struct vigil_error *err);

/*
 * path made absolute against the current directory (not resolved: symbolic
 * links and ".." stay), so a relative --plugin-dir means the same thing to
 * every verb and every later base directory.  Returns a new string.
 */
char *paths_absolute(const char *path);

#endif
