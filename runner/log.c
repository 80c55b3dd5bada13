/* log.c - stderr logging with levels, a subsystem tag and escaping. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "log.h"
#include "scrub.h"
#include "banned.h"

static enum log_level max_level = LOG_LVL_WARNING;
static int level_from_env = 0;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERROR: return "error";
	case LOG_LVL_WARNING: return "warning";
	case LOG_LVL_INFO: return "info";
	default: return "debug";
	}
}

static void read_env_level(void)
{
	const char *s = getenv("VIGIL_LOG_LEVEL");

	level_from_env = 1;
	if (!s)
		return;
	if (!strcmp(s, "error"))
		max_level = LOG_LVL_ERROR;
	else if (!strcmp(s, "warning"))
		max_level = LOG_LVL_WARNING;
	else if (!strcmp(s, "info"))
		max_level = LOG_LVL_INFO;
	else if (!strcmp(s, "debug"))
		max_level = LOG_LVL_DEBUG;
}

void log_set_level(enum log_level level)
{
	level_from_env = 1;
	max_level = level;
}

enum log_level log_get_level(void)
{
	if (!level_from_env)
		read_env_level();
	return max_level;
}

void vigil_log(enum log_level level, const char *subsys, const char *fmt, ...)
{
	int saved_errno = errno;
	char msg[2048];
	va_list ap;

	if (level > log_get_level()) {
		errno = saved_errno;
		return;
	}
	va_start(ap, fmt);
	scrub_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (getenv("VIGIL_LOG_JOURNAL") && !strcmp(getenv("VIGIL_LOG_JOURNAL"), "1"))
		fprintf(stderr, "<%d>", (int)level);
	fprintf(stderr, "vigil[%s] %s: %s\n", subsys ? subsys : "main", level_name(level), msg);
	pthread_mutex_unlock(&log_lock);
	errno = saved_errno;
}

char *log_escape(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)src;

	if (!dstlen)
		return dst;
	for (; *s; s++) {
		char tmp[4];
		size_t k = 0;

		if (*s < 0x20 || *s == 0x7f) {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[*s >> 4];
			tmp[k++] = hex[*s & 15];
		} else {
			tmp[k++] = (char)*s;
		}
		if (o + k + 4 > dstlen) {
			if (dstlen >= 4) {
				o = o > dstlen - 4 ? dstlen - 4 : o;
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, tmp, k);
		o += k;
	}
	dst[o < dstlen ? o : dstlen - 1] = '\0';
	return dst;
}
