/*
 * tz.c - time zones from TZif files (RFC 8536) and POSIX TZ strings.
 *
 * We read the files ourselves instead of calling localtime() with TZ set,
 * because each job has its own zone and the process's TZ is global state.
 * A zone is a sorted table of transitions plus, for instants after the last
 * one, the POSIX TZ rule from the file's footer ("CET-1CEST,M3.5.0,M10.5.0/3").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "civil.h"
#include "error.h"
#include "tz.h"
#include "xmalloc.h"
#include "banned.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_MAX_NAME 255
#define TZ_MAX_FILE (1024 * 1024)	/* real files are a few KiB */
#define TZ_MAX_FOOTER 256
#define TZ_HEADER_SIZE 44
/* RFC 8536 section 3.2: offsets outside this range are invalid. */
#define TZ_MIN_UTOFF (-89999)
#define TZ_MAX_UTOFF 93599
/*
 * Instants are clamped to +-10^15 s (about 31 million years) so that no sum
 * below can overflow; a wall-clock time is within TZ_WINDOW of its instant.
 */
#define TZ_CLAMP 1000000000000000LL
#define TZ_WINDOW (27 * 3600)
/* Bounds the walk over transitions near one instant; real zones need 3. */
#define TZ_MAX_STEPS 256

enum tz_rule_kind { RULE_JULIAN1, RULE_JULIAN0, RULE_MWD };

/* One date of a POSIX TZ rule: Jn, n or Mm.w.d, with its /time. */
struct tz_rule {
	enum tz_rule_kind kind;
	int day;	/* Jn: 1-365; n: 0-365; Mm.w.d: d, 0-6 (Sunday = 0) */
	int week;	/* Mm.w.d: 1-5, 5 = last */
	int mon;	/* Mm.w.d: 1-12 */
	int32_t time;	/* seconds after local midnight, -167h to 167h */
};

struct tz_footer {
	int present;
	int has_dst;
	int32_t std_utoff, dst_utoff;	/* east positive, unlike POSIX */
	struct tz_rule start, end;
};

struct tz {
	char *name;
	size_t ntrans;
	int64_t *trans;			/* ascending UTC instants */
	unsigned char *trans_type;	/* index into utoff[] */
	size_t ntypes;
	int32_t *utoff;			/* per local time type */
	struct tz_footer footer;
};

static int64_t next_transition(const struct tz *tz, int64_t t);

struct tz_header {
	int version;	/* 1, 2, 3, ... */
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* A transition computed from a POSIX rule. */
struct tz_edge {
	int64_t at;
	int dst;
};

#define is_digit(c) ((c) >= '0' && (c) <= '9')
#define is_alpha(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))

/* ---- POSIX TZ strings ---------------------------------------------------- */

/* A decimal number in [lo, hi], at most 3 digits. */
static const char *parse_num(const char *s, long lo, long hi, long *out)
{
	long v = 0;
	int n = 0;

	while (is_digit((unsigned char)*s) && n < 4) {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0 || n > 3 || v < lo || v > hi)
		return NULL;
	*out = v;
	return s;
}

/* An abbreviation: three or more letters, or <...> with letters, digits, +-. */
static const char *parse_abbr(const char *s)
{
	const char *p = s;

	if (*p == '<') {
		for (p++; is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) ||
		     *p == '+' || *p == '-'; p++)
			;
		return *p == '>' && p - s >= 4 ? p + 1 : NULL;
	}
	while (is_alpha((unsigned char)*p))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] with hh at most max_hours. */
static const char *parse_hms(const char *s, long max_hours, int32_t *out)
{
	long h, m = 0, sec = 0;
	int neg = 0;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!(s = parse_num(s, 0, max_hours, &h)))
		return NULL;
	if (*s == ':' && !(s = parse_num(s + 1, 0, 59, &m)))
		return NULL;
	if (*s == ':' && !(s = parse_num(s + 1, 0, 59, &sec)))
		return NULL;
	*out = (int32_t)((neg ? -1 : 1) * (h * 3600 + m * 60 + sec));
	return s;
}

static const char *parse_rule(const char *s, struct tz_rule *r)
{
	long a, b, c;

	memset(r, 0, sizeof(*r));
	if (*s == 'M') {
		if (!(s = parse_num(s + 1, 1, 12, &a)) || *s != '.' ||
		    !(s = parse_num(s + 1, 1, 5, &b)) || *s != '.' ||
		    !(s = parse_num(s + 1, 0, 6, &c)))
			return NULL;
		r->kind = RULE_MWD;
		r->mon = (int)a;
		r->week = (int)b;
		r->day = (int)c;
	} else {
		r->kind = *s == 'J' ? RULE_JULIAN1 : RULE_JULIAN0;
		if (!(s = parse_num(s + (*s == 'J'), r->kind == RULE_JULIAN1, 365, &a)))
			return NULL;
		r->day = (int)a;
	}
	r->time = 2 * 3600;
	if (*s == '/')
		s = parse_hms(s + 1, 167, &r->time);
	return s;
}

/* std offset [dst [offset] [,start[/time],end[/time]]] */
static int parse_posix_tz(const char *s, struct tz_footer *f)
{
	int32_t off;

	memset(f, 0, sizeof(*f));
	if (!(s = parse_abbr(s)) || !(s = parse_hms(s, 24, &off)))
		return -1;
	f->present = 1;
	f->std_utoff = -off;
	if (!*s)
		return 0;
	if (!(s = parse_abbr(s)))
		return -1;
	f->has_dst = 1;
	f->dst_utoff = f->std_utoff + 3600;
	if (*s && *s != ',') {
		if (!(s = parse_hms(s, 24, &off)))
			return -1;
		f->dst_utoff = -off;
	}
	if (!*s) {
		/* No rule: POSIX leaves it to us; use the US rule, as glibc does. */
		parse_rule("M3.2.0", &f->start);
		parse_rule("M11.1.0", &f->end);
		return 0;
	}
	if (*s != ',' || !(s = parse_rule(s + 1, &f->start)) ||
	    *s != ',' || !(s = parse_rule(s + 1, &f->end)))
		return -1;
	return *s ? -1 : 0;
}

/* The day (days since the epoch) a rule names in year y. */
static int64_t rule_day(const struct tz_rule *r, int64_t y)
{
	switch (r->kind) {
	case RULE_JULIAN1:	/* Feb 29 is never counted */
		return days_from_civil(y, 1, 1) + r->day - 1 +
			(is_leap_year(y) && r->day >= 60);
	case RULE_JULIAN0:
		return days_from_civil(y, 1, 1) + r->day;
	case RULE_MWD:
	default:
		return days_from_nth_weekday(y, (unsigned)r->mon, (unsigned)r->week,
					     (unsigned)r->day);
	}
}

/*
 * The rule's transitions in the years around year y, sorted.  Three years,
 * because a /time of up to 167 hours can push a transition into the next
 * or previous year.  On a tie the change to standard time sorts first, so
 * "all year DST" rules (EST5EDT,0/0,J365/25) stay in DST.
 */
static void footer_edges(const struct tz_footer *f, int64_t y, struct tz_edge e[6])
{
	struct tz_edge tmp;
	int i, j, n = 0;
	int64_t yy;

	for (yy = y - 1; yy <= y + 1; yy++) {
		e[n].at = rule_day(&f->start, yy) * 86400 + f->start.time - f->std_utoff;
		e[n++].dst = 1;
		e[n].at = rule_day(&f->end, yy) * 86400 + f->end.time - f->dst_utoff;
		e[n++].dst = 0;
	}
	for (i = 1; i < n; i++) {
		tmp = e[i];
		for (j = i; j > 0 && (e[j - 1].at > tmp.at ||
		     (e[j - 1].at == tmp.at && e[j - 1].dst > tmp.dst)); j--)
			e[j] = e[j - 1];
		e[j] = tmp;
	}
}

static int64_t year_of(int64_t t)
{
	struct civil_time ct;

	civil_from_seconds(t, &ct);
	return ct.year;
}

static long footer_offset(const struct tz_footer *f, int64_t t)
{
	struct tz_edge e[6];
	int i, dst;

	if (!f->has_dst)
		return f->std_utoff;
	footer_edges(f, year_of(t), e);
	dst = !e[0].dst;
	for (i = 0; i < 6 && e[i].at <= t; i++)
		dst = e[i].dst;
	return dst ? f->dst_utoff : f->std_utoff;
}

static int64_t footer_next(const struct tz_footer *f, int64_t t)
{
	struct tz_edge e[6];
	int64_t y = year_of(t);
	int i, tries;

	for (tries = 0; tries < 3; tries++, y += 2) {
		footer_edges(f, y, e);
		for (i = 0; i < 6; i++)
			if (e[i].at > t)
				return e[i].at;
	}
	return INT64_MAX;
}

/* ---- lookups ------------------------------------------------------------- */

/* The index of the first transition after t (ntrans if none). */
static size_t upper_bound(const struct tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->ntrans, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long tz_offset_at(const struct tz *tz, int64_t t)
{
	size_t i;

	if (!tz)
		return 0;
	t = t < -TZ_CLAMP ? -TZ_CLAMP : t > TZ_CLAMP ? TZ_CLAMP : t;
	if (tz->footer.present &&
	    (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1]))
		return footer_offset(&tz->footer, t);
	i = upper_bound(tz, t);
	if (i == 0)	/* RFC 8536: type 0 applies before the first transition */
		return tz->utoff[0];
	return tz->utoff[tz->trans_type[i - 1]];
}

int64_t tz_next_transition(const struct tz *tz, int64_t t)
{
	if (!tz)
		return INT64_MAX;
	return next_transition(tz, t);
}

/* The first instant after t at which the offset may change, or INT64_MAX. */
static int64_t next_transition(const struct tz *tz, int64_t t)
{
	size_t i = upper_bound(tz, t);

	if (i < tz->ntrans)
		return tz->trans[i];
	if (tz->footer.present && tz->footer.has_dst)
		return footer_next(&tz->footer, t);
	return INT64_MAX;
}

/*
 * The offset is constant between transitions, so walk the segments
 * [s, e) that could hold the answer (within TZ_WINDOW, wider than any
 * offset) and solve utc + offset == local in each.
 */
int tz_local_to_utc(const struct tz *tz, int64_t local, int64_t *out_utc, int *kind)
{
	int64_t s, e, u, first = 0, gap_end = INT64_MAX;
	int n = 0, steps;
	long off;

	if (local < -TZ_CLAMP || local > TZ_CLAMP)
		return -1;
	if (!tz) {
		*out_utc = local;
		if (kind)
			*kind = TZ_LOCAL_UNIQUE;
		return 0;
	}
	s = local - TZ_WINDOW;
	for (steps = 0; s <= local + TZ_WINDOW && steps < TZ_MAX_STEPS; steps++) {
		off = tz_offset_at(tz, s);
		e = next_transition(tz, s);
		u = local - off;
		if (u >= s && u < e) {
			if (n++ == 0)
				first = u;
		} else if (s + off > local && gap_end == INT64_MAX) {
			gap_end = s;
		}
		s = e;
	}
	if (n == 0 && gap_end == INT64_MAX)
		return -1;
	*out_utc = n ? first : gap_end;
	if (kind)
		*kind = n == 0 ? TZ_LOCAL_GAP : n == 1 ? TZ_LOCAL_UNIQUE : TZ_LOCAL_AMBIGUOUS;
	return 0;
}

/* ---- TZif files ---------------------------------------------------------- */

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t get64(const unsigned char *p)
{
	return (int64_t)((uint64_t)get32(p) << 32 | get32(p + 4));
}

static int read_header(const unsigned char *p, size_t len, struct tz_header *h)
{
	if (len < TZ_HEADER_SIZE || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = p[4] == 0 ? 1 : p[4] >= '2' && p[4] <= '9' ? p[4] - '0' : -1;
	h->isutcnt = get32(p + 20);
	h->isstdcnt = get32(p + 24);
	h->leapcnt = get32(p + 28);
	h->timecnt = get32(p + 32);
	h->typecnt = get32(p + 36);
	h->charcnt = get32(p + 40);
	return h->version < 0 ? -1 : 0;
}

/* Bytes in the data block after a header; 64-bit counts cannot overflow. */
static uint64_t block_size(const struct tz_header *h, unsigned tsize)
{
	return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 +
		h->charcnt + (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt +
		h->isutcnt;
}

static int parse_block(struct tz *tz, const unsigned char *p, const struct tz_header *h,
		       unsigned tsize, struct vigil_error *err)
{
	const unsigned char *types = p + (size_t)h->timecnt * tsize;
	const unsigned char *info = types + h->timecnt;
	size_t i;

	if (h->typecnt == 0 || h->typecnt > 256)
		return vigil_error_set(err, VIGIL_E_DATA, "bad number of time types (%u)",
				       (unsigned)h->typecnt);
	if (h->leapcnt)
		return vigil_error_set(err, VIGIL_E_DATA,
				       "zones with leap seconds are not supported");
	tz->ntrans = h->timecnt;
	tz->trans = XNEWARRAY(int64_t, tz->ntrans);
	tz->trans_type = XNEWARRAY(unsigned char, tz->ntrans);
	tz->ntypes = h->typecnt;
	tz->utoff = XNEWARRAY(int32_t, tz->ntypes);
	for (i = 0; i < tz->ntrans; i++) {
		tz->trans[i] = tsize == 8 ? get64(p + i * 8) : (int32_t)get32(p + i * 4);
		tz->trans_type[i] = types[i];
		if (types[i] >= tz->ntypes)
			return vigil_error_set(err, VIGIL_E_DATA, "transition %zu has bad type %u",
					       i, types[i]);
		if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
			return vigil_error_set(err, VIGIL_E_DATA, "transitions are not in order");
	}
	for (i = 0; i < tz->ntypes; i++) {
		int32_t off = (int32_t)get32(info + i * 6);

		if (off < TZ_MIN_UTOFF || off > TZ_MAX_UTOFF)
			return vigil_error_set(err, VIGIL_E_DATA, "bad UTC offset %ld",
					       (long)off);
		tz->utoff[i] = off;
	}
	return 0;
}

static int parse_tzif(struct tz *tz, const unsigned char *buf, size_t len,
		      struct vigil_error *err)
{
	struct tz_header h;
	size_t off = TZ_HEADER_SIZE, end;
	char footer[TZ_MAX_FOOTER];
	uint64_t size;

	if (read_header(buf, len, &h) < 0)
		return vigil_error_set(err, VIGIL_E_DATA, "not a TZif file");
	size = block_size(&h, 4);
	if (size > len - off)
		return vigil_error_set(err, VIGIL_E_DATA, "truncated TZif file");
	if (h.version == 1)
		return parse_block(tz, buf + off, &h, 4, err);

	off += (size_t)size;
	if (read_header(buf + off, len - off, &h) < 0)
		return vigil_error_set(err, VIGIL_E_DATA, "bad second TZif header");
	off += TZ_HEADER_SIZE;
	size = block_size(&h, 8);
	if (size > len - off)
		return vigil_error_set(err, VIGIL_E_DATA, "truncated TZif file");
	if (parse_block(tz, buf + off, &h, 8, err) < 0)
		return -1;
	off += (size_t)size;

	/* The footer: "\n" TZ-string "\n"; an empty string means none. */
	if (off == len)
		return 0;
	for (end = off + 1; end < len && buf[end] != '\n'; end++)
		;
	if (buf[off] != '\n' || end == len || end - off - 1 >= sizeof(footer))
		return vigil_error_set(err, VIGIL_E_DATA, "bad TZ string footer");
	memcpy(footer, buf + off + 1, end - off - 1);
	footer[end - off - 1] = '\0';
	if (end - off - 1 == 0)
		return 0;
	if (strlen(footer) != end - off - 1 || parse_posix_tz(footer, &tz->footer) < 0)
		return vigil_error_set(err, VIGIL_E_DATA, "bad TZ string footer");
	return 0;
}

/* Read a regular file of at most TZ_MAX_FILE bytes. */
static unsigned char *read_file(const char *path, size_t *len, struct vigil_error *err)
{
	unsigned char *buf = NULL;
	struct stat st;
	ssize_t n = 0;
	int fd, saved;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > TZ_MAX_FILE) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto fail;
	}
	/* One byte more than expected, to notice a file that grew. */
	buf = xmalloc((size_t)st.st_size + 1);
	while (*len <= (size_t)st.st_size) {
		n = read(fd, buf + *len, (size_t)st.st_size + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	if (n < 0)
		goto fail;
	close(fd);
	if (*len > (size_t)st.st_size) {
		free(buf);
		vigil_error_set(err, VIGIL_E_IO, "'%s' changed while being read", path);
		return NULL;
	}
	return buf;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	vigil_error_set(err, VIGIL_E_IO, "cannot read '%s': %s", path, strerror(saved));
	return NULL;
}

/* Letters, digits and "/_-+.", relative, no "..", no empty component. */
static int valid_name(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > TZ_MAX_NAME || name[0] == '/' || strstr(name, ".."))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!is_alpha(c) && !is_digit(c) && !strchr("/_-+.", c))
			return 0;
		if (c == '/' && (name[i + 1] == '/' || name[i + 1] == '\0'))
			return 0;
	}
	return 1;
}

struct tz *tz_load(const char *name, struct vigil_error *err)
{
	struct vigil_error inner = VIGIL_ERROR_INIT;
	const char *dir = getenv("TZDIR");
	char *path, shown[68];
	unsigned char *buf;
	struct tz *tz;
	size_t len, i;

	if (!name || !valid_name(name)) {
		/* Show what was refused, without its control characters. */
		for (i = 0; name && name[i] && i < sizeof(shown) - 4; i++)
			shown[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
		shown[i] = '\0';
		vigil_error_set(err, VIGIL_E_SPEC, "invalid time zone name '%s%s'", shown,
				name && name[i] ? "..." : "");
		return NULL;
	}
	tz = XNEW(struct tz);
	tz->name = xstrdup(name);
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) {
		tz->ntypes = 1;
		tz->utoff = XNEW(int32_t);
		return tz;
	}
	path = xasprintf("%s/%s", dir && *dir ? dir : TZ_DEFAULT_DIR, name);
	if (!(buf = read_file(path, &len, &inner)))
		vigil_error_set(err, inner.code, "unknown time zone '%s' (%s)", name, inner.msg);
	else if (parse_tzif(tz, buf, len, &inner) < 0)
		vigil_error_set(err, inner.code, "time zone '%s': '%s': %s", name, path, inner.msg);
	free(buf);
	free(path);
	if (vigil_error_isset(&inner)) {
		tz_free(tz);
		return NULL;
	}
	return tz;
}

void tz_free(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->trans_type);
	free(tz->utoff);
	free(tz);
}

const char *tz_name(const struct tz *tz)
{
	return tz ? tz->name : "UTC";
}
