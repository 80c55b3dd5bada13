/*
 * promote.c - promote a shadow detector of a spec: the edit of the text,
 * its unified diff, and the validated atomic write (runner/promote.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "jsonscan.h"
#include "promote.h"
#include "redact.h"
#include "spec.h"
#include "xmalloc.h"
#include "banned.h"

/* ---- the edit ------------------------------------------------------------------- */

/* A byte range [from, to) of the text to remove. */
struct cut {
	size_t from, to;
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * The range that removes one member or element from its object or array:
 * with the comma before it (prev_end: where the previous one ended), or,
 * for the first, up to the start of the next one.
 */
static struct cut cut_of(const char *text, const char *end, size_t open_end, size_t prev_end, size_t start,
                         size_t value_end, int first)
{
	const char *after = skip_ws(text + value_end, end);
	struct cut c;

	if (!first) {
		c.from = prev_end;
		c.to = value_end;
	} else if (after < end && *after == ',') {
		c.from = start;
		c.to = (size_t)(skip_ws(after + 1, end) - text);
	} else {
		c.from = open_end;
		c.to = value_end;
	}
	return c;
}

/* One detector entry as the scan found it. */
struct entry {
	char id[160];
	char detector[160];
	int has_id, shadow;
	struct cut whole, mode;
	int has_mode;
};

/* Read the detector object at s (after '{' was consumed at open_end) into e. */
static int scan_entry(struct jscan *s, const char *text, size_t open_end, struct entry *e)
{
	const char *k, *v;
	size_t klen, vlen, prev = open_end;
	int first = 1, r;

	while ((r = jscan_key(s, &k, &klen)) == 1) {
		size_t start = (size_t)(skip_ws(text + prev, s->end) - text), value_end;
		int is_mode = jscan_key_is(k, klen, "mode"), is_id = jscan_key_is(k, klen, "id");
		int is_det = jscan_key_is(k, klen, "detector");

		if (start < (size_t)(s->end - text) && text[start] == ',')
			start = (size_t)(skip_ws(text + start + 1, s->end) - text);
		if ((is_mode || is_id || is_det) && jscan_peek(s) == JT_STRING) {
			if (jscan_string(s, &v, &vlen))
				return -1;
			if (is_mode)
				e->shadow = vlen == 6 && !memcmp(v, "shadow", 6);
			else
				snprintf(is_id ? e->id : e->detector, sizeof(e->id), "%.*s", (int)vlen, v);
			e->has_id |= is_id;
		} else if (jscan_skip(s)) {
			return -1;
		}
		value_end = (size_t)(s->p - text);
		if (is_mode) {
			e->has_mode = 1;
			e->mode = cut_of(text, s->end, open_end, prev, start, value_end, first);
		}
		prev = value_end;
		first = 0;
	}
	if (!e->has_id)
		snprintf(e->id, sizeof(e->id), "%s", e->detector);
	return r;
}

/* Remove the cuts (sorted by from, not overlapping) from text. */
static char *apply_cuts(const char *text, struct cut *cuts, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	size_t at = 0;

	for (size_t i = 0; i < n; i++) {
		strbuf_add(&sb, text + at, cuts[i].from - at);
		at = cuts[i].to;
	}
	strbuf_addstr(&sb, text + at);
	return strbuf_detach(&sb);
}

char *promote_edit(const char *text, const char *id, const char *replace, struct vigil_error *err)
{
	struct jscan s;
	const char *k;
	size_t klen, len = strlen(text);
	struct entry *found = NULL, *gone = NULL, *entries = NULL;
	size_t n = 0, alloc = 0;
	struct cut cuts[2];
	char *out = NULL;
	int r, seen = 0;

	if (replace && !strcmp(replace, id)) {
		vigil_error_set(err, VIGIL_E_USAGE, "detector '%s' cannot replace itself", id);
		return NULL;
	}
	jscan_init(&s, text, len);
	if (jscan_object(&s))
		goto bad;
	while ((r = jscan_key(&s, &k, &klen)) == 1) {
		size_t prev;
		int first = 1;

		if (!jscan_key_is(k, klen, "detectors") || seen) {
			if (jscan_skip(&s))
				goto bad;
			continue;
		}
		seen = 1;
		if (jscan_peek(&s) != JT_ARRAY || jscan_array(&s))
			goto bad;
		prev = (size_t)(s.p - text);
		while ((r = jscan_next(&s)) == 1) {
			size_t start = (size_t)(skip_ws(s.p, s.end) - text), open_end;
			struct entry *e;

			if (alloc == n)
				entries = xreallocarray(entries, alloc = alloc ? 2 * alloc : 8, sizeof(*entries));
			e = memset(&entries[n++], 0, sizeof(*e));
			if (jscan_peek(&s) != JT_OBJECT) {
				if (jscan_skip(&s))
					goto bad;
			} else {
				if (jscan_object(&s))
					goto bad;
				open_end = (size_t)(s.p - text);
				if (scan_entry(&s, text, open_end, e))
					goto bad;
			}
			e->whole = cut_of(text, s.end, prev, prev, start, (size_t)(s.p - text), first);
			prev = (size_t)(s.p - text);
			first = 0;
		}
		if (r < 0)
			goto bad;
	}
	if (r < 0 || jscan_finish(&s))
		goto bad;
	if (!seen) {
		vigil_error_set(err, VIGIL_E_SPEC, "the spec has no \"detectors\" array");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(entries[i].id, id) && !found)
			found = &entries[i];
		if (replace && !strcmp(entries[i].id, replace) && !gone)
			gone = &entries[i];
	}
	if (!found) {
		vigil_error_set(err, VIGIL_E_USAGE, "the job has no detector '%s'", id);
		goto out;
	}
	if (!found->shadow || !found->has_mode) {
		vigil_error_set(err, VIGIL_E_USAGE, "detector '%s' is not a shadow detector (it already alerts)", id);
		goto out;
	}
	if (replace && !gone) {
		vigil_error_set(err, VIGIL_E_USAGE, "the job has no detector '%s' to replace", replace);
		goto out;
	}
	cuts[0] = found->mode;
	if (gone) {
		cuts[1] = gone->whole;
		if (cuts[1].from < cuts[0].from) {
			struct cut t = cuts[0];

			cuts[0] = cuts[1];
			cuts[1] = t;
		}
		/* the entry before the promoted one may take the promoted one's leading comma: keep them apart */
		if (cuts[0].to > cuts[1].from)
			cuts[0].to = cuts[1].from;
	}
	out = apply_cuts(text, cuts, gone ? 2 : 1);
	goto out;
bad:
	vigil_error_set(err, VIGIL_E_SPEC, "not a valid spec: %s", s.msg[0] ? s.msg : "not a JSON object");
out:
	free(entries);
	jscan_release(&s);
	return out;
}

/* ---- the diff (an LCS over lines; spec files are small) ------------------------------ */

struct lines {
	const char **at;
	size_t *len;
	size_t n;
};

static void split_lines(const char *text, struct lines *l)
{
	size_t alloc = 16;

	l->at = xreallocarray(NULL, alloc, sizeof(*l->at));
	l->len = xreallocarray(NULL, alloc, sizeof(*l->len));
	l->n = 0;
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) + 1 : strlen(text);

		if (l->n == alloc) {
			alloc *= 2;
			l->at = xreallocarray(l->at, alloc, sizeof(*l->at));
			l->len = xreallocarray(l->len, alloc, sizeof(*l->len));
		}
		l->at[l->n] = text;
		l->len[l->n++] = len;
		text += len;
	}
}

static int same_line(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->at[i], b->at[j], a->len[i]);
}

static void add_line(struct strbuf *out, char mark, const struct lines *l, size_t i)
{
	strbuf_addch(out, mark);
	strbuf_add(out, l->at[i], l->len[i]);
	if (l->at[i][l->len[i] - 1] != '\n')
		strbuf_addstr(out, "\n\\ No newline at end of file\n");
}

/* One edit script step: 0 both (same line), 1 only in a, 2 only in b. */
static void emit_hunks(const struct lines *a, const struct lines *b, const unsigned char *ops, size_t nops,
                       struct strbuf *out)
{
	size_t k = 0, i = 0, j = 0;

	while (k < nops) {
		size_t ks, ke, ctx, hi, hj, ha = 0, hb = 0, e;

		while (k < nops && !ops[k]) {
			k++, i++, j++;
		}
		if (k == nops)
			break;
		/* the hunk: back PROMOTE_DIFF_CONTEXT lines, forward until a run of 2*context unchanged lines */
		ctx = i < PROMOTE_DIFF_CONTEXT ? i : PROMOTE_DIFF_CONTEXT;
		if (j < ctx)
			ctx = j;
		ks = k - ctx;
		hi = i - ctx;
		hj = j - ctx;
		ke = nops;   /* unless a long enough unchanged run ends the hunk first */
		for (e = k; e < nops;) {
			size_t run = 0;

			while (e + run < nops && !ops[e + run])
				run++;
			if (e + run == nops || run > 2 * PROMOTE_DIFF_CONTEXT) {
				ke = e + (run < PROMOTE_DIFF_CONTEXT ? run : PROMOTE_DIFF_CONTEXT);
				break;
			}
			e += run;
			while (e < nops && ops[e])
				e++;
		}
		for (size_t q = ks; q < ke; q++) {
			ha += ops[q] != 2;
			hb += ops[q] != 1;
		}
		strbuf_addf(out, "@@ -%zu,%zu +%zu,%zu @@\n", ha ? hi + 1 : hi, ha, hb ? hj + 1 : hj, hb);
		for (size_t q = ks, x = hi, y = hj; q < ke; q++) {
			if (ops[q] == 0) {
				add_line(out, ' ', a, x++);
				y++;
			} else if (ops[q] == 1) {
				add_line(out, '-', a, x++);
			} else {
				add_line(out, '+', b, y++);
			}
		}
		for (; k < ke; k++) {
			i += ops[k] != 2;
			j += ops[k] != 1;
		}
	}
}

void promote_diff(const char *name, const char *old, const char *new, struct strbuf *out)
{
	struct lines a, b;
	unsigned char *ops;
	size_t nops = 0, pre = 0, post = 0;

	if (!strcmp(old, new))
		return;
	split_lines(old, &a);
	split_lines(new, &b);
	strbuf_addf(out, "--- a/%s\n+++ b/%s\n", name, name);
	ops = xreallocarray(NULL, a.n + b.n + 1, 1);
	/* the common head and tail cost nothing; the LCS table covers the middle only */
	while (pre < a.n && pre < b.n && same_line(&a, pre, &b, pre))
		pre++;
	while (post < a.n - pre && post < b.n - pre && same_line(&a, a.n - 1 - post, &b, b.n - 1 - post))
		post++;
	memset(ops, 0, pre);
	nops = pre;
	{
		size_t m = a.n - pre - post, n = b.n - pre - post;

		if (m > 20000 || n > 20000 || (m + 1) * (n + 1) > 64u * 1024 * 1024) {
			memset(ops + nops, 1, m);
			memset(ops + nops + m, 2, n);
			nops += m + n;
		} else {
			/* lcs[i][j]: the longest common subsequence of a[pre+i..] and b[pre+j..] */
			unsigned *lcs = xcalloc((m + 1) * (n + 1), sizeof(*lcs));
			size_t i = 0, j = 0;

			for (size_t x = m; x-- > 0;)
				for (size_t y = n; y-- > 0;)
					lcs[x * (n + 1) + y] = same_line(&a, pre + x, &b, pre + y)
						? lcs[(x + 1) * (n + 1) + y + 1] + 1
						: lcs[(x + 1) * (n + 1) + y] > lcs[x * (n + 1) + y + 1]
						? lcs[(x + 1) * (n + 1) + y] : lcs[x * (n + 1) + y + 1];
			while (i < m || j < n) {
				if (i < m && j < n && same_line(&a, pre + i, &b, pre + j)) {
					ops[nops++] = 0, i++, j++;
				} else if (j == n || (i < m && lcs[(i + 1) * (n + 1) + j] >= lcs[i * (n + 1) + j + 1])) {
					ops[nops++] = 1, i++;
				} else {
					ops[nops++] = 2, j++;
				}
			}
			free(lcs);
		}
	}
	memset(ops + nops, 0, post);
	nops += post;
	emit_hunks(&a, &b, ops, nops, out);
	free(ops);
	free(a.at);
	free(a.len);
	free(b.at);
	free(b.len);
}

/* ---- reading, checking, writing ---------------------------------------------------------- */

char *promote_read(const char *path, struct vigil_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f) {
		vigil_error_set(err, VIGIL_E_IO, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && sb.len + n <= PROMOTE_FILE_MAX)
		strbuf_add(&sb, buf, n);
	if (n > 0 || ferror(f)) {
		vigil_error_set(err, ferror(f) ? VIGIL_E_IO : VIGIL_E_LIMIT, "cannot read '%s': %s", path,
		                ferror(f) ? strerror(errno) : "larger than 16 MiB");
		fclose(f);
		strbuf_release(&sb);
		return NULL;
	}
	fclose(f);
	return strbuf_detach(&sb);
}

static char *dir_of(const char *path)
{
	char *copy = xstrdup(path), *dir = xstrdup(dirname(copy));

	free(copy);
	return dir;
}

int promote_writable(const char *path)
{
	char *dir = dir_of(path);
	int ok = access(dir, W_OK | X_OK) == 0 && access(path, R_OK) == 0;

	free(dir);
	return ok;
}

int promote_write(const char *path, const char *text, const struct registry *reg, struct vigil_error *err)
{
	char *dir = dir_of(path), *copy = xstrdup(path), *tmp;
	const char *base = basename(copy);
	struct job_spec *spec;
	struct diag d;
	size_t len = strlen(text), done = 0;
	struct stat st;
	int fd, rc = -1;

	diag_init(&d, base);
	spec = spec_parse(text, dir, reg, &d);
	if (!spec || d.n) {
		vigil_error_set(err, VIGIL_E_SPEC, "%s", d.n ? d.msgs[0] : "the promoted spec does not validate");
		spec_free(spec);
		diag_release(&d);
		free(dir);
		free(copy);
		return -1;
	}
	spec_free(spec);
	diag_release(&d);
	/* a dot name: the daemon's rescan ignores it until the rename */
	tmp = xasprintf("%s/.%s.promote-XXXXXX", dir, base);
	fd = mkstemp(tmp);
	if (fd < 0) {
		vigil_error_set(err, VIGIL_E_IO, "cannot write in '%s': %s", dir, strerror(errno));
		goto out;
	}
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (done < len || fsync(fd) || fchmod(fd, stat(path, &st) ? 0644 : st.st_mode & 07777)) {
		vigil_error_set(err, VIGIL_E_IO, "cannot write '%s': %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) || rename(tmp, path)) {
		vigil_error_set(err, VIGIL_E_IO, "cannot replace '%s': %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	rc = 0;
out:
	free(tmp);
	free(dir);
	free(copy);
	return rc;
}

/* ---- showing the diff: no secret ------------------------------------------------------- */

/* The end of the JSON string starting at p (its opening quote), or NULL. */
static const char *string_end(const char *p)
{
	for (p++; *p && *p != '\n'; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static void redact_line(const char *line, size_t len, struct strbuf *out)
{
	struct strbuf sb = STRBUF_INIT;
	char *copy = xstrndup(line, len), *url;
	const char *p = copy;

	while (*p) {
		const char *ke, *v, *ve;

		if (*p != '"' || !(ke = string_end(p))) {
			strbuf_addch(&sb, *p++);
			continue;
		}
		strbuf_add(&sb, p, (size_t)(ke - p));
		v = ke;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != ':') {
			p = ke;
			continue;
		}
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '"' && (ve = string_end(v)) && redact_name_is_secret(p + 1, (size_t)(ke - p - 2))) {
			strbuf_add(&sb, ke, (size_t)(v - ke));
			strbuf_addstr(&sb, "\"" REDACTED "\"");
			p = ve;
		} else {
			p = ke;
		}
	}
	url = redact_url(strbuf_str(&sb));
	strbuf_addstr(out, url);
	free(url);
	strbuf_release(&sb);
	free(copy);
}

void promote_redact(const char *diff, struct strbuf *out)
{
	while (*diff) {
		const char *nl = strchr(diff, '\n');
		size_t len = nl ? (size_t)(nl - diff) : strlen(diff);

		redact_line(diff, len, out);
		if (nl)
			strbuf_addch(out, '\n');
		diff += len + (nl ? 1 : 0);
	}
}
