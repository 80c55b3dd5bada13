/*
 * redact.h - what looks like a credential, and showing things without it.
 *
 * One policy for every place that shows configuration: a name (a spec key,
 * an HTTP header, a URL query parameter) looks like a credential when it
 * contains key, token, secret, auth, pass, pwd, session, signature,
 * credential, cookie, private, bearer, webhook, jwt, csrf or xsrf, or is
 * (or has the word) sig, pw, sid or code (any case).  Its value is never
 * shown.  URLs lose their user information and the values of
 * credential-looking query parameters.
 */
#ifndef VIGIL_REDACT_H
#define VIGIL_REDACT_H

#include <jansson.h>
#include <stddef.h>

#define REDACTED "[redacted]"

/* 1 if the name (len bytes) looks like it names a credential, else 0. */
int redact_name_is_secret(const char *name, size_t len);

/*
 * A newly allocated copy of s where, if s holds URLs ("scheme://..."), user
 * information and the values of credential-looking query parameters are
 * replaced by REDACTED.  Other text is copied unchanged.
 */
char *redact_url(const char *s);

/*
 * A deep copy of a spec: the value of every key that looks like a
 * credential becomes REDACTED, and every string goes through redact_url().
 */
json_t *redact_spec(const json_t *spec);

#endif
