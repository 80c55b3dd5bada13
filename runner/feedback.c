/* feedback.c - the checks every way of giving feedback shares (feedback.h). */
#include <string.h>

#include "feedback.h"
#include "banned.h"

int feedback_check(const char *verdict, const char *note, struct vigil_error *err)
{
	if (!verdict || (strcmp(verdict, "real") && strcmp(verdict, "false") && strcmp(verdict, "expected")))
		return vigil_error_set(err, VIGIL_E_USAGE, "verdict: must be \"real\", \"false\" or \"expected\"");
	if (!note)
		return 0;
	if (strlen(note) > FEEDBACK_NOTE_MAX)
		return vigil_error_set(err, VIGIL_E_USAGE, "note: longer than %d bytes", FEEDBACK_NOTE_MAX);
	for (const unsigned char *p = (const unsigned char *)note; *p; p++)
		if (*p < 0x20 && *p != '\n' && *p != '\t')
			return vigil_error_set(err, VIGIL_E_USAGE, "note: has a control character");
	return 0;
}
