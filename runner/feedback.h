/*
 * feedback.h - what people say about an incident: a real problem, a false
 * alarm, or expected (a deploy, a holiday), with an optional note, who said
 * it and when.  Given with `vigil feedback` or POST
 * /api/incidents/{id}/feedback; stored (schema version 5), newest last.
 */
#ifndef VIGIL_FEEDBACK_H
#define VIGIL_FEEDBACK_H

#include "error.h"

#define FEEDBACK_NOTE_MAX 1000
#define FEEDBACK_WHO_MAX 128

/* Check a verdict ("real", "false", "expected") and a note (NULL: none); 0, or -1 with err set. */
int feedback_check(const char *verdict, const char *note, struct vigil_error *err);

#endif
