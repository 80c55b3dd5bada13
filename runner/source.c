/* source.c - the table of source types. */
#include <string.h>

#include "source.h"
#include "suggest.h"
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
	const char *key;
	json_t *v;
	char sub[JPATH_MAX];

	json_object_foreach((json_t *)cfg, key, v) {
		const char *cands[64], *hint;
		size_t n = 0;
		int ok = !strcmp(key, "type");

		cands[n++] = "type";
		for (const char *const *k = t->keys; *k && n < 64; k++) {
			ok |= !strcmp(key, *k);
			cands[n++] = *k;
		}
		if (ok)
			continue;
		jpath_key(sub, sizeof(sub), path, key);
		hint = suggest_closest(key, cands, n);
		if (hint)
			diag_add(d, sub, "unknown key for a %s source (did you mean '%s'?)", t->name, hint);
		else
			diag_add(d, sub, "unknown key for a %s source", t->name);
	}
}
