/*
 * incident-hints.h - root-cause hints for one stored incident, computed
 * when it is looked at: the group is the incident and the job's other
 * anomaly incidents open within INCIDENT_HINTS_PAD_MS of it (one per
 * series), the normal series are the job's other stored series (those of
 * its latest run), and the hints are explain_builtin()'s (runner/explain.h):
 * which label values the group shares and the normal series don't, and
 * which series moved first.  A job's explain executable is not run here.
 */
#ifndef VIGIL_INCIDENT_HINTS_H
#define VIGIL_INCIDENT_HINTS_H

#include <jansson.h>

#include "store.h"

#define INCIDENT_HINTS_PAD_MS (30LL * 60 * 1000)
/* The job's incidents looked at (the newest). */
#define INCIDENT_HINTS_MAX 1000

/* The hints (a new object of explain.h's form), or NULL when the incident fired alone or the store cannot tell. */
json_t *incident_hints(struct store *st, const struct incident *inc);

#endif
