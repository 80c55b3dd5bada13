/*
 * child.h - running a child process safely (after git's run-command).
 *
 * The caller prepares everything before the fork: the resolved path, argv,
 * the complete environment, limits, the user to run as.  Between fork and
 * execve the child makes only async-signal-safe calls: a new process group,
 * its three pipes on fds 0-2, every other fd closed, rlimits (core 0 always;
 * CPU, address space, open files, processes when set), the working
 * directory, the user; then execve of the path (never a shell).  An exec
 * failure is reported to the parent through a close-on-exec pipe, so
 * child_start() fails with the errno instead of returning a process that
 * exits 127.
 *
 * A child is stopped as a group: SIGTERM to the process group, a grace
 * period, then SIGKILL; the group is always killed before the leader is
 * reaped, so the group id cannot have been reused and grandchildren that
 * kept running (or kept a pipe open) go too.  A grandchild that leaves the
 * group with setsid() escapes; see docs/exec-protocol.md.
 */
#ifndef VIGIL_CHILD_H
#define VIGIL_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "strbuf.h"

/* Resource limits of a child; 0 leaves a limit as inherited (core is always 0). */
struct child_limits {
	int64_t cpu_s;          /* RLIMIT_CPU, seconds of CPU time */
	int64_t memory_bytes;   /* RLIMIT_AS */
	int64_t files;          /* RLIMIT_NOFILE */
	int64_t processes;      /* RLIMIT_NPROC (counts every process of the user; root is exempt) */
};

enum child_flags {
	CHILD_ALLOW_ROOT = 1u << 0,   /* may run as root (otherwise refused unless a user is set) */
	CHILD_NO_STDIN = 1u << 1,     /* stdin is /dev/null */
};

struct child {
	/* Set by the caller before child_start(). */
	const char *path;             /* absolute path of the executable */
	char *const *argv;            /* NULL-terminated; argv[0] is shown in ps */
	char *const *env;             /* the whole environment, NULL-terminated */
	const char *dir;              /* working directory, or NULL to inherit */
	struct child_limits limits;
	int set_user;                 /* switch to uid/gid (vigil must be root) */
	uid_t uid;
	gid_t gid;
	unsigned flags;               /* enum child_flags */

	/* Set by child_start(): the parent's ends, non-blocking and close-on-exec. */
	pid_t pid;                    /* also the process group id; 0 when not running */
	int in, out, err;             /* -1 when closed */
};

#define CHILD_INIT { .pid = 0, .in = -1, .out = -1, .err = -1 }

/* Start c.  Returns 0, or -1 with err set (nothing is left running). */
int child_start(struct child *c, struct vigil_error *err);

/* Close the parent's pipe ends that are still open. */
void child_close_pipes(struct child *c);

/*
 * Reap c without waiting: 1 and *status when it has exited, 0 while it
 * runs.  The rest of its group is killed first.
 */
int child_try_reap(struct child *c, int *status);

/*
 * Stop c and its group: SIGTERM, up to grace_ms for it to exit, then
 * SIGKILL; reap it (waitpid loops on EINTR) and close its pipes.  (To let
 * a worker finish on its own, close its stdin and wait before this.)  Returns
 * the wait status.  No-op returning 0 when c is not running.
 */
int child_stop(struct child *c, int grace_ms);

/* Describe a wait status: "exited with status 3", "killed by signal 11 (SIGSEGV)". */
void child_status_text(int status, char *buf, size_t len);

/*
 * Resolve an executable: a name with a slash is taken as is (relative to
 * base when relative and base is not NULL); a bare name is searched in each
 * of dirs.  The result is an absolute path to a regular file the caller may
 * execute.  Returns the path (free it), or NULL with err set.
 */
char *child_resolve(const char *name, const char *base, const char *const *dirs, size_t n_dirs,
                    struct vigil_error *err);

/*
 * The user to run children as: look up name (a user name or a number) with
 * getpwnam_r.  Returns 0, or -1 with err set.
 */
int child_lookup_user(const char *name, uid_t *uid, gid_t *gid, struct vigil_error *err);

/* One exchange with a running child, driven by child_io(). */
struct child_io {
	const char *in;               /* bytes to write to stdin (may be NULL) */
	size_t in_len, in_off;
	int close_in;                 /* close stdin once everything is written */
	struct strbuf *out;           /* stdout is appended here */
	size_t out_max;               /* more than this in out: CHILD_IO_TOO_BIG */
	/* Framing: the length of the complete response in out, or 0 (NULL: read to EOF). */
	size_t (*done)(const struct strbuf *out, void *arg);
	void *arg;
	struct strbuf *err;           /* stderr is appended here, up to err_max bytes */
	size_t err_max;
	size_t err_dropped;           /* stderr bytes past err_max, counted and dropped */
};

enum child_io_result {
	CHILD_IO_DONE = 0,            /* done() said so (or EOF when done is NULL) */
	CHILD_IO_EOF,                 /* stdout closed before a complete response */
	CHILD_IO_EXITED,              /* the child exited (its stdout may live on in a grandchild) */
	CHILD_IO_TIMEOUT,             /* the deadline passed */
	CHILD_IO_TOO_BIG,             /* stdout exceeded out_max */
	CHILD_IO_CLOSED_STDIN,        /* the child closed its stdin before reading the request */
	CHILD_IO_FAILED,              /* poll/read/write failed (errno kept in *sys_errno) */
};

/*
 * Write io->in, read stdout and stderr in one poll() loop until the
 * response is complete, stdout closes, or deadline_ns (time_mono_ns clock)
 * passes.  Never blocks past the deadline.
 */
enum child_io_result child_io(struct child *c, struct child_io *io, int64_t deadline_ns, int *sys_errno);

/* Read whatever stderr holds now without blocking (up to io->err_max). */
void child_drain_stderr(struct child *c, struct strbuf *err, size_t err_max, size_t *dropped);

/* An environment under construction (NULL-terminated array of "K=V"). */
struct child_env {
	char **v;
	size_t n, alloc;
};

#define CHILD_ENV_INIT { NULL, 0, 0 }

/* Set K to V (replacing an earlier K). */
void child_env_set(struct child_env *e, const char *key, const char *value);
/* Copy K from vigil's own environment if set. */
void child_env_pass(struct child_env *e, const char *key);
void child_env_release(struct child_env *e);

#endif
