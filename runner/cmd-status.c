/*
 * cmd-status.c - `vigil status`: ask a running daemon about its jobs.
 *
 * The daemon writes its address to STATE/serve.json; --url overrides it.
 * The answer of GET /api/jobs is printed as a table (or as is with --json).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "paths.h"
#include "store.h"
#include "strbuf.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define STATUS_MAX_BODY (16 * 1024 * 1024)

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct strbuf *sb = arg;

	if (sb->len + size * nmemb > STATUS_MAX_BODY)
		return 0;
	strbuf_add(sb, data, size * nmemb);
	return size * nmemb;
}

/* GET url; 0 with the body and status, or -1 with a message printed. */
static int http_get(const char *url, struct strbuf *body, long *status)
{
	CURL *h = curl_easy_init();
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	if (!h)
		return -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "vigil status: no daemon answers at %s: %s\n", url, errbuf[0] ? errbuf :
		        curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static void print_jobs(const json_t *jobs)
{
	size_t i;
	json_t *j;
	char when[40], next[40];

	printf("%-28s %-20s %-22s %-10s %-10s %s\n", "JOB", "SCHEDULE", "NEXT RUN", "RUNNING", "LAST", "LAST RUN");
	json_array_foreach(jobs, i, j) {
		json_t *last = json_object_get(j, "last_run");
		const char *state = json_is_object(last) ? str(last, "state", "-") : "-";

		if (json_is_object(last) && json_is_integer(json_object_get(last, "finished_at")))
			time_format_iso(json_integer_value(json_object_get(last, "finished_at")), when, sizeof(when));
		else
			snprintf(when, sizeof(when), "-");
		if (json_is_integer(json_object_get(j, "next_run")))
			time_format_iso(json_integer_value(json_object_get(j, "next_run")), next, sizeof(next));
		else
			snprintf(next, sizeof(next), "-");
		printf("%-28s %-20s %-22s %-10s %-10s %s%s%s\n", str(j, "name", "?"), str(j, "schedule", "-"),
		       next, json_is_true(json_object_get(j, "running")) ? "yes" : "no", state, when,
		       json_is_string(json_object_get(j, "error")) ? "  (spec file invalid: see the log)" : "",
		       json_is_true(json_object_get(j, "spec_conflict")) ?
		       "  (other nodes run another version of this spec: vigil status --cluster)" : "");
	}
}

/* `vigil status --cluster`: the nodes sharing the store, straight from it. */
static int status_cluster(const char *state, const char *store_path, int json, int64_t alive_ms)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct store *st = cli_open_store(state, store_path);
	json_t *o = NULL, *v;
	size_t i;
	int64_t now;

	if (!st)
		return EXIT_ENV;
	if (!st->backend->cluster) {
		fprintf(stderr, "vigil status: --cluster: the store is %s, which one node uses alone; several nodes "
		        "share a PostgreSQL store (--store postgresql://...)\n", st->backend->name);
		store_close(st);
		return EXIT_USAGE;
	}
	if (st->backend->cluster->status(st, alive_ms, 20, &o, &err)) {
		fprintf(stderr, "vigil status: %s\n", err.msg);
		store_close(st);
		return EXIT_ENV;
	}
	store_close(st);
	if (json) {
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		json_decref(o);
		return EXIT_OK;
	}
	now = json_integer_value(json_object_get(o, "now"));
	printf("%-24s %-6s %-14s %-10s %s\n", "NODE", "ALIVE", "LAST SEEN", "RUNS HELD", "VERSION");
	json_array_foreach(json_object_get(o, "nodes"), i, v) {
		char ago[32];

		snprintf(ago, sizeof(ago), "%.1fs ago",
		         (double)(now - json_integer_value(json_object_get(v, "last_seen"))) / 1000.0);
		printf("%-24s %-6s %-14s %-10lld %s\n", str(v, "node", "?"),
		       json_integer_value(json_object_get(v, "alive")) ? "yes" : "no", ago,
		       (long long)json_integer_value(json_object_get(v, "runs_held")), str(v, "version", "-"));
	}
	printf("runs waiting for a node: %lld", (long long)json_integer_value(json_object_get(o, "pending")));
	if (json_is_integer(json_object_get(o, "oldest_waiting")))
		printf(" (lag: %.1fs behind the oldest)",
		       (double)(now - json_integer_value(json_object_get(o, "oldest_waiting"))) / 1000.0);
	printf("\n");
	json_array_foreach(json_object_get(o, "spec_conflicts"), i, v) {
		size_t k;
		json_t *ver;

		printf("warning: job '%s' runs in different spec versions:", str(v, "job", "?"));
		json_array_foreach(json_object_get(v, "versions"), k, ver) {
			char *nodes = json_dumps(json_object_get(ver, "nodes"), JSON_COMPACT);

			printf(" %.12s on %s%s", str(ver, "hash", "?"), nodes, k + 1 < json_array_size(
			       json_object_get(v, "versions")) ? ";" : "");
			free(nodes);
		}
		printf("\n");
	}
	printf("\n%-8s %-24s %-22s %-10s %-10s %-20s %s\n", "RUN", "JOB", "SCHEDULED FOR", "TRIGGER", "STATE", "NODE",
	       "LAG");
	json_array_foreach(json_object_get(o, "recent"), i, v) {
		char when[40];

		time_format_iso(json_integer_value(json_object_get(v, "scheduled_for")), when, sizeof(when));
		printf("%-8lld %-24s %-22s %-10s %-10s %-20s ", (long long)json_integer_value(json_object_get(v, "id")),
		       str(v, "job", "?"), when, str(v, "trigger", "-"), str(v, "state", "?"), str(v, "locked_by", "-"));
		if (json_is_integer(json_object_get(v, "lag_ms")))
			printf("%.1fs\n", (double)json_integer_value(json_object_get(v, "lag_ms")) / 1000.0);
		else
			printf("-\n");
	}
	json_decref(o);
	return EXIT_OK;
}

static int cmd_status(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "state", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "cluster", no_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 'S' },
		{ "alive", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *state = NULL, *url_opt = NULL, *store_path = NULL;
	int cluster = 0;
	int64_t alive_ms = 120000;
	struct strbuf body = STRBUF_INIT;
	char *url = NULL, *dir = NULL, *info_path = NULL, *get;
	json_t *info = NULL, *answer = NULL;
	int c, json = 0, rc = EXIT_ENV;
	long status = 0;

	while ((c = getopt_long(argc, argv, "u:s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'u': url_opt = optarg; break;
		case 's': state = optarg; break;
		case 'j': json = 1; break;
		case 'c': cluster = 1; break;
		case 'S': store_path = optarg; break;
		case 'a':
			if (duration_parse(optarg, &alive_ms) || alive_ms <= 0)
				return cmd_usage_error(self, "--alive: '%s' is not a duration (e.g. 2m)", optarg);
			break;
		case 'h':
			cmd_usage(self, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error(self, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (cluster)
		return status_cluster(state, store_path, json, alive_ms);
	if (store_path)
		return cmd_usage_error(self, "--store goes with --cluster");
	if (url_opt) {
		url = xstrdup(url_opt);
	} else {
		json_error_t jerr;

		if (!(dir = paths_state_dir(state, &err))) {
			fprintf(stderr, "vigil: %s\n", err.msg);
			return EXIT_ENV;
		}
		info_path = xasprintf("%s/serve.json", dir);
		info = json_load_file(info_path, 0, &jerr);
		if (!json_is_string(json_object_get(info, "url"))) {
			fprintf(stderr, "vigil status: no daemon is running with state directory '%s' (no %s)\n", dir,
			        info_path);
			goto out;
		}
		url = xstrdup(json_string_value(json_object_get(info, "url")));
	}
	get = xasprintf("%s/api/jobs", url);
	rc = http_get(get, &body, &status);
	free(get);
	if (rc) {
		rc = EXIT_ENV;
		goto out;
	}
	answer = json_loads(strbuf_str(&body), 0, NULL);
	if (status != 200 || !json_is_array(json_object_get(answer, "jobs"))) {
		fprintf(stderr, "vigil status: %s answered %ld: %s\n", url, status,
		        str(answer, "error", "not a vigil API answer"));
		rc = EXIT_ENV;
		goto out;
	}
	rc = EXIT_OK;
	if (json) {
		json_dumpf(answer, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	} else {
		printf("vigil serve at %s", url);
		if (json_is_integer(json_object_get(info, "pid")))
			printf(" (pid %lld)", (long long)json_integer_value(json_object_get(info, "pid")));
		printf(": %zu job%s\n", json_array_size(json_object_get(answer, "jobs")),
		       json_array_size(json_object_get(answer, "jobs")) == 1 ? "" : "s");
		print_jobs(json_object_get(answer, "jobs"));
	}
out:
	json_decref(answer);
	json_decref(info);
	strbuf_release(&body);
	free(info_path);
	free(dir);
	free(url);
	return rc;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "[--state DIR | --url URL] [--json] | --cluster [--store STORE] [--alive DURATION] [--json]",
	.summary = "show the jobs of a running 'vigil serve', or the nodes of a cluster",
	.help = "  -s, --state DIR        the daemon's state directory (its address is in DIR/serve.json)\n"
	        "  -u, --url URL          the daemon's API, e.g. http://127.0.0.1:7460\n"
	        "  -j, --json             print the answer as JSON\n"
	        "      --cluster          the nodes sharing a PostgreSQL store (last heartbeat, runs held), runs\n"
	        "                         waiting (lag), spec versions that differ, and which node ran what\n"
	        "      --store STORE      with --cluster: the store (default: $VIGIL_STORE)\n"
	        "      --alive DURATION   with --cluster: a node seen within this is alive (default 2m)\n",
	.exec = cmd_status,
};
