/* template.c - expand "{name}" placeholders in message templates. */
#include <string.h>

#include "suggest.h"
#include "template.h"
#include "banned.h"

#define NAME_MAX_LEN 64

static int name_allowed(const char *name, size_t len, const char *const *allowed)
{
	for (const char *const *a = allowed; *a; a++) {
		size_t alen = strlen(*a);

		if (alen && (*a)[alen - 1] == '.') {
			if (len > alen && !memcmp(name, *a, alen))
				return 1;
		} else if (alen == len && !memcmp(name, *a, len)) {
			return 1;
		}
	}
	return 0;
}

int template_check(const char *tpl, const char *const *allowed, struct vigil_error *err)
{
	for (const char *p = tpl; *p; p++) {
		const char *close;
		size_t len;

		if (*p == '}') {
			if (p[1] == '}') {
				p++;
				continue;
			}
			return vigil_error_set(err, VIGIL_E_SPEC, "a lone '}' (write '}}' for a literal brace)");
		}
		if (*p != '{')
			continue;
		if (p[1] == '{') {
			p++;
			continue;
		}
		close = strchr(p + 1, '}');
		if (!close)
			return vigil_error_set(err, VIGIL_E_SPEC, "unterminated placeholder '{...' (write '{{' for a "
			                       "literal brace)");
		len = (size_t)(close - p - 1);
		if (!len || len > NAME_MAX_LEN || memchr(p + 1, '{', len))
			return vigil_error_set(err, VIGIL_E_SPEC, "'%.*s' is not a placeholder", (int)(len + 2 > 80 ? 80 : len + 2), p);
		if (!name_allowed(p + 1, len, allowed)) {
			const char *cands[64], *hint;
			size_t n = 0;
			char name[NAME_MAX_LEN + 1];

			memcpy(name, p + 1, len);
			name[len] = '\0';
			for (const char *const *a = allowed; *a && n < 64; a++)
				cands[n++] = *a;
			hint = suggest_closest(name, cands, n);
			if (hint)
				return vigil_error_set(err, VIGIL_E_SPEC, "unknown placeholder '{%s}' (did you mean '{%s}'?)",
				                       name, hint);
			return vigil_error_set(err, VIGIL_E_SPEC, "unknown placeholder '{%s}'", name);
		}
		p = close;
	}
	return 0;
}

void template_expand(const char *tpl, template_fn *fn, void *arg, struct strbuf *out)
{
	const char *p = tpl;

	while (*p) {
		const char *brace = strpbrk(p, "{}");
		const char *close;

		if (!brace) {
			strbuf_addstr(out, p);
			return;
		}
		strbuf_add(out, p, (size_t)(brace - p));
		if (brace[1] == *brace) {   /* "{{" or "}}" */
			strbuf_addch(out, *brace);
			p = brace + 2;
			continue;
		}
		if (*brace == '}' || !(close = strchr(brace + 1, '}'))) {
			strbuf_addch(out, *brace);   /* unchecked template: keep it literal */
			p = brace + 1;
			continue;
		}
		fn(arg, brace + 1, (size_t)(close - brace - 1), out);
		p = close + 1;
	}
}
