/*
 * log.h - one logging function for the whole program.
 *
 * Lines go to stderr as "vigil[<subsystem>] <level>: <message>", with the
 * job name when one is set.  Levels follow syslog numbering so a journald
 * reader can map them (sd-daemon "<N>" prefixes are added with
 * VIGIL_LOG_JOURNAL=1).  Anything that came from outside the program is passed
 * through log_escape() first.
 */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* Messages above this level are dropped (default: LOG_LVL_WARNING, or $VIGIL_LOG_LEVEL). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void vigil_log(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(sub, ...) vigil_log(LOG_LVL_ERROR, (sub), __VA_ARGS__)
#define log_warn(sub, ...) vigil_log(LOG_LVL_WARNING, (sub), __VA_ARGS__)
#define log_info(sub, ...) vigil_log(LOG_LVL_INFO, (sub), __VA_ARGS__)
#define log_debug(sub, ...) vigil_log(LOG_LVL_DEBUG, (sub), __VA_ARGS__)

/*
 * Copy src into dst (size dstlen, always NUL-terminated), escaping control
 * characters and non-UTF-8 bytes as \xNN and truncating with "..." past the
 * size.  Returns dst.
 */
char *log_escape(char *dst, size_t dstlen, const char *src);

#endif
