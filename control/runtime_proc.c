// SPDX-License-Identifier: GPL-2.0-only
/*
 * Container processes: each container starts as the init (pid 1) of new
 * pid, mount, uts and ipc namespaces, in a new net namespace (the first
 * container of a replica) or in the first container's. The init waits for
 * the parent to finish the cgroup and network set-up, sets the hostname,
 * enters the image root, mounts its /proc, then forks the command and
 * stays as a minimal init: it forwards termination signals to the command
 * (a pid 1 ignores signals it has no handler for), reaps orphans, and exits
 * with the command's status.
 *
 * The agent is multi-threaded, so the children run only async-signal-safe
 * code: everything (argv, env, paths) is prepared before the clone, and the
 * clones are raw system calls (glibc's fork would take malloc locks that
 * another thread may hold).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "runtime_priv.h"

#define START_TIMEOUT_MS 10000
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

static pid_t raw_clone(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

static __attribute__((noreturn)) void child_fail(int err_fd, int err)
{
	ssize_t n = write(err_fd, &err, sizeof(err));

	(void)n;
	_exit(127);
}

/* Close every descriptor from 3 up except a and b. */
static void close_others(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		syscall(SYS_close_range, 3U, (unsigned int)lo - 1, 0U);
	if (hi > lo + 1)
		syscall(SYS_close_range, (unsigned int)lo + 1, (unsigned int)hi - 1, 0U);
	syscall(SYS_close_range, (unsigned int)hi + 1, ~0U, 0U);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static __attribute__((noreturn)) void run_command(const struct rtp_exec *ex)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	environ = ex->envp;
	execvp(ex->argv[0], ex->argv);
	child_fail(ex->err_fd, errno);
}

/* pid 1: forward signals to the command, reap, exit with its status. */
static __attribute__((noreturn)) void init_loop(pid_t cmd, const sigset_t *set)
{
	int sig, status;
	pid_t w;

	for (;;) {
		sig = sigwaitinfo(set, NULL);
		if (sig != SIGCHLD) {
			if (sig > 0)
				kill(cmd, sig);
			continue;
		}
		while ((w = waitpid(-1, &status, WNOHANG)) > 0)
			if (w == cmd)
				_exit(exit_code(status));
	}
}

static void enter_root(const struct rtp_exec *ex)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		child_fail(ex->err_fd, errno);
	if (sethostname(ex->hostname, strlen(ex->hostname)))
		child_fail(ex->err_fd, errno);
	if (ex->root && chroot(ex->root))
		child_fail(ex->err_fd, errno);
	if (chdir("/"))
		child_fail(ex->err_fd, errno);
	/* Our pid namespace's /proc; an image without a /proc directory goes without. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) &&
	    errno != ENOENT)
		child_fail(ex->err_fd, errno);
}

static __attribute__((noreturn)) void init_main(const struct rtp_exec *ex)
{
	sigset_t set;
	pid_t cmd;
	char c;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (ex->netns_fd >= 0 && setns(ex->netns_fd, CLONE_NEWNET))
		child_fail(ex->err_fd, errno);
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(ex->log_fd, 1) < 0 || dup2(ex->log_fd, 2) < 0)
		child_fail(ex->err_fd, errno);
	close_others(ex->sync_fd, ex->err_fd);
	if (read(ex->sync_fd, &c, 1) != 1)
		_exit(1); /* the parent gave up */
	close(ex->sync_fd);
	enter_root(ex);
	cmd = raw_clone(0);
	if (cmd < 0)
		child_fail(ex->err_fd, errno);
	if (cmd == 0)
		run_command(ex);
	close(ex->err_fd);
	init_loop(cmd, &set);
}

/*
 * Clone the init of one container as ex describes (new pid, mount, uts,
 * ipc namespaces; a new net namespace when ex->netns_fd < 0). It waits on
 * ex->sync_fd before running anything. Returns 0 and *pid, or -errno.
 */
int rtp_spawn(const struct rtp_exec *ex, int *pid)
{
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	pid_t p;

	if (ex->netns_fd < 0)
		flags |= CLONE_NEWNET;
	p = raw_clone(flags);
	if (p < 0)
		return -errno;
	if (p == 0)
		init_main(ex);
	*pid = p;
	return 0;
}

/*
 * Wait (bounded) for the start's error pipe: EOF means every process of
 * the start exec'd; an int is the errno of the step that failed.
 */
int rtp_wait_started(int err_rd)
{
	struct pollfd pfd = {.fd = err_rd, .events = POLLIN};
	int err = 0, r;
	ssize_t n;

	r = poll(&pfd, 1, START_TIMEOUT_MS);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	n = read(err_rd, &err, sizeof(err));
	if (n == 0)
		return 0;
	if (n != sizeof(err) || err <= 0)
		return -EIO;
	return -err;
}

/* Free a NULL-terminated string vector. NULL-safe. */
void rtp_free_strv(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/*
 * command + args of c as a NULL-terminated vector (caller frees with
 * rtp_free_strv). Returns 0, -EINVAL (no command) or -ENOMEM.
 */
int rtp_build_argv(const struct wl_container *c, char ***argv)
{
	size_t n = c->n_command + c->n_args, i;
	char **v;

	if (!c->n_command || !c->command[0] || !c->command[0][0])
		return -EINVAL;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		v[i] = strdup(i < c->n_command ? c->command[i] : c->args[i - c->n_command]);
		if (!v[i]) {
			rtp_free_strv(v);
			return -ENOMEM;
		}
	}
	*argv = v;
	return 0;
}

struct env_buf {
	char **v;
	size_t n;
	size_t cap;
};

/* Set name=value in e, replacing an earlier value of name. */
static int env_set(struct env_buf *e, const char *name, const char *value)
{
	size_t len = strlen(name), i;
	char *s, **v;

	if (asprintf(&s, "%s=%s", name, value) < 0)
		return -ENOMEM;
	for (i = 0; i < e->n; i++) {
		if (!strncmp(e->v[i], name, len) && e->v[i][len] == '=') {
			free(e->v[i]);
			e->v[i] = s;
			return 0;
		}
	}
	if (e->n + 2 > e->cap) {
		v = realloc(e->v, (e->cap + 16) * sizeof(*v));
		if (!v) {
			free(s);
			return -ENOMEM;
		}
		e->v = v;
		e->cap += 16;
	}
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
	return 0;
}

static const struct wl_object *find_cm(const struct rt_replica_spec *spec, const char *name)
{
	if (!spec->model)
		return NULL;
	return wl_model_find(spec->model, WL_CONFIG_MAP, spec->ns, name);
}

static int env_from_cms(struct env_buf *e, const struct rt_replica_spec *spec,
			const struct wl_container *c)
{
	const struct wl_object *cm;
	size_t i, j;
	int err;

	for (i = 0; i < c->n_env_from_cm; i++) {
		cm = find_cm(spec, c->env_from_cm[i]);
		if (!cm) {
			pr_warn("replica %s: container %s: envFrom ConfigMap %s/%s not found",
				spec->key, c->name, spec->ns, c->env_from_cm[i]);
			return -ENOENT;
		}
		for (j = 0; j < cm->data.n; j++) {
			err = env_set(e, cm->data.items[j].key, cm->data.items[j].value);
			if (err)
				return err;
		}
	}
	return 0;
}

static int env_one(struct env_buf *e, const struct rt_replica_spec *spec,
		   const struct wl_container *c, const struct wl_env *v)
{
	const struct wl_object *cm;
	const char *val = v->value;

	if (!val && v->cm_name) {
		cm = find_cm(spec, v->cm_name);
		val = cm ? pm_labels_get(&cm->data, v->cm_key) : NULL;
		if (!val) {
			pr_warn("replica %s: container %s: env %s: %s %s/%s%s%s not found",
				spec->key, c->name, v->name, cm ? "key" : "ConfigMap", spec->ns,
				v->cm_name, cm ? " key " : "", cm ? v->cm_key : "");
			return -ENOENT;
		}
	}
	return env_set(e, v->name, val ? val : "");
}

/* The caller's NAME=VALUE entries (spec->env) into e. */
static int env_extra(struct env_buf *e, const struct rt_replica_spec *spec)
{
	const char *const *p, *eq;
	char name[128];
	int err = 0;

	for (p = spec->env; p && *p && !err; p++) {
		eq = strchr(*p, '=');
		if (!eq || eq == *p || (size_t)(eq - *p) >= sizeof(name))
			return -EINVAL;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - *p), *p);
		err = env_set(e, name, eq + 1);
	}
	return err;
}

/*
 * The environment of container c: PATH, HOME, HOSTNAME, spec->env, then envFrom
 * ConfigMaps, then env (values or ConfigMap keys); later names override
 * earlier ones. *envp is NULL-terminated (free with rtp_free_strv).
 * Returns 0, -ENOENT (a ConfigMap or key missing, logged), -EINVAL (a
 * spec->env entry without NAME=) or -ENOMEM.
 */
int rtp_build_env(const struct rt_replica_spec *spec, const struct wl_container *c, char ***envp)
{
	struct env_buf e = {0};
	size_t i;
	int err;

	err = env_set(&e, "PATH", DEFAULT_PATH);
	if (!err)
		err = env_set(&e, "HOME", "/");
	if (!err)
		err = env_set(&e, "HOSTNAME", spec->pod_name);
	if (!err)
		err = env_extra(&e, spec);
	if (!err)
		err = env_from_cms(&e, spec, c);
	for (i = 0; !err && i < c->n_env; i++)
		err = env_one(&e, spec, c, &c->env[i]);
	if (err) {
		rtp_free_strv(e.v);
		return err;
	}
	*envp = e.v;
	return 0;
}

/* Field 3 (state) and 22 (starttime) of /proc/PID/stat. Returns 0 or -errno. */
static int read_stat(int pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	*state = p[2];
	p += 3;
	for (i = 3; i < 22 && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -EIO;
	*start = strtoull(p, NULL, 10);
	return 0;
}

/* starttime of pid, 0 when it does not exist. Cannot fail. */
unsigned long long rtp_start_time(int pid)
{
	unsigned long long start;
	char state;

	return read_stat(pid, &state, &start) ? 0 : start;
}

/*
 * Is container c's init still running? Reaps it when it is our child and
 * has exited (status recorded); a zombie we cannot reap, a vanished pid or
 * a pid reused by another process (other start time) count as exited.
 */
bool rtp_is_alive(struct rt_ctr *c)
{
	unsigned long long start;
	int status;
	char state;

	if (c->is_exited)
		return false;
	if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
		c->status = status;
		c->is_exited = true;
		return false;
	}
	if (read_stat(c->pid, &state, &start) || start != c->start_time || state == 'Z' ||
	    state == 'X')
		c->is_exited = true;
	return !c->is_exited;
}

/*
 * Send sig to c's init through a pidfd checked against its start time, so
 * a reused pid is never signalled. Returns 0 (also when it is gone) or -errno.
 */
int rtp_signal(const struct rt_ctr *c, int sig)
{
	unsigned long long start;
	int fd, err = 0;
	char state;

	if (c->is_exited)
		return 0;
	fd = (int)syscall(SYS_pidfd_open, c->pid, 0U);
	if (fd < 0)
		return errno == ESRCH ? 0 : -errno;
	if (!read_stat(c->pid, &state, &start) && start == c->start_time &&
	    syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0U) && errno != ESRCH)
		err = -errno;
	close(fd);
	return err;
}

/*
 * Wait up to timeout_ms for every container of r to exit. Returns 0 or
 * -ETIMEDOUT.
 */
int rtp_wait_exit(struct rt_replica *r, unsigned int timeout_ms)
{
	struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};
	unsigned int waited;
	bool is_any;
	size_t i;

	for (waited = 0;; waited += 10) {
		is_any = false;
		for (i = 0; i < r->n_ctrs; i++)
			is_any |= rtp_is_alive(&r->ctrs[i]);
		if (!is_any)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
}
