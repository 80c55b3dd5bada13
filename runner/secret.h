/*
 * secret.h - ${env:NAME} and ${file:PATH} references in spec strings.
 *
 * A spec never holds a secret itself, only a reference, resolved at run
 * time.  Resolved values are never logged or echoed: errors name the
 * reference, not the value.  "$${" stands for a literal "${".
 */
#ifndef VIGIL_SECRET_H
#define VIGIL_SECRET_H

#include "error.h"

/* 1 if s contains a reference, else 0. */
int secret_has_ref(const char *s);

/* Check the syntax of every reference in s.  Returns 0, or -1 with err set. */
int secret_check(const char *s, struct vigil_error *err);

/*
 * Return a newly allocated copy of s with references replaced by their
 * values (a file's content loses one trailing newline; relative paths are
 * taken from base_dir when it is not NULL).  NULL with err set when a
 * variable is unset or a file cannot be read (capped at 64 KiB).
 */
char *secret_resolve(const char *s, const char *base_dir, struct vigil_error *err);

#endif
