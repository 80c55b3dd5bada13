/* store.c - choose a store backend for a target; the stored-series codec the backends share. */
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "store.h"
#include "xmalloc.h"
#include "banned.h"

static int is_pg_uri(const char *s)
{
	return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

struct store *store_open(const char *target, struct vigil_error *err)
{
	struct store *st = XNEW(struct store);
	char *resolved = NULL;
	int rc;

	if (secret_has_ref(target)) {
		/* a connection string with a password: resolved here, never shown */
		resolved = secret_resolve(target, NULL, err);
		if (!resolved) {
			vigil_error_prefix(err, "store");
			free(st);
			return NULL;
		}
		target = resolved;
	}
	st->backend = is_pg_uri(target) ? &store_pg : &store_sqlite;
	rc = st->backend->open(st, target, err);
	if (resolved) {
		explicit_bzero(resolved, strlen(resolved));
		free(resolved);
	}
	if (rc) {
		free(st);
		return NULL;
	}
	return st;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->backend->close(st);
	free(st);
}

double outbox_bucket_tokens(const struct outbox_throttle *th, int have_row, double tokens, int64_t tokens_at,
                            int64_t now)
{
	double t;

	if (!have_row)
		return th->burst;
	t = tokens + (double)(now - tokens_at) * th->rate / 1000.0;
	return t > th->burst ? th->burst : t;
}

/* ---- stored series: the blob behind GET /api/series ----------------------- */

#define BLOB_MAGIC "VGS1"
#define BLOB_BOM 0x01020304u

void stored_series_release(struct stored_series *s)
{
	if (!s)
		return;
	for (size_t k = 0; k < s->n_detectors; k++) {
		free(s->det[k].id);
		free(s->det[k].score);
		free(s->det[k].expected);
		free(s->det[k].lower);
		free(s->det[k].upper);
		free(s->det[k].flags);
	}
	free(s->det);
	free(s->ts);
	free(s->value);
	free(s->series);
	free(s->labels_json);
	memset(s, 0, sizeof(*s));
}

static void put(unsigned char **p, const void *src, size_t len)
{
	if (len)
		memcpy(*p, src, len);
	*p += len;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/*
 * Layout: "VGS1", u32 byte-order mark, u64 n, u32 n_det, per detector u32
 * length + id bytes, padding to 8; then ts[n] (int64), value[n], and per
 * detector score[n], expected[n], lower[n], upper[n] (doubles) and
 * flags[n] (bytes, padded to 8).  Columns, so a range is one memcpy each.
 */
void *stored_series_encode(const struct stored_series *s, size_t *len)
{
	size_t head = 4 + 4 + 8 + 4, total;
	unsigned char *blob, *p;
	uint32_t bom = BLOB_BOM, nd = (uint32_t)s->n_detectors;
	uint64_t n = s->n;

	for (size_t k = 0; k < s->n_detectors; k++)
		head += 4 + strlen(s->det[k].id);
	head = pad8(head);
	total = head + s->n * 16 + s->n_detectors * (s->n * 32 + pad8(s->n));
	blob = p = xcalloc(1, total);
	put(&p, BLOB_MAGIC, 4);
	put(&p, &bom, 4);
	put(&p, &n, 8);
	put(&p, &nd, 4);
	for (size_t k = 0; k < s->n_detectors; k++) {
		uint32_t l = (uint32_t)strlen(s->det[k].id);

		put(&p, &l, 4);
		put(&p, s->det[k].id, l);
	}
	p = blob + head;
	put(&p, s->ts, s->n * 8);
	put(&p, s->value, s->n * 8);
	for (size_t k = 0; k < s->n_detectors; k++) {
		put(&p, s->det[k].score, s->n * 8);
		put(&p, s->det[k].expected, s->n * 8);
		put(&p, s->det[k].lower, s->n * 8);
		put(&p, s->det[k].upper, s->n * 8);
		put(&p, s->det[k].flags, s->n);
		p += pad8(s->n) - s->n;
	}
	*len = total;
	return blob;
}

static void *slice(const unsigned char *col, size_t size, size_t lo, size_t hi)
{
	void *out = xmalloc((hi - lo) * size + 1);

	memcpy(out, col + lo * size, (hi - lo) * size);
	return out;
}

int stored_series_decode(struct stored_series *s, const void *blob, size_t len, int64_t from, int64_t to,
                         struct vigil_error *err)
{
	const unsigned char *b = blob, *p = b + 20;
	uint32_t bom, nd;
	uint64_t n;
	size_t head, lo, hi, a, z;
	const int64_t *ts;

	if (len < 20 || memcmp(b, BLOB_MAGIC, 4))
		return vigil_error_set(err, VIGIL_E_STORE, "stored series: not a series blob");
	memcpy(&bom, b + 4, 4);
	memcpy(&n, b + 8, 8);
	memcpy(&nd, b + 16, 4);
	if (bom != BLOB_BOM)
		return vigil_error_set(err, VIGIL_E_STORE, "stored series: written on a machine of another byte order");
	if (n > STORE_SERIES_MAX_POINTS || nd > 1024)
		return vigil_error_set(err, VIGIL_E_STORE, "stored series: corrupt header");
	s->det = xcalloc(nd ? nd : 1, sizeof(*s->det));
	s->n_detectors = nd;
	for (uint32_t k = 0; k < nd; k++) {
		uint32_t l;

		if ((size_t)(p + 4 - b) > len)
			goto corrupt;
		memcpy(&l, p, 4);
		p += 4;
		if (l > 256 || (size_t)(p + l - b) > len)
			goto corrupt;
		s->det[k].id = xstrndup((const char *)p, l);
		p += l;
	}
	head = pad8((size_t)(p - b));
	if (len != head + n * 16 + nd * (n * 32 + pad8(n)))
		goto corrupt;
	s->n_total = n;
	ts = (const int64_t *)(const void *)(b + head);
	/* points are in time order: binary search the range */
	for (a = 0, z = n; a < z;) {
		size_t m = a + (z - a) / 2;
		int64_t t;

		memcpy(&t, &ts[m], 8);
		if (t < from) a = m + 1; else z = m;
	}
	lo = a;
	for (z = n; a < z;) {
		size_t m = a + (z - a) / 2;
		int64_t t;

		memcpy(&t, &ts[m], 8);
		if (t <= to) a = m + 1; else z = m;
	}
	hi = a;
	p = b + head;
	s->n = hi - lo;
	s->ts = slice(p, 8, lo, hi);
	s->value = slice(p + n * 8, 8, lo, hi);
	p += n * 16;
	for (uint32_t k = 0; k < nd; k++) {
		s->det[k].score = slice(p, 8, lo, hi);
		s->det[k].expected = slice(p + n * 8, 8, lo, hi);
		s->det[k].lower = slice(p + n * 16, 8, lo, hi);
		s->det[k].upper = slice(p + n * 24, 8, lo, hi);
		s->det[k].flags = slice(p + n * 32, 1, lo, hi);
		p += n * 32 + pad8(n);
	}
	return 0;
corrupt:
	return vigil_error_set(err, VIGIL_E_STORE, "stored series: corrupt blob");
}

/* ---- incidents: what the backends fill ------------------------------------ */

void incident_release(struct incident *inc)
{
	if (!inc)
		return;
	free(inc->job);
	free(inc->series);
	free(inc->kind);
	free(inc->labels_json);
	free(inc->state);
	free(inc->detectors);
	free(inc->evidence);
	memset(inc, 0, sizeof(*inc));
}

void incidents_free(struct incident *incs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		incident_release(&incs[i]);
	free(incs);
}

void job_health_release(struct job_health *h)
{
	if (!h)
		return;
	free(h->job);
	free(h->last_error);
	memset(h, 0, sizeof(*h));
}

int stored_series_alert_window(const struct stored_series *s, int64_t before_ms, struct stored_series *view,
                               struct stored_detector **dets)
{
	size_t first = s->n, lo = 0;

	for (size_t k = 0; k < s->n_detectors; k++)
		for (size_t i = 0; i < first; i++)
			if (s->det[k].flags[i] & STORED_ALERTED) {
				first = i;
				break;
			}
	if (first == s->n)
		return 0;
	while (lo < first && s->ts[lo] < s->ts[first] - before_ms)
		lo++;
	*view = *s;
	view->n = s->n - lo;
	view->ts = s->ts + lo;
	view->value = s->value + lo;
	*dets = xcalloc(s->n_detectors ? s->n_detectors : 1, sizeof(**dets));
	for (size_t k = 0; k < s->n_detectors; k++) {
		(*dets)[k] = s->det[k];
		(*dets)[k].score += lo;
		(*dets)[k].expected += lo;
		(*dets)[k].lower += lo;
		(*dets)[k].upper += lo;
		(*dets)[k].flags += lo;
	}
	view->det = *dets;
	return 1;
}

struct outbox_row *outbox_rows_filled(const struct run_outcome *o, const int64_t *ids)
{
	struct outbox_row *rows = NULL;

	if (!o->incident_id_token || !o->n_incidents)
		return NULL;
	for (size_t i = 0; i < o->n_outbox; i++) {
		char *filled = notify_fill_incident_ids(o->outbox[i].payload, o->incident_id_token, ids, o->n_incidents);

		if (!filled)
			continue;
		if (!rows) {
			rows = xcalloc(o->n_outbox, sizeof(*rows));
			memcpy(rows, o->outbox, o->n_outbox * sizeof(*rows));
		}
		rows[i].payload = filled;
	}
	return rows;
}

void outbox_rows_filled_free(struct outbox_row *rows, const struct run_outcome *o)
{
	if (!rows)
		return;
	for (size_t i = 0; i < o->n_outbox; i++)
		if (rows[i].payload != o->outbox[i].payload)
			free((char *)rows[i].payload);
	free(rows);
}

void store_pushed_attach_nodes(json_t *list, json_t *nodes)
{
	size_t i, k;
	json_t *d, *n;

	json_array_foreach(list, i, d) {
		json_t *mine = json_array();

		json_array_foreach(nodes, k, n)
			if (json_equal(json_object_get(n, "name"), json_object_get(d, "name"))) {
				json_t *copy = json_copy(n);

				json_object_del(copy, "name");
				json_array_append_new(mine, copy);
			}
		json_object_set_new(d, "nodes", mine);
	}
	json_decref(nodes);
}
