/* error.c - the fixed-size error record shared by every subsystem. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "scrub.h"

int vigil_error_set(struct vigil_error *err, enum vigil_error_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != VIGIL_E_NONE)
		return -1;
	err->code = code == VIGIL_E_NONE ? VIGIL_E_INTERNAL : code;
	va_start(ap, fmt);
	scrub_vformat(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int vigil_error_prefix(struct vigil_error *err, const char *fmt, ...)
{
	char prefix[512], old[sizeof(err->msg)];
	va_list ap;

	if (!err || err->code == VIGIL_E_NONE)
		return -1;
	va_start(ap, fmt);
	scrub_vformat(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return -1;
}

void vigil_error_clear(struct vigil_error *err)
{
	if (err) {
		err->code = VIGIL_E_NONE;
		err->msg[0] = '\0';
	}
}
