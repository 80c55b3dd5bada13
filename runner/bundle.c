/* bundle.c - reading, checking and writing pushed detectors' bundles (see bundle.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "sha256.h"
#include "trust.h"
#include "xmalloc.h"
#include "banned.h"

#define MAGIC "vigil-bundle 1 "
#define PATH_MAX_LEN 255

struct file_list {
	char **v;
	size_t n;
	size_t bytes;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect the regular files under top/rel (rel "" for top itself). */
static int walk(const char *top, const char *rel, struct file_list *l, struct vigil_error *err)
{
	char *dir = *rel ? xasprintf("%s/%s", top, rel) : xstrdup(top);
	DIR *dh = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!dh) {
		vigil_error_set(err, VIGIL_E_IO, "cannot read directory '%s': %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	while (!rc && (de = readdir(dh))) {
		char *sub, *full;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		sub = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		full = xasprintf("%s/%s", top, sub);
		if (lstat(full, &st)) {
			rc = vigil_error_set(err, VIGIL_E_IO, "'%s': %s", full, strerror(errno));
		} else if (strlen(sub) > PATH_MAX_LEN || strchr(sub, '\n')) {
			rc = vigil_error_set(err, VIGIL_E_USAGE, "'%s': a bundle's file names must be at most %d bytes, "
			                     "without newlines", full, PATH_MAX_LEN);
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(top, sub, l, err);
		} else if (!S_ISREG(st.st_mode)) {
			rc = vigil_error_set(err, VIGIL_E_USAGE, "'%s': only regular files and directories can be pushed "
			                     "(not symbolic links or special files)", full);
		} else if (l->n >= BUNDLE_MAX_FILES) {
			rc = vigil_error_set(err, VIGIL_E_LIMIT, "'%s': more than %d files", top, BUNDLE_MAX_FILES);
		} else if ((l->bytes += (size_t)st.st_size + strlen(sub) + 32) > BUNDLE_MAX_BYTES) {
			rc = vigil_error_set(err, VIGIL_E_LIMIT, "'%s' is too big: a pushed detector may have at most "
			                     "%zu MiB", top, BUNDLE_MAX_BYTES >> 20);
		} else {
			l->v = xreallocarray(l->v, l->n + 1, sizeof(char *));
			l->v[l->n++] = sub;
			sub = NULL;
		}
		free(sub);
		free(full);
	}
	closedir(dh);
	free(dir);
	return rc;
}

/* Append "<x|-> <size> <rel>\n" and the bytes of top/rel to the form. */
static int add_file(struct bundle *b, const char *full, const char *rel, struct vigil_error *err)
{
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t at;
	ssize_t got = 0;

	if (fd < 0)
		return vigil_error_set(err, VIGIL_E_IO, "cannot read '%s': %s", full, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return vigil_error_set(err, VIGIL_E_USAGE, "'%s' is not a regular file", full);
	}
	if ((size_t)st.st_size > BUNDLE_MAX_BYTES || b->form.len + (size_t)st.st_size > BUNDLE_MAX_BYTES) {
		close(fd);
		return vigil_error_set(err, VIGIL_E_LIMIT, "'%s' is too big: a pushed detector may have at most %zu MiB",
		                       full, BUNDLE_MAX_BYTES >> 20);
	}
	strbuf_addf(&b->form, "%c %lld %s\n", (st.st_mode & S_IXUSR) ? 'x' : '-', (long long)st.st_size, rel);
	strbuf_grow(&b->form, (size_t)st.st_size);
	at = b->form.len;
	while (at - b->form.len < (size_t)st.st_size &&
	       (got = read(fd, b->form.buf + at, (size_t)st.st_size - (at - b->form.len))) > 0)
		at += (size_t)got;
	close(fd);
	if (got < 0 || at - b->form.len != (size_t)st.st_size)
		return vigil_error_set(err, VIGIL_E_IO, "cannot read '%s': %s", full,
		                       got < 0 ? strerror(errno) : "it changed while being read");
	b->form.len = at;
	b->form.buf[at] = '\0';
	b->n_files++;
	return 0;
}

static int entry_ok(const char *full, struct vigil_error *err)
{
	struct stat st;

	if (stat(full, &st) || !S_ISREG(st.st_mode))
		return vigil_error_set(err, VIGIL_E_USAGE, "'%s': %s", full, errno ? strerror(errno) : "not a file");
	if (!(st.st_mode & S_IXUSR))
		return vigil_error_set(err, VIGIL_E_USAGE, "'%s' is not executable: a detector is a program with an "
		                       "execute bit (chmod +x)", full);
	if (!trust_looks_executable(full))
		return vigil_error_set(err, VIGIL_E_USAGE, "'%s' is not a program: it needs a \"#!\" line or to be an "
		                       "ELF binary", full);
	return 0;
}

int bundle_read(struct bundle *b, const char *path, const char *entry, struct vigil_error *err)
{
	struct file_list l = { 0 };
	struct stat st;
	int rc = -1;

	if (stat(path, &st))
		return vigil_error_set(err, VIGIL_E_USAGE, "'%s': %s", path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

		if (entry && strcmp(entry, base))
			return vigil_error_set(err, VIGIL_E_USAGE, "--entry '%s': '%s' is a single file (it is the entry "
			                       "point)", entry, path);
		if (entry_ok(path, err))
			return -1;
		if ((size_t)st.st_size > BUNDLE_MAX_BYTES)
			return vigil_error_set(err, VIGIL_E_LIMIT, "'%s' is too big: a pushed detector may have at most "
			                       "%zu MiB", path, BUNDLE_MAX_BYTES >> 20);
		b->entry = xstrdup(base);
		strbuf_addf(&b->form, MAGIC "%s\n", b->entry);
		rc = add_file(b, path, base, err);
		goto hash;
	}
	if (!S_ISDIR(st.st_mode))
		return vigil_error_set(err, VIGIL_E_USAGE, "'%s' is neither a file nor a directory", path);
	if (walk(path, "", &l, err))
		goto out;
	if (!l.n) {
		vigil_error_set(err, VIGIL_E_USAGE, "'%s' has no files", path);
		goto out;
	}
	qsort(l.v, l.n, sizeof(char *), by_name);
	if (entry) {
		b->entry = xstrdup(entry);
	} else {
		/* the one executable file at the top */
		for (size_t i = 0; i < l.n; i++) {
			char *full;

			if (strchr(l.v[i], '/'))
				continue;
			full = xasprintf("%s/%s", path, l.v[i]);
			if (!stat(full, &st) && (st.st_mode & S_IXUSR)) {
				if (b->entry) {
					vigil_error_set(err, VIGIL_E_USAGE, "'%s' has several executables at its top ('%s', '%s'): "
					                "name the entry point with --entry", path, b->entry, l.v[i]);
					free(full);
					goto out;
				}
				b->entry = xstrdup(l.v[i]);
			}
			free(full);
		}
		if (!b->entry) {
			vigil_error_set(err, VIGIL_E_USAGE, "'%s' has no executable file at its top: make the entry point "
			                "executable, or name it with --entry", path);
			goto out;
		}
	}
	{
		int found = 0;

		for (size_t i = 0; i < l.n; i++)
			found |= !strcmp(l.v[i], b->entry);
		if (!found) {
			vigil_error_set(err, VIGIL_E_USAGE, "entry point '%s' is not a file of '%s'", b->entry, path);
			goto out;
		}
	}
	{
		char *full = xasprintf("%s/%s", path, b->entry);

		rc = entry_ok(full, err);
		free(full);
		if (rc)
			goto out;
	}
	strbuf_addf(&b->form, MAGIC "%s\n", b->entry);
	rc = 0;
	for (size_t i = 0; i < l.n && !rc; i++) {
		char *full = xasprintf("%s/%s", path, l.v[i]);

		rc = add_file(b, full, l.v[i], err);
		free(full);
	}
hash:
	if (!rc)
		sha256_hex(b->form.buf, b->form.len, b->sha256);
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return rc;
}

char *bundle_entry_of(const void *data, size_t len)
{
	const char *p = data, *nl = memchr(p, '\n', len);

	if (!nl || len < sizeof(MAGIC) || memcmp(p, MAGIC, sizeof(MAGIC) - 1) || nl - p == sizeof(MAGIC) - 1)
		return NULL;
	return xstrndup(p + sizeof(MAGIC) - 1, (size_t)(nl - p) - (sizeof(MAGIC) - 1));
}

/* A relative path without empty, ".", ".." or hidden components. */
static int safe_rel(const char *rel)
{
	const char *c = rel;

	if (!*rel || *rel == '/')
		return 0;
	while (*c) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (!n || c[0] == '.')
			return 0;
		c += n + (end ? 1 : 0);
		if (end && !*c)
			return 0;
	}
	return 1;
}

static int mkdirs_for(const char *dir, const char *rel, struct vigil_error *err)
{
	char *p = xasprintf("%s/%s", dir, rel), *s = p + strlen(dir) + 1;

	while ((s = strchr(s, '/'))) {
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST) {
			vigil_error_set(err, VIGIL_E_IO, "cannot create '%s': %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s++ = '/';
	}
	free(p);
	return 0;
}

static int write_file(const char *path, const char *data, size_t len, int exe, struct vigil_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, exe ? 0700 : 0600);
	size_t off = 0;

	if (fd < 0)
		return vigil_error_set(err, VIGIL_E_IO, "cannot create '%s': %s", path, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			vigil_error_set(err, VIGIL_E_IO, "cannot write '%s': %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	/* the umask may have taken bits off: the modes are ours to say */
	if (fchmod(fd, exe ? 0700 : 0600) || fsync(fd)) {
		vigil_error_set(err, VIGIL_E_IO, "cannot write '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd))
		return vigil_error_set(err, VIGIL_E_IO, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

/* Parse "<x|-> <size> <path>" (the line [p, nl)) strictly; 0 or -1. */
static int parse_header(const char *p, const char *nl, char rel[PATH_MAX_LEN + 1], uint64_t *size, int *exe)
{
	const char *c = p + 2;

	if (nl - p < 5 || (p[0] != 'x' && p[0] != '-') || p[1] != ' ' || *c < '0' || *c > '9')
		return -1;
	*exe = p[0] == 'x';
	for (*size = 0; c < nl && *c >= '0' && *c <= '9'; c++) {
		if (*size > BUNDLE_MAX_BYTES)
			return -1;
		*size = *size * 10 + (uint64_t)(*c - '0');
	}
	if (c >= nl || *c != ' ' || nl - (c + 1) < 1 || nl - (c + 1) > PATH_MAX_LEN)
		return -1;
	memcpy(rel, c + 1, (size_t)(nl - (c + 1)));
	rel[nl - (c + 1)] = '\0';
	return strlen(rel) == (size_t)(nl - (c + 1)) ? 0 : -1;   /* no NUL inside */
}

int bundle_unpack(const void *data, size_t len, const char *sha256, const char *dir, char **entry,
                  struct vigil_error *err)
{
	const char *p = data, *end = p + len;
	char hex[65], *ent = bundle_entry_of(data, len), rel[PATH_MAX_LEN + 1];
	int entry_seen = 0, exe;
	uint64_t size;

	sha256_hex(data, len, hex);
	if (strcmp(hex, sha256)) {
		free(ent);
		return vigil_error_set(err, VIGIL_E_DATA, "bundle %.12s: its content has SHA-256 %.12s: refused", sha256,
		                       hex);
	}
	if (!ent || !safe_rel(ent)) {
		free(ent);
		return vigil_error_set(err, VIGIL_E_DATA, "bundle %.12s: not a vigil bundle", sha256);
	}
	p = (const char *)memchr(p, '\n', len) + 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *path;

		if (!nl || parse_header(p, nl, rel, &size, &exe) || size > (uint64_t)(end - nl - 1))
			goto malformed;
		if (!safe_rel(rel))
			goto malformed;
		if (mkdirs_for(dir, rel, err))
			goto fail;
		path = xasprintf("%s/%s", dir, rel);
		if (write_file(path, nl + 1, (size_t)size, exe, err)) {
			free(path);
			goto fail;
		}
		free(path);
		entry_seen |= !strcmp(rel, ent) && exe;
		p = nl + 1 + size;
	}
	if (!entry_seen)
		goto malformed;
	if (entry)
		*entry = ent;
	else
		free(ent);
	return 0;
malformed:
	vigil_error_set(err, VIGIL_E_DATA, "bundle %.12s: malformed (not written by vigil detectors push)", sha256);
fail:
	free(ent);
	return -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) ? -1 : 0;
}

int bundle_remove_tree(const char *dir, struct vigil_error *err)
{
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT)
		return vigil_error_set(err, VIGIL_E_IO, "cannot remove '%s': %s", dir, strerror(errno));
	return 0;
}

void bundle_release(struct bundle *b)
{
	free(b->entry);
	b->entry = NULL;
	strbuf_release(&b->form);
	b->n_files = 0;
	b->sha256[0] = '\0';
}
