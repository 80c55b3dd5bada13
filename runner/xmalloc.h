/*
 * xmalloc.h - allocation that never returns NULL (tmux/git style).
 * Out of memory in the core is fatal: the process logs and aborts.  Sizes
 * are checked for overflow.  Sizes that come from outside are capped by the
 * caller before they get here.
 */
#ifndef VIGIL_XMALLOC_H
#define VIGIL_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Allocate and format; never NULL. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define XNEW(type) ((type *)xcalloc(1, sizeof(type)))
#define XNEWARRAY(type, n) ((type *)xreallocarray(NULL, (n), sizeof(type)))

#endif
