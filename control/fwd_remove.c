// SPDX-License-Identifier: GPL-2.0-only
/*
 * Removing a workload from the rootless forwarder (a placed replica that
 * stops): its connections, flows and listeners go, and their slots are
 * reused. Listener and workload slots never move, because epoll events,
 * flows and the keepers' pool rings point at them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "fwd_priv.h"
#include "log.h"

/* See fwd_priv.h. */
struct fwd_listener *fwd_listener_slot(struct fwd *f)
{
	struct fwd_listener *l = NULL;
	size_t i;

	/* A freed slot with pool answers still due would take sockets meant for the old one. */
	for (i = 0; i < f->n_listeners && !l; i++)
		if (f->listeners[i].fd < 0 && !f->listeners[i].n_requested)
			l = &f->listeners[i];
	if (!l && f->n_listeners < FWD_MAX_LISTENERS)
		l = &f->listeners[f->n_listeners];
	if (l) {
		memset(l, 0, sizeof(*l));
		l->fd = -1;
	}
	return l;
}

static bool has_addr(const struct fwd_workload *w, uint8_t family, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < w->n_addrs; i++)
		if (w->addrs[i].family == family && !memcmp(w->addrs[i].addr, addr, 16))
			return true;
	return false;
}

static bool is_of(const struct fwd_workload *w, const struct pe_tuple *t)
{
	return has_addr(w, t->family, t->saddr) || has_addr(w, t->family, t->daddr);
}

static struct fwd_workload *find(struct fwd *f, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < f->n_workloads; i++)
		if (f->workloads[i].is_used && !strcmp(f->workloads[i].ns, ns) &&
		    !strcmp(f->workloads[i].name, name))
			return &f->workloads[i];
	return NULL;
}

/* Close the listeners in w's namespace or on its addresses, and their flows. */
static void drop_listeners(struct fwd *f, struct fwd_workload *w)
{
	struct fwd_flow *fl, *next;
	struct fwd_listener *l;
	size_t i;

	for (fl = f->flows; fl; fl = next) {
		next = fl->next;
		if (fl->l->src == w || fl->l->dst == w)
			fwd_flow_close(f, fl);
	}
	for (i = 0; i < f->n_listeners; i++) {
		l = &f->listeners[i];
		if (l->fd < 0 || (l->src != w && l->dst != w))
			continue;
		close(l->fd); /* also leaves the epoll set */
		fwd_pool_release(l);
		l->fd = -1;
		l->src = l->dst = NULL;
	}
}

/* See fwd.h. */
int fwd_remove_workload(struct fwd *f, const char *ns, const char *name)
{
	struct fwd_workload *w = find(f, ns, name);
	struct fwd_conn *c, *next;

	if (!w)
		return -ENOENT;
	for (c = f->conns; c; c = next) {
		next = c->next;
		if (is_of(w, &c->tuple))
			fwd_conn_abort(f, c);
	}
	fwd_conns_reap(f);
	drop_listeners(f, w);
	/* Answers still due from its keeper will never come: release the listeners' counts. */
	while (w->n_inflight) {
		f->listeners[w->inflight[w->inflight_head]].n_requested--;
		w->inflight_head = (w->inflight_head + 1) % FWD_POOL_INFLIGHT;
		w->n_inflight--;
	}
	close(w->ctrl_fd);
	close(w->pool_fd);
	sodium_memzero(w->sk, sizeof(w->sk));
	free(w->doc);
	memset(w, 0, sizeof(*w));
	w->ctrl_fd = w->pool_fd = -1;
	pr_debug("rootless: workload %s/%s removed from the forwarder", ns, name);
	return 0;
}

/* See fwd.h. */
size_t fwd_host_addrs(const struct fwd *f, struct pm_addr *out, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < f->n_workloads; i++)
		for (j = 0; f->workloads[i].is_used && j < f->workloads[i].n_addrs && n < max; j++)
			out[n++] = f->workloads[i].addrs[j];
	return n;
}

/* See fwd.h. */
size_t fwd_slots(const struct fwd *f)
{
	return f->n_workloads;
}
