/* paths.h - where vigil keeps its state. */
#ifndef VIGIL_PATHS_H
#define VIGIL_PATHS_H

#include "error.h"

/*
 * The state directory: `override` if not NULL, else $VIGIL_STATE_DIR, else
 * $XDG_STATE_HOME/vigil, else ~/.local/state/vigil.  Created (mode 0700,
 * with parents) if missing; refused (paths_check_private_dir) when group or
 * others may write it.  Returns a newly allocated path, or NULL.
 */
char *paths_state_dir(const char *override, struct vigil_error *err);

/* 0 if dir is writable by its owner only, else -1 with err set saying so. */
int paths_check_private_dir(const char *dir, struct vigil_error *err);

/*
 * Create path (a store file) mode 0600 if it does not exist, and take group
 * and others' bits off one of ours that has them (SQLite gives its -wal and
 * -shm files the database's mode).  0, or -1 with err set.
 */
int paths_private_file(const char *path, struct vigil_error *err);

/* mkdir -p with mode; 0 or -1 with err set. */
int paths_mkdir_p(const char *path, unsigned mode, struct vigil_error *err);

/*
 * path made absolute against the current directory (not resolved: symbolic
 * links and ".." stay), so a relative --plugin-dir means the same thing to
 * every verb and every later base directory.  Returns a new string.
 */
char *paths_absolute(const char *path);

#endif
