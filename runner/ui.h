/*
 * ui.h - the web UI of `vigil serve` (docs/ui.md), on the API's listener.
 *
 * Pages are one HTML shell that loads the UI's JavaScript modules, which
 * read the JSON API like any other client: the server renders no user data
 * into HTML.  Every answer carries a strict Content-Security-Policy (no
 * inline script or style, nothing from another origin).
 */
#ifndef VIGIL_UI_H
#define VIGIL_UI_H

#include <microhttpd.h>

/*
 * Answer url if it is one of the UI's: a page (/, /jobs/..., /incidents/...,
 * /detectors) or an asset (/ui/...).  Returns 1 with *ret set when it
 * queued an answer, 0 when url is not the UI's.
 */
int ui_handle(struct MHD_Connection *c, const char *url, const char *method, enum MHD_Result *ret);

/* The Content-Security-Policy of every UI answer. */
extern const char ui_csp[];

#endif
