/*
 * source-csv.c - time series from a CSV file.
 *
 * Wide format: a time column and one series per value column.  Long format:
 * a series-name column, a time column and a value column.  The file is
 * mapped and parsed in one pass; numbers take a correctly rounded fast path
 * (Clinger) and fall back to strtod.  Empty cells and NaN/NA/null are
 * missing values.  Errors name file:line.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "regfile.h"
#include "secret.h"
#include "srcpath.h"
#include "suggest.h"
#include "source.h"
#include "strbuf.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define CSV_MAX_COLUMNS 4096
#define CSV_DEFAULT_MAX_POINTS 10000000

static const char *const csv_keys[] = {
	"path", "time_column", "time_format", "value_columns", "series_column",
	"delimiter", "duplicates", "on_bad_row", "max_points", NULL,
};
static const char *const time_formats[] = { "auto", "iso8601", "unix", "unix_ms", NULL };
static const char *const dup_policies[] = { "last", "first", "keep", "error", NULL };
static const char *const bad_row_policies[] = { "error", "skip", NULL };

static int enum_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static void check_enum(const json_t *cfg, const char *key, const char *const *names,
                       struct diag *d, const char *path)
{
	json_t *v = json_object_get(cfg, key);
	char sub[JPATH_MAX], list[256];
	size_t o = 0;

	if (!v)
		return;
	jpath_key(sub, sizeof(sub), path, key);
	if (json_is_string(v) && enum_index(names, json_string_value(v)) >= 0)
		return;
	list[0] = '\0';
	for (int i = 0; names[i]; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", names[i]);
	diag_add(d, sub, "must be one of %s", list);
}

static void check_string(const json_t *cfg, const char *key, int required, int allow_refs,
                         struct diag *d, const char *path)
{
	json_t *v = json_object_get(cfg, key);
	char sub[JPATH_MAX];
	struct vigil_error err = VIGIL_ERROR_INIT;

	jpath_key(sub, sizeof(sub), path, key);
	if (!v) {
		if (required)
			diag_add(d, sub, "is required");
		return;
	}
	if (!json_is_string(v) || !*json_string_value(v))
		diag_add(d, sub, "must be a non-empty string");
	else if (!allow_refs && secret_has_ref(json_string_value(v)))
		diag_add(d, sub, "${...} references are allowed only in \"path\"");
	else if (secret_check(json_string_value(v), &err))
		diag_add(d, sub, "%s", err.msg);
}

static void csv_check(const json_t *cfg, struct diag *d, const char *path)
{
	json_t *v;
	char sub[JPATH_MAX];

	check_string(cfg, "path", 1, 1, d, path);
	check_string(cfg, "time_column", 0, 0, d, path);
	check_string(cfg, "series_column", 0, 0, d, path);
	check_enum(cfg, "time_format", time_formats, d, path);
	check_enum(cfg, "duplicates", dup_policies, d, path);
	check_enum(cfg, "on_bad_row", bad_row_policies, d, path);
	if ((v = json_object_get(cfg, "delimiter"))) {
		jpath_key(sub, sizeof(sub), path, "delimiter");
		if (!json_is_string(v) || strlen(json_string_value(v)) != 1 ||
		    strchr("\"\r\n", json_string_value(v)[0]))
			diag_add(d, sub, "must be a single character other than a quote or newline");
	}
	if ((v = json_object_get(cfg, "max_points"))) {
		jpath_key(sub, sizeof(sub), path, "max_points");
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000000)
			diag_add(d, sub, "must be an integer in [1, 1000000000]");
	}
	if ((v = json_object_get(cfg, "value_columns"))) {
		size_t i;
		json_t *c;

		jpath_key(sub, sizeof(sub), path, "value_columns");
		if (!json_is_array(v) || !json_array_size(v)) {
			diag_add(d, sub, "must be a non-empty array of column names");
		} else {
			json_array_foreach(v, i, c) {
				char item[JPATH_MAX];

				jpath_index(item, sizeof(item), sub, i);
				if (!json_is_string(c) || !*json_string_value(c))
					diag_add(d, item, "must be a non-empty string");
			}
			if (json_object_get(cfg, "series_column") && json_array_size(v) != 1)
				diag_add(d, sub, "must name exactly one column when series_column is set");
		}
	}
}

/* --- numbers ---------------------------------------------------------- */

static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int is_missing_token(const char *s, size_t len)
{
	return len == 0 || (len == 3 && !strncasecmp(s, "nan", 3)) ||
	       (len == 2 && !strncasecmp(s, "na", 2)) || (len == 4 && !strncasecmp(s, "null", 4)) ||
	       (len == 1 && s[0] == '-');
}

/*
 * Parse a number.  Returns 0 with *out set, or -1.  Missing tokens give NaN.
 * Fast path: up to 19 significant digits and a power of ten within the
 * exactly representable range, where one multiplication or division of two
 * exact doubles is correctly rounded (Clinger 1990).
 */
static int parse_value(const char *s, size_t len, double *out)
{
	uint64_t mant = 0;
	int digits = 0, exp10 = 0, neg = 0, seen_digit = 0;
	size_t i = 0;
	char buf[128], *end;

	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	if (is_missing_token(s, len)) {
		*out = NAN;
		return 0;
	}
	if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		i++;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		seen_digit = 1;
		if (digits < 19) {
			mant = mant * 10 + (uint64_t)(s[i] - '0');
			if (mant)
				digits++;
		} else {
			goto slow;
		}
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			seen_digit = 1;
			if (digits >= 19)
				goto slow;
			mant = mant * 10 + (uint64_t)(s[i] - '0');
			if (mant)
				digits++;
			exp10--;
		}
	}
	if (!seen_digit)
		goto slow;
	if (i != len)
		goto slow;
	if (mant >> 53)
		goto slow;
	if (exp10 < -22)
		goto slow;
	*out = exp10 < 0 ? (double)mant / pow10_exact[-exp10] : (double)mant;
	if (neg)
		*out = -*out;
	return 0;
slow:
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	if (end != buf + len || end == buf)
		return -1;
	return 0;   /* overflow gives ±Inf, which detectors handle */
}

/* --- fields ----------------------------------------------------------- */

struct field {
	const char *p;
	size_t len;
	char *owned;   /* unquoted copy when the field was quoted */
};

/* Split one line into fields.  Returns the count, or -1 if the line has too many. */
static int split_line(const char *line, size_t len, char delim, struct field *f, int max)
{
	int n = 0;
	size_t i = 0;

	for (;;) {
		if (n == max)
			return -1;
		if (i < len && line[i] == '"') {
			struct strbuf sb = STRBUF_INIT;

			for (i++; i < len; i++) {
				if (line[i] == '"') {
					if (i + 1 < len && line[i + 1] == '"') {
						strbuf_addch(&sb, '"');
						i++;
						continue;
					}
					i++;
					break;
				}
				strbuf_addch(&sb, line[i]);
			}
			f[n].owned = strbuf_detach(&sb);
			f[n].p = f[n].owned;
			f[n].len = strlen(f[n].owned);
			while (i < len && line[i] != delim)
				i++;
		} else {
			const char *q = memchr(line + i, delim, len - i);
			size_t e = q ? (size_t)(q - line) : len;

			f[n].owned = NULL;
			f[n].p = line + i;
			f[n].len = e - i;
			i = e;
		}
		n++;
		if (i >= len)
			return n;
		i++; /* the delimiter */
	}
}

static void free_fields(struct field *f, int n)
{
	for (int i = 0; i < n; i++) {
		free(f[i].owned);
		f[i].owned = NULL;
	}
}

/* A header field without surrounding blanks. */
static void field_trim(const struct field *f, const char **p, size_t *len)
{
	*p = f->p;
	*len = f->len;
	while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t' || (*p)[*len - 1] == '\r'))
		(*len)--;
	while (*len && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*len)--;
	}
}

static int field_is(const struct field *f, const char *name)
{
	const char *p;
	size_t len;

	field_trim(f, &p, &len);
	return strlen(name) == len && !memcmp(p, name, len);
}

/* --- series lookup for the long format -------------------------------- */

struct name_map {
	struct series **slots;
	size_t cap;
	size_t n;
};

static uint64_t hash_bytes(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static struct series *name_map_get(struct name_map *m, struct series_set *out, const char *key,
                                   size_t len, const char *label_key)
{
	uint64_t h;
	size_t i;

	if (m->n * 2 >= m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct series **ns = xcalloc(ncap, sizeof(*ns));

		for (size_t k = 0; k < m->cap; k++) {
			struct series *s = m->slots[k];

			if (!s)
				continue;
			for (i = hash_bytes(s->name, strlen(s->name)) & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
				;
			ns[i] = s;
		}
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	h = hash_bytes(key, len);
	for (i = h & (m->cap - 1); m->slots[i]; i = (i + 1) & (m->cap - 1))
		if (strlen(m->slots[i]->name) == len && !memcmp(m->slots[i]->name, key, len))
			return m->slots[i];
	char *name = xstrndup(key, len);

	m->slots[i] = series_new(name);
	series_add_label(m->slots[i], label_key, name);
	free(name);
	m->n++;
	series_set_add(out, m->slots[i]);
	return m->slots[i];
}

/* --- fetch ------------------------------------------------------------ */

struct csv_opts {
	char *path;
	const char *display;
	const char *time_column;
	const char *series_column;
	const json_t *value_columns;
	enum time_format tfmt;
	enum dup_policy dups;
	int skip_bad;
	char delim;
	size_t max_points;
};

static const char *opt_str(const json_t *cfg, const char *key, const char *dflt)
{
	json_t *v = json_object_get(cfg, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static int find_column(const struct field *hdr, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (field_is(&hdr[i], name))
			return i;
	return -1;
}

/*
 * The header is quoted only as far as the spec already knows it: a column
 * name close to the one asked for.  Any file's first line could be a secret
 * (a token file, /etc/shadow with "delimiter": ":").
 */
static int missing_column(const struct csv_opts *o, const struct field *hdr, int n, const char *name,
                          struct vigil_error *err)
{
	char **names = XNEWARRAY(char *, n ? n : 1);
	const char *hint;

	for (int i = 0; i < n; i++)
		names[i] = xstrndup(hdr[i].p, hdr[i].len > 64 ? 64 : hdr[i].len);
	hint = suggest_closest(name, (const char *const *)names, (size_t)n);
	if (hint) {
		char esc[300];

		vigil_error_set(err, VIGIL_E_DATA, "%s:1: no column '%s' among the %d of the header row (did you mean "
		                "'%s'?)", o->display, name, n, log_escape(esc, sizeof(esc), hint));
	} else {
		vigil_error_set(err, VIGIL_E_DATA, "%s:1: no column '%s' among the %d of the header row", o->display,
		                name, n);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return -1;
}

static int parse_file(const struct csv_opts *o, const char *buf, size_t size, const struct fetch_ctx *ctx,
                      struct series_set *out, struct vigil_error *err)
{
	struct field *f = XNEWARRAY(struct field, CSV_MAX_COLUMNS);
	struct field *hdr = XNEWARRAY(struct field, CSV_MAX_COLUMNS);
	struct name_map map = { 0 };
	int nh = 0, tcol, scol = -1, *vcols = NULL, nv = 0, rc = -1;
	struct series **wide = NULL;
	size_t pos = 0, line_no = 0, skipped = 0, first_skipped = 0, bad_values = 0, first_bad = 0;
	const char *line, *eol;
	size_t len;

	/* Header: the first non-empty line, minus a UTF-8 BOM. */
	if (size >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		pos = 3;
	for (;;) {
		if (pos >= size) {
			free(f);
			free(hdr);
			return vigil_error_set(err, VIGIL_E_DATA, "%s: empty file (no header row)", o->display);
		}
		line = buf + pos;
		eol = memchr(line, '\n', size - pos);
		len = eol ? (size_t)(eol - line) : size - pos;
		pos += len + (eol != NULL);
		line_no++;
		if (len && line[len - 1] == '\r')
			len--;
		if (len)
			break;
	}
	nh = split_line(line, len, o->delim, hdr, CSV_MAX_COLUMNS);
	if (nh < 0) {
		vigil_error_set(err, VIGIL_E_LIMIT, "%s:%zu: more than %d columns", o->display, line_no,
		                CSV_MAX_COLUMNS);
		nh = 0;
		goto out;
	}
	if (o->time_column) {
		tcol = find_column(hdr, nh, o->time_column);
		if (tcol < 0) {
			missing_column(o, hdr, nh, o->time_column, err);
			goto out;
		}
	} else {
		tcol = find_column(hdr, nh, "timestamp");
		if (tcol < 0)
			tcol = find_column(hdr, nh, "time");
		if (tcol < 0)
			tcol = 0;
	}
	if (o->series_column) {
		scol = find_column(hdr, nh, o->series_column);
		if (scol < 0) {
			missing_column(o, hdr, nh, o->series_column, err);
			goto out;
		}
	}
	vcols = XNEWARRAY(int, nh);
	if (o->value_columns) {
		size_t i;
		json_t *c;

		json_array_foreach(o->value_columns, i, c) {
			int k = find_column(hdr, nh, json_string_value(c));

			if (k < 0) {
				missing_column(o, hdr, nh, json_string_value(c), err);
				goto out;
			}
			vcols[nv++] = k;
		}
	} else if (scol >= 0) {
		int k = find_column(hdr, nh, "value");

		if (k < 0) {
			missing_column(o, hdr, nh, "value", err);
			goto out;
		}
		vcols[nv++] = k;
	} else {
		for (int k = 0; k < nh; k++)
			if (k != tcol)
				vcols[nv++] = k;
	}
	if (!nv) {
		vigil_error_set(err, VIGIL_E_DATA, "%s:1: no value column", o->display);
		goto out;
	}
	if (scol < 0) {
		wide = XNEWARRAY(struct series *, nv);
		for (int k = 0; k < nv; k++) {
			const char *hp;
			size_t hlen;
			char *name;

			field_trim(&hdr[vcols[k]], &hp, &hlen);
			name = xstrndup(hp, hlen);

			wide[k] = series_new(name);
			free(name);
			series_set_add(out, wide[k]);
		}
	}

	while (pos < size) {
		int nf;
		int64_t ts;
		struct series *s = NULL;

		line = buf + pos;
		eol = memchr(line, '\n', size - pos);
		len = eol ? (size_t)(eol - line) : size - pos;
		pos += len + (eol != NULL);
		line_no++;
		if (len && line[len - 1] == '\r')
			len--;
		if (!len)
			continue;
		nf = split_line(line, len, o->delim, f, CSV_MAX_COLUMNS);
		if (nf != nh) {
			if (nf > 0)
				free_fields(f, nf);
			if (o->skip_bad) {
				if (!skipped++)
					first_skipped = line_no;
				continue;
			}
			if (nf < 0)
				vigil_error_set(err, VIGIL_E_DATA, "%s:%zu: expected %d fields, found too many",
				                o->display, line_no, nh);
			else
				vigil_error_set(err, VIGIL_E_DATA, "%s:%zu: expected %d fields, found %d",
				                o->display, line_no, nh, nf);
			goto out;
		}
		if (time_parse(f[tcol].p, f[tcol].len, o->tfmt, &ts)) {
			char esc[80], raw[64];

			if (o->skip_bad) {
				free_fields(f, nf);
				if (!skipped++)
					first_skipped = line_no;
				continue;
			}
			snprintf(raw, sizeof(raw), "%.*s", (int)(f[tcol].len > 60 ? 60 : f[tcol].len), f[tcol].p);
			vigil_error_set(err, VIGIL_E_DATA, "%s:%zu: '%s' is not a timestamp", o->display, line_no,
			                log_escape(esc, sizeof(esc), raw));
			free_fields(f, nf);
			goto out;
		}
		if (ts < ctx->from_ms || ts > ctx->to_ms) {
			free_fields(f, nf);
			continue;
		}
		if (scol >= 0)
			s = name_map_get(&map, out, f[scol].p, f[scol].len, o->series_column);
		if (ctx->max_series && out->n > ctx->max_series) {
			/* stop before 200 000 one-point series fill the memory */
			vigil_error_set(err, VIGIL_E_LIMIT, "%s:%zu: more than %zu series (the job's \"max_series\")",
			                o->display, line_no, ctx->max_series);
			free_fields(f, nf);
			goto out;
		}
		for (int k = 0; k < nv; k++) {
			struct field *vf = &f[vcols[k]];
			struct series *target = wide ? wide[k] : s;
			double v;

			if (parse_value(vf->p, vf->len, &v)) {
				char esc[80], raw[64];

				if (o->skip_bad) {
					v = NAN;
					if (!bad_values++)
						first_bad = line_no;
				} else {
					snprintf(raw, sizeof(raw), "%.*s", (int)(vf->len > 60 ? 60 : vf->len), vf->p);
					vigil_error_set(err, VIGIL_E_DATA, "%s:%zu: column '%.*s': '%s' is not a number",
					                o->display, line_no, (int)hdr[vcols[k]].len, hdr[vcols[k]].p,
					                log_escape(esc, sizeof(esc), raw));
					free_fields(f, nf);
					goto out;
				}
			}
			if (target->n >= o->max_points) {
				vigil_error_set(err, VIGIL_E_LIMIT,
				                "%s:%zu: series '%s' has more than %zu points (raise source.max_points, "
				                "or narrow the job's window)", o->display, line_no, target->name,
				                o->max_points);
				free_fields(f, nf);
				goto out;
			}
			series_append(target, ts, v);
		}
		free_fields(f, nf);
	}
	if (skipped)
		log_warn("csv", "%s: skipped %zu rows that could not be parsed (first at line %zu)", o->display,
		         skipped, first_skipped);
	if (bad_values)
		log_warn("csv", "%s: read %zu values that are not numbers as missing (first at line %zu)",
		         o->display, bad_values, first_bad);
	for (size_t i = 0; i < out->n; i++) {
		size_t unordered = 0, merged = 0;

		if (series_normalize(out->items[i], o->dups, &unordered, &merged, err)) {
			vigil_error_prefix(err, "%s", o->display);
			goto out;
		}
		if (unordered)
			log_warn("csv", "%s: series '%s': %zu rows out of time order; sorted", o->display,
			         out->items[i]->name, unordered);
		if (merged)
			log_warn("csv", "%s: series '%s': %zu duplicate timestamps merged (duplicates: %s)",
			         o->display, out->items[i]->name, merged, o->dups == DUP_FIRST ? "first" : "last");
	}
	rc = 0;
out:
	free_fields(hdr, nh > 0 ? nh : 0);
	free(hdr);
	free(f);
	free(vcols);
	free(wide);
	free(map.slots);
	return rc;
}

static int csv_fetch(const json_t *cfg, const struct fetch_ctx *ctx, struct series_set *out,
                     struct vigil_error *err)
{
	struct csv_opts o = { 0 };
	const char *raw_path = opt_str(cfg, "path", "");
	char *resolved;
	struct stat st;
	void *map = NULL;
	int fd, rc;
	json_t *mp;

	resolved = secret_resolve(raw_path, ctx->spec_dir, err);
	if (!resolved)
		return vigil_error_prefix(err, "csv source: path");
	/* Name the file as the spec wrote it unless that holds a secret reference. */
	o.display = secret_has_ref(raw_path) ? "csv source" : raw_path;
	o.path = srcpath_resolve(resolved, ctx->spec_dir, "$.source.path",
	                         secret_has_ref(raw_path) ? "the file" : raw_path, err);
	if (!o.path) {
		free(resolved);
		return -1;
	}
	o.time_column = opt_str(cfg, "time_column", NULL);
	o.series_column = opt_str(cfg, "series_column", NULL);
	o.value_columns = json_object_get(cfg, "value_columns");
	o.tfmt = (enum time_format)enum_index(time_formats, opt_str(cfg, "time_format", "auto"));
	o.dups = (enum dup_policy)enum_index(dup_policies, opt_str(cfg, "duplicates", "last"));
	o.skip_bad = !strcmp(opt_str(cfg, "on_bad_row", "error"), "skip");
	o.delim = opt_str(cfg, "delimiter", ",")[0];
	mp = json_object_get(cfg, "max_points");
	o.max_points = json_is_integer(mp) ? (size_t)json_integer_value(mp) : CSV_DEFAULT_MAX_POINTS;
	free(resolved);

	/* O_NONBLOCK + fstat: a FIFO or device is refused, never waited on */
	fd = regfile_open(o.path, &st, err);
	if (fd < 0) {
		rc = vigil_error_prefix(err, "%s", o.display);
		goto out;
	}
	if (st.st_size == 0) {
		close(fd);
		rc = vigil_error_set(err, VIGIL_E_DATA, "%s: empty file (no header row)", o.display);
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		rc = vigil_error_set(err, VIGIL_E_IO, "%s: cannot map: %s", o.display, strerror(errno));
		goto out;
	}
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	rc = parse_file(&o, map, (size_t)st.st_size, ctx, out, err);
	munmap(map, (size_t)st.st_size);
out:
	free(o.path);
	return rc;
}

const struct source_type source_csv = {
	.name = "csv",
	.summary = "a CSV file: a time column and value columns, or a series-name column",
	.keys = csv_keys,
	.check = csv_check,
	.fetch = csv_fetch,
};
