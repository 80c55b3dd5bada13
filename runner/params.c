/* params.c - validate detector params against a detector's JSON schema. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "suggest.h"
#include "xmalloc.h"
#include "banned.h"

static const char *const type_names[] = {
	"number", "integer", "boolean", "string", "array", "object",
};
static const char *const schema_keys[] = {
	"type", "default", "min", "max", "exclusive_min", "exclusive_max", "enum", "doc",
};

static int value_has_type(const json_t *v, const char *type)
{
	if (!strcmp(type, "number"))
		return json_is_number(v);
	if (!strcmp(type, "integer"))
		return json_is_integer(v) ||
		       (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) &&
		        fabs(json_real_value(v)) < 9e15);
	if (!strcmp(type, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(type, "string"))
		return json_is_string(v);
	if (!strcmp(type, "array"))
		return json_is_array(v);
	if (!strcmp(type, "object"))
		return json_is_object(v);
	return 0;
}

static int known_type(const char *t)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (!strcmp(t, type_names[i]))
			return 1;
	return 0;
}

int params_schema_check(const json_t *schema, struct vigil_error *err)
{
	const char *name;
	json_t *def;

	if (!json_is_object(schema))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "params_schema is not a JSON object");
	json_object_foreach((json_t *)schema, name, def) {
		json_t *type;
		const char *k;
		json_t *v;

		if (!json_is_object(def))
			return vigil_error_set(err, VIGIL_E_PLUGIN, "params_schema: '%s' is not an object", name);
		json_object_foreach(def, k, v) {
			int ok = 0;

			for (size_t i = 0; i < sizeof(schema_keys) / sizeof(schema_keys[0]); i++)
				ok |= !strcmp(k, schema_keys[i]);
			if (!ok)
				return vigil_error_set(err, VIGIL_E_PLUGIN,
				                       "params_schema: '%s': unknown key '%s'", name, k);
		}
		type = json_object_get(def, "type");
		if (json_is_string(type)) {
			if (!known_type(json_string_value(type)))
				return vigil_error_set(err, VIGIL_E_PLUGIN, "params_schema: '%s': unknown type '%s'",
				                       name, json_string_value(type));
		} else if (json_is_array(type) && json_array_size(type)) {
			size_t i;
			json_t *t;

			json_array_foreach(type, i, t)
				if (!json_is_string(t) || !known_type(json_string_value(t)))
					return vigil_error_set(err, VIGIL_E_PLUGIN,
					                       "params_schema: '%s': bad type list", name);
		} else {
			return vigil_error_set(err, VIGIL_E_PLUGIN, "params_schema: '%s': missing \"type\"", name);
		}
	}
	return 0;
}

static int matches_type(const json_t *v, const json_t *type)
{
	size_t i;
	json_t *t;

	if (json_is_string(type))
		return value_has_type(v, json_string_value(type));
	json_array_foreach(type, i, t)
		if (value_has_type(v, json_string_value(t)))
			return 1;
	return 0;
}

static void type_text(const json_t *type, char *buf, size_t len)
{
	size_t i, o = 0;
	json_t *t;

	if (json_is_string(type)) {
		snprintf(buf, len, "%s", json_string_value(type));
		return;
	}
	buf[0] = '\0';
	json_array_foreach(type, i, t)
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " or " : "", json_string_value(t));
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static void check_bounds(const json_t *def, const json_t *v, struct diag *d, const char *path)
{
	double x = json_number_value(v), b;
	json_t *bound;

	if (!isfinite(x)) {
		diag_add(d, path, "must be a finite number");
		return;
	}
	if ((bound = json_object_get(def, "min")) && x < (b = json_number_value(bound)))
		diag_add(d, path, "must be >= %g (got %g)", b, x);
	else if ((bound = json_object_get(def, "max")) && x > (b = json_number_value(bound)))
		diag_add(d, path, "must be <= %g (got %g)", b, x);
	else if ((bound = json_object_get(def, "exclusive_min")) && x <= (b = json_number_value(bound)))
		diag_add(d, path, "must be > %g (got %g)", b, x);
	else if ((bound = json_object_get(def, "exclusive_max")) && x >= (b = json_number_value(bound)))
		diag_add(d, path, "must be < %g (got %g)", b, x);
}

static void check_enum(const json_t *def, const json_t *v, struct diag *d, const char *path)
{
	json_t *choices = json_object_get(def, "enum"), *c;
	const char *names[64];
	size_t i, n = 0;
	char list[512];
	size_t o = 0;
	const char *hint;

	if (!json_is_array(choices) || !json_is_string(v))
		return;
	json_array_foreach(choices, i, c) {
		if (json_is_string(c) && !strcmp(json_string_value(c), json_string_value(v)))
			return;
		if (n < 64 && json_is_string(c))
			names[n++] = json_string_value(c);
	}
	list[0] = '\0';
	for (i = 0; i < n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", names[i]);
	hint = suggest_closest(json_string_value(v), names, n);
	if (hint)
		diag_add(d, path, "'%s' is not one of %s (did you mean '%s'?)", json_string_value(v), list, hint);
	else
		diag_add(d, path, "'%s' is not one of %s", json_string_value(v), list);
}

struct vigil_params *params_build(const json_t *schema, const json_t *spec_params,
                                  struct diag *d, const char *path)
{
	size_t before = d->n;
	struct vigil_params *p;
	const char *key;
	json_t *v, *def;
	char sub[JPATH_MAX];

	if (spec_params && !json_is_object(spec_params)) {
		diag_add(d, path, "must be an object");
		return NULL;
	}
	p = XNEW(struct vigil_params);
	p->values = json_object();
	if (spec_params) {
		json_object_foreach((json_t *)spec_params, key, v) {
			jpath_key(sub, sizeof(sub), path, key);
			def = json_object_get(schema, key);
			if (!def) {
				const char *names[128], *hint;
				size_t n = 0;
				const char *k2;
				json_t *d2;

				json_object_foreach((json_t *)schema, k2, d2)
					if (n < 128)
						names[n++] = k2;
				hint = suggest_closest(key, names, n);
				if (hint)
					diag_add(d, sub, "unknown param (did you mean '%s'?)", hint);
				else if (n)
					diag_add(d, sub, "unknown param");
				else
					diag_add(d, sub, "unknown param (this detector takes none)");
				continue;
			}
			if (!matches_type(v, json_object_get(def, "type"))) {
				char want[128];

				type_text(json_object_get(def, "type"), want, sizeof(want));
				diag_add(d, sub, "must be %s %s (got %s)",
				         strchr("aeiou", want[0]) ? "an" : "a", want, json_type_name(v));
				continue;
			}
			if (json_is_number(v))
				check_bounds(def, v, d, sub);
			check_enum(def, v, d, sub);
			json_object_set(p->values, key, v);
		}
	}
	json_object_foreach((json_t *)schema, key, def) {
		json_t *dflt = json_object_get(def, "default");

		if (json_object_get(p->values, key))
			continue;
		if (dflt && !json_is_null(dflt))
			json_object_set(p->values, key, dflt);
		else if (!dflt && !(spec_params && json_object_get(spec_params, key))) {
			jpath_key(sub, sizeof(sub), path, key);
			diag_add(d, sub, "required param is missing");
		}
	}
	if (d->n != before) {
		params_free(p);
		return NULL;
	}
	return p;
}

void params_free(struct vigil_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_views; i++)
		params_free(p->views[i]);
	free(p->views);
	free(p->key);
	json_decref(p->values);
	free(p);
}

int params_count(const struct vigil_params *p, const char *key, size_t *out)
{
	json_t *v = p ? json_object_get(p->values, key) : NULL;

	if (!v)
		return 0;
	if (!json_is_array(v))
		return -1;
	*out = json_array_size(v);
	return 1;
}

/*
 * Views are cached in their parent, so asking twice for an element returns
 * the same params.  Params are used by one thread at a time (check() and
 * create() are not called concurrently on the same params), which makes the
 * cast from const safe.
 */
const struct vigil_params *params_element(const struct vigil_params *p, const char *key, size_t index)
{
	struct vigil_params *parent = (struct vigil_params *)p, *view;
	json_t *arr = p && key ? json_object_get(p->values, key) : NULL, *elem;

	if (!json_is_array(arr) || !json_is_object(elem = json_array_get(arr, index)))
		return NULL;
	for (size_t i = 0; i < parent->n_views; i++)
		if (parent->views[i]->index == index && !strcmp(parent->views[i]->key, key))
			return parent->views[i];
	view = XNEW(struct vigil_params);
	view->values = json_incref(elem);
	view->reg = p->reg;
	view->parent = p;
	view->key = xstrdup(key);
	view->index = index;
	parent->views = xreallocarray(parent->views, parent->n_views + 1, sizeof(*parent->views));
	parent->views[parent->n_views++] = view;
	return view;
}

void params_path(const struct vigil_params *p, const char *root, char *buf, size_t len)
{
	char up[JPATH_MAX], mid[JPATH_MAX];

	if (!p || !p->parent) {
		snprintf(buf, len, "%s", root);
		return;
	}
	params_path(p->parent, root, up, sizeof(up));
	jpath_key(mid, sizeof(mid), up, p->key);
	jpath_index(buf, len, mid, p->index);
}

int params_number(const struct vigil_params *p, const char *key, double *out)
{
	json_t *v = p ? json_object_get(p->values, key) : NULL;

	if (!v)
		return 0;
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 1;
}

int params_string(const struct vigil_params *p, const char *key, const char **out)
{
	json_t *v = p ? json_object_get(p->values, key) : NULL;

	if (!v)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 1;
}

int params_bool(const struct vigil_params *p, const char *key, int *out)
{
	json_t *v = p ? json_object_get(p->values, key) : NULL;

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 1;
}
