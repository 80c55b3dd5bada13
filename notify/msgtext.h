/*
 * msgtext.h - putting outside text into messages safely.
 *
 * Series names, labels and reasons come from data sources and plugins: they
 * may hold invalid UTF-8, control characters, or the characters Slack's
 * mrkdwn treats as markup (& < >).  These helpers copy such text within a
 * byte budget, never cutting a UTF-8 sequence, an entity (&amp;) or a link
 * (<url|label>) in half.  Budgets are in bytes: Slack counts characters, and
 * a character is at least one byte, so a byte budget is always safe.
 */
#ifndef VIGIL_MSGTEXT_H
#define VIGIL_MSGTEXT_H

#include <jansson.h>
#include <stddef.h>

#include "strbuf.h"

enum msgtext_flags {
	MSGTEXT_MRKDWN = 1 << 0,   /* escape & < > as &amp; &lt; &gt; (Slack's rule for user data) */
	MSGTEXT_ONELINE = 1 << 1,  /* newlines and tabs become spaces (other control characters always do) */
	MSGTEXT_NOTICK = 1 << 2,   /* ` becomes ' (the text goes inside a `code` span) */
};

#define MSGTEXT_ELLIPSIS "\xe2\x80\xa6"   /* U+2026, 3 bytes */

/*
 * Append s to sb, at most max bytes of output; when s does not fit, it is cut
 * at a character boundary and ends with an ellipsis (within max).  Invalid
 * UTF-8 becomes U+FFFD.  Returns 1 if s was cut, else 0.
 */
int msgtext_append(struct strbuf *sb, const char *s, size_t max, unsigned flags);

/* The number of bytes msgtext_append would write for s with no budget. */
size_t msgtext_len(const char *s, unsigned flags);

/*
 * Shorten sb to at most max bytes counted from start, for text that is
 * already mrkdwn (a template's output): cut at a character boundary, before
 * any unfinished "&...;" entity or "<...>" sequence, then add an ellipsis.
 * Returns 1 if it cut.
 */
int msgtext_cut(struct strbuf *sb, size_t start, size_t max);

/* A JSON string of s made valid UTF-8 (and without control characters but \n), at most max bytes. */
json_t *msgtext_json(const char *s, size_t max);

/*
 * A number for people: 4 significant digits ("95.91", "25.86", "0.001234"),
 * whole from 1000 on ("12346"), "-" for NaN.  Every message uses the same
 * precision; msgtext_number_short is the same (kept for estimates).
 */
void msgtext_number(char *buf, size_t len, double v);
void msgtext_number_short(char *buf, size_t len, double v);

#endif
