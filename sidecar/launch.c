// SPDX-License-Identifier: GPL-2.0-only
/* Command line and spawn of one replica's sidecar; see launch.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>

#include "launch.h"

extern char **environ;

static int add(struct sidecar_argv *a, size_t *n, const char *opt, const char *val)
{
	if (!val)
		return 0;
	if (*n + 3 > SIDECAR_ARGV_MAX)
		return -E2BIG;
	a->argv[(*n)++] = opt;
	if (*val) /* "": a flag without a value */
		a->argv[(*n)++] = val;
	return 0;
}

/* See launch.h. */
int sidecar_launch_argv(const struct sidecar_launch *l, struct sidecar_argv *a)
{
	size_t n = 0;
	int err = 0;

	memset(a, 0, sizeof(*a));
	if (!l->nats_urls || !l->app_id || !l->replica || !*l->app_id || !*l->replica ||
	    (l->identity && !l->identity_dir) || (l->invoke_listen && !l->identity))
		return -EINVAL;
	a->argv[n++] = l->binary ? l->binary : "bpfmesh-sidecar";
	snprintf(a->http_port, sizeof(a->http_port), "%u", l->http_port ? l->http_port : 3500);
	snprintf(a->app_port, sizeof(a->app_port), "%u", l->app_port);
	err |= add(a, &n, "--netns", l->netns);
	err |= add(a, &n, "--app-netns", l->app_netns);
	err |= add(a, &n, "--nats", l->nats_urls);
	err |= add(a, &n, "--app-id", l->app_id);
	err |= add(a, &n, "--replica", l->replica);
	err |= add(a, &n, "--namespace", l->namespace);
	err |= add(a, &n, "--version", l->version);
	err |= add(a, &n, "--kind", l->kind);
	err |= add(a, &n, "--consistency", l->consistency);
	err |= add(a, &n, "--identity", l->identity);
	err |= add(a, &n, "--identity-dir", l->identity ? l->identity_dir : NULL);
	err |= add(a, &n, "--invoke-listen", l->invoke_listen);
	err |= add(a, &n, "--invoke-advertise", l->invoke_listen ? l->invoke_advertise : NULL);
	err |= add(a, &n, "--state-dir", l->state_dir);
	err |= add(a, &n, "--http-port", a->http_port);
	err |= add(a, &n, "--app-port", l->app_port ? a->app_port : NULL);
	err |= add(a, &n, "--share-versions", l->is_shared_versions ? "" : NULL);
	err |= add(a, &n, "--exit-with-parent", l->is_exit_with_parent ? "" : NULL);
	a->argv[n] = NULL;
	return err ? -E2BIG : 0;
}

/* See launch.h. */
int sidecar_launch(const struct sidecar_launch *l, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct sidecar_argv a;
	sigset_t mask;
	int err;

	err = sidecar_launch_argv(l, &a);
	if (err)
		return err;
	err = posix_spawnattr_init(&at);
	if (err)
		return -err;
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	sigaddset(&mask, SIGHUP);
	err = posix_spawnattr_setsigmask(&at, &mask);
	if (!err)
		err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	if (!err)
		err = posix_spawn_file_actions_init(&fa);
	if (err) {
		posix_spawnattr_destroy(&at);
		return -err;
	}
	err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!err && l->log_path)
		err = posix_spawn_file_actions_addopen(&fa, 1, l->log_path,
						       O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (!err && l->log_path)
		err = posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (!err)
		err = (strchr(a.argv[0], '/') ? posix_spawn : posix_spawnp)(
			pid, a.argv[0], &fa, &at, (char *const *)a.argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return -err;
}
