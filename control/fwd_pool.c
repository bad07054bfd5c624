// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's socket pool: each listener keeps FWD_POOL sockets made
 * ahead of time in its destination's namespace (bound to the source's
 * address), so that opening a relay costs no round trip to a keeper. The
 * requests go out on the keeper's non-blocking socketpair and come back in
 * order; a ring per keeper remembers which listener each one was for.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fwd_priv.h"
#include "log.h"
#include "rlns.h"

/* See fwd_priv.h: ask l's destination for sockets up to FWD_POOL. Cannot fail. */
void fwd_pool_refill(struct fwd *f, struct fwd_listener *l)
{
	struct fwd_workload *w = l->dst;
	unsigned int slot;

	while (l->n_pool + l->n_requested < FWD_POOL && w->n_inflight < FWD_POOL_INFLIGHT) {
		if (rlns_socket_send(w->pool_fd, l->family, l->saddr))
			return; /* full: the next take or answer retries */
		slot = (w->inflight_head + w->n_inflight) % FWD_POOL_INFLIGHT;
		w->inflight[slot] = (uint16_t)(l - f->listeners);
		w->n_inflight++;
		l->n_requested++;
	}
}

/* The keeper is gone: nothing more will come, and the loop must not spin on EOF. */
static void keeper_gone(struct fwd *f, struct fwd_workload *w)
{
	pr_warn("rootless: keeper of %s/%s is gone", w->ns, w->name);
	epoll_ctl(f->epoll_fd, EPOLL_CTL_DEL, w->pool_fd, NULL);
	while (w->n_inflight) {
		f->listeners[w->inflight[w->inflight_head]].n_requested--;
		w->inflight_head = (w->inflight_head + 1) % FWD_POOL_INFLIGHT;
		w->n_inflight--;
	}
}

/* See fwd_priv.h: answers from w's keeper go to the listeners that asked. */
void fwd_pool_event(struct fwd *f, struct fwd_workload *w)
{
	struct fwd_listener *l;
	int err, fd;

	if (!w->n_inflight) {
		keeper_gone(f, w); /* readable with nothing asked: only EOF */
		return;
	}
	while (w->n_inflight) {
		err = rlns_socket_recv(w->pool_fd, &fd);
		if (err == -EAGAIN || err == -EINTR)
			return;
		if (err == -ECONNRESET) {
			keeper_gone(f, w);
			return;
		}
		l = &f->listeners[w->inflight[w->inflight_head]];
		w->inflight_head = (w->inflight_head + 1) % FWD_POOL_INFLIGHT;
		w->n_inflight--;
		l->n_requested--;
		if (err) {
			pr_warn("rootless: socket in %s/%s: %s", w->ns, w->name, strerror(-err));
			continue;
		}
		if (l->fd >= 0 && l->n_pool < FWD_POOL) /* a removed listener takes none */
			l->pool[l->n_pool++] = fd;
		else
			close(fd);
	}
}

/*
 * See fwd_priv.h: a socket for a new relay through l, from the pool or, if
 * it is empty, made now with a blocking call. 0 or -errno.
 */
int fwd_pool_take(struct fwd *f, struct fwd_listener *l, int *fd)
{
	int err = 0;

	if (l->n_pool)
		*fd = l->pool[--l->n_pool];
	else
		err = rlns_socket(l->dst->ctrl_fd, l->family, l->saddr, fd);
	/*
	 * In batches, not one per take: every request wakes the keeper and its
	 * answer the forwarder, and on a busy machine wakeups are the cost.
	 */
	if (l->n_pool + l->n_requested <= FWD_POOL_LOW)
		fwd_pool_refill(f, l);
	return err;
}

/* See fwd_priv.h: close the pooled sockets. Cannot fail. */
void fwd_pool_release(struct fwd_listener *l)
{
	while (l->n_pool)
		close(l->pool[--l->n_pool]);
}
