/*
 * ui-assets.h - the web UI's files, compiled into vigil.
 *
 * The table is generated at build time by ui/embed.sh from ui/ and from
 * uPlot's files in node_modules/ (fetched by scripts/setup.sh with the
 * versions and integrity hashes of package-lock.json), so the daemon serves
 * the UI without reading files or reaching any network.
 */
#ifndef VIGIL_UI_ASSETS_H
#define VIGIL_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
	const char *url;           /* "/ui/app.js" */
	const char *type;          /* Content-Type */
	const char *etag;          /* quoted: the file's CRC and size */
	const unsigned char *data;
	size_t len;
};

/* Ends with an entry whose url is NULL. */
extern const struct ui_asset ui_assets[];

#endif
