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
	if (!f->cfg.udp_idle_ms)
		f->cfg.udp_idle_ms = FWD_DEFAULT_UDP_IDLE_MS;
	f->listeners = calloc(FWD_MAX_LISTENERS, sizeof(*f->listeners));
	f->dgram = malloc(FWD_DGRAM_MAX);
	f->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!f->listeners || !f->dgram || f->epoll_fd < 0 || pipe2(p, O_CLOEXEC))
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
		pr_warn("rootless: identity of %s/%s: read %s (and %s): %s", w->ns, w->name,
			doc_path, key_path, strerror(-err));
	w->has_identity = !err;
	return err;
}

static bool is_host(const struct pm_addr *a)
{
	return a->prefixlen == (a->family == BM_FAMILY_IPV4 ? 32 : 128);
}

/* The Endpoint ns/name of m, or NULL. */
static const struct pm_endpoint *find_endpoint(const struct pm_model *m, const char *ns,
					       const char *name)
{
	size_t i;

	for (i = 0; m && i < m->n_endpoints; i++)
		if (!strcmp(m->endpoints[i].ns, ns) && !strcmp(m->endpoints[i].name, name))
			return &m->endpoints[i];
	return NULL;
}

/* A free workload slot (a removed workload's, else a new one), or NULL. */
static struct fwd_workload *free_slot(struct fwd *f)
{
	size_t i;

	for (i = 0; i < f->n_workloads; i++)
		if (!f->workloads[i].is_used)
			return &f->workloads[i];
	return f->n_workloads < FWD_MAX_WORKLOADS ? &f->workloads[f->n_workloads++] : NULL;
}

/* See fwd.h. */
int fwd_add_workload_addrs(struct fwd *f, const char *ns, const char *name,
			   const struct pm_addr *addrs, size_t n_addrs, int ctrl_fd, int pool_fd,
			   const char *doc_path)
{
	const struct pm_endpoint *ep = find_endpoint(f->cfg.model, ns, name);
	struct epoll_event ev = {.events = EPOLLIN};
	struct fwd_workload *w = NULL;
	size_t i;

	if (strlen(ns) < sizeof(w->ns) && strlen(name) < sizeof(w->name))
		w = free_slot(f);
	if (!w) {
		close(ctrl_fd);
		close(pool_fd);
		return -E2BIG;
	}
	memset(w, 0, sizeof(*w));
	w->is_used = true;
	snprintf(w->ns, sizeof(w->ns), "%s", ns);
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->sec_id = ep ? ep->sec_id : 0;
	for (i = 0; i < n_addrs && w->n_addrs < FWD_MAX_ADDRS; i++)
		if (is_host(&addrs[i]))
			w->addrs[w->n_addrs++] = addrs[i];
	w->ctrl_fd = ctrl_fd;
	w->pool_fd = pool_fd;
	w->ref = (struct fwd_ref){.kind = FWD_REF_POOL, .owner = w};
	ev.data.ptr = &w->ref;
	if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, pool_fd, &ev))
		return -errno;
	return doc_path ? load_identity(w, doc_path) : 0;
}

/* See fwd.h. */
int fwd_set_identity(struct fwd *f, const char *ns, const char *name, const char *doc_path)
{
	struct fwd_workload *w = NULL;
	size_t i;

	for (i = 0; i < f->n_workloads && !w; i++)
		if (f->workloads[i].is_used && !strcmp(f->workloads[i].ns, ns) &&
		    !strcmp(f->workloads[i].name, name))
			w = &f->workloads[i];
	if (!w)
		return -ENOENT;
	free(w->doc);
	w->doc = NULL;
	w->doc_len = 0;
	sodium_memzero(w->sk, sizeof(w->sk));
	return load_identity(w, doc_path);
}

/* See fwd.h. */
int fwd_add_workload(struct fwd *f, const char *ns, const char *name, int ctrl_fd, int pool_fd,
		     const char *doc_path)
{
	const struct pm_endpoint *ep = find_endpoint(f->cfg.model, ns, name);

	if (!ep) {
		close(ctrl_fd);
		close(pool_fd);
		return -ENOENT;
	}
	return fwd_add_workload_addrs(f, ns, name, ep->addrs, ep->n_addrs, ctrl_fd, pool_fd,
				      doc_path);
}

/* w's first host address of family, or NULL. */
static const struct pm_addr *host_addr(const struct fwd_workload *w, uint8_t family)
{
	size_t i;

	for (i = 0; i < w->n_addrs; i++)
		if (w->addrs[i].family == family)
			return &w->addrs[i];
	return NULL;
}

static bool has_listener(const struct fwd *f, const struct fwd_workload *src,
			 const struct pm_addr *da, uint8_t proto, uint16_t port)
{
	const struct fwd_listener *l;
	size_t i;

	for (i = 0; i < f->n_listeners; i++) {
		l = &f->listeners[i];
		if (l->src == src && l->proto == proto && l->dport == port &&
		    l->family == da->family && !memcmp(l->daddr, da->addr, 16))
			return true;
	}
	return false;
}

static int add_listener(struct fwd *f, struct fwd_workload *src, struct fwd_workload *dst,
			const struct pm_addr *da, const struct fwd_port *port)
{
	const struct pm_addr *sa = host_addr(src, da->family);
	struct epoll_event ev = {.events = EPOLLIN};
	struct fwd_listener *l;
	int err;

	if (!sa || has_listener(f, src, da, port->proto, port->port))
		return 0;
	l = fwd_listener_slot(f);
	if (!l)
		return -E2BIG;
	if (port->proto == BM_PROTO_UDP)
		err = rlns_udp(src->ctrl_fd, da->family, da->addr, port->port, &l->fd);
	else
		err = rlns_listen(src->ctrl_fd, da->family, da->addr, port->port, &l->fd);
	if (err) {
		pr_warn("rootless: listen in %s/%s for %s/%s %s port %u: %s", src->ns, src->name,
			dst->ns, dst->name, port->proto == BM_PROTO_UDP ? "udp" : "tcp", port->port,
			strerror(-err));
		return err;
	}
	l->ref = (struct fwd_ref){.kind = FWD_REF_LISTENER, .owner = l};
	l->src = src;
	l->dst = dst;
	l->proto = port->proto;
	l->family = da->family;
	memcpy(l->saddr, sa->addr, 16);
	memcpy(l->daddr, da->addr, 16);
	l->dport = port->port;
	ev.data.ptr = &l->ref;
	if (epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, l->fd, &ev)) {
		err = -errno;
		close(l->fd);
		l->fd = -1;
		l->src = l->dst = NULL;
		return err;
	}
	if (l == &f->listeners[f->n_listeners])
		f->n_listeners++;
	if (f->is_primed && l->proto == BM_PROTO_TCP)
		fwd_pool_refill(f, l);
	return 0;
}

/* See fwd.h. */
int fwd_keeper_fd(const struct fwd *f, size_t i)
{
	return i < f->n_workloads && f->workloads[i].is_used ? f->workloads[i].ctrl_fd : -1;
}

static int add_port(struct fwd_port *ports, size_t *n, size_t max, uint8_t proto, uint16_t port)
{
	size_t i;

	if (proto != BM_PROTO_TCP && proto != BM_PROTO_UDP)
		return 0;
	for (i = 0; i < *n; i++)
		if (ports[i].proto == proto && ports[i].port == port)
			return 0;
	if (*n >= max)
		return -E2BIG;
	ports[(*n)++] = (struct fwd_port){.proto = proto, .port = port};
	return 0;
}

/* Listeners in src's namespace for every host address of dst at each port. */
static int intercept_pair(struct fwd *f, struct fwd_workload *src, struct fwd_workload *dst,
			  const struct fwd_port *ports, size_t n_ports)
{
	size_t a, p;
	int err = 0;

	for (a = 0; a < dst->n_addrs && !err; a++)
		for (p = 0; p < n_ports && !err; p++)
			err = add_listener(f, src, dst, &dst->addrs[a], &ports[p]);
	return err;
}

/* See fwd.h. */
int fwd_intercept(struct fwd *f, const struct fwd_port *extra, size_t n_extra)
{
	struct fwd_port *all = calloc(FWD_MAX_PORTS * 2, sizeof(*all));
	const struct pm_endpoint *ep;
	size_t s, d, i, n = 0;
	int err = 0;

	if (!all)
		return -ENOMEM;
	for (i = 0; i < n_extra && !err; i++)
		err = add_port(f->ports, &f->n_ports, FWD_MAX_PORTS, extra[i].proto, extra[i].port);
	for (i = 0; i < f->n_ports && !err; i++)
		err = add_port(all, &n, FWD_MAX_PORTS * 2, f->ports[i].proto, f->ports[i].port);
	for (d = 0; d < f->n_workloads && !err; d++) {
		if (!f->workloads[d].is_used)
			continue;
		ep = find_endpoint(f->cfg.model, f->workloads[d].ns, f->workloads[d].name);
		for (i = 0; ep && i < ep->n_ports && !err; i++)
			err = add_port(all, &n, FWD_MAX_PORTS * 2, ep->ports[i].proto,
				       ep->ports[i].port);
	}
	for (s = 0; s < f->n_workloads && !err; s++)
		for (d = 0; d < f->n_workloads && !err; d++)
			if (s != d && f->workloads[s].is_used && f->workloads[d].is_used)
				err = intercept_pair(f, &f->workloads[s], &f->workloads[d], all, n);
	free(all);
	return err;
}

/* See fwd_priv.h: policy, and for an unauthenticated pair that needs it, a handshake first. */
void fwd_judge(struct fwd *f, struct fwd_workload *src, struct fwd_workload *dst,
	       const struct pe_tuple *t, struct pe_result *r)
{
	struct pe_auth auth;

	fwd_auth_snapshot(f, &auth);
	/* No policy yet (an agent whose replicas start before its first revision): deny. */
	if (!f->cfg.model || policy_eval(f->cfg.model, t, &auth, r)) {
		memset(r, 0, sizeof(*r));
		r->verdict = BM_VERDICT_DENY;
		r->reason = BM_REASON_DENY_INTERNAL;
		return;
	}
	if (r->verdict != BM_VERDICT_DENY ||
	    (r->reason != BM_REASON_DENY_AUTH_MISSING && r->reason != BM_REASON_DENY_AUTH_EXPIRED))
		return;
	if (!src->has_identity || !dst->has_identity || !f->has_trust)
		return;
	if (fwd_auth_pair(f, src, dst))
		return;
	fwd_auth_snapshot(f, &auth);
	if (policy_eval(f->cfg.model, t, &auth, r)) {
		memset(r, 0, sizeof(*r));
		r->verdict = BM_VERDICT_DENY;
		r->reason = BM_REASON_DENY_INTERNAL;
	}
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
	fwd_judge(f, l->src, l->dst, &t, &r);
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
			if (f->listeners[j].fd >= 0 && f->listeners[j].proto == BM_PROTO_TCP)
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

		if (ref->kind == FWD_REF_LISTENER &&
		    ((struct fwd_listener *)ref->owner)->proto == BM_PROTO_UDP)
			fwd_udp_recv(f, ref->owner);
		else if (ref->kind == FWD_REF_LISTENER)
			on_accept(f, ref->owner);
		else if (ref->kind == FWD_REF_FLOW)
			fwd_flow_event(f, ref->owner);
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
		fwd_flows_expire(f);
		fwd_conns_reap(f);
	}
	return 0;
}

static struct fwd_workload *workload_of(struct fwd *f, const uint8_t *addr, uint8_t family)
{
	size_t i, j;

	for (i = 0; i < f->n_workloads; i++)
		for (j = 0; f->workloads[i].is_used && j < f->workloads[i].n_addrs; j++)
			if (f->workloads[i].addrs[j].family == family &&
			    !memcmp(f->workloads[i].addrs[j].addr, addr, 16))
				return &f->workloads[i];
	return NULL;
}

/* Judge an established connection or flow again; false: it must close (event written). */
static bool rejudge(struct fwd *f, const struct pe_tuple *t, bool *is_auth_bound, uint32_t *src_id,
		    uint32_t *dst_id)
{
	struct fwd_workload *src = workload_of(f, t->saddr, t->family);
	struct fwd_workload *dst = workload_of(f, t->daddr, t->family);
	struct pe_result r;

	if (!src || !dst)
		return false;
	fwd_judge(f, src, dst, t, &r);
	if (r.verdict == BM_VERDICT_DENY) {
		fwd_event_emit(f, t, &r);
		return false;
	}
	*is_auth_bound = r.verdict == BM_VERDICT_ALLOW_AUTH;
	*src_id = r.src_id;
	*dst_id = r.dst_id;
	return true;
}

/* See fwd.h. */
int fwd_set_model(struct fwd *f, const struct pm_model *m, unsigned int *n_closed)
{
	struct fwd_conn *c, *cnext;
	struct fwd_flow *fl, *fnext;
	const struct pm_endpoint *ep;
	unsigned int n = 0;
	size_t i;

	f->cfg.model = m;
	for (i = 0; i < f->n_workloads; i++) {
		ep = find_endpoint(m, f->workloads[i].ns, f->workloads[i].name);
		f->workloads[i].sec_id = ep ? ep->sec_id : 0;
	}
	for (c = f->conns; c; c = cnext) {
		cnext = c->next;
		if (!rejudge(f, &c->tuple, &c->is_auth_bound, &c->src_id, &c->dst_id)) {
			fwd_conn_abort(f, c);
			n++;
		}
	}
	for (fl = f->flows; fl; fl = fnext) {
		fnext = fl->next;
		if (fl->fd < 0) { /* denied: its next datagram is judged anew */
			fwd_flow_close(f, fl);
			continue;
		}
		if (!rejudge(f, &fl->tuple, &fl->is_auth_bound, &fl->src_id, &fl->dst_id)) {
			fwd_flow_close(f, fl);
			n++;
		}
	}
	fwd_conns_reap(f);
	if (n_closed)
		*n_closed = n;
	return fwd_intercept(f, NULL, 0);
}

/* See fwd.h. */
void fwd_counts(const struct fwd *f, size_t *workloads, size_t *listeners, size_t *conns,
		size_t *flows)
{
	size_t i;

	*workloads = *listeners = 0;
	for (i = 0; i < f->n_workloads; i++)
		*workloads += f->workloads[i].is_used;
	for (i = 0; i < f->n_listeners; i++)
		*listeners += f->listeners[i].fd >= 0;
	*conns = f->n_conns;
	*flows = f->n_flows;
}

/* See fwd.h. */
void fwd_hs_counts(const struct fwd *f, uint64_t *ok, uint64_t *failed)
{
	*ok = f->n_hs_ok;
	*failed = f->n_hs_failed;
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
	fwd_spare_pipes_release(f);
	while (f->flows)
		fwd_flow_close(f, f->flows);
	for (i = 0; i < f->n_listeners; i++) {
		if (f->listeners[i].fd >= 0)
			close(f->listeners[i].fd);
		fwd_pool_release(&f->listeners[i]);
	}
	for (i = 0; i < f->n_workloads; i++) {
		if (!f->workloads[i].is_used)
			continue;
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
	free(f->dgram);
	free(f);
}
