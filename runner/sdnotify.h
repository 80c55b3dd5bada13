/*
 * sdnotify.h - telling systemd how `vigil serve` is doing (Type=notify).
 *
 * Built on libsystemd's sd_notify() when configure found libsystemd; without
 * it, or when the daemon is not started by systemd ($NOTIFY_SOCKET unset),
 * every call does nothing.
 */
#ifndef VIGIL_SDNOTIFY_H
#define VIGIL_SDNOTIFY_H

#include <stdint.h>

/* READY=1 with a one-line status. */
void sdnotify_ready(const char *status);

/* WATCHDOG=1 when half of WatchdogSec= has passed since the last one (now: monotonic ms). */
void sdnotify_watchdog(int64_t now_ms);

/* STOPPING=1. */
void sdnotify_stopping(void);

#endif
