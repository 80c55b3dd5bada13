/*
 * template.h - "{name}" placeholders in message templates of a spec.
 *
 * A template is literal text with placeholders: "{series} is at {value}".
 * "{{" and "}}" stand for literal braces.  Names are checked when the spec is
 * validated (template_check, with a did-you-mean), so expansion cannot fail.
 */
#ifndef VIGIL_TEMPLATE_H
#define VIGIL_TEMPLATE_H

#include <stddef.h>

#include "error.h"
#include "strbuf.h"

/*
 * Check the syntax of tpl and that every placeholder is one of allowed
 * (NULL-terminated; an entry ending in "." allows any name with that prefix,
 * e.g. "label." for "{label.host}").  Returns 0, or -1 with err set.
 */
int template_check(const char *tpl, const char *const *allowed, struct vigil_error *err);

/* Appends the value of placeholder name[0..len) to out. */
typedef void template_fn(void *arg, const char *name, size_t len, struct strbuf *out);

/* Expand a checked template into out. */
void template_expand(const char *tpl, template_fn *fn, void *arg, struct strbuf *out);

#endif
