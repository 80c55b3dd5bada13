/* store-sqlite.h - what the files of the SQLite backend share. */
#ifndef VIGIL_STORE_SQLITE_H
#define VIGIL_STORE_SQLITE_H

#include <sqlite3.h>

#include "store.h"

/*
 * Insert outbox rows and upsert alert-state rows inside the caller's open
 * transaction (run_finish uses it so that a run's results and its messages
 * commit together).  Returns 0, or -1 with err set; the caller rolls back.
 */
int sqlite_notify_write(sqlite3 *db, const struct outbox_row *rows, size_t n_rows,
                        const struct alert_state_row *states, size_t n_states, struct vigil_error *err);

#endif
