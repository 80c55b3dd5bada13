/* store.c - choose a store backend for a target. */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "xmalloc.h"
#include "banned.h"

struct store *store_open(const char *target, struct vigil_error *err)
{
	struct store *st = XNEW(struct store);

	if (!strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11)) {
		vigil_error_set(err, VIGIL_E_STORE, "the PostgreSQL store is not built into this vigil yet");
		free(st);
		return NULL;
	}
	st->backend = &store_sqlite;
	if (st->backend->open(st, target, err)) {
		free(st);
		return NULL;
	}
	return st;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->backend->close(st);
	free(st);
}
