/* secret.c - resolve ${env:...} and ${file:...} references at run time. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scrub.h"
#include "secret.h"
#include "strbuf.h"
#include "xmalloc.h"
#include "banned.h"

#define SECRET_FILE_MAX (64 * 1024)

int secret_has_ref(const char *s)
{
	for (const char *p = s; (p = strstr(p, "${")); p += 2)
		if (p == s || p[-1] != '$')
			return 1;
	return 0;
}

/* Parse "${kind:arg}" at p; sets kind/arg spans and returns the length, or -1. */
static int parse_ref(const char *p, const char **kind, size_t *kind_len,
                     const char **arg, size_t *arg_len, struct vigil_error *err)
{
	const char *close = strchr(p + 2, '}'), *colon;

	if (!close)
		return vigil_error_set(err, VIGIL_E_SPEC, "unterminated reference '${...'");
	colon = memchr(p + 2, ':', (size_t)(close - p - 2));
	if (!colon)
		return vigil_error_set(err, VIGIL_E_SPEC,
		                       "reference must be ${env:NAME} or ${file:PATH}");
	*kind = p + 2;
	*kind_len = (size_t)(colon - p - 2);
	*arg = colon + 1;
	*arg_len = (size_t)(close - colon - 1);
	if (!((*kind_len == 3 && !memcmp(*kind, "env", 3)) ||
	      (*kind_len == 4 && !memcmp(*kind, "file", 4))))
		return vigil_error_set(err, VIGIL_E_SPEC, "unknown reference kind '%.*s' (expected env or file)",
		                       (int)*kind_len, *kind);
	if (!*arg_len)
		return vigil_error_set(err, VIGIL_E_SPEC, "empty name in reference '${%.*s:}'",
		                       (int)*kind_len, *kind);
	if (**kind == 'e') {
		for (size_t i = 0; i < *arg_len; i++) {
			char c = (*arg)[i];

			if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (i && c >= '0' && c <= '9')))
				return vigil_error_set(err, VIGIL_E_SPEC,
				                       "'%.*s' is not a valid environment variable name",
				                       (int)*arg_len, *arg);
		}
	}
	return (int)(close - p + 1);
}

int secret_check(const char *s, struct vigil_error *err)
{
	const char *kind, *arg;
	size_t kl, al;

	for (const char *p = s; *p;) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			p += 3;
			continue;
		}
		if (p[0] == '$' && p[1] == '{') {
			int n = parse_ref(p, &kind, &kl, &arg, &al, err);

			if (n < 0)
				return -1;
			p += n;
			continue;
		}
		p++;
	}
	return 0;
}

static int read_secret_file(const char *path, struct strbuf *out, struct vigil_error *err)
{
	char buf[4096];
	size_t total = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return vigil_error_set(err, VIGIL_E_IO, "cannot read secret file '%s': %s", path,
		                       strerror(errno));
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return vigil_error_set(err, VIGIL_E_IO, "cannot read secret file '%s': %s", path,
			                       strerror(errno));
		}
		total += (size_t)r;
		if (total > SECRET_FILE_MAX) {
			close(fd);
			return vigil_error_set(err, VIGIL_E_LIMIT, "secret file '%s' is larger than %d bytes",
			                       path, SECRET_FILE_MAX);
		}
		strbuf_add(out, buf, (size_t)r);
	}
	close(fd);
	return 0;
}

/* Every resolved value is a secret for scrub.h, shown as its reference. */
static void register_value(const char *value, const char *ref, size_t ref_len)
{
	char *r = xstrndup(ref, ref_len);

	scrub_register(value, r);
	free(r);
}

char *secret_resolve(const char *s, const char *base_dir, struct vigil_error *err)
{
	struct strbuf out = STRBUF_INIT;
	const char *kind, *arg;
	size_t kl, al;

	for (const char *p = s; *p;) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			strbuf_addstr(&out, "${");
			p += 3;
			continue;
		}
		if (!(p[0] == '$' && p[1] == '{')) {
			strbuf_addch(&out, *p++);
			continue;
		}
		int n = parse_ref(p, &kind, &kl, &arg, &al, err);
		char *name;

		if (n < 0)
			goto fail;
		name = xstrndup(arg, al);
		if (*kind == 'e') {
			const char *v = getenv(name);

			if (!v) {
				vigil_error_set(err, VIGIL_E_SPEC, "environment variable '%s' is not set", name);
				free(name);
				goto fail;
			}
			strbuf_addstr(&out, v);
			register_value(v, p, (size_t)n);
		} else {
			struct strbuf content = STRBUF_INIT;
			char *path = (name[0] != '/' && base_dir) ? xasprintf("%s/%s", base_dir, name)
			                                           : xstrdup(name);
			int rc = read_secret_file(path, &content, err);

			free(path);
			if (rc) {
				free(name);
				strbuf_release(&content);
				goto fail;
			}
			if (content.len && content.buf[content.len - 1] == '\n')
				content.buf[--content.len] = '\0';
			if (content.len && content.buf[content.len - 1] == '\r')
				content.buf[--content.len] = '\0';
			strbuf_add(&out, strbuf_str(&content), content.len);
			register_value(strbuf_str(&content), p, (size_t)n);
			explicit_bzero(content.buf, content.alloc);
			strbuf_release(&content);
		}
		free(name);
		p += n;
	}
	return strbuf_detach(&out);
fail:
	if (out.buf)
		explicit_bzero(out.buf, out.alloc);
	strbuf_release(&out);
	return NULL;
}
