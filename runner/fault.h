/*
 * fault.h - fault injection for tests, compiled only with
 * --enable-fault-injection (the default of --enable-debug builds, which the
 * test suite uses).  Production builds have none of it.
 *
 * VIGIL_FAULT_ENOSPC=FILE: while FILE exists, every write of the SQLite
 * store (database, journal, WAL) fails as on a full disk (SQLITE_FULL,
 * "database or disk is full").  Lets tests fill "the disk" without root
 * and without a small tmpfs.
 */
#ifndef VIGIL_FAULT_H
#define VIGIL_FAULT_H

/* Install the store's fault-injecting SQLite VFS if asked by the environment (idempotent). */
void fault_sqlite_install(void);

#endif
