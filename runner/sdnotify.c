/* sdnotify.c - sd_notify() for `vigil serve`, when built with libsystemd (see sdnotify.h). */
#include "config.h"

#include <stdint.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "sdnotify.h"
#include "banned.h"

#ifdef HAVE_LIBSYSTEMD
static int64_t last_ping_ms = INT64_MIN;

void sdnotify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void sdnotify_watchdog(int64_t now_ms)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || !usec)
		return;
	if (last_ping_ms != INT64_MIN && now_ms - last_ping_ms < (int64_t)(usec / 2000))
		return;
	last_ping_ms = now_ms;
	sd_notify(0, "WATCHDOG=1");
}

void sdnotify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
#else
void sdnotify_ready(const char *status)
{
	(void)status;
}

void sdnotify_watchdog(int64_t now_ms)
{
	(void)now_ms;
}

void sdnotify_stopping(void)
{
}
#endif
