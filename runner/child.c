/*
 * child.c - fork/exec of external programs with limits, pipes, deadlines
 * and group kills (see child.h).  Everything the child needs is prepared
 * before fork(); the code between fork() and execve() is async-signal-safe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "timefmt.h"
#include "trust.h"
#include "xmalloc.h"
#include "banned.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void close_pair(int p[2])
{
	close_fd(&p[0]);
	close_fd(&p[1]);
}

/* --- in the child: async-signal-safe only ------------------------------- */

static void child_fail(int errpipe, int stage) __attribute__((noreturn));
static void child_fail(int errpipe, int stage)
{
	int msg[2] = { stage, errno };
	ssize_t rc;

	do
		rc = write(errpipe, msg, sizeof(msg));
	while (rc < 0 && errno == EINTR);
	_exit(127);
}

enum { STAGE_SETUP = 1, STAGE_LIMITS, STAGE_DIR, STAGE_USER, STAGE_EXEC };

/*
 * Lower both limits, so the program cannot raise them again.  Where the hard
 * limit cannot be changed (valgrind keeps RLIMIT_NOFILE's), lower the soft one.
 */
static void set_limit(int resource, int64_t value, int errpipe)
{
	struct rlimit rl, old;

	rl.rlim_cur = rl.rlim_max = (rlim_t)value;
	if (setrlimit(resource, &rl) == 0)
		return;
	if (getrlimit(resource, &old) == 0 && (rlim_t)value <= old.rlim_max) {
		rl.rlim_max = old.rlim_max;
		if (setrlimit(resource, &rl) == 0)
			return;
	}
	child_fail(errpipe, STAGE_LIMITS);
}

/* Mark every fd >= 3 close-on-exec; errpipe is close-on-exec already. */
static void close_other_fds(void)
{
	struct rlimit rl;

	if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur > 65536)
		rl.rlim_cur = 65536;
	for (int fd = 3; fd < (int)rl.rlim_cur; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl >= 0 && !(fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
}

static void run_child(const struct child *c, int in[2], int out[2], int errp[2], int errpipe)
{
	struct sigaction sa;
	sigset_t none;

	setpgid(0, 0);
	/* Undo what vigil did to signals: default dispositions, nothing blocked. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(errp[1], 2) < 0)
		child_fail(errpipe, STAGE_SETUP);
	close_other_fds();

	set_limit(RLIMIT_CORE, 0, errpipe);
	if (c->limits.cpu_s > 0)
		set_limit(RLIMIT_CPU, c->limits.cpu_s, errpipe);
	if (c->limits.memory_bytes > 0)
		set_limit(RLIMIT_AS, c->limits.memory_bytes, errpipe);
	if (c->limits.files > 0)
		set_limit(RLIMIT_NOFILE, c->limits.files, errpipe);
	if (c->limits.processes > 0)
		set_limit(RLIMIT_NPROC, c->limits.processes, errpipe);
	if (c->dir && chdir(c->dir))
		child_fail(errpipe, STAGE_DIR);
	if (c->set_user) {
		if (setgroups(1, &c->gid) || setgid(c->gid) || setuid(c->uid))
			child_fail(errpipe, STAGE_USER);
	}
	execve(c->path, c->argv, c->env);
	child_fail(errpipe, STAGE_EXEC);
}

/* --- in the parent ------------------------------------------------------ */

static const char *stage_text(int stage)
{
	switch (stage) {
	case STAGE_SETUP: return "cannot set up its standard streams";
	case STAGE_LIMITS: return "cannot set its resource limits";
	case STAGE_DIR: return "cannot change to its working directory";
	case STAGE_USER: return "cannot switch to its user";
	default: return "cannot execute it";
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int wait_eintr(pid_t pid, int *status, int flags)
{
	pid_t rc;

	do
		rc = waitpid(pid, status, flags);
	while (rc < 0 && errno == EINTR);
	return (int)rc;
}

/*
 * A child that closes its stdin early must not kill vigil with SIGPIPE: the
 * write fails with EPIPE instead.  Done once, only if nobody chose a handler.
 */
static void ignore_sigpipe(void)
{
	static int done;
	struct sigaction sa, old;

	if (done)
		return;
	done = 1;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
}

int child_start(struct child *c, struct vigil_error *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int msg[2];
	ssize_t got;
	pid_t pid;

	c->pid = 0;
	c->in = c->out = c->err = -1;
	ignore_sigpipe();
	if (!c->set_user && geteuid() == 0 && !(c->flags & CHILD_ALLOW_ROOT))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "refusing to run '%s' as root: set a user for it "
		                       "(\"user\" in its exec object, or VIGIL_EXEC_USER), or allow root "
		                       "explicitly with VIGIL_EXEC_ALLOW_ROOT=1", c->path);
	if (c->set_user && geteuid() != 0 && c->uid != geteuid())
		return vigil_error_set(err, VIGIL_E_PLUGIN, "cannot run '%s' as uid %u: vigil is not root",
		                       c->path, (unsigned)c->uid);
	if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(ep, O_CLOEXEC))
		goto sys_fail;
	if (c->flags & CHILD_NO_STDIN) {
		in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in[0] < 0)
			goto sys_fail;
	} else if (pipe2(in, O_CLOEXEC)) {
		goto sys_fail;
	}
	pid = fork();
	if (pid < 0)
		goto sys_fail;
	if (pid == 0) {
		close(ep[0]);
		run_child(c, in, out, errp, ep[1]);
	}
	/* Both sides call setpgid, so the group exists whichever runs first. */
	setpgid(pid, pid);
	close_fd(&ep[1]);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&errp[1]);
	do
		got = read(ep[0], msg, sizeof(msg));
	while (got < 0 && errno == EINTR);
	close_fd(&ep[0]);
	if (got == (ssize_t)sizeof(msg)) {
		int status;

		kill(-pid, SIGKILL);
		wait_eintr(pid, &status, 0);
		close_pair(in);
		close_pair(out);
		close_pair(errp);
		return vigil_error_set(err, VIGIL_E_PLUGIN, "cannot run '%s': %s: %s", c->path,
		                       stage_text(msg[0]), strerror(msg[1]));
	}
	c->pid = pid;
	c->in = in[1];
	c->out = out[0];
	c->err = errp[0];
	if ((c->in >= 0 && set_nonblock(c->in)) || set_nonblock(c->out) || set_nonblock(c->err)) {
		int e = errno;

		child_stop(c, 0);
		return vigil_error_set(err, VIGIL_E_INTERNAL, "cannot set up pipes for '%s': %s", c->path,
		                       strerror(e));
	}
	return 0;
sys_fail:
	{
		int e = errno;

		close_pair(in);
		close_pair(out);
		close_pair(errp);
		close_pair(ep);
		return vigil_error_set(err, VIGIL_E_INTERNAL, "cannot start '%s': %s", c->path, strerror(e));
	}
}

void child_close_pipes(struct child *c)
{
	close_fd(&c->in);
	close_fd(&c->out);
	close_fd(&c->err);
}

int child_try_reap(struct child *c, int *status)
{
	siginfo_t si;

	if (!c->pid)
		return 0;
	/* Look without reaping, so the group can be killed while its id is still ours. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
		si.si_pid = c->pid;
	if (si.si_pid == 0)
		return 0;
	kill(-c->pid, SIGKILL);
	if (wait_eintr(c->pid, status, 0) < 0)
		*status = 0;
	c->pid = 0;
	return 1;
}

int child_stop(struct child *c, int grace_ms)
{
	int status = 0;
	int64_t until;

	if (!c->pid) {
		child_close_pipes(c);
		return 0;
	}
	if (!child_try_reap(c, &status)) {
		kill(-c->pid, SIGTERM);
		until = time_mono_ns() + (int64_t)grace_ms * 1000000;
		while (!child_try_reap(c, &status)) {
			if (time_mono_ns() >= until) {
				kill(-c->pid, SIGKILL);
				child_try_reap(c, &status);
				if (c->pid) {
					wait_eintr(c->pid, &status, 0);
					c->pid = 0;
				}
				break;
			}
			usleep(1000);
		}
	}
	child_close_pipes(c);
	return status;
}

void child_status_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const char *abbrev = sigabbrev_np(sig);

		snprintf(buf, len, "killed by signal %d (SIG%s)%s", sig, abbrev ? abbrev : "?",
		         sig == SIGXCPU ? ": CPU time limit" : "");
	} else {
		snprintf(buf, len, "ended with wait status %#x", (unsigned)status);
	}
}

/* --- I/O ---------------------------------------------------------------- */

static void append_capped(struct strbuf *sb, const char *data, size_t n, size_t max, size_t *dropped)
{
	size_t room = sb->len < max ? max - sb->len : 0;

	if (n > room) {
		*dropped += n - room;
		n = room;
	}
	if (n)
		strbuf_add(sb, data, n);
}

/* Read what fd has now.  Returns bytes read, 0 on EOF, -1 when nothing is ready (or on error). */
static ssize_t read_some(int fd, char *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

void child_drain_stderr(struct child *c, struct strbuf *err, size_t err_max, size_t *dropped)
{
	char buf[8192];
	ssize_t n;

	while (c->err >= 0) {
		n = read_some(c->err, buf, sizeof(buf));
		if (n == 0) {
			close_fd(&c->err);
			break;
		}
		if (n < 0)
			break;
		append_capped(err, buf, (size_t)n, err_max, dropped);
	}
}

enum child_io_result child_io(struct child *c, struct child_io *io, int64_t deadline_ns, int *sys_errno)
{
	char buf[65536];

	int exited = 0;   /* the child was seen gone: one more look at its pipes, without waiting */

	*sys_errno = 0;
	if (io->done && io->done(io->out, io->arg))
		return CHILD_IO_DONE;
	for (;;) {
		struct pollfd p[3];
		int np = 0, iin = -1, iout = -1, ierr = -1, rc;
		int64_t left = deadline_ns - time_mono_ns();

		if (c->in >= 0 && io->in_off < io->in_len) {
			iin = np;
			p[np++] = (struct pollfd){ .fd = c->in, .events = POLLOUT };
		} else if (c->in >= 0 && io->close_in) {
			close_fd(&c->in);
		}
		if (c->out >= 0) {
			iout = np;
			p[np++] = (struct pollfd){ .fd = c->out, .events = POLLIN };
		}
		if (c->err >= 0) {
			ierr = np;
			p[np++] = (struct pollfd){ .fd = c->err, .events = POLLIN };
		}
		if (iout < 0)
			return CHILD_IO_EOF;
		if (left <= 0)
			return CHILD_IO_TIMEOUT;
		/* Wake up every 100 ms to notice a child that died while a grandchild keeps its stdout. */
		rc = poll(p, (nfds_t)np, exited ? 0 : (int)(left > 100000000 ? 100 : (left + 999999) / 1000000));
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			*sys_errno = errno;
			return CHILD_IO_FAILED;
		}
		if (rc == 0) {
			siginfo_t si;

			if (exited)
				return CHILD_IO_EXITED;
			memset(&si, 0, sizeof(si));
			/*
			 * It may have written its answer and exited after poll() looked:
			 * read what the pipes hold before calling it an exit without one.
			 */
			if (c->pid && waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
				exited = 1;
			continue;
		}
		if (iin >= 0 && (p[iin].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n;

			do
				n = write(c->in, io->in + io->in_off, io->in_len - io->in_off);
			while (n < 0 && errno == EINTR);
			if (n < 0 && errno == EPIPE) {
				close_fd(&c->in);
				return CHILD_IO_CLOSED_STDIN;
			}
			if (n < 0 && errno != EAGAIN) {
				*sys_errno = errno;
				return CHILD_IO_FAILED;
			}
			if (n > 0)
				io->in_off += (size_t)n;
		}
		if (ierr >= 0 && (p[ierr].revents & (POLLIN | POLLERR | POLLHUP)))
			child_drain_stderr(c, io->err, io->err_max, &io->err_dropped);
		if (iout >= 0 && (p[iout].revents & (POLLIN | POLLERR | POLLHUP))) {
			ssize_t n = read_some(c->out, buf, sizeof(buf));

			if (n == 0) {
				close_fd(&c->out);
				/* Take what is left on stderr: it usually says why. */
				child_drain_stderr(c, io->err, io->err_max, &io->err_dropped);
				if (!io->done)
					return CHILD_IO_DONE;
				return io->done(io->out, io->arg) ? CHILD_IO_DONE : CHILD_IO_EOF;
			}
			if (n > 0) {
				if (io->out->len + (size_t)n > io->out_max)
					return CHILD_IO_TOO_BIG;
				strbuf_add(io->out, buf, (size_t)n);
				if (io->done && io->done(io->out, io->arg))
					return CHILD_IO_DONE;
			}
		}
	}
}

/* --- preparation -------------------------------------------------------- */

static int usable(const char *path, struct vigil_error *err)
{
	struct stat st;

	if (stat(path, &st))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "executable '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "executable '%s': not a regular file", path);
	if (access(path, X_OK))
		return vigil_error_set(err, VIGIL_E_PLUGIN, "executable '%s': not executable: %s", path,
		                       strerror(errno));
	return trust_check(path, "executable", err);
}

static char *absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

char *child_resolve(const char *name, const char *base, const char *const *dirs, size_t n_dirs,
                    struct vigil_error *err)
{
	char *path;

	if (!*name) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "empty executable name");
		return NULL;
	}
	if (strchr(name, '/')) {
		char *joined = name[0] == '/' || !base ? xstrdup(name) : xasprintf("%s/%s", base, name);

		path = absolute(joined);
		free(joined);
		if (usable(path, err)) {
			free(path);
			return NULL;
		}
		return path;
	}
	for (size_t i = 0; i < n_dirs; i++) {
		struct stat st;

		path = xasprintf("%s/%s", dirs[i], name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			char *abs = absolute(path);

			free(path);
			if (usable(abs, err)) {
				free(abs);
				return NULL;
			}
			return abs;
		}
		free(path);
	}
	vigil_error_set(err, VIGIL_E_PLUGIN, "executable '%s' not found in the detector directories", name);
	return NULL;
}

int child_lookup_user(const char *name, uid_t *uid, gid_t *gid, struct vigil_error *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long num;
	int rc;

	errno = 0;
	num = strtoul(name, &end, 10);
	if (*name && !*end) {
		rc = getpwuid_r((uid_t)num, &pw, buf, sizeof(buf), &res);
		if (!res) {
			*uid = (uid_t)num;
			*gid = (gid_t)num;
			return 0;
		}
	} else {
		rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	}
	if (!res)
		return vigil_error_set(err, VIGIL_E_PLUGIN, "unknown user '%s'%s%s", name, rc ? ": " : "",
		                       rc ? strerror(rc) : "");
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

void child_env_set(struct child_env *e, const char *key, const char *value)
{
	size_t klen = strlen(key);
	char *kv = xasprintf("%s=%s", key, value);

	for (size_t i = 0; i < e->n; i++) {
		if (!strncmp(e->v[i], key, klen) && e->v[i][klen] == '=') {
			free(e->v[i]);
			e->v[i] = kv;
			return;
		}
	}
	if (e->n + 2 > e->alloc) {
		e->alloc = e->alloc ? e->alloc * 2 : 16;
		e->v = xreallocarray(e->v, e->alloc, sizeof(char *));
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

void child_env_pass(struct child_env *e, const char *key)
{
	const char *v = getenv(key);

	if (v)
		child_env_set(e, key, v);
}

void child_env_release(struct child_env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = e->alloc = 0;
}
