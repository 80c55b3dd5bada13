/*
 * nabscore.c - the NAB v1.1 scorer: load a corpus and its anomaly windows,
 * attach a detector's scores, weigh every row, and sweep the threshold.
 * Section numbers (§) refer to docs/nab-scoring.md, which this follows to
 * the letter so that vigil's numbers can be compared with NAB's scoreboard.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "civil.h"
#include "nabscore.h"
#include "xmalloc.h"
#include "banned.h"

const struct nab_profile nab_profiles[NAB_NPROFILES] = {
	{ .name = "standard",
	  .tp_weight = 1.0, .fn_weight = 1.0, .fp_weight = 0.11, .tn_weight = 1.0 },
	{ .name = "reward_low_FP_rate",
	  .tp_weight = 1.0, .fn_weight = 1.0, .fp_weight = 0.22, .tn_weight = 1.0 },
	{ .name = "reward_low_FN_rate",
	  .tp_weight = 1.0, .fn_weight = 2.0, .fp_weight = 0.11, .tn_weight = 1.0 },
};

#define NO_WINDOW SIZE_MAX

/*
 * Copy at most 64 bytes of untrusted text for an error message, control
 * characters replaced, so a corrupt file cannot mess up a terminal.
 */
struct shown {
	char s[80];
};

static const char *show(struct shown *buf, const char *s, size_t len)
{
	size_t i, n = len > 64 ? 64 : len;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf->s[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	if (n < len) {
		memcpy(buf->s + n, "...", 3);
		n += 3;
	}
	buf->s[n] = '\0';
	return buf->s;
}

/* Read a whole regular file into a NUL-terminated buffer. */
static int read_file(const char *path, char **bufp, size_t *lenp, struct vigil_error *err)
{
	struct stat st;
	size_t len = 0, alloc;
	char *buf;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vigil_error_set(err, VIGIL_E_IO, "cannot open '%s': %s", path,
				       strerror(errno));
	if (fstat(fd, &st) < 0) {
		saved = errno;
		close(fd);
		return vigil_error_set(err, VIGIL_E_IO, "cannot stat '%s': %s", path,
				       strerror(saved));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return vigil_error_set(err, VIGIL_E_IO, "'%s' is not a regular file", path);
	}
	if ((uintmax_t)st.st_size > NAB_MAX_FILE_BYTES) {
		close(fd);
		return vigil_error_set(err, VIGIL_E_LIMIT, "'%s' is larger than %zu bytes", path,
				       NAB_MAX_FILE_BYTES);
	}
	alloc = (size_t)st.st_size + 1;
	buf = xmalloc(alloc);
	for (;;) {
		ssize_t n;

		if (len + 1 == alloc) {
			/* the file grew since fstat() */
			if (len >= NAB_MAX_FILE_BYTES) {
				free(buf);
				close(fd);
				return vigil_error_set(err, VIGIL_E_LIMIT,
						       "'%s' is larger than %zu bytes", path,
						       NAB_MAX_FILE_BYTES);
			}
			alloc = alloc * 2 > NAB_MAX_FILE_BYTES + 1 ? NAB_MAX_FILE_BYTES + 1
								   : alloc * 2;
			buf = xreallocarray(buf, alloc, 1);
		}
		n = read(fd, buf + len, alloc - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			free(buf);
			close(fd);
			return vigil_error_set(err, VIGIL_E_IO, "cannot read '%s': %s", path,
					       strerror(saved));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* Iterates over the lines of a buffer, LF or CRLF, cutting them in place. */
struct lines {
	char *p, *end;
	size_t lineno;
};

static char *next_line(struct lines *l, size_t *lenp)
{
	char *s = l->p, *nl;
	size_t len;

	if (s >= l->end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(l->end - s));
	if (nl) {
		len = (size_t)(nl - s);
		l->p = nl + 1;
	} else {
		len = (size_t)(l->end - s);
		l->p = l->end;
	}
	if (len && s[len - 1] == '\r')
		len--;
	s[len] = '\0';
	l->lineno++;
	*lenp = len;
	return s;
}

static unsigned digits(const char *s, int n)
{
	unsigned v = 0;

	while (n--)
		v = v * 10 + (unsigned)(*s++ - '0');
	return v;
}

/* Strictness makes "same instant" and "same text" the same thing, so windows can be matched by value. */
int nab_parse_timestamp(const char *s, size_t len, int64_t *out)
{
	static const char pattern[] = "dddd-dd-dd dd:dd:dd";
	static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, sec, dim;
	size_t i;

	if (len != sizeof(pattern) - 1)
		return -1;
	for (i = 0; i < len; i++) {
		if (pattern[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pattern[i])
			return -1;
	}
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (mo < 1 || mo > 12)
		return -1;
	dim = mdays[mo - 1] + (mo == 2 && is_leap_year(y));
	if (d < 1 || d > dim || h > 23 || mi > 59 || sec > 59)
		return -1;
	*out = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000;
	return 0;
}

void nab_format_timestamp(char *buf, size_t size, int64_t ms)
{
	struct civil_time ct;

	civil_from_seconds(floor_div64(ms, 1000), &ct);
	snprintf(buf, size, "%04lld-%02u-%02u %02u:%02u:%02u", (long long)ct.year, ct.mon, ct.mday, ct.hour,
		 ct.min, ct.sec);
}

/* §2: P_f = min(floor(0.15 N_f), 0.15 * 5000), computed as NAB does. */
static size_t probation_length(size_t nrows)
{
	return (size_t)fmin(floor(0.15 * (double)nrows), 0.15 * 5000);
}

static int load_data_file(struct nab_file *f, const char *path, struct vigil_error *err)
{
	struct lines l;
	struct shown sh;
	size_t len, alloc = 0;
	char *buf, *line;

	if (read_file(path, &buf, &len, err) < 0)
		return -1;
	l.p = buf;
	l.end = buf + len;
	l.lineno = 0;
	line = next_line(&l, &len);
	if (!line || strcmp(line, "timestamp,value")) {
		free(buf);
		return vigil_error_set(err, VIGIL_E_DATA,
				       "'%s' line 1: expected the header 'timestamp,value'", path);
	}
	while ((line = next_line(&l, &len))) {
		char *comma, *end;
		int64_t ts;
		double v;

		if (!len)
			continue; /* pandas skips blank lines */
		if (strlen(line) != len) {
			vigil_error_set(err, VIGIL_E_DATA, "'%s' line %zu: NUL byte", path,
					l.lineno);
			goto fail;
		}
		comma = strchr(line, ',');
		if (!comma || nab_parse_timestamp(line, (size_t)(comma - line), &ts) < 0) {
			vigil_error_set(
				err, VIGIL_E_DATA,
				"'%s' line %zu: expected 'YYYY-MM-DD HH:MM:SS,value', got '%s'",
				path, l.lineno, show(&sh, line, len));
			goto fail;
		}
		if (!comma[1]) {
			v = NAN; /* a missing value; pandas reads it as NaN too */
		} else {
			v = strtod(comma + 1, &end);
			if (end == comma + 1 || *end) {
				vigil_error_set(err, VIGIL_E_DATA, "'%s' line %zu: bad value '%s'",
						path, l.lineno,
						show(&sh, comma + 1, strlen(comma + 1)));
				goto fail;
			}
		}
		if (f->nrows == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			f->ts_ms = xreallocarray(f->ts_ms, alloc, sizeof(*f->ts_ms));
			f->values = xreallocarray(f->values, alloc, sizeof(*f->values));
		}
		f->ts_ms[f->nrows] = ts;
		f->values[f->nrows] = v;
		f->nrows++;
	}
	free(buf);
	f->probation = probation_length(f->nrows);
	return 0;
fail:
	free(buf);
	return -1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_csv_suffix(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && !strcmp(name + len - 4, ".csv");
}

/* Collect the names of the regular `<category>/<file>.csv` below `dir`, sorted. */
static int scan_data_dir(const char *dir, char ***namesp, size_t *np, struct vigil_error *err)
{
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *top;

	top = opendir(dir);
	if (!top)
		return vigil_error_set(err, VIGIL_E_IO, "cannot open data dir '%s': %s", dir,
				       strerror(errno));
	while ((errno = 0, de = readdir(top))) {
		struct dirent *fe;
		struct stat st;
		char *catpath;
		DIR *cat;

		if (de->d_name[0] == '.')
			continue;
		catpath = xasprintf("%s/%s", dir, de->d_name);
		if (stat(catpath, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(catpath);
			continue;
		}
		cat = opendir(catpath);
		if (!cat) {
			vigil_error_set(err, VIGIL_E_IO, "cannot open '%s': %s", catpath,
					strerror(errno));
			free(catpath);
			goto fail;
		}
		while ((errno = 0, fe = readdir(cat))) {
			char *path;
			int ok;

			if (fe->d_name[0] == '.' || !has_csv_suffix(fe->d_name))
				continue;
			path = xasprintf("%s/%s", catpath, fe->d_name);
			ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
			free(path);
			if (!ok)
				continue;
			if (n == alloc) {
				alloc = alloc ? alloc * 2 : 64;
				names = xreallocarray(names, alloc, sizeof(*names));
			}
			names[n++] = xasprintf("%s/%s", de->d_name, fe->d_name);
		}
		if (errno) {
			vigil_error_set(err, VIGIL_E_IO, "cannot read '%s': %s", catpath,
					strerror(errno));
			closedir(cat);
			free(catpath);
			goto fail;
		}
		closedir(cat);
		free(catpath);
	}
	if (errno) {
		vigil_error_set(err, VIGIL_E_IO, "cannot read data dir '%s': %s", dir,
				strerror(errno));
		goto fail;
	}
	closedir(top);
	if (!n)
		return vigil_error_set(err, VIGIL_E_DATA,
				       "no '<category>/<file>.csv' files in '%s'", dir);
	qsort(names, n, sizeof(*names), cmp_names);
	*namesp = names;
	*np = n;
	return 0;
fail:
	closedir(top);
	while (n)
		free(names[--n]);
	free(names);
	return -1;
}

/* A row of a file sorted by timestamp, to find window boundaries. */
struct ts_row {
	int64_t ts;
	size_t row;
};

static int cmp_ts_row(const void *a, const void *b)
{
	const struct ts_row *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Map one boundary, `YYYY-MM-DD HH:MM:SS[.000000]`, to the one row that has it. */
static int find_boundary(const struct nab_file *f, const struct ts_row *sorted, const char *labels,
			 const char *text, size_t *row, struct vigil_error *err)
{
	static const char frac[] = ".000000";
	size_t len = strlen(text), lo = 0, hi = f->nrows, n = 0;
	struct shown sh;
	int64_t ts;

	if (len >= sizeof(frac) - 1 && !strcmp(text + len - (sizeof(frac) - 1), frac))
		len -= sizeof(frac) - 1;
	if (nab_parse_timestamp(text, len, &ts) < 0)
		return vigil_error_set(err, VIGIL_E_DATA, "'%s': bad window boundary '%s' for '%s'",
				       labels, show(&sh, text, strlen(text)), f->name);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sorted[mid].ts < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + n < f->nrows && sorted[lo + n].ts == ts)
		n++;
	if (n != 1)
		return vigil_error_set(
			err, VIGIL_E_DATA,
			"'%s': window boundary '%s' occurs %zu times in '%s', expected once",
			labels, show(&sh, text, strlen(text)), n, f->name);
	*row = sorted[lo].row;
	return 0;
}

static int load_file_windows(struct nab_file *f, const char *labels, json_t *list,
			     struct vigil_error *err)
{
	struct ts_row *sorted;
	size_t i, nw;
	json_t *item;
	int ret = -1;

	if (!json_is_array(list))
		return vigil_error_set(err, VIGIL_E_DATA,
				       "'%s': the windows of '%s' are not a list", labels, f->name);
	nw = json_array_size(list);
	sorted = XNEWARRAY(struct ts_row, f->nrows);
	for (i = 0; i < f->nrows; i++) {
		sorted[i].ts = f->ts_ms[i];
		sorted[i].row = i;
	}
	qsort(sorted, f->nrows, sizeof(*sorted), cmp_ts_row);
	f->windows = XNEWARRAY(struct nab_window, nw);
	json_array_foreach (list, i, item) {
		struct nab_window *w = &f->windows[i];
		const char *start, *end;

		start = json_string_value(json_array_get(item, 0));
		end = json_string_value(json_array_get(item, 1));
		if (!json_is_array(item) || json_array_size(item) != 2 || !start || !end) {
			vigil_error_set(
				err, VIGIL_E_DATA,
				"'%s': window %zu of '%s' is not a [start, end] pair of strings",
				labels, i + 1, f->name);
			goto out;
		}
		if (find_boundary(f, sorted, labels, start, &w->first, err) < 0 ||
		    find_boundary(f, sorted, labels, end, &w->last, err) < 0)
			goto out;
		if (w->last < w->first) {
			vigil_error_set(err, VIGIL_E_DATA,
					"'%s': window %zu of '%s' ends before it starts", labels,
					i + 1, f->name);
			goto out;
		}
		if (i && w->first <= f->windows[i - 1].last) {
			vigil_error_set(
				err, VIGIL_E_DATA,
				"'%s': window %zu of '%s' overlaps or precedes the one before",
				labels, i + 1, f->name);
			goto out;
		}
		f->nwindows++;
	}
	ret = 0;
out:
	free(sorted);
	return ret;
}

static int load_windows(struct nab_corpus *c, const char *labels, struct vigil_error *err)
{
	json_error_t jerr;
	struct shown sh;
	const char *key;
	json_t *root, *list;
	char *seen;
	size_t i;
	int ret = -1;

	root = json_load_file(labels, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vigil_error_set(err, VIGIL_E_DATA, "'%s' line %d: %s", labels, jerr.line,
				       jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return vigil_error_set(err, VIGIL_E_DATA,
				       "'%s': expected an object of windows by file", labels);
	}
	seen = xcalloc(c->nfiles, 1);
	json_object_foreach (root, key, list) {
		long idx = nab_corpus_find(c, key);

		if (idx < 0) {
			vigil_error_set(err, VIGIL_E_DATA,
					"'%s': '%s' is not a file of the data dir", labels,
					show(&sh, key, strlen(key)));
			goto out;
		}
		if (load_file_windows(&c->files[idx], labels, list, err) < 0)
			goto out;
		seen[idx] = 1;
		c->nwindows += c->files[idx].nwindows;
	}
	for (i = 0; i < c->nfiles; i++) {
		if (!seen[i]) {
			vigil_error_set(err, VIGIL_E_DATA, "'%s': no entry for the data file '%s'",
					labels, c->files[i].name);
			goto out;
		}
	}
	ret = 0;
out:
	free(seen);
	json_decref(root);
	return ret;
}

struct nab_corpus *nab_corpus_load(const char *data_dir, const char *windows_json,
				   struct vigil_error *err)
{
	struct nab_corpus *c = XNEW(struct nab_corpus);
	char **names = NULL;
	size_t i, n = 0;

	if (scan_data_dir(data_dir, &names, &n, err) < 0) {
		free(c);
		return NULL;
	}
	c->files = xcalloc(n, sizeof(*c->files));
	c->nfiles = n;
	for (i = 0; i < n; i++)
		c->files[i].name = names[i];
	free(names);
	for (i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", data_dir, c->files[i].name);
		int ret = load_data_file(&c->files[i], path, err);

		free(path);
		if (ret < 0)
			goto fail;
		c->nrows += c->files[i].nrows;
	}
	if (load_windows(c, windows_json, err) < 0)
		goto fail;
	return c;
fail:
	nab_corpus_free(c);
	return NULL;
}

void nab_corpus_free(struct nab_corpus *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nfiles; i++) {
		struct nab_file *f = &c->files[i];

		free(f->name);
		free(f->ts_ms);
		free(f->values);
		free(f->windows);
		free(f->scores);
	}
	free(c->files);
	free(c);
}

long nab_corpus_find(const struct nab_corpus *c, const char *name)
{
	size_t lo = 0, hi = c->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(name, c->files[mid].name);

		if (!cmp)
			return (long)mid;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int nab_corpus_set_scores(struct nab_corpus *c, size_t file, const double *scores, size_t n,
			  struct vigil_error *err)
{
	struct nab_file *f;
	size_t i;

	if (file >= c->nfiles)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "no file %zu in a corpus of %zu",
				       file, c->nfiles);
	f = &c->files[file];
	if (n != f->nrows)
		return vigil_error_set(err, VIGIL_E_DATA, "%zu scores for '%s', which has %zu rows",
				       n, f->name, f->nrows);
	for (i = 0; i < n; i++) {
		if (!isfinite(scores[i]))
			return vigil_error_set(err, VIGIL_E_DATA,
					       "score of row %zu of '%s' is not finite", i,
					       f->name);
	}
	free(f->scores);
	f->scores = XNEWARRAY(double, n ? n : 1);
	if (n)
		memcpy(f->scores, scores, n * sizeof(*scores));
	return 0;
}

/* Find the column `anomaly_score` in a header line; -1 if absent. */
static long score_column(char *header)
{
	long col = 0;
	char *p = header;

	for (;;) {
		char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == strlen("anomaly_score") && !memcmp(p, "anomaly_score", len))
			return col;
		if (!comma)
			return -1;
		p = comma + 1;
		col++;
	}
}

static int read_result_file(struct nab_corpus *c, size_t file, const char *path,
			    struct vigil_error *err)
{
	struct nab_file *f = &c->files[file];
	double *scores = XNEWARRAY(double, f->nrows ? f->nrows : 1);
	size_t len, n = 0;
	struct lines l;
	struct shown sh;
	char *buf, *line;
	long col;
	int ret = -1;

	if (read_file(path, &buf, &len, err) < 0) {
		free(scores);
		return -1;
	}
	l.p = buf;
	l.end = buf + len;
	l.lineno = 0;
	line = next_line(&l, &len);
	if (!line || (col = score_column(line)) < 0) {
		vigil_error_set(err, VIGIL_E_DATA,
				"'%s' line 1: no column 'anomaly_score' in the header", path);
		goto out;
	}
	while ((line = next_line(&l, &len))) {
		char *p = line, *end, *fend;
		long i;

		if (!len)
			continue;
		if (strlen(line) != len) {
			vigil_error_set(err, VIGIL_E_DATA, "'%s' line %zu: NUL byte", path,
					l.lineno);
			goto out;
		}
		for (i = 0; i < col && p; i++) {
			p = strchr(p, ',');
			if (p)
				p++;
		}
		if (!p) {
			vigil_error_set(err, VIGIL_E_DATA,
					"'%s' line %zu: no 'anomaly_score' field", path, l.lineno);
			goto out;
		}
		fend = strchr(p, ',');
		if (fend)
			*fend = '\0';
		if (n == f->nrows) {
			vigil_error_set(
				err, VIGIL_E_DATA,
				"'%s' line %zu: more rows than the %zu of the data file '%s'", path,
				l.lineno, f->nrows, f->name);
			goto out;
		}
		scores[n] = strtod(p, &end);
		if (end == p || *end || !isfinite(scores[n])) {
			vigil_error_set(err, VIGIL_E_DATA, "'%s' line %zu: bad anomaly_score '%s'",
					path, l.lineno, show(&sh, p, strlen(p)));
			goto out;
		}
		n++;
	}
	if (n != f->nrows) {
		vigil_error_set(err, VIGIL_E_DATA, "'%s' has %zu rows, the data file '%s' has %zu",
				path, n, f->name, f->nrows);
		goto out;
	}
	ret = nab_corpus_set_scores(c, file, scores, n, err);
out:
	free(buf);
	free(scores);
	return ret;
}

int nab_corpus_read_results(struct nab_corpus *c, const char *results_dir, const char *detector,
			    struct vigil_error *err)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++) {
		const char *name = c->files[i].name, *slash = strrchr(name, '/');
		char *path;
		int ret;

		if (!slash)
			return vigil_error_set(err, VIGIL_E_DATA,
					       "'%s' is not '<category>/<file>.csv'", name);
		path = xasprintf("%s/%s/%.*s/%s_%s", results_dir, detector, (int)(slash - name),
				 name, detector, slash + 1);
		ret = read_result_file(c, i, path, err);
		free(path);
		if (ret < 0)
			return -1;
	}
	return 0;
}

int nab_profiles_load(const char *path, struct nab_profile out[NAB_NPROFILES],
		      struct vigil_error *err)
{
	static const char *const keys[4] = { "tpWeight", "fnWeight", "fpWeight", "tnWeight" };
	json_error_t jerr;
	json_t *root;
	int i, j;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vigil_error_set(err, VIGIL_E_DATA, "'%s' line %d: %s", path, jerr.line,
				       jerr.text);
	for (i = 0; i < NAB_NPROFILES; i++) {
		json_t *cm =
			json_object_get(json_object_get(root, nab_profiles[i].name), "CostMatrix");
		double v[4];

		for (j = 0; j < 4; j++) {
			json_t *num = json_object_get(cm, keys[j]);

			if (!json_is_number(num) || !isfinite(v[j] = json_number_value(num))) {
				json_decref(root);
				return vigil_error_set(err, VIGIL_E_DATA,
						       "'%s': no number %s.CostMatrix.%s", path,
						       nab_profiles[i].name, keys[j]);
			}
		}
		out[i].name = nab_profiles[i].name;
		out[i].tp_weight = v[0];
		out[i].fn_weight = v[1];
		out[i].fp_weight = v[2];
		out[i].tn_weight = v[3];
	}
	json_decref(root);
	return 0;
}

/* §3: the scaled sigmoid, written as NAB writes it so the bits agree. */
static double scaled_sigmoid(double y)
{
	if (y > 3.0)
		return -1.0;
	return 2.0 * (1.0 / (1.0 + exp(5.0 * y))) - 1.0;
}

void nab_file_weights(const struct nab_file *f, const struct nab_profile *p, double *w)
{
	const double max_tp = scaled_sigmoid(-1.0);
	const struct nab_window *prev = NULL;
	size_t i, k = 0;

	for (i = 0; i < f->nrows; i++) {
		const struct nab_window *win = k < f->nwindows ? &f->windows[k] : NULL;

		if (win && i >= win->first) {
			double width = (double)(win->last - win->first + 1);
			double y = -(double)(win->last - i + 1) / width;

			w[i] = p->tp_weight * scaled_sigmoid(y) / max_tp;
			if (i == win->last) {
				prev = win;
				k++;
			}
		} else if (!prev || prev->last == prev->first) {
			/*
			 * Before any window; or after a one-row window, where NAB
			 * would divide by zero: take y = +inf, so sigma = -1.
			 */
			w[i] = -p->fp_weight;
		} else {
			double y = (double)(i - prev->last) / (double)(prev->last - prev->first);

			w[i] = p->fp_weight * scaled_sigmoid(y);
		}
	}
}

/* Neumaier's compensated sum: the sweep adds 1e5 terms and compares totals. */
struct csum {
	double s, c;
};

static void csum_add(struct csum *k, double x)
{
	double t = k->s + x;

	if (fabs(k->s) >= fabs(x))
		k->c += (k->s - t) + x;
	else
		k->c += (x - t) + k->s;
	k->s = t;
}

static double csum_value(const struct csum *k)
{
	return k->s + k->c;
}

static int check_scores(const struct nab_corpus *c, struct vigil_error *err)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++) {
		if (!c->files[i].scores)
			return vigil_error_set(err, VIGIL_E_DATA, "no scores for '%s'",
					       c->files[i].name);
	}
	return 0;
}

static size_t max_rows(const struct nab_corpus *c)
{
	size_t i, m = 0;

	for (i = 0; i < c->nfiles; i++)
		m = c->files[i].nrows > m ? c->files[i].nrows : m;
	return m;
}

int nab_score_at(const struct nab_corpus *c, const struct nab_profile *p, double theta,
		 struct nab_result *out, struct vigil_error *err)
{
	size_t i, nscorable_windows = 0, window_rows = 0, other_rows = 0;
	struct csum sum = { 0, 0 };
	double *w;

	if (check_scores(c, err) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	w = XNEWARRAY(double, max_rows(c) + 1);
	for (i = 0; i < c->nfiles; i++) {
		const struct nab_file *f = &c->files[i];
		size_t r, k = 0;
		double best = 0;
		int detected = 0;

		nab_file_weights(f, p, w);
		for (r = f->probation; r <= f->nrows; r++) {
			/* close the windows that ended before row r (all of them at the end) */
			while (k < f->nwindows && (r == f->nrows || f->windows[k].last < r)) {
				if (f->windows[k].last >= f->probation) {
					csum_add(&sum, detected ? best : -p->fn_weight);
					nscorable_windows++;
				}
				detected = 0;
				k++;
			}
			if (r == f->nrows)
				break;
			if (k < f->nwindows && r >= f->windows[k].first) {
				window_rows++;
				if (f->scores[r] >= theta) {
					out->tp++;
					if (!detected || w[r] > best)
						best = w[r];
					detected = 1;
				}
			} else {
				other_rows++;
				if (f->scores[r] >= theta) {
					out->fp++;
					csum_add(&sum, w[r]);
				}
			}
		}
	}
	free(w);
	out->threshold = theta;
	out->raw = csum_value(&sum);
	out->fn = window_rows - out->tp;
	out->tn = other_rows - out->fp;
	out->null_score = -p->fn_weight * (double)nscorable_windows;
	out->perfect = p->tp_weight * (double)c->nwindows;
	if (out->perfect != out->null_score)
		out->normalised =
			100 * (out->raw - out->null_score) / (out->perfect - out->null_score);
	else
		out->normalised = NAN;
	return 0;
}

/* A scorable row in the sweep: its score, global row index and window. */
struct sweep_row {
	double score;
	size_t row;
	size_t window; /* global window index, or NO_WINDOW */
};

struct sweep {
	struct sweep_row *rows;
	size_t n;
	size_t *row_base;    /* per file: global index of its row 0 */
	size_t *win_base;    /* per file: global index of its window 0 */
	double no_detection; /* the candidate threshold meaning "nothing" */
};

/* Descending score; equal scores in corpus order, so the sweep is deterministic. */
static int cmp_sweep_row(const void *a, const void *b)
{
	const struct sweep_row *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static void sweep_prepare(const struct nab_corpus *c, struct sweep *s)
{
	size_t i, rb = 0, wb = 0;

	s->rows = XNEWARRAY(struct sweep_row, c->nrows + 1);
	s->row_base = XNEWARRAY(size_t, c->nfiles);
	s->win_base = XNEWARRAY(size_t, c->nfiles);
	s->n = 0;
	for (i = 0; i < c->nfiles; i++) {
		const struct nab_file *f = &c->files[i];
		size_t r, k = 0;

		s->row_base[i] = rb;
		s->win_base[i] = wb;
		for (r = f->probation; r < f->nrows; r++) {
			struct sweep_row *sr = &s->rows[s->n++];

			while (k < f->nwindows && f->windows[k].last < r)
				k++;
			sr->score = f->scores[r];
			sr->row = rb + r;
			sr->window =
				k < f->nwindows && r >= f->windows[k].first ? wb + k : NO_WINDOW;
		}
		rb += f->nrows;
		wb += f->nwindows;
	}
	qsort(s->rows, s->n, sizeof(*s->rows), cmp_sweep_row);
	s->no_detection = NAB_NO_DETECTION_THRESHOLD;
	if (s->n && s->rows[0].score >= NAB_NO_DETECTION_THRESHOLD)
		s->no_detection = nextafter(s->rows[0].score, INFINITY);
}

static void sweep_release(struct sweep *s)
{
	free(s->rows);
	free(s->row_base);
	free(s->win_base);
}

/*
 * §6: add the rows one group of equal scores at a time, from the highest,
 * and keep the first (largest) threshold with the highest total.
 */
static double sweep_profile(const struct nab_corpus *c, const struct sweep *s,
			    const struct nab_profile *p)
{
	double *w = XNEWARRAY(double, c->nrows + 1);
	double *best_in = XNEWARRAY(double, c->nwindows + 1);
	char *detected = xcalloc(c->nwindows + 1, 1);
	struct csum sum = { 0, 0 };
	double best, best_theta = s->no_detection;
	size_t i, j;

	for (i = 0; i < c->nfiles; i++) {
		const struct nab_file *f = &c->files[i];
		size_t k;

		nab_file_weights(f, p, w + s->row_base[i]);
		for (k = 0; k < f->nwindows; k++) {
			if (f->windows[k].last >= f->probation)
				csum_add(&sum, -p->fn_weight);
		}
	}
	best = csum_value(&sum);
	for (i = 0; i < s->n; i = j) {
		double total;

		for (j = i; j < s->n && s->rows[j].score == s->rows[i].score; j++) {
			const struct sweep_row *r = &s->rows[j];
			double wr = w[r->row];

			if (r->window == NO_WINDOW) {
				csum_add(&sum, wr);
			} else if (!detected[r->window]) {
				csum_add(&sum, wr);
				csum_add(&sum, p->fn_weight);
				best_in[r->window] = wr;
				detected[r->window] = 1;
			} else if (wr > best_in[r->window]) {
				/* only a real change touches the sum: equal totals stay equal */
				csum_add(&sum, wr);
				csum_add(&sum, -best_in[r->window]);
				best_in[r->window] = wr;
			}
		}
		total = csum_value(&sum);
		if (total > best) {
			best = total;
			best_theta = s->rows[i].score;
		}
	}
	free(w);
	free(best_in);
	free(detected);
	return best_theta;
}

int nab_optimize_all(const struct nab_corpus *c, const struct nab_profile profiles[NAB_NPROFILES],
		     struct nab_result out[NAB_NPROFILES], struct vigil_error *err)
{
	struct sweep s;
	int i;

	if (check_scores(c, err) < 0)
		return -1;
	sweep_prepare(c, &s);
	for (i = 0; i < NAB_NPROFILES; i++) {
		double theta = sweep_profile(c, &s, &profiles[i]);

		if (nab_score_at(c, &profiles[i], theta, &out[i], err) < 0) {
			sweep_release(&s);
			return -1;
		}
	}
	sweep_release(&s);
	return 0;
}

int nab_optimize(const struct nab_corpus *c, const struct nab_profile *p, struct nab_result *out,
		 struct vigil_error *err)
{
	struct sweep s;
	int ret;

	if (check_scores(c, err) < 0)
		return -1;
	sweep_prepare(c, &s);
	ret = nab_score_at(c, p, sweep_profile(c, &s, p), out, err);
	sweep_release(&s);
	return ret;
}
