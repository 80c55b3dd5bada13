/*
 * http.c - the libcurl client of the HTTP sources: one reusable handle per
 * fetch, gzip, timeouts, TLS verification, a size cap enforced while
 * receiving, and retries with backoff and jitter on transient failures.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "scrub.h"
#include "secret.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define HTTP_MAX_BACKOFF_MS 30000
#define HTTP_MAX_RETRIES 10

struct http_client {
	CURL *curl;
	struct curl_slist *headers;
	char *url;            /* resolved base URL */
	char *display;        /* "<source> <url as written>" */
	char *name;           /* display plus the note */
	char *bearer, *username, *password;
	int retries;
	int64_t backoff_ms;
	size_t max_bytes;
	struct strbuf body;
	int over_cap;
	char content_type[128];
	uint64_t rng;
	int attempts;         /* of the last request */
	char errbuf[CURL_ERROR_SIZE];
};

/* --- spec checking ------------------------------------------------------ */

static void check_duration(const json_t *cfg, const char *key, struct diag *d, const char *path)
{
	json_t *v = json_object_get(cfg, key);
	char sub[JPATH_MAX];
	int64_t ms;

	if (!v)
		return;
	jpath_key(sub, sizeof(sub), path, key);
	if (!json_is_string(v) || duration_parse(json_string_value(v), &ms))
		diag_add(d, sub, "must be a duration like \"500ms\", \"10s\" or \"2m\"");
}

/* A string that may hold references; secret_only: it must be nothing but references. */
static void check_ref_string(const json_t *v, int secret_only, struct diag *d, const char *sub)
{
	struct vigil_error err = VIGIL_ERROR_INIT;

	if (!json_is_string(v) || !*json_string_value(v))
		diag_add(d, sub, "must be a non-empty string");
	else if (secret_check(json_string_value(v), &err))
		diag_add(d, sub, "%s", err.msg);
	else if (secret_only && !secret_has_ref(json_string_value(v)))
		diag_add(d, sub, "must be a ${env:NAME} or ${file:PATH} reference, not the secret itself");
}

void http_check_config(const json_t *cfg, struct diag *d, const char *path)
{
	json_t *v;
	char sub[JPATH_MAX];

	jpath_key(sub, sizeof(sub), path, "url");
	v = json_object_get(cfg, "url");
	if (!v) {
		diag_add(d, sub, "is required: the server's URL, like \"http://127.0.0.1:9090\"");
	} else {
		check_ref_string(v, 0, d, sub);
		if (json_is_string(v) && strncmp(json_string_value(v), "${", 2) &&
		    strncasecmp(json_string_value(v), "http://", 7) && strncasecmp(json_string_value(v), "https://", 8))
			diag_add(d, sub, "must start with http:// or https://");
	}
	check_duration(cfg, "timeout", d, path);
	check_duration(cfg, "connect_timeout", d, path);
	check_duration(cfg, "retry_backoff", d, path);
	if ((v = json_object_get(cfg, "retries"))) {
		jpath_key(sub, sizeof(sub), path, "retries");
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > HTTP_MAX_RETRIES)
			diag_add(d, sub, "must be an integer in [0, %d]", HTTP_MAX_RETRIES);
	}
	if ((v = json_object_get(cfg, "max_response_bytes"))) {
		jpath_key(sub, sizeof(sub), path, "max_response_bytes");
		if (!json_is_integer(v) || json_integer_value(v) < 1024 || json_integer_value(v) > ((json_int_t)16 << 30))
			diag_add(d, sub, "must be an integer in [1024, 17179869184]");
	}
	if ((v = json_object_get(cfg, "tls_verify"))) {
		jpath_key(sub, sizeof(sub), path, "tls_verify");
		if (!json_is_boolean(v))
			diag_add(d, sub, "must be true or false");
	}
	if ((v = json_object_get(cfg, "ca_file"))) {
		jpath_key(sub, sizeof(sub), path, "ca_file");
		check_ref_string(v, 0, d, sub);
	}
	if ((v = json_object_get(cfg, "headers"))) {
		const char *key;
		json_t *h;

		jpath_key(sub, sizeof(sub), path, "headers");
		if (!json_is_object(v))
			diag_add(d, sub, "must be an object of header names and string values");
		json_object_foreach(json_is_object(v) ? v : NULL, key, h) {
			char item[JPATH_MAX];
			int ok = *key != '\0';

			jpath_key(item, sizeof(item), sub, key);
			for (const char *k = key; *k; k++)
				ok &= (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
				      (*k && strchr("!#$%&'*+-.^_`|~", *k));
			if (!ok)
				diag_add(d, item, "is not a valid header name");
			else
				check_ref_string(h, 0, d, item);
		}
	}
	if ((v = json_object_get(cfg, "bearer_token"))) {
		jpath_key(sub, sizeof(sub), path, "bearer_token");
		check_ref_string(v, 1, d, sub);
	}
	if ((v = json_object_get(cfg, "username"))) {
		jpath_key(sub, sizeof(sub), path, "username");
		check_ref_string(v, 0, d, sub);
	}
	if ((v = json_object_get(cfg, "password"))) {
		jpath_key(sub, sizeof(sub), path, "password");
		check_ref_string(v, 1, d, sub);
	}
	if (!json_object_get(cfg, "username") != !json_object_get(cfg, "password"))
		diag_add(d, path, "\"username\" and \"password\" go together (basic auth)");
	if (json_object_get(cfg, "bearer_token") && json_object_get(cfg, "username"))
		diag_add(d, path, "use either \"bearer_token\" or \"username\"/\"password\", not both");
}

/* --- the client --------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static struct http_stats stats;   /* updated with atomics */

void http_stats_get(struct http_stats *out)
{
	out->transfer_ns = __atomic_load_n(&stats.transfer_ns, __ATOMIC_RELAXED);
	out->bytes = __atomic_load_n(&stats.bytes, __ATOMIC_RELAXED);
	out->requests = __atomic_load_n(&stats.requests, __ATOMIC_RELAXED);
}

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The URL without userinfo, query or fragment, and without a trailing '/'. */
static char *display_url(const char *raw)
{
	const char *scheme = strstr(raw, "://"), *auth, *at, *slash;
	struct strbuf sb = STRBUF_INIT;
	size_t n;

	auth = scheme ? scheme + 3 : raw;
	slash = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(slash - auth));
	strbuf_add(&sb, raw, (size_t)(auth - raw));
	if (at)
		auth = at + 1;
	n = strcspn(auth, "?#");
	strbuf_add(&sb, auth, n);
	while (sb.len > (size_t)(scheme ? scheme + 3 - raw : 0) + 1 && sb.buf[sb.len - 1] == '/')
		sb.buf[--sb.len] = '\0';
	return strbuf_detach(&sb);
}

static int64_t opt_duration(const json_t *cfg, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(cfg, key);
	int64_t ms;

	if (json_is_string(v) && !duration_parse(json_string_value(v), &ms))
		return ms;
	return dflt;
}

static char *resolve_key(const json_t *cfg, const char *key, const char *spec_dir, struct vigil_error *err)
{
	json_t *v = json_object_get(cfg, key);
	char *r;

	if (!json_is_string(v))
		return NULL;
	r = secret_resolve(json_string_value(v), spec_dir, err);
	if (!r)
		vigil_error_prefix(err, "%s", key);
	return r;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_client *c = arg;
	size_t n = size * nmemb;

	if (n > c->max_bytes - c->body.len) {
		c->over_cap = 1;
		return 0;   /* makes curl stop with CURLE_WRITE_ERROR */
	}
	if (!c->body.len) {
		curl_off_t hint = -1;

		/* the declared length (compressed when gzip) is only a hint */
		if (curl_easy_getinfo(c->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &hint) == CURLE_OK &&
		    hint > 0 && (uint64_t)hint < c->max_bytes)
			strbuf_grow(&c->body, (size_t)hint);
	}
	strbuf_add(&c->body, data, n);
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_client *c = arg;
	size_t n = size * nmemb;

	if (n > 13 && !strncasecmp(data, "content-type:", 13)) {
		const char *v = data + 13;
		size_t len = n - 13;

		while (len && (*v == ' ' || *v == '\t'))
			v++, len--;
		while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		if (len >= sizeof(c->content_type))
			len = sizeof(c->content_type) - 1;
		memcpy(c->content_type, v, len);
		c->content_type[len] = '\0';
	}
	return n;
}

struct http_client *http_client_new(const char *source, const json_t *cfg, const char *spec_dir,
                                    struct vigil_error *err)
{
	struct http_client *c = XNEW(struct http_client);
	json_t *v, *h;
	const char *key, *raw = json_string_value(json_object_get(cfg, "url"));
	char *disp;

	pthread_once(&curl_once, curl_init_once);
	disp = display_url(raw ? raw : "");
	c->display = xasprintf("%s %s", source, disp);
	c->name = xstrdup(c->display);
	free(disp);
	c->retries = HTTP_DEFAULT_RETRIES;
	if (json_is_integer(v = json_object_get(cfg, "retries")))
		c->retries = (int)json_integer_value(v);
	c->backoff_ms = opt_duration(cfg, "retry_backoff", HTTP_DEFAULT_BACKOFF_MS);
	c->max_bytes = HTTP_DEFAULT_MAX_BYTES;
	if (json_is_integer(v = json_object_get(cfg, "max_response_bytes")))
		c->max_bytes = (size_t)json_integer_value(v);
	c->rng = (uint64_t)time_mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;

	c->url = resolve_key(cfg, "url", spec_dir, err);
	if (!c->url)
		goto fail;
	if (!secret_has_ref(raw ? raw : ""))   /* a literal ?access_token= is not shown either */
		scrub_register_url(c->url, "[redacted]");
	while (strlen(c->url) > 8 && c->url[strlen(c->url) - 1] == '/')
		c->url[strlen(c->url) - 1] = '\0';
	if (json_object_get(cfg, "bearer_token") && !(c->bearer = resolve_key(cfg, "bearer_token", spec_dir, err)))
		goto fail;
	if (json_object_get(cfg, "username") &&
	    (!(c->username = resolve_key(cfg, "username", spec_dir, err)) ||
	     !(c->password = resolve_key(cfg, "password", spec_dir, err))))
		goto fail;
	if (c->password)   /* a server echoing "Authorization: Basic ..." must not show it */
		scrub_register_basic(c->username, c->password, json_string_value(json_object_get(cfg, "password")));
	c->headers = curl_slist_append(NULL, "Accept: application/json");
	json_object_foreach(json_is_object(h = json_object_get(cfg, "headers")) ? h : NULL, key, v) {
		char *val = secret_resolve(json_string_value(v), spec_dir, err), *line;

		if (!val) {
			vigil_error_prefix(err, "headers.%s", key);
			goto fail;
		}
		line = xasprintf("%s: %s", key, val);
		c->headers = curl_slist_append(c->headers, line);
		free(line);
		free(val);
	}

	c->curl = curl_easy_init();
	if (!c->curl) {
		vigil_error_set(err, VIGIL_E_INTERNAL, "cannot create a curl handle");
		goto fail;
	}
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "vigil/" PACKAGE_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(c->curl, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c->curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)opt_duration(cfg, "connect_timeout", HTTP_DEFAULT_CONNECT_TIMEOUT_MS));
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)opt_duration(cfg, "timeout", HTTP_DEFAULT_TIMEOUT_MS));
	curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_bytes);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	v = json_object_get(cfg, "tls_verify");
	if (json_is_false(v)) {
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (json_object_get(cfg, "ca_file")) {
		char *ca = resolve_key(cfg, "ca_file", spec_dir, err), *path;

		if (!ca)
			goto fail;
		path = (ca[0] != '/' && spec_dir) ? xasprintf("%s/%s", spec_dir, ca) : xstrdup(ca);
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, path);   /* curl copies it */
		free(path);
		free(ca);
	}
	if (c->bearer) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(c->curl, CURLOPT_XOAUTH2_BEARER, c->bearer);
	} else if (c->username) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c->curl, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(c->curl, CURLOPT_PASSWORD, c->password);
	}
	return c;
fail:
	vigil_error_prefix(err, "%s", c->display);
	http_client_free(c);
	return NULL;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	wipe_free(c->url);
	wipe_free(c->bearer);
	wipe_free(c->username);
	wipe_free(c->password);
	free(c->display);
	free(c->name);
	strbuf_release(&c->body);
	free(c);
}

const char *http_client_url(const struct http_client *c)
{
	return c->url;
}

const char *http_client_name(const struct http_client *c)
{
	return c->name;
}

void http_client_set_note(struct http_client *c, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	free(c->name);
	if (!fmt) {
		c->name = xstrdup(c->display);
		return;
	}
	strbuf_addf(&sb, "%s (", c->display);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addch(&sb, ')');
	c->name = strbuf_detach(&sb);
}

/* Transport failures worth another try: the server may come back. */
static int transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/* Sleep before retry number `attempt` (0-based): backoff * 2^attempt, with jitter in [1/2, 1]. */
static void backoff_sleep(struct http_client *c, int attempt, int64_t *slept_ms)
{
	int64_t d = c->backoff_ms;
	struct timespec ts;

	for (int i = 0; i < attempt && d < HTTP_MAX_BACKOFF_MS; i++)
		d *= 2;
	if (d > HTTP_MAX_BACKOFF_MS)
		d = HTTP_MAX_BACKOFF_MS;
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	d = d / 2 + (int64_t)(c->rng % (uint64_t)(d / 2 + 1));
	*slept_ms = d;
	ts.tv_sec = d / 1000;
	ts.tv_nsec = (long)(d % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int http_get(struct http_client *c, const char *url, struct http_response *resp, struct vigil_error *err)
{
	for (int attempt = 0;; attempt++) {
		CURLcode rc;
		long status = 0;
		int64_t t0 = time_mono_ns(), slept;
		char why[CURL_ERROR_SIZE + 64];

		strbuf_reset(&c->body);
		c->attempts = attempt + 1;
		c->over_cap = 0;
		c->content_type[0] = '\0';
		c->errbuf[0] = '\0';
		curl_easy_setopt(c->curl, CURLOPT_URL, url);
		rc = curl_easy_perform(c->curl);
		__atomic_add_fetch(&stats.transfer_ns, time_mono_ns() - t0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&stats.bytes, (uint64_t)c->body.len, __ATOMIC_RELAXED);
		__atomic_add_fetch(&stats.requests, 1, __ATOMIC_RELAXED);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		log_debug("http", "%s: GET -> %s, %zu bytes in %.3f s", c->name,
		          rc == CURLE_OK ? "ok" : curl_easy_strerror(rc), c->body.len,
		          (double)(time_mono_ns() - t0) / 1e9);
		if (c->over_cap || rc == CURLE_FILESIZE_EXCEEDED)
			return vigil_error_set(err, VIGIL_E_LIMIT, "%s: response larger than %zu bytes "
			                       "(raise source.max_response_bytes, or narrow the query)",
			                       c->name, c->max_bytes);
		if (rc == CURLE_OK && status < 500) {
			resp->status = status;
			resp->body = strbuf_str(&c->body);
			resp->len = c->body.len;
			resp->content_type = c->content_type;
			return 0;
		}
		if (rc == CURLE_OK)
			snprintf(why, sizeof(why), "HTTP %ld", status);
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			snprintf(why, sizeof(why), "timed out (%s)", c->errbuf[0] ? c->errbuf : "no answer in time");
		else
			snprintf(why, sizeof(why), "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		if (attempt < c->retries && (rc == CURLE_OK || transient(rc))) {
			backoff_sleep(c, attempt, &slept);
			log_warn("http", "%s: %s; retried after %lld ms (attempt %d of %d)", c->name, why,
			         (long long)slept, attempt + 2, c->retries + 1);
			continue;
		}
		if (rc == CURLE_OK) {
			/* a 5xx that outlived the retries: the caller explains it */
			resp->status = status;
			resp->body = strbuf_str(&c->body);
			resp->len = c->body.len;
			resp->content_type = c->content_type;
			return 0;
		}
		if (attempt)
			return vigil_error_set(err, VIGIL_E_IO, "%s: %s (after %d attempts)", c->name, why, attempt + 1);
		return vigil_error_set(err, VIGIL_E_IO, "%s: %s", c->name, why);
	}
}

void http_add_param(struct strbuf *url, const char *key, const char *value)
{
	char *k = curl_easy_escape(NULL, key, 0), *v = curl_easy_escape(NULL, value, 0);

	strbuf_addf(url, "%c%s=%s", strchr(strbuf_str(url), '?') ? '&' : '?', k ? k : "", v ? v : "");
	curl_free(k);
	curl_free(v);
}

const char *http_body_excerpt(const struct http_response *r, char *buf, size_t len)
{
	return scrub_quote(buf, len, r->body ? r->body : "", r->len, 100);
}

int http_fail_status(struct http_client *c, const struct http_response *r, const char *detail,
                     struct vigil_error *err)
{
	char ex[160], after[40] = "";

	if (c->attempts > 1)
		snprintf(after, sizeof(after), " (after %d attempts)", c->attempts);
	if (detail)
		return vigil_error_set(err, VIGIL_E_IO, "%s: HTTP %ld: %s%s", c->name, r->status, detail, after);
	if (!r->len)
		return vigil_error_set(err, VIGIL_E_IO, "%s: HTTP %ld (empty body)%s", c->name, r->status, after);
	return vigil_error_set(err, VIGIL_E_IO, "%s: HTTP %ld: '%s'%s", c->name, r->status,
	                       http_body_excerpt(r, ex, sizeof(ex)), after);
}

static int starts_with_literal(const char *p, size_t len)
{
	static const char *const words[] = { "true", "false", "null" };

	for (size_t k = 0; k < 3; k++) {
		size_t n = strlen(words[k]);

		if (len >= n && !memcmp(p, words[k], n) && (len == n || !((p[n] | 0x20) >= 'a' && (p[n] | 0x20) <= 'z')))
			return 1;
	}
	return 0;
}

int http_fail_json(struct http_client *c, const struct http_response *r, const char *scan_msg,
                   struct vigil_error *err)
{
	char ex[160], ct[140];
	size_t i = 0;

	while (i < r->len && (r->body[i] == ' ' || r->body[i] == '\n' || r->body[i] == '\r' || r->body[i] == '\t'))
		i++;
	log_escape(ct, sizeof(ct), r->content_type[0] ? r->content_type : "no content type");
	if (!r->len)
		return vigil_error_set(err, VIGIL_E_DATA, "%s: empty response where JSON was expected", c->name);
	if (i < r->len && r->body[i] == '<')
		return vigil_error_set(err, VIGIL_E_DATA, "%s: expected JSON, got an HTML/XML page (%s): '%s'",
		                       c->name, ct, http_body_excerpt(r, ex, sizeof(ex)));
	if (i < r->len && !strchr("{[\"-0123456789", r->body[i]) && !starts_with_literal(r->body + i, r->len - i))
		return vigil_error_set(err, VIGIL_E_DATA, "%s: expected JSON, got %zu bytes of something else "
		                       "(%s): '%s'", c->name, r->len, ct, http_body_excerpt(r, ex, sizeof(ex)));
	return vigil_error_set(err, VIGIL_E_DATA, "%s: %s (response of %zu bytes, %s)", c->name, scan_msg,
	                       r->len, ct);
}
