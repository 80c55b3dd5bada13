/* source.c - the table of source types. */
#include <stdio.h>
#include <string.h>

#include "source.h"
#include "banned.h"

static const struct source_type *const source_table[] = {
	&source_csv,
	&source_prometheus,
	&source_influxdb,
	&source_sqlite,
	&source_postgresql,
	&source_http,
	&source_graphite,
};

#define N_SOURCES (sizeof(source_table) / sizeof(source_table[0]))

const struct source_type *source_find(const char *name)
{
	for (size_t i = 0; i < N_SOURCES; i++)
		if (!strcmp(source_table[i]->name, name))
			return source_table[i];
	return NULL;
}

const char *const *source_names(void)
{
	static const char *names[N_SOURCES + 1];

	for (size_t i = 0; i < N_SOURCES; i++)
		names[i] = source_table[i]->name;
	names[N_SOURCES] = NULL;
	return names;
}

void source_check_keys(const struct source_type *t, const json_t *cfg, struct diag *d, const char *path)
{
	char where[64];

	snprintf(where, sizeof(where), "for a %s source", t->name);
	diag_check_keys(d, cfg, t->keys, "type", path, where);
}
