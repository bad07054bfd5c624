// SPDX-License-Identifier: GPL-2.0-only
/* The standalone sidecar's own nats-server; see natsd.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../control/log.h"
#include "../control/natsbin.h"
#include "natsd.h"

#define NATSD_START_MS 10000

struct natsd {
	char dir[2048];
	char conf[2100];
	char url[64];
	pthread_t monitor;
	atomic_bool is_stopping;
	bool is_sync_always;
	bool has_monitor;
	unsigned int port;
	pid_t pid;
};

static int write_conf(struct natsd *d, bool is_sync)
{
	FILE *f = fopen(d->conf, "w");

	if (!f)
		return -errno;
	fprintf(f, "listen: 127.0.0.1:%u\nserver_name: bm_sidecar_%u\n", d->port, d->port);
	fprintf(f, "jetstream {\n  store_dir: \"%s/js\"\n%s}\n", d->dir,
		is_sync ? "  sync_interval: always\n" : "");
	return fclose(f) ? -errno : 0;
}

/* Run nats-server with args; returns its exit status or -errno. */
static int run_wait(const char *a1, const char *a2, const char *a3)
{
	int status, fd;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execl(natsbin_path(), "nats-server", a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EIO;
}

/* Ask the server (-t) whether it takes sync_interval; write the config it takes. */
static int choose_conf(struct natsd *d)
{
	int err = write_conf(d, true), rc;

	if (err)
		return err;
	rc = run_wait("-c", d->conf, "-t");
	if (rc == 127)
		return -ENOENT;
	d->is_sync_always = rc == 0;
	if (!d->is_sync_always) {
		pr_warn("sidecar: this nats-server rejects sync_interval: always; JetStream "
			"flushes to disk on its own schedule (see docs/sidecar.md)");
		err = write_conf(d, false);
	}
	return err;
}

static void exec_server(struct natsd *d)
{
	char log_path[2200];
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	snprintf(log_path, sizeof(log_path), "%s/server.log", d->dir);
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	execl(natsbin_path(), "nats-server", "-c", d->conf, (char *)NULL);
	_exit(127);
}

static int spawn(struct natsd *d)
{
	int i, status;

	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0)
		exec_server(d);
	for (i = 0; i < NATSD_START_MS / 20; i++) {
		if (natsbin_port_accepts(d->port))
			return 0;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			pr_warn("sidecar: nats-server exited (status %d); see %s/server.log",
				status, d->dir);
			return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
		}
		usleep(20000);
	}
	return -ETIMEDOUT;
}

/* Restart the server when it dies, with a one-second pause. */
static void *monitor_main(void *arg)
{
	struct natsd *d = arg;

	while (!atomic_load(&d->is_stopping)) {
		usleep(100000);
		if (d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			pr_warn("sidecar: nats-server pid %d died; restarting", (int)d->pid);
			d->pid = 0;
		}
		if (d->pid <= 0 && !atomic_load(&d->is_stopping)) {
			sleep(1);
			spawn(d);
		}
	}
	return NULL;
}

/* Start and supervise; see natsd.h. */
int natsd_start(const char *state_dir, unsigned int port, struct natsd **out)
{
	struct natsd *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	snprintf(d->dir, sizeof(d->dir), "%s/nats", state_dir);
	snprintf(d->conf, sizeof(d->conf), "%s/nats.conf", d->dir);
	if (mkdir(d->dir, 0700) && errno != EEXIST) {
		err = -errno;
		goto err_free;
	}
	d->port = port ? port : natsbin_free_port();
	err = d->port ? choose_conf(d) : -EADDRINUSE;
	if (!err)
		err = spawn(d);
	if (err)
		goto err_stop;
	snprintf(d->url, sizeof(d->url), "nats://127.0.0.1:%u", d->port);
	d->has_monitor = !pthread_create(&d->monitor, NULL, monitor_main, d);
	pr_info("sidecar: nats-server pid %d on %s, data in %s", (int)d->pid, d->url, d->dir);
	*out = d;
	return 0;
err_stop:
	pr_warn("sidecar: start nats-server: %s", strerror(-err));
	natsd_stop(d);
	return err;
err_free:
	free(d);
	return err;
}

const char *natsd_url(const struct natsd *d)
{
	return d->url;
}

bool natsd_is_sync_always(const struct natsd *d)
{
	return d->is_sync_always;
}

/* Stop the monitor first so it cannot restart what we stop. */
void natsd_stop(struct natsd *d)
{
	int i;

	if (!d)
		return;
	atomic_store(&d->is_stopping, true);
	if (d->has_monitor)
		pthread_join(d->monitor, NULL);
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		for (i = 0; i < 250 && waitpid(d->pid, NULL, WNOHANG) != d->pid; i++)
			usleep(20000);
		if (i == 250) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
		}
	}
	free(d);
}
