// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's relay: one accepted client socket, one socket to the
 * server made in the server's namespace, one pipe per direction. splice()
 * moves bytes socket -> pipe -> socket without a copy to userland; the pipe
 * is the only buffer, so memory per connection is bounded by two pipes. A
 * direction ends with EOF on its source and shutdown(SHUT_WR) on its sink
 * (half-close), the connection when both have; any error resets both.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fwd_priv.h"
#include "log.h"
#include "rlns.h"

#define SPLICE_FLAGS (SPLICE_F_NONBLOCK | SPLICE_F_MOVE)
#define PUMP_ROUNDS 4 /* per wakeup and direction: fairness between connections */

/* See fwd_priv.h: close so that the peer gets a RST, not a FIN. */
void fwd_reset_close(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void set_interest(struct fwd *f, struct fwd_conn *c, int side, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = &c->ref[side]};

	if (c->interest[side] == events)
		return;
	c->interest[side] = events;
	epoll_ctl(f->epoll_fd, EPOLL_CTL_MOD, c->fd[side], &ev);
}

static void update_interest(struct fwd *f, struct fwd_conn *c)
{
	int s;

	for (s = 0; s < 2; s++) {
		uint32_t ev = 0;

		if (!c->dir[s].is_eof && !c->dir[s].pending)
			ev |= EPOLLIN;
		if (c->dir[1 - s].pending)
			ev |= EPOLLOUT;
		set_interest(f, c, s, ev);
	}
}

static void unlink_conn(struct fwd *f, struct fwd_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = f->dead;
	c->prev = NULL;
	f->dead = c;
	f->n_conns--;
	c->is_dead = true;
}

static void close_pipes(struct fwd_conn *c)
{
	int d, i;

	for (d = 0; d < 2; d++)
		for (i = 0; i < 2; i++)
			if (c->dir[d].pipe[i] >= 0)
				close(c->dir[d].pipe[i]);
}

/* See fwd_priv.h: reset both ends; the memory goes at the next reap. */
void fwd_conn_abort(struct fwd *f, struct fwd_conn *c)
{
	if (c->is_dead)
		return;
	fwd_reset_close(c->fd[0]);
	fwd_reset_close(c->fd[1]);
	close_pipes(c);
	unlink_conn(f, c);
}

/* Keep c's pipes for the next relay if both are empty and there is room. */
static void spare_pipes(struct fwd *f, struct fwd_conn *c)
{
	int d;

	for (d = 0; d < 2; d++) {
		if (c->dir[d].pending || f->n_spare_pipes >= FWD_SPARE_PIPES)
			continue;
		memcpy(f->spare_pipes[f->n_spare_pipes++], c->dir[d].pipe, sizeof(c->dir[d].pipe));
		c->dir[d].pipe[0] = c->dir[d].pipe[1] = -1;
	}
}

/* Both directions ended with EOF and every byte passed: the pipes are empty. */
static void conn_finish(struct fwd *f, struct fwd_conn *c)
{
	close(c->fd[0]);
	close(c->fd[1]);
	spare_pipes(f, c);
	close_pipes(c);
	unlink_conn(f, c);
}

/* See fwd_priv.h: close the spare pipes. Cannot fail. */
void fwd_spare_pipes_release(struct fwd *f)
{
	while (f->n_spare_pipes) {
		f->n_spare_pipes--;
		close(f->spare_pipes[f->n_spare_pipes][0]);
		close(f->spare_pipes[f->n_spare_pipes][1]);
	}
}

/* See fwd_priv.h: free connections closed during the last epoll batch. */
void fwd_conns_reap(struct fwd *f)
{
	struct fwd_conn *c;

	while ((c = f->dead)) {
		f->dead = c->next;
		free(c);
	}
}

/* Move what the pipe holds to the sink; 0, or -errno that ends the connection. */
static int drain(struct fwd_conn *c, int d)
{
	struct fwd_half *h = &c->dir[d];
	ssize_t n;

	while (h->pending) {
		n = splice(h->pipe[0], NULL, c->fd[1 - d], NULL, h->pending, SPLICE_FLAGS);
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		h->pending -= (uint32_t)n;
	}
	return 0;
}

static int pump(struct fwd *f, struct fwd_conn *c, int d)
{
	struct fwd_half *h = &c->dir[d];
	int round, err = drain(c, d);
	ssize_t n;

	for (round = 0; round < PUMP_ROUNDS && !err && !h->is_eof && !h->pending; round++) {
		n = splice(c->fd[d], NULL, h->pipe[1], NULL, f->pipe_cap, SPLICE_FLAGS);
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			h->is_eof = true;
		h->pending += (uint32_t)n;
		err = drain(c, d);
		/* Less than asked: the socket was empty; epoll says when it is not. */
		if (n < f->pipe_cap)
			break;
	}
	if (!err && h->is_eof && !h->pending && !h->is_shut) {
		shutdown(c->fd[1 - d], SHUT_WR);
		h->is_shut = true;
	}
	return err;
}

static void connected(struct fwd *f, struct fwd_conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
		pr_debug("rootless: connect to the server: %s", strerror(soerr ? soerr : errno));
		fwd_conn_abort(f, c);
		return;
	}
	c->is_connecting = false;
	update_interest(f, c);
}

/* See fwd_priv.h: one epoll event on side (0 client, 1 server) of c. */
void fwd_conn_event(struct fwd *f, struct fwd_conn *c, int side, uint32_t events)
{
	int err = 0;

	if (c->is_dead)
		return;
	if (c->is_connecting) {
		if (side == 1)
			connected(f, c);
		else if (events & (EPOLLERR | EPOLLHUP))
			fwd_conn_abort(f, c);
		return;
	}
	/*
	 * Readable: its own direction (side -> other) reads; writable: the
	 * other direction's pipe drains into it. Level-triggered epoll reports
	 * the other socket's own readiness by itself, so nothing else is tried
	 * (a splice that could only say EAGAIN costs a syscall per event).
	 */
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		err = pump(f, c, side);
	if (!err && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		err = pump(f, c, 1 - side);
	if (err) {
		fwd_conn_abort(f, c);
		return;
	}
	if (c->dir[0].is_shut && c->dir[1].is_shut) {
		conn_finish(f, c);
		return;
	}
	update_interest(f, c);
	/* Nothing left to wait for on a socket that hung up or failed: end it. */
	if ((events & (EPOLLERR | EPOLLHUP)) && !c->interest[side])
		fwd_conn_abort(f, c);
}

static struct fwd_conn *conn_alloc(struct fwd *f)
{
	struct fwd_conn *c = calloc(1, sizeof(*c));
	int d;

	if (!c)
		return NULL;
	c->fd[0] = c->fd[1] = -1;
	for (d = 0; d < 2; d++) {
		if (f->n_spare_pipes) {
			f->n_spare_pipes--;
			memcpy(c->dir[d].pipe, f->spare_pipes[f->n_spare_pipes],
			       sizeof(c->dir[d].pipe));
		} else if (pipe2(c->dir[d].pipe, O_NONBLOCK | O_CLOEXEC)) {
			c->dir[d].pipe[0] = c->dir[d].pipe[1] = -1;
		}
	}
	if (c->dir[0].pipe[0] < 0 || c->dir[1].pipe[0] < 0) {
		close_pipes(c);
		free(c);
		return NULL;
	}
	return c;
}

static int register_conn(struct fwd *f, struct fwd_conn *c)
{
	struct epoll_event ev = {0};
	int s;

	for (s = 0; s < 2; s++) {
		c->ref[s] = (struct fwd_ref){.kind = FWD_REF_CONN, .side = (uint8_t)s, .owner = c};
		if (!c->is_connecting)
			c->interest[s] = EPOLLIN;
		else
			c->interest[s] = s == 1 ? EPOLLOUT : 0;
		ev.events = c->interest[s];
		ev.data.ptr = &c->ref[s];
		if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, c->fd[s], &ev))
			return -errno;
	}
	return 0;
}

/* After a non-blocking connect(): 1 connected, 0 still connecting, or -errno. */
static int connect_state(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (poll(&pfd, 1, 0) != 1)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return -errno;
	return soerr ? -soerr : 1;
}

/*
 * See fwd_priv.h: relay allowed client socket cfd to l's destination. On
 * any error cfd is reset. Returns 0 or -errno.
 */
int fwd_conn_open(struct fwd *f, struct fwd_listener *l, int cfd, const struct pe_tuple *t,
		  const struct pe_result *r)
{
	struct sockaddr_storage ss;
	struct fwd_conn *c;
	socklen_t len;
	int err, sfd = -1;

	err = fwd_pool_take(f, l, &sfd);
	c = err ? NULL : conn_alloc(f);
	if (!c) {
		pr_warn("rootless: socket in %s/%s: %s", l->dst->ns, l->dst->name,
			strerror(err ? -err : ENOMEM));
		if (sfd >= 0)
			close(sfd);
		fwd_reset_close(cfd);
		return err ? err : -ENOMEM;
	}
	c->fd[0] = cfd;
	c->fd[1] = sfd;
	c->tuple = *t;
	c->is_auth_bound = r->verdict == BM_VERDICT_ALLOW_AUTH;
	c->src_id = r->src_id;
	c->dst_id = r->dst_id;
	c->is_connecting = true;
	c->next = f->conns;
	if (f->conns)
		f->conns->prev = c;
	f->conns = c;
	f->n_conns++;
	len = rlns_sockaddr(l->family, l->daddr, l->dport, &ss);
	if (connect(sfd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		err = -errno;
	/* Loopback handshakes finish inside connect(): relay now, not one epoll round later. */
	if (!err)
		err = connect_state(sfd);
	c->is_connecting = err == 0;
	if (err >= 0)
		err = register_conn(f, c);
	if (err < 0) {
		pr_debug("rootless: connect to the server: %s", strerror(-err));
		fwd_conn_abort(f, c);
		return err;
	}
	if (!c->is_connecting)
		fwd_conn_event(f, c, 0, EPOLLIN);
	return 0;
}
