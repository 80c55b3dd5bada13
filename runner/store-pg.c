/*
 * store-pg.c - the shared store: one PostgreSQL database for several nodes.
 *
 * The same tables and semantics as the SQLite store (store-sqlite.c), with
 * PostgreSQL's row locks doing what SQLite's single writer does there:
 * claims take the row with FOR UPDATE SKIP LOCKED, completions are fenced on
 * (state, locked_by), and every time comes from the server's clock.
 * Migrations are numbered like SQLite's (the same version means the same
 * tables, plus the cluster's own), each in one transaction under an advisory
 * lock so that nodes starting together migrate once; a newer schema is refused.
 *
 * The connection string is a secret: errors name the server as
 * "postgresql HOST:PORT/DB", never the string.  A lost connection is
 * re-established on the next call, with a backoff between attempts.
 */
#include <endian.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-pg.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

/* Advisory lock keys (any constants; they only have to differ from each other). */
#define LOCK_MIGRATE 0x76696731
#define RECONNECT_MAX_MS 10000

static const char *const migrations[] = {
	/* 1: jobs, runs, anomalies (as SQLite's 1); the cluster: nodes and the spec versions they run */
	"CREATE TABLE jobs ("
	"  name TEXT PRIMARY KEY,"
	"  first_seen BIGINT NOT NULL,"
	"  last_run_id BIGINT"
	");"
	"CREATE TABLE runs ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  job TEXT NOT NULL REFERENCES jobs(name),"
	"  scheduled_for BIGINT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  outcome TEXT,"
	"  locked_by TEXT,"
	"  lease_until BIGINT,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  started_at BIGINT,"
	"  finished_at BIGINT,"
	"  error TEXT,"
	"  n_series INTEGER NOT NULL DEFAULT 0,"
	"  n_points INTEGER NOT NULL DEFAULT 0,"
	"  n_anomalies INTEGER NOT NULL DEFAULT 0,"
	"  n_alerts INTEGER NOT NULL DEFAULT 0,"
	"  n_failed_series INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (job, scheduled_for)"
	");"
	"CREATE INDEX runs_job_id ON runs (job, id);"
	"CREATE TABLE run_failures ("
	"  run_id BIGINT NOT NULL REFERENCES runs(id),"
	"  series TEXT NOT NULL,"
	"  reason TEXT NOT NULL"
	");"
	"CREATE TABLE anomalies ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  run_id BIGINT NOT NULL REFERENCES runs(id),"
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  labels TEXT NOT NULL,"
	"  ts BIGINT NOT NULL,"
	"  value DOUBLE PRECISION,"
	"  score DOUBLE PRECISION NOT NULL,"
	"  detector TEXT NOT NULL,"
	"  expected DOUBLE PRECISION,"
	"  lower_band DOUBLE PRECISION,"
	"  upper_band DOUBLE PRECISION,"
	"  reason TEXT,"
	"  shadow INTEGER NOT NULL,"
	"  alerted INTEGER NOT NULL"
	");"
	"CREATE INDEX anomalies_job_ts ON anomalies (job, ts);"
	"CREATE INDEX anomalies_run ON anomalies (run_id);"
	"CREATE TABLE nodes ("
	"  node TEXT PRIMARY KEY,"
	"  started_at BIGINT NOT NULL,"
	"  last_seen BIGINT NOT NULL,"
	"  version TEXT,"
	"  pid BIGINT"
	");"
	"CREATE TABLE spec_versions ("
	"  job TEXT NOT NULL,"
	"  node TEXT NOT NULL,"
	"  hash TEXT NOT NULL,"
	"  seen_at BIGINT NOT NULL,"
	"  PRIMARY KEY (job, node)"
	");",
	/* 2: the daemon (as SQLite's 2) */
	"ALTER TABLE runs ADD COLUMN trigger_kind TEXT;"
	"ALTER TABLE runs ADD COLUMN window_from BIGINT;"
	"CREATE INDEX runs_state ON runs (state, scheduled_for);"
	"CREATE TABLE series_latest ("
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  run_id BIGINT NOT NULL,"
	"  scheduled_for BIGINT NOT NULL,"
	"  labels TEXT NOT NULL,"
	"  n_points INTEGER NOT NULL,"
	"  first_ts BIGINT,"
	"  last_ts BIGINT,"
	"  data BYTEA NOT NULL,"
	"  PRIMARY KEY (job, series)"
	");",
	/* 3: notifications (as SQLite's 3) */
	"CREATE TABLE outbox ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  dedup_key TEXT NOT NULL UNIQUE,"
	"  dest TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  url_ref TEXT NOT NULL,"
	"  base_dir TEXT,"
	"  headers TEXT,"
	"  job TEXT NOT NULL,"
	"  run_id BIGINT,"
	"  scheduled_for BIGINT NOT NULL,"
	"  summary TEXT NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  note TEXT,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created_at BIGINT NOT NULL,"
	"  next_attempt BIGINT NOT NULL,"
	"  deadline BIGINT NOT NULL,"
	"  timeout_ms BIGINT NOT NULL,"
	"  locked_by TEXT,"
	"  lease_until BIGINT,"
	"  last_status INTEGER,"
	"  last_error TEXT,"
	"  sent_at BIGINT,"
	"  updated_at BIGINT NOT NULL"
	");"
	"CREATE INDEX outbox_state_dest ON outbox (state, dest, id);"
	"CREATE TABLE notify_dests ("
	"  dest TEXT PRIMARY KEY,"
	"  tokens DOUBLE PRECISION NOT NULL,"
	"  tokens_at BIGINT NOT NULL,"
	"  blocked_until BIGINT NOT NULL DEFAULT 0,"
	"  broken_at BIGINT,"
	"  broken_error TEXT"
	");"
	"CREATE TABLE alert_state ("
	"  target TEXT NOT NULL,"
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  since BIGINT NOT NULL,"
	"  last_alert_ts BIGINT NOT NULL DEFAULT 0,"
	"  last_sent BIGINT NOT NULL DEFAULT 0,"
	"  updated_run BIGINT NOT NULL,"
	"  PRIMARY KEY (target, job, series)"
	");"
	"CREATE TABLE mutes ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  job_pattern TEXT NOT NULL,"
	"  series_pattern TEXT NOT NULL,"
	"  until_at BIGINT NOT NULL,"
	"  reason TEXT,"
	"  created_at BIGINT NOT NULL"
	");",
	/* 4: incidents (one event of a series or of a job's runs) and job health (store-pg-incidents.c) */
	"CREATE TABLE incidents ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  labels TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  start_ts BIGINT NOT NULL,"
	"  end_ts BIGINT NOT NULL DEFAULT 0,"
	"  last_seen BIGINT NOT NULL DEFAULT 0,"
	"  last_alert_ts BIGINT NOT NULL DEFAULT 0,"
	"  back_since BIGINT NOT NULL DEFAULT 0,"
	"  back_points BIGINT NOT NULL DEFAULT 0,"
	"  n_alerts BIGINT NOT NULL DEFAULT 0,"
	"  flaps BIGINT NOT NULL DEFAULT 0,"
	"  peak_ts BIGINT NOT NULL DEFAULT 0,"
	"  peak_value DOUBLE PRECISION,"
	"  peak_expected DOUBLE PRECISION,"
	"  peak_score DOUBLE PRECISION,"
	"  peak_rarity DOUBLE PRECISION,"
	"  onset_expected DOUBLE PRECISION,"
	"  onset_lower DOUBLE PRECISION,"
	"  onset_upper DOUBLE PRECISION,"
	"  accepted_lower DOUBLE PRECISION,"
	"  accepted_upper DOUBLE PRECISION,"
	"  detectors TEXT,"
	"  evidence TEXT,"
	"  last_notified BIGINT NOT NULL DEFAULT 0,"
	"  opened_run BIGINT NOT NULL DEFAULT 0,"
	"  updated_run BIGINT NOT NULL DEFAULT 0,"
	"  UNIQUE (job, series, kind, start_ts)"
	");"
	"CREATE INDEX incidents_job_state ON incidents (job, state, series);"
	"CREATE INDEX incidents_start ON incidents (start_ts);"
	"CREATE TABLE job_health ("
	"  job TEXT PRIMARY KEY,"
	"  failed_runs BIGINT NOT NULL DEFAULT 0,"
	"  empty_runs BIGINT NOT NULL DEFAULT 0,"
	"  last_success BIGINT NOT NULL DEFAULT 0,"
	"  updated_run BIGINT NOT NULL DEFAULT 0,"
	"  last_error TEXT"
	");",
	/* 5: the series around alerts, kept after later runs replace series_latest (until purged), and feedback */
	"CREATE TABLE series_history ("
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  run_id BIGINT NOT NULL,"
	"  scheduled_for BIGINT NOT NULL,"
	"  labels TEXT NOT NULL,"
	"  n_points INTEGER NOT NULL,"
	"  first_ts BIGINT NOT NULL,"
	"  last_ts BIGINT NOT NULL,"
	"  data BYTEA NOT NULL,"
	"  PRIMARY KEY (job, series, run_id)"
	");"
	"CREATE INDEX series_history_time ON series_history (job, series, last_ts);"
	"CREATE INDEX series_history_scheduled ON series_history (scheduled_for);"
	/* ... and verdicts on incidents (store-pg-feedback.c) */
	"CREATE TABLE incident_feedback ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  incident_id BIGINT NOT NULL,"
	"  verdict TEXT NOT NULL,"
	"  note TEXT,"
	"  who TEXT NOT NULL,"
	"  created_at BIGINT NOT NULL"
	");"
	"CREATE INDEX incident_feedback_incident ON incident_feedback (incident_id, id);",
	/* 6: ad-hoc runs (store-pg-adhoc.c): the spec sent over HTTP and the results, beside the run (as SQLite's 6) */
	"CREATE TABLE adhoc_runs ("
	"  run_id BIGINT PRIMARY KEY REFERENCES runs(id),"
	"  spec TEXT NOT NULL,"
	"  submitted_at BIGINT NOT NULL,"
	"  results TEXT"
	");"
	"CREATE INDEX runs_adhoc_waiting ON runs (id) WHERE trigger_kind = 'adhoc' "
	"AND state IN ('pending', 'interrupted', 'running');"
	"CREATE INDEX runs_adhoc_finished ON runs (finished_at) WHERE trigger_kind = 'adhoc';",
	/*
	 * 7: pushed detectors (runner/pushed.h): bundles by SHA-256, versions per name, what each node
	 * materialised.  Self-contained: nothing else refers to these tables.
	 */
	"CREATE TABLE detector_bundles ("
	"  sha256 TEXT PRIMARY KEY,"
	"  size BIGINT NOT NULL,"
	"  data BYTEA NOT NULL"
	");"
	"CREATE TABLE detector_versions ("
	"  name TEXT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  sha256 TEXT NOT NULL REFERENCES detector_bundles (sha256),"
	"  entry TEXT NOT NULL,"
	"  pushed_by TEXT NOT NULL,"
	"  pushed_at BIGINT NOT NULL,"
	"  PRIMARY KEY (name, version)"
	");"
	"CREATE TABLE detector_nodes ("
	"  node TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  seen_at BIGINT NOT NULL,"
	"  PRIMARY KEY (node, name)"
	");",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- parameters and queries --------------------------------------------------- */

static void pgp_set(struct pgp *p, const char *v, int len, int fmt)
{
	if (p->n >= PGP_MAX)
		abort();   /* a statement of this file with too many parameters: a bug */
	p->v[p->n] = v;
	p->len[p->n] = len;
	p->fmt[p->n] = fmt;
	p->n++;
}

void pgp_str(struct pgp *p, const char *s)
{
	pgp_set(p, s, 0, 0);
}

void pgp_i64(struct pgp *p, int64_t v)
{
	snprintf(p->buf[p->n], sizeof(p->buf[0]), "%lld", (long long)v);
	pgp_set(p, p->buf[p->n], 0, 0);
}

void pgp_dbl(struct pgp *p, double v)
{
	if (!isfinite(v)) {
		pgp_set(p, NULL, 0, 0);
		return;
	}
	snprintf(p->buf[p->n], sizeof(p->buf[0]), "%.17g", v);
	pgp_set(p, p->buf[p->n], 0, 0);
}

void pgp_blob(struct pgp *p, const void *data, size_t len)
{
	pgp_set(p, data, (int)len, 1);
}

/* The first line of a server message, escaped. */
static const char *first_line(const char *m, char *buf, size_t size)
{
	char raw[600];
	size_t o = 0;

	for (m = m && *m ? m : "unknown error"; *m && *m != '\n' && o < sizeof(raw) - 1; m++)
		raw[o++] = *m == '\t' ? ' ' : *m;
	raw[o] = '\0';
	return log_escape(buf, size, raw);
}

static int conn_error(struct pgstore *pg, struct vigil_error *err, const char *what)
{
	char msg[700];

	return vigil_error_set(err, VIGIL_E_STORE, "store: %s: %s: %s", pg->who, what,
	                       first_line(PQerrorMessage(pg->conn), msg, sizeof(msg)));
}

/* The server's own message for a failed statement (without libpq's "ERROR:  " prefix). */
static int result_error(struct pgstore *pg, const PGresult *res, struct vigil_error *err, const char *what)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[700];

	if (!primary)
		return conn_error(pg, err, what);
	return vigil_error_set(err, VIGIL_E_STORE, "store: %s: %s: %s", pg->who, what,
	                       first_line(primary, msg, sizeof(msg)));
}

int pg_ready(struct pgstore *pg, struct vigil_error *err)
{
	int64_t now = time_mono_ns();

	if (PQstatus(pg->conn) == CONNECTION_OK)
		return 0;
	if (now < pg->retry_at_ns)
		return vigil_error_set(err, VIGIL_E_STORE, "store: %s: not connected (retrying in %llds)", pg->who,
		                       (long long)((pg->retry_at_ns - now) / 1000000000 + 1));
	PQreset(pg->conn);
	if (PQstatus(pg->conn) == CONNECTION_OK) {
		log_info("store", "%s: connected again", pg->who);
		pg->backoff_ms = 0;
		pg->retry_at_ns = 0;
		return 0;
	}
	pg->backoff_ms = pg->backoff_ms ? pg->backoff_ms * 2 : 500;
	if (pg->backoff_ms > RECONNECT_MAX_MS)
		pg->backoff_ms = RECONNECT_MAX_MS;
	pg->retry_at_ns = now + pg->backoff_ms * 1000000;
	conn_error(pg, err, "cannot reconnect");
	log_warn("store", "%s; next attempt in %lld ms", err ? err->msg : pg->who, (long long)pg->backoff_ms);
	return -1;
}

PGresult *pg_query(struct pgstore *pg, const char *sql, const struct pgp *p, const char *what,
                   struct vigil_error *err)
{
	PGresult *res;
	ExecStatusType s;

	if (pg_ready(pg, err))
		return NULL;
	/* without parameters: the simple protocol, which also takes several statements (migrations) */
	res = p ? PQexecParams(pg->conn, sql, p->n, NULL, p->v, p->len, p->fmt, 0) : PQexec(pg->conn, sql);
	s = PQresultStatus(res);
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return res;
	if (PQstatus(pg->conn) != CONNECTION_OK)
		log_warn("store", "%s: connection lost", pg->who);
	result_error(pg, res, err, what);
	PQclear(res);
	return NULL;
}

int pg_exec(struct pgstore *pg, const char *sql, const struct pgp *p, const char *what, struct vigil_error *err)
{
	PGresult *res = pg_query(pg, sql, p, what, err);

	PQclear(res);
	return res ? 0 : -1;
}

int pg_begin(struct pgstore *pg, struct vigil_error *err)
{
	return pg_exec(pg, "BEGIN", NULL, "starting a transaction", err);
}

int pg_commit(struct pgstore *pg, struct vigil_error *err)
{
	return pg_exec(pg, "COMMIT", NULL, "committing", err);
}

void pg_rollback(struct pgstore *pg)
{
	if (PQstatus(pg->conn) == CONNECTION_OK)
		PQclear(PQexec(pg->conn, "ROLLBACK"));
}

int64_t pg_i64(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

char *pg_dup(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NULL : xstrdup(PQgetvalue(res, r, c));
}

/* Type OIDs of pg_type.h (stable across versions). */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_FLOAT4 = 700, OID_FLOAT8 = 701,
       OID_NUMERIC = 1700 };

json_t *pg_rows_json(const PGresult *res)
{
	json_t *arr = json_array();

	for (int r = 0; r < PQntuples(res); r++) {
		json_t *row = json_object();

		for (int c = 0; c < PQnfields(res); c++) {
			const char *v = PQgetvalue(res, r, c);
			json_t *j;

			if (PQgetisnull(res, r, c)) {
				j = json_null();
			} else {
				switch (PQftype(res, c)) {
				case OID_INT2: case OID_INT4: case OID_INT8:
					j = json_integer(strtoll(v, NULL, 10));
					break;
				case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
					j = json_real(strtod(v, NULL));
					break;
				case OID_BOOL:
					j = json_integer(v[0] == 't');
					break;
				default:
					j = json_string(v);
				}
			}
			json_object_set_new(row, PQfname(res, c), j);
		}
		json_array_append_new(arr, row);
	}
	return arr;
}

int pg_query_json(struct pgstore *pg, const char *sql, const struct pgp *p, json_t **out, struct vigil_error *err)
{
	PGresult *res = pg_query(pg, sql, p, "query", err);

	if (!res)
		return -1;
	*out = pg_rows_json(res);
	PQclear(res);
	return 0;
}

/* ---- open, migrate, close ------------------------------------------------------- */

static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* "postgresql HOST:PORT/DB" from a connection string, without anything secret. */
static char *describe(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	const char *host = NULL, *port = NULL, *db = NULL, *user = NULL;
	char *who;

	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "host") || (!host && !strcmp(o->keyword, "hostaddr")))
			host = o->val;
		else if (!strcmp(o->keyword, "port"))
			port = o->val;
		else if (!strcmp(o->keyword, "dbname"))
			db = o->val;
		else if (!strcmp(o->keyword, "user"))
			user = o->val;
	}
	who = xasprintf("postgresql %s:%s/%s", host ? host : "localhost", port ? port : "5432",
	                db ? db : user ? user : "(default)");
	PQconninfoFree(opts);
	return who;
}

static int pg_schema_version(struct store *st, int *version, struct vigil_error *err)
{
	PGresult *res = pg_query(pg_of(st), "SELECT version FROM schema_version", NULL, "reading the schema version",
	                         err);

	if (!res)
		return -1;
	*version = PQntuples(res) ? (int)pg_i64(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

/* One migration (or none when another node did it first) in one transaction. */
static int migrate_step(struct pgstore *pg, struct store *st, int *done, struct vigil_error *err)
{
	struct pgp p = { 0 };
	int version;

	*done = 0;
	if (pg_begin(pg, err))
		return -1;
	pgp_i64(&p, LOCK_MIGRATE);
	if (pg_exec(pg, "SELECT pg_advisory_xact_lock($1)", &p, "locking the schema", err) ||
	    pg_exec(pg, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", NULL,
	            "creating schema_version", err) ||
	    pg_schema_version(st, &version, err))
		goto fail;
	if (version > N_MIGRATIONS) {
		vigil_error_set(err, VIGIL_E_STORE, "store %s has schema version %d, newer than this vigil understands "
		                "(%d); upgrade vigil", pg->who, version, N_MIGRATIONS);
		goto fail;
	}
	if (version == N_MIGRATIONS) {
		*done = 1;
		return pg_commit(pg, err);
	}
	if (version == 0 && pg_exec(pg, "INSERT INTO schema_version VALUES (0)", NULL, "migrating", err))
		goto fail;
	if (pg_exec(pg, migrations[version], NULL, "migrating", err)) {
		vigil_error_prefix(err, "migration %d", version + 1);
		goto fail;
	}
	p.n = 0;
	pgp_i64(&p, version + 1);
	if (pg_exec(pg, "UPDATE schema_version SET version = $1::int", &p, "migrating", err))
		goto fail;
	return pg_commit(pg, err);
fail:
	pg_rollback(pg);
	return -1;
}

/*
 * Whether the schema is already this vigil's, read without the migration
 * lock: one round trip for the common case (every worker process opens the
 * store).  Anything else -- no schema yet, an older or a newer one, an
 * error -- takes the locked path of migrate_step(), which decides.
 */
static int schema_current(struct pgstore *pg)
{
	PGresult *res = PQexec(pg->conn, "SELECT version FROM schema_version");
	int current = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	              pg_i64(res, 0, 0) == N_MIGRATIONS;

	PQclear(res);
	return current;
}

static int pg_open(struct store *st, const char *target, struct vigil_error *err)
{
	const char *keys[] = { "dbname", "connect_timeout", "fallback_application_name", NULL };
	const char *vals[] = { target, "10", "vigil", NULL };
	struct pgstore *pg = XNEW(struct pgstore);
	int done = 0;

	pg->who = describe(target);
	st->impl = pg;
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
		char msg[700];

		vigil_error_set(err, VIGIL_E_STORE, "store: %s: cannot connect: %s", pg->who,
		                first_line(pg->conn ? PQerrorMessage(pg->conn) : "out of memory", msg, sizeof(msg)));
		goto fail;
	}
	PQsetNoticeProcessor(pg->conn, quiet_notice, NULL);
	done = schema_current(pg);
	while (!done)
		if (migrate_step(pg, st, &done, err))
			goto fail;
	return 0;
fail:
	PQfinish(pg->conn);
	free(pg->who);
	free(pg);
	st->impl = NULL;
	return -1;
}

static void pg_close(struct store *st)
{
	struct pgstore *pg = pg_of(st);

	if (!pg)
		return;
	PQfinish(pg->conn);
	free(pg->who);
	free(pg);
	st->impl = NULL;
}

/* ---- runs of `vigil run` ----------------------------------------------------------- */

static int ensure_job(struct pgstore *pg, const char *job, struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, job);
	return pg_exec(pg, "INSERT INTO jobs (name, first_seen) VALUES ($1, " PG_NOW_MS ") "
	               "ON CONFLICT (name) DO NOTHING", &p, "recording a job", err);
}

static int pg_run_begin(struct store *st, const char *job, int64_t scheduled_for_ms, int64_t started_ms,
                        int64_t *run_id, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res;

	if (pg_begin(pg, err))
		return -1;
	if (ensure_job(pg, job, err))
		goto fail;
	pgp_str(&p, job);
	pgp_i64(&p, scheduled_for_ms);
	pgp_i64(&p, started_ms);
	res = pg_query(pg, "INSERT INTO runs (job, scheduled_for, state, attempts, started_at, trigger_kind) "
	               "VALUES ($1, $2, 'running', 1, $3, 'cli') ON CONFLICT (job, scheduled_for) DO NOTHING "
	               "RETURNING id", &p, "recording the start of a run", err);
	if (!res)
		goto fail;
	if (!PQntuples(res)) {
		PQclear(res);
		vigil_error_set(err, VIGIL_E_CONFLICT, "store: job '%s' already has a run scheduled for %lld ms "
		                "(one run per job and scheduled time)", job, (long long)scheduled_for_ms);
		goto fail;
	}
	*run_id = pg_i64(res, 0, 0);
	PQclear(res);
	return pg_commit(pg, err);
fail:
	pg_rollback(pg);
	return -1;
}

/* The run's incidents, then its messages with their ids filled in (as the SQLite backend's write_outcome). */
static int write_outcome(struct pgstore *pg, const struct run_outcome *o, struct vigil_error *err)
{
	int64_t *ids = o->incident_ids ? o->incident_ids : xcalloc(o->n_incidents + 1, sizeof(*ids));
	struct outbox_row *filled = NULL;
	int rc = pg_incidents_write(pg, o->incidents, o->n_incidents, ids, o->health, err);

	if (!rc) {
		filled = outbox_rows_filled(o, ids);
		rc = pg_notify_write(pg, filled ? filled : o->outbox, o->n_outbox, o->alert_states, o->n_alert_states,
		                     err);
	}
	outbox_rows_filled_free(filled, o);
	if (ids != o->incident_ids)
		free(ids);
	return rc;
}

static int pg_run_finish(struct store *st, int64_t run_id, int64_t finished_ms, const struct run_outcome *o,
                         const struct anomaly_row *rows, size_t n_rows, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p;
	PGresult *res;

	if (pg_begin(pg, err))
		return -1;
	for (size_t i = 0; i < n_rows; i++) {
		const struct anomaly_row *r = &rows[i];

		p.n = 0;
		pgp_i64(&p, run_id);
		pgp_str(&p, r->series);
		pgp_str(&p, r->labels_json ? r->labels_json : "{}");
		pgp_i64(&p, r->ts_ms);
		pgp_dbl(&p, r->value);
		pgp_dbl(&p, isfinite(r->score) ? r->score : 0);
		pgp_str(&p, r->detector);
		pgp_dbl(&p, r->expected);
		pgp_dbl(&p, r->lower);
		pgp_dbl(&p, r->upper);
		pgp_str(&p, r->reason);
		pgp_i64(&p, r->shadow);
		pgp_i64(&p, r->alerted);
		if (pg_exec(pg, "INSERT INTO anomalies (run_id, job, series, labels, ts, value, score, detector, expected, "
		            "lower_band, upper_band, reason, shadow, alerted) SELECT $1, job, $2, $3, $4, $5, $6, $7, $8, "
		            "$9, $10, $11, $12, $13 FROM runs WHERE id = $1", &p, "recording the results of a run", err))
			goto fail;
	}
	for (size_t i = 0; i < o->n_failures; i++) {
		p.n = 0;
		pgp_i64(&p, run_id);
		pgp_str(&p, o->failures[i].series);
		pgp_str(&p, o->failures[i].reason);
		if (pg_exec(pg, "INSERT INTO run_failures (run_id, series, reason) VALUES ($1, $2, $3)", &p,
		            "recording the results of a run", err))
			goto fail;
	}
	p.n = 0;
	pgp_i64(&p, run_id);
	pgp_str(&p, o->state);
	pgp_str(&p, o->outcome);
	pgp_str(&p, o->error);
	pgp_i64(&p, finished_ms);
	pgp_i64(&p, (int64_t)o->n_series);
	pgp_i64(&p, (int64_t)o->n_points);
	pgp_i64(&p, (int64_t)o->n_anomalies);
	pgp_i64(&p, (int64_t)o->n_alerts);
	pgp_i64(&p, (int64_t)o->n_failures);
	pgp_str(&p, st->node);
	/* fencing: only the holder of the claim lands its results */
	res = pg_query(pg, "UPDATE runs SET state = $2, outcome = $3, error = $4, finished_at = $5, n_series = $6, "
	               "n_points = $7, n_anomalies = $8, n_alerts = $9, n_failed_series = $10, lease_until = NULL "
	               "WHERE id = $1 AND state = 'running' AND ($11::text IS NULL OR locked_by = $11) RETURNING job",
	               &p, "recording the results of a run", err);
	if (!res)
		goto fail;
	if (!PQntuples(res)) {
		PQclear(res);
		vigil_error_set(err, VIGIL_E_STORE, "store: run %lld is not running (lost its lease?)", (long long)run_id);
		goto fail;
	}
	p.n = 0;
	pgp_i64(&p, run_id);
	pgp_str(&p, PQgetvalue(res, 0, 0));
	if (pg_exec(pg, "UPDATE jobs SET last_run_id = $1 WHERE name = $2", &p, "recording the results of a run",
	            err)) {
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (write_outcome(pg, o, err) || (o->adhoc_results && pg_adhoc_write(pg, run_id, o->adhoc_results, err)))
		goto fail;
	return pg_commit(pg, err);
fail:
	pg_rollback(pg);
	return -1;
}

static int pg_list_runs(struct store *st, const char *job, size_t limit, json_t **out, struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, job);
	pgp_i64(&p, (int64_t)limit);
	return pg_query_json(pg_of(st), "SELECT id, job, scheduled_for, state, outcome, started_at, finished_at, error, "
	                     "n_series, n_points, n_anomalies, n_alerts, n_failed_series FROM runs "
	                     "WHERE ($1::text IS NULL OR job = $1) ORDER BY id DESC LIMIT $2", &p, out, err);
}

#define ANOMALY_COLUMNS "run_id, job, series, labels, ts, value, score, detector, expected, lower_band, " \
	"upper_band, reason, shadow, alerted"

static int pg_list_anomalies(struct store *st, const char *job, int64_t run_id, size_t limit, json_t **out,
                             struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, job);
	pgp_i64(&p, run_id);
	pgp_i64(&p, (int64_t)limit);
	return pg_query_json(pg_of(st), "SELECT " ANOMALY_COLUMNS " FROM anomalies "
	                     "WHERE ($1::text IS NULL OR job = $1) AND ($2::bigint = 0 OR run_id = $2) "
	                     "ORDER BY run_id DESC, ts DESC, id DESC LIMIT $3", &p, out, err);
}

/* ---- the daemon: claims, leases, fencing --------------------------------------- */

static int pg_now(struct store *st, int64_t *ms, struct vigil_error *err)
{
	PGresult *res = pg_query(pg_of(st), "SELECT " PG_NOW_MS, NULL, "reading the clock", err);

	if (!res)
		return -1;
	*ms = pg_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

/*
 * One statement, so one round trip: the job row if missing, then either a
 * new run row inserted already claimed (the common case: the first node to
 * reach a fire time) or, when the row exists, the takeover of a waiting,
 * interrupted or expired one.  UNIQUE (job, scheduled_for) keeps one row
 * however many nodes try; a node whose INSERT meets a row another node is
 * inserting waits for that commit and then finds nothing to claim (all the
 * parts see the statement's snapshot), as a row being claimed right now is
 * skipped (SKIP LOCKED), not waited for.
 */
static int pg_run_claim(struct store *st, const char *job, int64_t scheduled_ms, int64_t window_from_ms,
                        const char *trigger, const char *node, int64_t lease_ms, struct run_claim *out,
                        int *claimed, struct vigil_error *err)
{
	struct pgp p = { 0 };
	PGresult *res;

	*claimed = 0;
	pgp_str(&p, job);
	pgp_i64(&p, scheduled_ms);
	pgp_str(&p, trigger);
	if (window_from_ms)
		pgp_i64(&p, window_from_ms);
	else
		pgp_str(&p, NULL);
	pgp_str(&p, node);
	pgp_i64(&p, lease_ms);
	res = pg_query(pg_of(st),
	               "WITH j AS (INSERT INTO jobs (name, first_seen) VALUES ($1, " PG_NOW_MS ") "
	               "ON CONFLICT (name) DO NOTHING), "
	               "ins AS (INSERT INTO runs (job, scheduled_for, state, trigger_kind, window_from, locked_by, "
	               "lease_until, attempts, started_at) "
	               "VALUES ($1, $2, 'running', $3, $4, $5, " PG_NOW_MS " + $6, 1, " PG_NOW_MS ") "
	               "ON CONFLICT (job, scheduled_for) DO NOTHING RETURNING id, attempts, window_from, trigger_kind), "
	               "upd AS (UPDATE runs SET state = 'running', locked_by = $5, lease_until = " PG_NOW_MS " + $6, "
	               "attempts = attempts + 1, started_at = " PG_NOW_MS ", finished_at = NULL "
	               "WHERE id = (SELECT id FROM runs WHERE job = $1 AND scheduled_for = $2 AND "
	               "(state IN ('pending', 'interrupted') OR (state = 'running' AND lease_until < " PG_NOW_MS ")) "
	               "FOR UPDATE SKIP LOCKED) AND NOT EXISTS (SELECT 1 FROM ins) "
	               "RETURNING id, attempts, window_from, trigger_kind) "
	               "SELECT * FROM ins UNION ALL SELECT * FROM upd", &p, "claiming a run", err);
	if (!res)
		return -1;
	if (PQntuples(res)) {
		memset(out, 0, sizeof(*out));
		out->id = pg_i64(res, 0, 0);
		out->attempts = (int)pg_i64(res, 0, 1);
		out->window_from_ms = pg_i64(res, 0, 2);
		out->scheduled_ms = scheduled_ms;
		snprintf(out->trigger, sizeof(out->trigger), "%s", PQgetvalue(res, 0, 3));
		*claimed = 1;
	}
	PQclear(res);
	return 0;
}

/* One fenced UPDATE of run $1 held by node $2 (more parameters in p); *changed: rows updated. */
static int fenced_update(struct store *st, const char *sql, struct pgp *p, int *changed, struct vigil_error *err)
{
	PGresult *res = pg_query(pg_of(st), sql, p, "updating a run", err);

	if (!res)
		return -1;
	*changed = strtol(PQcmdTuples(res), NULL, 10) > 0;
	PQclear(res);
	return 0;
}

static int pg_run_heartbeat(struct store *st, int64_t run_id, const char *node, int64_t lease_ms, int *held,
                            struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_i64(&p, run_id);
	pgp_str(&p, node);
	pgp_i64(&p, lease_ms);
	return fenced_update(st, "UPDATE runs SET lease_until = " PG_NOW_MS " + $3 "
	                     "WHERE id = $1 AND locked_by = $2 AND state = 'running'", &p, held, err);
}

static int pg_run_release(struct store *st, int64_t run_id, const char *node, const char *state, const char *error,
                          int *done, struct vigil_error *err)
{
	struct pgp p = { 0 };

	if (strcmp(state, "interrupted") && strcmp(state, "failed"))
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: cannot release a run as '%s'", state);
	pgp_i64(&p, run_id);
	pgp_str(&p, node);
	pgp_str(&p, state);
	pgp_str(&p, error);
	return fenced_update(st, "UPDATE runs SET state = $3, error = $4, lease_until = NULL, "
	                     "finished_at = CASE WHEN $3 = 'failed' THEN " PG_NOW_MS " ELSE NULL END "
	                     "WHERE id = $1 AND locked_by = $2 AND state = 'running'", &p, done, err);
}

static int pg_runs_recover(struct store *st, const char *node, json_t **out, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };

	if (node) {
		/* this node just started: whatever it held was interrupted */
		pgp_str(&p, node);
		if (pg_exec(pg, "UPDATE runs SET state = 'interrupted', lease_until = NULL, "
		            "error = 'interrupted: the daemon stopped during the run' "
		            "WHERE state = 'running' AND locked_by = $1", &p, "recovering runs", err))
			return -1;
	}
	return pg_query_json(pg, "SELECT id, job, scheduled_for, window_from, trigger_kind AS \"trigger\", state "
	                     "FROM runs WHERE state IN ('pending', 'interrupted') "
	                     "OR (state = 'running' AND lease_until < " PG_NOW_MS ") "
	                     "ORDER BY scheduled_for, id", NULL, out, err);
}

#define RUN_COLUMNS "id, job, scheduled_for, state, outcome, trigger_kind AS \"trigger\", attempts, locked_by, " \
	"window_from, started_at, finished_at, error, n_series, n_points, n_anomalies, n_alerts, n_failed_series"

static int pg_run_get(struct store *st, int64_t run_id, json_t **out, struct vigil_error *err)
{
	struct pgp p = { 0 };
	json_t *rows;

	pgp_i64(&p, run_id);
	if (pg_query_json(pg_of(st), "SELECT " RUN_COLUMNS " FROM runs WHERE id = $1", &p, &rows, err))
		return -1;
	*out = json_array_size(rows) ? json_incref(json_array_get(rows, 0)) : NULL;
	json_decref(rows);
	return 0;
}

static int pg_runs_page(struct store *st, const char *job, int64_t before_id, size_t limit, json_t **out,
                        struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, job);
	pgp_i64(&p, before_id);
	pgp_i64(&p, (int64_t)limit);
	return pg_query_json(pg_of(st), "SELECT " RUN_COLUMNS " FROM runs WHERE ($1::text IS NULL OR job = $1) "
	                     "AND ($2::bigint = 0 OR id < $2) ORDER BY id DESC LIMIT $3", &p, out, err);
}

static int pg_anomalies_since(struct store *st, const char *job, int64_t since_ms, size_t limit, json_t **out,
                              struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, job);
	pgp_i64(&p, since_ms);
	pgp_i64(&p, (int64_t)limit);
	return pg_query_json(pg_of(st), "SELECT " ANOMALY_COLUMNS " FROM anomalies WHERE ($1::text IS NULL OR job = $1) "
	                     "AND ts >= $2 ORDER BY ts DESC, id DESC LIMIT $3", &p, out, err);
}

static int pg_job_state(struct store *st, const char *job, json_t **out, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	json_t *rows, *fire, *o;

	pgp_str(&p, job);
	if (pg_query_json(pg, "SELECT " RUN_COLUMNS " FROM runs WHERE job = $1 AND finished_at IS NOT NULL "
	                  "ORDER BY finished_at DESC, id DESC LIMIT 1", &p, &rows, err))
		return -1;
	if (pg_query_json(pg, "SELECT max(scheduled_for) AS t FROM runs WHERE job = $1 "
	                  "AND trigger_kind IN ('schedule', 'catchup')", &p, &fire, err)) {
		json_decref(rows);
		return -1;
	}
	o = json_object();
	json_object_set(o, "last_run", json_array_size(rows) ? json_array_get(rows, 0) : json_null());
	json_object_set(o, "last_fire", json_object_get(json_array_get(fire, 0), "t"));
	json_decref(rows);
	json_decref(fire);
	*out = o;
	return 0;
}

/* ---- stored series ----------------------------------------------------------------- */

/* Keep the part of each alerting series a chart of its alerts needs (store.h: stored_series_alert_window). */
static int put_history(struct pgstore *pg, const char *job, int64_t run_id, int64_t scheduled_ms,
                       const struct stored_series *items, size_t n, struct vigil_error *err)
{
	for (size_t i = 0; i < n && i < STORE_SERIES_MAX_PER_JOB; i++) {
		struct stored_series w;
		struct stored_detector *dets = NULL;
		struct pgp p = { 0 };
		size_t len;
		void *blob;
		int rc;

		if (!stored_series_alert_window(&items[i], STORE_HISTORY_BEFORE_MS, &w, &dets))
			continue;
		blob = stored_series_encode(&w, &len);
		pgp_str(&p, job);
		pgp_str(&p, w.series);
		pgp_i64(&p, run_id);
		pgp_i64(&p, scheduled_ms);
		pgp_str(&p, w.labels_json ? w.labels_json : "{}");
		pgp_i64(&p, (int64_t)w.n);
		pgp_i64(&p, w.ts[0]);
		pgp_i64(&p, w.ts[w.n - 1]);
		pgp_blob(&p, blob, len);
		rc = pg_exec(pg, "INSERT INTO series_history (job, series, run_id, scheduled_for, labels, n_points, "
		             "first_ts, last_ts, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
		             "ON CONFLICT (job, series, run_id) DO UPDATE SET scheduled_for = EXCLUDED.scheduled_for, "
		             "labels = EXCLUDED.labels, n_points = EXCLUDED.n_points, first_ts = EXCLUDED.first_ts, "
		             "last_ts = EXCLUDED.last_ts, data = EXCLUDED.data", &p, "storing series", err);
		free(blob);
		free(dets);
		if (rc)
			return -1;
	}
	return 0;
}

static int pg_series_put(struct store *st, const char *job, int64_t run_id, int64_t scheduled_ms,
                         const struct stored_series *items, size_t n, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res;
	int later;

	if (pg_begin(pg, err))
		return -1;
	/* one writer per job at a time, so "unless a later run's are stored" holds across nodes */
	pgp_str(&p, job);
	if (pg_exec(pg, "SELECT pg_advisory_xact_lock(hashtext($1))", &p, "storing series", err) ||
	    put_history(pg, job, run_id, scheduled_ms, items, n, err))
		goto fail;
	pgp_i64(&p, scheduled_ms);
	res = pg_query(pg, "SELECT 1 FROM series_latest WHERE job = $1 AND scheduled_for > $2 LIMIT 1", &p,
	               "storing series", err);
	if (!res)
		goto fail;
	later = PQntuples(res) > 0;
	PQclear(res);
	if (later)
		return pg_commit(pg, err);   /* a later run's series are there: keep them (and this history) */
	p.n = 0;
	pgp_str(&p, job);
	if (pg_exec(pg, "DELETE FROM series_latest WHERE job = $1", &p, "storing series", err))
		goto fail;
	for (size_t i = 0; i < n && i < STORE_SERIES_MAX_PER_JOB; i++) {
		const struct stored_series *s = &items[i];
		size_t len;
		void *blob = stored_series_encode(s, &len);
		int rc;

		p.n = 0;
		pgp_str(&p, job);
		pgp_str(&p, s->series);
		pgp_i64(&p, run_id);
		pgp_i64(&p, scheduled_ms);
		pgp_str(&p, s->labels_json ? s->labels_json : "{}");
		pgp_i64(&p, (int64_t)s->n);
		if (s->n) {
			pgp_i64(&p, s->ts[0]);
			pgp_i64(&p, s->ts[s->n - 1]);
		} else {
			pgp_str(&p, NULL);
			pgp_str(&p, NULL);
		}
		pgp_blob(&p, blob, len);
		rc = pg_exec(pg, "INSERT INTO series_latest (job, series, run_id, scheduled_for, labels, n_points, "
		             "first_ts, last_ts, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", &p, "storing series",
		             err);
		free(blob);
		if (rc)
			goto fail;
	}
	return pg_commit(pg, err);
fail:
	pg_rollback(pg);
	return -1;
}

/*
 * Read one stored series (run_id, scheduled_for, labels, data) with sql, cut
 * to [from, to], into out (released first).  1: found, 0: no row, -1: error.
 */
static int read_series(struct pgstore *pg, const char *sql, const struct pgp *p, const char *series, int64_t from,
                       int64_t to, struct stored_series *out, struct vigil_error *err)
{
	PGresult *res;
	uint64_t id, at;
	int ret = 1;

	/* the blob comes back in binary */
	res = PQexecParams(pg->conn, sql, p->n, NULL, p->v, p->len, p->fmt, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_error(pg, res, err, "query");
		PQclear(res);
		return -1;
	}
	if (!PQntuples(res)) {
		PQclear(res);
		return 0;
	}
	stored_series_release(out);
	memcpy(&id, PQgetvalue(res, 0, 0), 8);
	memcpy(&at, PQgetvalue(res, 0, 1), 8);
	out->series = xstrdup(series);
	out->run_id = (int64_t)be64toh(id);
	out->scheduled_ms = (int64_t)be64toh(at);
	out->labels_json = xstrndup(PQgetvalue(res, 0, 2), (size_t)PQgetlength(res, 0, 2));
	if (stored_series_decode(out, PQgetvalue(res, 0, 3), (size_t)PQgetlength(res, 0, 3), from, to, err)) {
		stored_series_release(out);
		ret = -1;
	}
	PQclear(res);
	return ret;
}

static int pg_series_get(struct store *st, const char *job, const char *series, int64_t from, int64_t to,
                         struct stored_series *out, int *found, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	*found = 0;
	pgp_str(&p, job);
	pgp_str(&p, series);
	if (pg_ready(pg, err))
		return -1;
	rc = read_series(pg, "SELECT run_id, scheduled_for, labels, data FROM series_latest "
	                 "WHERE job = $1 AND series = $2", &p, series, from, to, out, err);
	if (rc < 0)
		return -1;
	*found = rc;
	if ((*found && out->n) || (from == INT64_MIN && to == INT64_MAX))
		return 0;
	/* nothing of the latest run in [from, to]: the newest kept window around an alert that overlaps it */
	pgp_i64(&p, from);
	pgp_i64(&p, to);
	rc = read_series(pg, "SELECT run_id, scheduled_for, labels, data FROM series_history "
	                 "WHERE job = $1 AND series = $2 AND first_ts <= $4 AND last_ts >= $3 "
	                 "ORDER BY scheduled_for DESC LIMIT 1", &p, series, from, to, out, err);
	if (rc < 0) {
		stored_series_release(out);
		*found = 0;
		return -1;
	}
	if (rc) {
		out->kept = 1;
		*found = 1;
	}
	return 0;
}

static int pg_series_purge(struct store *st, int64_t before_ms, int64_t *n, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res;

	pgp_i64(&p, before_ms);
	res = pg_query(pg, "DELETE FROM series_history WHERE scheduled_for < $1", &p, "purging series", err);
	if (!res)
		return -1;
	*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

static int pg_series_list(struct store *st, const char *job, json_t **out, struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, job);
	return pg_query_json(pg_of(st), "SELECT series, labels, n_points, first_ts, last_ts, run_id FROM series_latest "
	                     "WHERE job = $1 ORDER BY series", &p, out, err);
}

const struct store_backend store_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.schema_version = pg_schema_version,
	.run_begin = pg_run_begin,
	.run_finish = pg_run_finish,
	.list_runs = pg_list_runs,
	.list_anomalies = pg_list_anomalies,
	.now = pg_now,
	.run_claim = pg_run_claim,
	.run_heartbeat = pg_run_heartbeat,
	.run_release = pg_run_release,
	.runs_recover = pg_runs_recover,
	.run_get = pg_run_get,
	.runs_page = pg_runs_page,
	.anomalies_since = pg_anomalies_since,
	.job_state = pg_job_state,
	.series_put = pg_series_put,
	.series_get = pg_series_get,
	.series_list = pg_series_list,
	.notify = &store_pg_notify,
	.incidents = &store_pg_incidents,
	.cluster = &store_pg_cluster,
	.series_purge = pg_series_purge,
	.feedback_add = pg_feedback_add,
	.feedback_list = pg_feedback_list,
	.adhoc = &store_pg_adhoc,
	.pushed = &store_pg_pushed,
};
