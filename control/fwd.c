// SPDX-License-Identifier: GPL-2.0-only
/* The rootless forwarder: workloads, intercepting listeners, the event loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "fwd_priv.h"
#include "ident_store.h"
#include "log.h"
#include "rlns.h"

#define DOC_MAX (64 * 1024)
#define ACCEPTS_PER_WAKEUP 32

/* Every descriptor a connection may need (two sockets, two pipes) fits. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* See fwd.h. */
struct fwd *fwd_new(const struct fwd_config *cfg)
{
	struct fwd *f = calloc(1, sizeof(*f));
	int p[2];

	if (!f)
		return NULL;
	f->epoll_fd = -1;
	f->events_fd = -1;
	f->cfg = *cfg;
	if (!f->cfg.max_conns)
		f->cfg.max_conns = FWD_DEFAULT_MAX_CONNS;
	raise_nofile();
	f->listeners = calloc(FWD_MAX_LISTENERS, sizeof(*f->listeners));
	f->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!f->listeners || f->epoll_fd < 0 || pipe2(p, O_CLOEXEC))
		goto err;
	f->pipe_cap = (uint32_t)fcntl(p[0], F_GETPIPE_SZ);
	close(p[0]);
	close(p[1]);
	if (fwd_auth_init(f) || fwd_events_open(f))
		goto err;
	return f;
err:
	fwd_free(f);
	errno = ENOMEM;
	return NULL;
}

static int load_identity(struct fwd_workload *w, const char *doc_path)
{
	char key_path[PATH_MAX + 8];
	int err;

	err = ident_file_read(doc_path, 0, DOC_MAX, &w->doc, &w->doc_len);
	snprintf(key_path, sizeof(key_path), "%s.key", doc_path);
	if (!err)
		err = ident_key_load(key_path, w->sk);
	if (err)
		pr_warn("rootless: identity of %s/%s: read %s (and %s): %s", w->ep->ns, w->ep->name,
			doc_path, key_path, strerror(-err));
	w->has_identity = !err;
	return err;
}

/* See fwd.h. */
int fwd_add_workload(struct fwd *f, size_t ep_index, int ctrl_fd, int pool_fd, const char *doc_path)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct fwd_workload *w;

	if (f->n_workloads >= FWD_MAX_WORKLOADS || ep_index >= f->cfg.model->n_endpoints) {
		close(ctrl_fd);
		close(pool_fd);
		return -E2BIG;
	}
	w = &f->workloads[f->n_workloads++];
	w->ep = &f->cfg.model->endpoints[ep_index];
	w->ctrl_fd = ctrl_fd;
	w->pool_fd = pool_fd;
	w->ref = (struct fwd_ref){.kind = FWD_REF_POOL, .owner = w};
	ev.data.ptr = &w->ref;
	if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, pool_fd, &ev))
		return -errno;
	return doc_path ? load_identity(w, doc_path) : 0;
}

static bool is_host(const struct pm_addr *a)
{
	return a->prefixlen == (a->family == BM_FAMILY_IPV4 ? 32 : 128);
}

/* w's first host address of family, or NULL. */
static const struct pm_addr *host_addr(const struct fwd_workload *w, uint8_t family)
{
	size_t i;

	for (i = 0; i < w->ep->n_addrs; i++)
		if (w->ep->addrs[i].family == family && is_host(&w->ep->addrs[i]))
			return &w->ep->addrs[i];
	return NULL;
}

static int add_listener(struct fwd *f, struct fwd_workload *src, struct fwd_workload *dst,
			const struct pm_addr *da, uint16_t port)
{
	const struct pm_addr *sa = host_addr(src, da->family);
	struct epoll_event ev = {.events = EPOLLIN};
	struct fwd_listener *l;
	int err;

	if (!sa)
		return 0;
	if (f->n_listeners >= FWD_MAX_LISTENERS)
		return -E2BIG;
	l = &f->listeners[f->n_listeners];
	err = rlns_listen(src->ctrl_fd, da->family, da->addr, port, &l->fd);
	if (err) {
		pr_warn("rootless: listen in %s/%s for %s/%s port %u: %s", src->ep->ns,
			src->ep->name, dst->ep->ns, dst->ep->name, port, strerror(-err));
		return err;
	}
	l->ref = (struct fwd_ref){.kind = FWD_REF_LISTENER, .owner = l};
	l->src = src;
	l->dst = dst;
	l->family = da->family;
	memcpy(l->saddr, sa->addr, 16);
	memcpy(l->daddr, da->addr, 16);
	l->dport = port;
	ev.data.ptr = &l->ref;
	if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, l->fd, &ev)) {
		err = -errno;
		close(l->fd);
		return err;
	}
	f->n_listeners++;
	return 0;
}

/* See fwd.h. */
int fwd_keeper_fd(const struct fwd *f, size_t i)
{
	return i < f->n_workloads ? f->workloads[i].ctrl_fd : -1;
}

/* See fwd.h. */
int fwd_intercept(struct fwd *f, const uint16_t *ports, size_t n_ports)
{
	size_t s, d, a, p;
	int err = 0;

	for (s = 0; s < f->n_workloads && !err; s++)
		for (d = 0; d < f->n_workloads && !err; d++) {
			struct fwd_workload *dst = &f->workloads[d];

			if (s == d)
				continue;
			for (a = 0; a < dst->ep->n_addrs && !err; a++)
				for (p = 0; p < n_ports && !err; p++)
					if (is_host(&dst->ep->addrs[a]))
						err = add_listener(f, &f->workloads[s], dst,
								   &dst->ep->addrs[a], ports[p]);
		}
	return err;
}

/* Policy, and for an unauthenticated pair that needs it, a handshake first. */
static void judge(struct fwd *f, const struct fwd_listener *l, const struct pe_tuple *t,
		  struct pe_result *r)
{
	struct pe_auth auth;

	fwd_auth_snapshot(f, &auth);
	if (policy_eval(f->cfg.model, t, &auth, r)) {
		memset(r, 0, sizeof(*r));
		r->verdict = BM_VERDICT_DENY;
		r->reason = BM_REASON_DENY_INTERNAL;
		return;
	}
	if (r->verdict != BM_VERDICT_DENY ||
	    (r->reason != BM_REASON_DENY_AUTH_MISSING && r->reason != BM_REASON_DENY_AUTH_EXPIRED))
		return;
	if (!l->src->has_identity || !l->dst->has_identity || !f->has_trust)
		return;
	if (fwd_auth_pair(f, l->src, l->dst))
		return;
	fwd_auth_snapshot(f, &auth);
	policy_eval(f->cfg.model, t, &auth, r);
}

static void on_connection(struct fwd *f, struct fwd_listener *l, int cfd,
			  const struct sockaddr_storage *peer)
{
	struct pe_tuple t = {.family = l->family, .proto = BM_PROTO_TCP, .dport = l->dport};
	struct pe_result r;

	memcpy(t.saddr, l->saddr, 16);
	memcpy(t.daddr, l->daddr, 16);
	t.sport = ntohs(peer->ss_family == AF_INET ? ((struct sockaddr_in *)peer)->sin_port
						   : ((struct sockaddr_in6 *)peer)->sin6_port);
	judge(f, l, &t, &r);
	fwd_event_emit(f, &t, &r); /* first: whoever sees the outcome can read why */
	if (r.verdict == BM_VERDICT_DENY) {
		fwd_reset_close(cfd);
		return;
	}
	if (f->n_conns >= f->cfg.max_conns) {
		pr_warn("rootless: %u connections open: refusing one more", f->n_conns);
		fwd_reset_close(cfd);
		return;
	}
	fwd_conn_open(f, l, cfd, &t, &r);
}

static void on_accept(struct fwd *f, struct fwd_listener *l)
{
	struct sockaddr_storage peer;
	socklen_t len;
	int i, cfd;

	for (i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		len = sizeof(peer);
		cfd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				pr_warn("rootless: accept: %s", strerror(errno));
			return;
		}
		on_connection(f, l, cfd, &peer);
	}
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* See fwd.h. */
int fwd_fd(const struct fwd *f)
{
	return f->epoll_fd;
}

/* See fwd.h. */
int fwd_poll(struct fwd *f, int timeout_ms)
{
	struct epoll_event evs[64];
	uint64_t now;
	size_t j;
	int i, n;

	if (!f->is_primed) {
		for (j = 0; j < f->n_listeners; j++)
			fwd_pool_refill(f, &f->listeners[j]);
		f->is_primed = true;
	}
	if (timeout_ms < 0 || timeout_ms > FWD_TICK_MS)
		timeout_ms = FWD_TICK_MS;
	n = epoll_wait(f->epoll_fd, evs, 64, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	for (i = 0; i < n; i++) {
		struct fwd_ref *ref = evs[i].data.ptr;

		if (ref->kind == FWD_REF_LISTENER)
			on_accept(f, ref->owner);
		else if (ref->kind == FWD_REF_POOL)
			fwd_pool_event(f, ref->owner);
		else
			fwd_conn_event(f, ref->owner, ref->side, evs[i].events);
	}
	fwd_conns_reap(f);
	now = mono_ms();
	if (now - f->last_tick_ms >= FWD_TICK_MS) {
		f->last_tick_ms = now;
		fwd_auth_housekeeping(f);
		fwd_conns_reap(f);
	}
	return 0;
}

/* See fwd.h. */
int fwd_run(struct fwd *f, volatile sig_atomic_t *stop)
{
	int err = 0;

	while (!*stop && !err)
		err = fwd_poll(f, FWD_TICK_MS);
	return err;
}

/* See fwd.h. */
void fwd_free(struct fwd *f)
{
	size_t i;

	if (!f)
		return;
	while (f->conns)
		fwd_conn_abort(f, f->conns);
	fwd_conns_reap(f);
	for (i = 0; i < f->n_listeners; i++) {
		close(f->listeners[i].fd);
		fwd_pool_release(&f->listeners[i]);
	}
	for (i = 0; i < f->n_workloads; i++) {
		close(f->workloads[i].ctrl_fd);
		close(f->workloads[i].pool_fd);
		sodium_memzero(f->workloads[i].sk, sizeof(f->workloads[i].sk));
		free(f->workloads[i].doc);
	}
	fwd_auth_release(f);
	fwd_events_close(f);
	if (f->epoll_fd >= 0)
		close(f->epoll_fd);
	free(f->listeners);
	free(f);
}
