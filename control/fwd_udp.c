// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's UDP relay. A UDP listener is a datagram socket bound, in
 * the source workload's namespace, to the destination's address and port.
 * Each source port that sends to it is a flow: judged once with
 * policy_eval() when its first datagram comes (one event), then, if
 * allowed, given its own socket in the destination's namespace, bound to
 * the source's address and connected to the destination, so the server
 * sees the real client address and its replies come back on that socket
 * to be sent from the listener to the source. A denied flow's datagrams
 * are dropped (the event is written once per flow). A flow with no
 * datagram for udp_idle_ms ends; so does one whose authenticated pair goes
 * or that a new policy denies (fwd_set_model).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "fwd_priv.h"
#include "log.h"
#include "rlns.h"

#define DGRAMS_PER_WAKEUP 32

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint16_t peer_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static struct fwd_flow *find_flow(struct fwd *f, const struct fwd_listener *l, uint16_t sport)
{
	struct fwd_flow *fl;

	for (fl = f->flows; fl; fl = fl->next)
		if (fl->l == l && fl->tuple.sport == sport)
			return fl;
	return NULL;
}

/* See fwd_priv.h: end flow fl (its socket closes; later datagrams start a new flow). */
void fwd_flow_close(struct fwd *f, struct fwd_flow *fl)
{
	if (fl->prev)
		fl->prev->next = fl->next;
	else
		f->flows = fl->next;
	if (fl->next)
		fl->next->prev = fl->prev;
	if (fl->fd >= 0)
		close(fl->fd);
	f->n_flows--;
	free(fl);
}

/* A socket in the destination, bound to the source address, connected to l's destination. */
static int flow_socket(struct fwd_listener *l, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int err;

	err = rlns_udp(l->dst->ctrl_fd, l->family, l->saddr, 0, fd);
	if (err)
		return err;
	len = rlns_sockaddr(l->family, l->daddr, l->dport, &ss);
	if (connect(*fd, (struct sockaddr *)&ss, len)) {
		err = -errno;
		close(*fd);
		*fd = -1;
	}
	return err;
}

/* A new flow for the source port of peer, judged; NULL when it cannot be made. */
static struct fwd_flow *new_flow(struct fwd *f, struct fwd_listener *l,
				 const struct sockaddr_storage *peer, socklen_t peer_len)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct pe_result r;
	struct fwd_flow *fl;
	int err;

	if (f->n_flows >= FWD_MAX_FLOWS) {
		pr_warn("rootless: %u UDP flows open: dropping a new one", f->n_flows);
		return NULL;
	}
	fl = calloc(1, sizeof(*fl));
	if (!fl)
		return NULL;
	fl->fd = -1;
	fl->l = l;
	fl->ref = (struct fwd_ref){.kind = FWD_REF_FLOW, .owner = fl};
	memcpy(&fl->peer, peer, peer_len);
	fl->peer_len = peer_len;
	fl->tuple = (struct pe_tuple){.family = l->family,
				      .proto = BM_PROTO_UDP,
				      .sport = peer_port(peer),
				      .dport = l->dport};
	memcpy(fl->tuple.saddr, l->saddr, 16);
	memcpy(fl->tuple.daddr, l->daddr, 16);
	fwd_judge(f, l->src, l->dst, &fl->tuple, &r);
	fwd_event_emit(f, &fl->tuple, &r);
	fl->is_auth_bound = r.verdict == BM_VERDICT_ALLOW_AUTH;
	fl->src_id = r.src_id;
	fl->dst_id = r.dst_id;
	if (r.verdict != BM_VERDICT_DENY) {
		err = flow_socket(l, &fl->fd);
		ev.data.ptr = &fl->ref;
		if (!err && epoll_ctl(f->epoll_fd, EPOLL_CTL_ADD, fl->fd, &ev))
			err = -errno;
		if (err) {
			pr_warn("rootless: UDP socket in %s/%s: %s", l->dst->ns, l->dst->name,
				strerror(-err));
			if (fl->fd >= 0)
				close(fl->fd);
			free(fl);
			return NULL;
		}
	}
	fl->next = f->flows;
	if (f->flows)
		f->flows->prev = fl;
	f->flows = fl;
	f->n_flows++;
	return fl;
}

/* See fwd_priv.h: datagrams from l's source to its destination. */
void fwd_udp_recv(struct fwd *f, struct fwd_listener *l)
{
	struct sockaddr_storage peer;
	struct fwd_flow *fl;
	socklen_t len;
	ssize_t n;
	int i;

	for (i = 0; i < DGRAMS_PER_WAKEUP; i++) {
		len = sizeof(peer);
		n = recvfrom(l->fd, f->dgram, FWD_DGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&peer,
			     &len);
		if (n < 0)
			return;
		fl = find_flow(f, l, peer_port(&peer));
		if (!fl)
			fl = new_flow(f, l, &peer, len);
		if (!fl)
			continue;
		fl->last_ms = mono_ms();
		if (fl->fd >= 0 && send(fl->fd, f->dgram, (size_t)n, MSG_DONTWAIT) < 0)
			pr_debug("rootless: UDP to %s/%s: %s", l->dst->ns, l->dst->name,
				 strerror(errno));
	}
}

/* See fwd_priv.h: replies from the destination go back to the source. */
void fwd_flow_event(struct fwd *f, struct fwd_flow *fl)
{
	ssize_t n;
	int i;

	for (i = 0; i < DGRAMS_PER_WAKEUP; i++) {
		n = recv(fl->fd, f->dgram, FWD_DGRAM_MAX, MSG_DONTWAIT);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error the next send reports again */
		fl->last_ms = mono_ms();
		if (sendto(fl->l->fd, f->dgram, (size_t)n, MSG_DONTWAIT,
			   (struct sockaddr *)&fl->peer, fl->peer_len) < 0)
			pr_debug("rootless: UDP reply: %s", strerror(errno));
	}
}

/* See fwd_priv.h: end flows idle for udp_idle_ms. */
void fwd_flows_expire(struct fwd *f)
{
	uint64_t now = mono_ms();
	struct fwd_flow *fl, *next;

	for (fl = f->flows; fl; fl = next) {
		next = fl->next;
		if (now - fl->last_ms >= f->cfg.udp_idle_ms)
			fwd_flow_close(f, fl);
	}
}
