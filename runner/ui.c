/*
 * ui.c - the web UI's routes: the HTML shell of every page and the
 * embedded assets (runner/ui-assets.h).
 *
 * The pages are rendered in the browser by the UI's modules from the JSON
 * API, so nothing here formats user data.  Assets are revalidated by ETag
 * (a new vigil serves new files at the same URLs).
 */
#include "config.h"

#include <string.h>

#include "ui.h"
#include "ui-assets.h"
#include "banned.h"

const char ui_csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                      "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
                      "frame-ancestors 'none'";

static const struct ui_asset *asset_find(const char *url)
{
	for (const struct ui_asset *a = ui_assets; a->url; a++)
		if (!strcmp(a->url, url))
			return a;
	return NULL;
}

static void add_security_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", ui_csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (allow)
		MHD_add_response_header(r, "Allow", allow);
	add_security_headers(r);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const struct ui_asset *a, int revalidate)
{
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	int fresh = revalidate && inm && strstr(inm, a->etag);
	struct MHD_Response *r = MHD_create_response_from_buffer(fresh ? 0 : a->len, (void *)a->data,
	                                                         MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", a->type);
	if (revalidate) {
		MHD_add_response_header(r, "ETag", a->etag);
		MHD_add_response_header(r, "Cache-Control", "no-cache");
	} else {
		MHD_add_response_header(r, "Cache-Control", "no-store");
	}
	add_security_headers(r);
	ret = MHD_queue_response(c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static int is_page(const char *url)
{
	return !strcmp(url, "/") || !strcmp(url, "/detectors") || !strncmp(url, "/jobs/", 6) ||
	       !strncmp(url, "/incidents/", 11);
}

int ui_handle(struct MHD_Connection *c, const char *url, const char *method, enum MHD_Result *ret)
{
	int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	const struct ui_asset *a;

	if (strncmp(url, "/ui/", 4) && !is_page(url))
		return 0;
	if (!get) {
		*ret = send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed (use GET)\n", "GET");
		return 1;
	}
	if (is_page(url)) {
		/* every page is the same shell: the modules read the URL and the API */
		*ret = send_asset(c, asset_find("/ui/index.html"), 0);
		return 1;
	}
	a = asset_find(url);
	*ret = a ? send_asset(c, a, 1) : send_text(c, MHD_HTTP_NOT_FOUND, "no such file\n", NULL);
	return 1;
}
