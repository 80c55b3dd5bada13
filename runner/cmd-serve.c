/* cmd-serve.c - `vigil serve`: run every job of a spec directory on its schedule. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cmd.h"
#include "log.h"
#include "paths.h"
#include "serve.h"
#include "timefmt.h"
#include "run-pool.h"
#include "run-worker.h"
#include "xmalloc.h"
#include "banned.h"

#define TOKEN_MAX 4096

/* The token from a file (one line) or $VIGIL_API_TOKEN; NULL if neither.  *bad on error. */
static char *read_token(const char *file, int *bad)
{
	char buf[TOKEN_MAX + 2];
	struct stat st;
	size_t n;
	FILE *f;

	*bad = 0;
	if (!file) {
		const char *env = getenv("VIGIL_API_TOKEN");

		return env && *env ? xstrdup(env) : NULL;
	}
	f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "vigil serve: --token-file '%s': %s\n", file, strerror(errno));
		*bad = 1;
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		log_warn("serve", "token file '%s' is readable by others (chmod 600 it)", file);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (!n || n > TOKEN_MAX || strchr(buf, '\n')) {
		fprintf(stderr, "vigil serve: --token-file '%s': must hold one line of 1 to %d bytes\n", file, TOKEN_MAX);
		*bad = 1;
		return NULL;
	}
	return xstrdup(buf);
}

static int duration_opt(const struct cmd_entry *self, const char *name, const char *arg, int64_t *ms)
{
	if (duration_parse(arg, ms))
		return cmd_usage_error(self, "--%s: '%s' is not a duration (e.g. 30s, 5m)", name, arg);
	return 0;
}

static int cmd_serve(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "specs", required_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'S' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "grace", required_argument, NULL, 'g' },
		{ "lease", required_argument, NULL, 'L' },
		{ "rescan", required_argument, NULL, 'r' },
		{ "series-retention", required_argument, NULL, 'R' },
		{ "node", required_argument, NULL, 'N' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-watch", no_argument, NULL, 'w' },
		{ "specs-read-only", no_argument, NULL, 'O' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "worker-runs", required_argument, NULL, 'm' },
		{ "worker", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_plugins plugins = { .n = 0 };
	struct serve_options so = {
		.listen = "127.0.0.1:7460",
		.grace_ms = 30000,
		.lease_ms = 60000,
		.rescan_ms = 30000,
		.worker_runs = RUN_POOL_MAX_RUNS_DEFAULT,
	};
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *state = NULL, *store = NULL, *token_file = NULL;
	char exe[PATH_MAX], host[256], *state_dir = NULL, *store_path = NULL, *token = NULL, *end;
	long conc = sysconf(_SC_NPROCESSORS_ONLN);
	ssize_t len;
	int c, rc, bad;

	while ((c = getopt_long(argc, argv, "d:s:l:c:nP:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': so.specs_dir = optarg; break;
		case 's': state = optarg; break;
		case 'S': store = optarg; break;
		case 'l': so.listen = optarg; break;
		case 'T': token_file = optarg; break;
		case 'c':
			conc = strtol(optarg, &end, 10);
			if (*end || conc < 1 || conc > 1024)
				return cmd_usage_error(self, "--concurrency: must be an integer from 1 to 1024");
			break;
		case 'm': {
			long n = strtol(optarg, &end, 10);

			if (!*optarg || *end || n < 0 || n > 1000000)
				return cmd_usage_error(self, "--worker-runs: must be an integer from 0 (no limit) to 1000000");
			so.worker_runs = (unsigned)n;
			break;
		}
		case 'g':
			if (duration_opt(self, "grace", optarg, &so.grace_ms))
				return EXIT_USAGE;
			break;
		case 'L':
			if (duration_opt(self, "lease", optarg, &so.lease_ms))
				return EXIT_USAGE;
			if (so.lease_ms < 300)
				return cmd_usage_error(self, "--lease: must be at least 300ms");
			break;
		case 'r':
			if (duration_opt(self, "rescan", optarg, &so.rescan_ms))
				return EXIT_USAGE;
			break;
		case 'R':
			if (duration_opt(self, "series-retention", optarg, &so.series_retention_ms))
				return EXIT_USAGE;
			if (so.series_retention_ms < 60000)
				return cmd_usage_error(self, "--series-retention: must be at least 1m");
			break;
		case 'N': so.node = optarg; break;
		case 'n': so.dry_run = 1; break;
		case 'w': so.no_watch = 1; break;
		case 'O': so.specs_read_only = 1; break;
		case 'P':
			if (cli_add_plugin_dir(self, &plugins, optarg))
				return EXIT_USAGE;
			break;
		case 'W':
			return worker_main();
		case 'h':
			cmd_usage(self, stdout);
			return EXIT_OK;
		default:
			return cmd_usage_error(self, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (!so.specs_dir)
		return cmd_usage_error(self, "--specs DIR is required");
	{
		char h[64];
		unsigned port;
		int loopback;

		if (api_parse_listen(so.listen, h, sizeof(h), &port, &loopback, &err))
			return cmd_usage_error(self, "%s", err.msg);
	}
	if (!getenv("VIGIL_LOG_LEVEL"))
		log_set_level(LOG_LVL_INFO);
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0) {
		fprintf(stderr, "vigil serve: cannot find the vigil binary (/proc/self/exe): %s\n", strerror(errno));
		return EXIT_ENV;
	}
	exe[len] = '\0';
	token = read_token(token_file, &bad);
	if (bad)
		return EXIT_USAGE;
	state_dir = paths_state_dir(state, &err);
	if (!state_dir) {
		fprintf(stderr, "vigil: %s\n", err.msg);
		free(token);
		return EXIT_ENV;
	}
	if (!store && getenv("VIGIL_STORE") && *getenv("VIGIL_STORE"))
		store = getenv("VIGIL_STORE");
	store_path = store ? xstrdup(store) : xasprintf("%s/vigil.db", state_dir);
	if (!so.node) {
		if (gethostname(host, sizeof(host)) || !host[0])
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		so.node = host;
	}
	so.state_dir = state_dir;
	so.store_path = store_path;
	so.token = token;
	so.exe = exe;
	so.concurrency = conc > 0 ? (unsigned)conc : 1;
	so.plugin_dirs = plugins.dirs;
	so.n_plugin_dirs = plugins.n;
	rc = serve_run(&so);
	if (token)
		memset(token, 0, strlen(token));
	free(token);
	free(store_path);
	free(state_dir);
	return rc;
}

const struct cmd_entry cmd_serve_entry = {
	.name = "serve",
	.usage = "--specs DIR [--state DIR] [--listen HOST:PORT] [--token-file FILE] [options]",
	.summary = "run every job of a spec directory on its schedule, with an HTTP API",
	.help = "  -d, --specs DIR        the directory of job specs (*.json), watched for changes\n"
	        "  -s, --state DIR        state directory (default: $XDG_STATE_HOME/vigil)\n"
	        "      --store STORE      the SQLite store file (default: $VIGIL_STORE, else DIR/vigil.db), or a\n"
	        "                         PostgreSQL URI shared by several nodes (postgresql://..., best as a\n"
	        "                         ${env:NAME} or ${file:PATH} reference: it holds a password)\n"
	        "  -l, --listen HOST:PORT the API address (default 127.0.0.1:7460; port 0 picks one)\n"
	        "      --token-file FILE  bearer token for mutating API calls (else $VIGIL_API_TOKEN)\n"
	        "  -c, --concurrency N    runs at the same time (default: the number of cores)\n"
	        "      --worker-runs N    runs a worker process does before it is replaced (default 100;\n"
	        "                         1: a new process per run; 0: no limit)\n"
	        "      --grace DURATION   on SIGTERM, how long running jobs may finish (default 30s)\n"
	        "      --lease DURATION   claim lease of a run, renewed every third (default 60s)\n"
	        "      --rescan DURATION  rescan the spec directory this often besides inotify (default 30s)\n"
	        "      --series-retention DURATION  keep the series around alerts, and finished ad-hoc\n"
	        "                         runs, this long (default 30d)\n"
	        "      --node NAME        this node's name in run claims (default: the host name)\n"
	        "      --no-watch         no inotify: see changes at --rescan or on SIGHUP only\n"
	        "      --specs-read-only  the API never writes spec files: promote shows the diff only\n"
	        "  -n, --dry-run          print notifications instead of sending them\n"
	        "  -P, --plugin-dir DIR   also load detector plugins from DIR (repeatable)\n"
	        "signals: SIGHUP rescans the spec directory; SIGTERM or SIGINT stops (see vigil(1))\n",
	.exec = cmd_serve,
};
