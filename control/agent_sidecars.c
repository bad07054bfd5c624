// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's sidecars: one bpfmesh-sidecar per running replica, launched
 * through sidecar/launch.h with --app-netns (the Dapr port in the replica,
 * the bus connection in the node's namespace: docs/sidecar.md, "Launch").
 * Files per replica under STATE_DIR/sidecars/: NS_POD.log (its output),
 * NS_POD.pid (so the next agent can stop one a killed agent left), NS_POD/
 * (its --state-dir: eventual snapshots). See agent_sidecars.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../sidecar/launch.h"
#include "agent_ident.h"
#include "agent_priv.h"
#include "agent_sidecars.h"
#include "log.h"
#include "workload_model.h"

#define STOP_WAIT_MS 3000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define EARLY_EXIT_MS 10000 /* an exit this soon after a start grows the backoff */

/* See agent_sidecars.h. */
bool agent_sidecar_is_wanted(const struct agent *a, const struct wl_object *o)
{
	/*
	 * Rootless replicas' network namespaces belong to user namespaces the
	 * sidecar could enter only from inside them: not done yet (docs/agent.md).
	 */
	return !a->rl && !a->cfg->is_sidecars_off && !o->pod.is_sidecar_off;
}

/* See agent_sidecars.h. */
bool agent_sidecar_serves_invoke(const struct agent *a, const struct wl_object *o, const char *pod)
{
	char doc[PATH_MAX];
	size_t i, j;

	if (!agent_sidecar_is_wanted(a, o) ||
	    agent_replica_identity_path(a, pod, doc, sizeof(doc)) || access(doc, R_OK))
		return false;
	for (i = 0; i < o->pod.n_containers; i++)
		for (j = 0; j < o->pod.containers[i].n_ports; j++)
			if (o->pod.containers[i].ports[j].port == AGENT_SIDECAR_INVOKE_PORT ||
			    (o->pod.containers[i].ports[j].name &&
			     !strcmp(o->pod.containers[i].ports[j].name,
				     AGENT_SIDECAR_INVOKE_PORT_NAME)))
				return false;
	return true;
}

static unsigned int app_port(const struct wl_object *o)
{
	size_t i;

	for (i = 0; i < o->pod.n_containers; i++)
		if (o->pod.containers[i].n_ports)
			return o->pod.containers[i].ports[0].port;
	return 0;
}

/* See agent_sidecars.h. */
void agent_sidecar_env(const struct agent *a, const struct wl_object *o,
		       struct agent_sidecar_env *e)
{
	unsigned int port = app_port(o);
	size_t n = 0;

	memset(e, 0, sizeof(*e));
	if (!agent_sidecar_is_wanted(a, o))
		return;
	snprintf(e->dapr, sizeof(e->dapr), "DAPR_HTTP_PORT=%u", AGENT_SIDECAR_HTTP_PORT);
	e->v[n++] = e->dapr;
	if (port) {
		snprintf(e->app, sizeof(e->app), "APP_PORT=%u", port);
		e->v[n++] = e->app;
	}
}

/* STATE_DIR/sidecars/NS_POD + suffix. */
static void path_of(const struct agent *a, const struct agent_local *l, const char *suffix,
		    char *buf, size_t len)
{
	snprintf(buf, len, "%s/sidecars/%s_%s%s", a->cfg->state_dir, l->ns, l->pod, suffix);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Has our child pid exited (reaped now)? Sets *status. */
static bool child_exited(int pid, int *status)
{
	return waitpid(pid, status, WNOHANG) == pid;
}

/* Is pid a bpfmesh-sidecar serving replica pod (a process we did not start)? */
static bool is_stale_sidecar(int pid, const char *pod)
{
	char path[64], buf[4096], *p, *end;
	bool is_sidecar = false, is_pod = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	end = buf + n;
	p = strrchr(buf, '/');
	is_sidecar = !strcmp(p ? p + 1 : buf, "bpfmesh-sidecar");
	for (p = buf; p < end; p += strlen(p) + 1)
		if (!strcmp(p, "--replica") && p + strlen(p) + 1 < end)
			is_pod = !strcmp(p + strlen(p) + 1, pod);
	return is_sidecar && is_pod;
}

/* A process we did not start: SIGTERM, bounded wait for it to be gone, SIGKILL. */
static void terminate_stale(int pid)
{
	unsigned int waited = 0;

	kill(pid, SIGTERM);
	while (!(kill(pid, 0) && errno == ESRCH)) {
		if (waited >= STOP_WAIT_MS) {
			pr_warn("sidecar: pid %d did not stop within %u ms; SIGKILL", pid,
				STOP_WAIT_MS);
			kill(pid, SIGKILL);
			return;
		}
		sleep_ms(20);
		waited += 20;
	}
}

static uint64_t tag_of(const struct agent_local *l)
{
	uint64_t h = 1469598103934665603ULL;
	const char *p;

	for (p = l->key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h | 1;
}

/* Is a sidecar of l's replica still stopping? */
static bool is_stopping(const struct agent *a, const struct agent_local *l)
{
	uint64_t tag = tag_of(l);
	size_t i;

	for (i = 0; i < a->sched.n_sc_stopping; i++)
		if (a->sched.sc_stopping[i].tag == tag)
			return true;
	return false;
}

/* A sidecar an earlier agent started for l (its pid file) is stopped. */
static void stop_stale(struct agent *a, const struct agent_local *l)
{
	char path[PATH_MAX];
	long pid = 0;
	FILE *f;

	path_of(a, l, ".pid", path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return;
	if (fscanf(f, "%ld", &pid) == 1 && pid > 1 && pid <= INT_MAX &&
	    is_stale_sidecar((int)pid, l->pod)) {
		pr_info("sidecar: stopping %s/%s's sidecar pid %ld left by an earlier agent", l->ns,
			l->pod, pid);
		terminate_stale((int)pid);
	}
	fclose(f);
	unlink(path);
}

static void write_pid(struct agent *a, const struct agent_local *l, int pid)
{
	char path[PATH_MAX];
	FILE *f;

	path_of(a, l, ".pid", path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%d\n", pid);
	fclose(f);
}

/* The sidecar binary: --sidecar-bin, else next to ours (installed or build tree), else PATH. */
static const char *binary(const struct agent *a, char *buf, size_t len)
{
	static const char *const rel[] = {"bpfmesh-sidecar", "../sidecar/bpfmesh-sidecar", NULL};
	char exe[PATH_MAX - 64], *slash;
	ssize_t n;
	size_t i;

	if (a->cfg->sidecar_bin)
		return a->cfg->sidecar_bin;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	for (i = 0; rel[i]; i++) {
		snprintf(buf, len, "%s/%s", exe, rel[i]);
		if (!access(buf, X_OK))
			return buf;
	}
	return NULL;
}

static const char *label(const struct wl_object *o, const char *key)
{
	size_t i;

	for (i = 0; i < o->pod.labels.n; i++)
		if (!strcmp(o->pod.labels.items[i].key, key))
			return o->pod.labels.items[i].value;
	return NULL;
}

static const char *kind(const struct wl_object *o)
{
	switch (o->kind) {
	case WL_STATEFULSET:
		return "StatefulSet";
	case WL_DAEMONSET:
		return "DaemonSet";
	case WL_POD:
		return "Pod";
	default:
		return "Deployment";
	}
}

/* A file's identity for change detection (inode, change time); 0: none. */
static uint64_t file_sig(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return 0;
	return ((uint64_t)st.st_ino * 1000003ULL) ^ ((uint64_t)st.st_ctim.tv_sec << 20) ^
	       (uint64_t)st.st_ctim.tv_nsec ^ 1;
}

/*
 * The replica's identity document (agent_ident.h) into doc and dir, with a
 * signature of what the sidecar checks it with: the document (replaced by
 * rename on renewal), the node's trust bundle and revocation list (a
 * revocation takes effect in the sidecar's next handshakes once it reloads);
 * 0: the replica has none (the node is not enrolled, not issued).
 */
static uint64_t identity(const struct agent *a, const struct agent_local *l, char *doc, char *dir,
			 size_t len)
{
	char path[PATH_MAX + 16];
	uint64_t sig;

	if (agent_replica_identity_path(a, l->pod, doc, len) || agent_identity_dir(a, dir, len))
		return 0;
	sig = file_sig(doc);
	if (!sig)
		return 0;
	snprintf(path, sizeof(path), "%s/crl.bin", dir);
	sig = sig * 31 + file_sig(path);
	snprintf(path, sizeof(path), "%s/trust.bundle", dir);
	return (sig * 31 + file_sig(path)) | 1;
}

static int start(struct agent *a, const struct agent_replica *r, struct agent_local *l)
{
	const struct wl_object *o = r->obj;
	char netns[64], state[PATH_MAX], log[PATH_MAX], dir[PATH_MAX], bin[PATH_MAX];
	char doc[PATH_MAX], id_dir[PATH_MAX], inv[64];
	uint64_t id_sig = identity(a, l, doc, id_dir, PATH_MAX);
	struct sidecar_launch sl = {
		.binary = binary(a, bin, sizeof(bin)),
		.app_netns = netns,
		.nats_urls = a->cfg->sidecar_bus ? a->cfg->sidecar_bus : bus_urls(a->bus),
		.app_id = o->name,
		.replica = l->pod,
		.namespace = o->ns,
		.version = label(o, "version"),
		.kind = kind(o),
		.consistency = o->pod.consistency == WL_CONSISTENCY_STRONG     ? "strong"
			       : o->pod.consistency == WL_CONSISTENCY_EVENTUAL ? "eventual"
									       : NULL,
		.state_dir = state,
		.log_path = log,
		.http_port = AGENT_SIDECAR_HTTP_PORT,
		.app_port = app_port(o),
		.is_shared_versions = o->pod.is_shared_versions,
		.is_exit_with_parent = true, /* a killed agent leaves none behind */
		.identity = id_sig ? doc : NULL,
		.identity_dir = id_sig ? id_dir : NULL,
		.invoke_listen = id_sig && *l->address ? inv : NULL,
		.invoke_advertise = inv, /* used only with invoke_listen */
	};
	pid_t pid;
	int err;

	snprintf(netns, sizeof(netns), "/proc/%d/ns/net", l->pid);
	/* The replica's own address: callers' packets are the replicas' traffic. */
	snprintf(inv, sizeof(inv), "%s:%u", l->address, AGENT_SIDECAR_INVOKE_PORT);
	snprintf(dir, sizeof(dir), "%s/sidecars", a->cfg->state_dir);
	path_of(a, l, "", state, sizeof(state));
	path_of(a, l, ".log", log, sizeof(log));
	if ((mkdir(dir, 0700) && errno != EEXIST) || (mkdir(state, 0700) && errno != EEXIST))
		return -errno;
	stop_stale(a, l);
	err = sidecar_launch(&sl, &pid);
	if (err)
		return err;
	l->sc_pid = pid;
	l->sc_started_ms = agent_now_ms();
	l->sc_id_sig = id_sig;
	write_pid(a, l, pid);
	pr_info("sidecar: started for %s/%s: pid %d (%s, %s, invocation %s, log %s)", l->ns, l->pod,
		pid, sl.consistency ? sl.consistency : sl.kind, id_sig ? doc : "no identity",
		sl.invoke_listen ? sl.invoke_listen : "off", log);
	return 0;
}

/* After an exit or a failed start: wait longer the more often it fails early. */
static void backoff(struct agent_local *l, uint64_t now)
{
	unsigned int ms = BACKOFF_MIN_MS;
	unsigned int i;

	for (i = 1; i < l->sc_fails && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	l->sc_next_ms = now + (ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS);
}

/* l's sidecar exited (status): log it, back off before the next start. */
static void exited(struct agent *a, struct agent_local *l, int status, uint64_t now)
{
	char log[PATH_MAX];

	path_of(a, l, ".log", log, sizeof(log));
	pr_warn("sidecar: %s/%s's sidecar pid %d %s %d; restarting (log %s)", l->ns, l->pod,
		l->sc_pid, WIFSIGNALED(status) ? "killed by signal" : "exited with",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), log);
	l->sc_fails = now < l->sc_started_ms + EARLY_EXIT_MS ? l->sc_fails + 1 : 1;
	l->sc_pid = 0;
	backoff(l, now);
}

/* See agent_sidecars.h. */
void agent_sidecar_tick(struct agent *a, const struct agent_replica *r, struct agent_local *l)
{
	char doc[PATH_MAX], dir[PATH_MAX];
	uint64_t now = agent_now_ms(), sig;
	int status, err;

	if (l->pid <= 0 || !agent_sidecar_is_wanted(a, r->obj)) {
		agent_sidecar_stop(a, l);
		return;
	}
	if (l->sc_pid > 0 && child_exited(l->sc_pid, &status)) {
		exited(a, l, status, now);
		return;
	}
	if (l->sc_pid > 0) {
		sig = identity(a, l, doc, dir, sizeof(doc));
		if (sig == l->sc_id_sig)
			return;
		if (sig && l->sc_id_sig && !kill(l->sc_pid, SIGHUP)) {
			/*
			 * Renewed (or a new revocation list): it reloads in place, and
			 * exits if it cannot (restarted by the supervision).
			 */
			pr_info("sidecar: %s/%s's identity document or revocation list "
				"changed; sidecar pid %d reloads them (SIGHUP)",
				l->ns, l->pod, l->sc_pid);
			l->sc_id_sig = sig;
			return;
		}
		/* Issued to one that started without (or withdrawn): restart it. */
		pr_info("sidecar: %s/%s's identity document changed; restarting its sidecar", l->ns,
			l->pod);
		agent_sidecar_stop(a, l);
	}
	if (now < l->sc_next_ms || is_stopping(a, l))
		return;
	err = start(a, r, l);
	if (err) {
		pr_warn("sidecar: start for %s/%s: %s (retried)", l->ns, l->pod, strerror(-err));
		l->sc_fails++;
		backoff(l, now);
	}
}

/* See agent_sidecars.h. */
void agent_sidecar_stop(struct agent *a, struct agent_local *l)
{
	struct agent_sched *s = &a->sched;
	struct agent_sc_stopping *grown;
	char path[PATH_MAX];
	int status;

	if (l->sc_pid <= 0)
		return;
	kill(l->sc_pid, SIGTERM);
	pr_info("sidecar: stopping %s/%s's sidecar pid %d", l->ns, l->pod, l->sc_pid);
	grown = realloc(s->sc_stopping, (s->n_sc_stopping + 1) * sizeof(*grown));
	if (grown) {
		s->sc_stopping = grown;
		grown[s->n_sc_stopping++] = (struct agent_sc_stopping){
			.pid = l->sc_pid,
			.kill_ms = agent_now_ms() + STOP_WAIT_MS,
			.tag = tag_of(l),
		};
	} else { /* no memory to remember it: kill it now */
		kill(l->sc_pid, SIGKILL);
		waitpid(l->sc_pid, &status, 0);
	}
	path_of(a, l, ".pid", path, sizeof(path));
	unlink(path);
	l->sc_pid = 0;
	l->sc_fails = 0;
	l->sc_next_ms = 0;
}

/* See agent_sidecars.h. */
void agent_sidecar_reap(struct agent *a)
{
	struct agent_sched *s = &a->sched;
	uint64_t now = agent_now_ms();
	struct agent_sc_stopping *st;
	int status;
	size_t i;

	for (i = s->n_sc_stopping; i-- > 0;) {
		st = &s->sc_stopping[i];
		if (child_exited(st->pid, &status) || (kill(st->pid, 0) && errno == ESRCH)) {
			pr_info("sidecar: pid %d stopped", st->pid);
			*st = s->sc_stopping[--s->n_sc_stopping];
		} else if (now >= st->kill_ms && st->kill_ms != UINT64_MAX) {
			pr_warn("sidecar: pid %d did not stop within %u ms; SIGKILL", st->pid,
				STOP_WAIT_MS);
			kill(st->pid, SIGKILL);
			st->kill_ms = UINT64_MAX;
		}
	}
	if (!s->n_sc_stopping) {
		free(s->sc_stopping);
		s->sc_stopping = NULL;
	}
}

/* See agent_sidecars.h. */
void agent_sidecar_stop_all(struct agent *a)
{
	unsigned int waited = 0;
	size_t i;

	for (i = 0; i < a->sched.n_local; i++)
		agent_sidecar_stop(a, &a->sched.local[i]);
	for (;;) {
		agent_sidecar_reap(a);
		if (!a->sched.n_sc_stopping || waited > STOP_WAIT_MS + 1000)
			break;
		sleep_ms(20);
		waited += 20;
	}
	free(a->sched.sc_stopping);
	a->sched.sc_stopping = NULL;
	a->sched.n_sc_stopping = 0;
}
