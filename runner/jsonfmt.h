/*
 * jsonfmt.h - JSON text for people and programs: real numbers in their
 * shortest form that reads back to the same double (578.7, never
 * 578.70000000000005), still marked as reals ("5.0").
 */
#ifndef VIGIL_JSONFMT_H
#define VIGIL_JSONFMT_H

#include <jansson.h>
#include <stdio.h>

/* As json_dumps(j, flags), with shortest round-trip reals.  NULL on failure; caller frees. */
char *jsonfmt_dumps(const json_t *j, size_t flags);

/* As json_dumpf(j, out, flags), the same way.  Returns 0, or -1. */
int jsonfmt_dumpf(const json_t *j, FILE *out, size_t flags);

#endif
