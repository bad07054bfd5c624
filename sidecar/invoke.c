// SPDX-License-Identifier: GPL-2.0-only
/* Service invocation between sidecars with the identity handshake; see invoke.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../control/log.h"
#include "appclient.h"
#include "chan.h"
#include "dapr.h"
#include "ident_hs_io.h"
#include "invoke.h"
#include "netns.h"
#include "store.h"

#define INVOKE_TIMEOUT_MS 10000
#define DISCOVER_TIMEOUT_MS 2000
#define CONNECT_TIMEOUT_MS 3000 /* a dropped SYN (policy) is reported after this */
#define STOP_WAIT_MS 15000
#define HEAD_MAX 4096
#define POOL_MAX 16 /* idle authenticated connections kept by a caller */
#define POOL_AGE_MS 30000 /* a caller reuses a connection this long after its handshake */
#define SERVE_IDLE_MS 35000 /* a server waits this long for the next call on a connection */
#define SERVE_MAX 128 /* connections served at once */

/* An authenticated connection to addr, idle in the caller's pool. */
struct pooled {
	char addr[128];
	int fd;
	struct chan ch;
	int64_t born_ms; /* hs_io_deadline(0) at the handshake */
	int64_t not_after; /* the earlier expiry of both documents (unix s) */
};

struct invoke {
	struct invoke_config cfg;
	pthread_mutex_t lock; /* pool and serving */
	struct pooled pool[POOL_MAX];
	unsigned int n_pool;
	int serving[SERVE_MAX]; /* fds of served connections, -1 free */
	natsSubscription *sub;
	pthread_t accept_th;
	bool has_thread;
	atomic_bool is_stopping;
	atomic_int active; /* connection threads running */
	int lfd;
	unsigned int port;
	char advertise[128];
};

struct conn {
	struct invoke *inv;
	int fd;
};

/* The handshake's view of the current identity r (a reference the caller holds). */
static void hs_config(const struct sc_idref *r, struct ident_hs_config *hc)
{
	const struct sc_identity *id = &r->id;

	memset(hc, 0, sizeof(*hc));
	hc->trust = &id->trust;
	hc->crl = &id->crl;
	hc->doc = id->doc_bytes;
	hc->doc_len = id->doc_len;
	hc->sk = id->sk;
}

/* "bm.inv.<ns>.<app>", both made subject-safe. */
static void subject_of(const char *ns, const char *app, char *out, size_t size)
{
	char a[128], n[128];

	store_safe_name(ns, n, sizeof(n));
	store_safe_name(app, a, sizeof(a));
	snprintf(out, size, "bm.inv.%s.%s", n, a);
}

/* "IPv4:PORT" into sa. Returns 0 or -EINVAL. */
static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	const char *colon = strrchr(s, ':');
	char ip[64], *end;
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	port = strtoul(colon + 1, &end, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (*end || port > 65535 || inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

/* Send an answer: a head {"status": N} and a body message. */
static int send_answer(struct chan *ch, int status, const char *body, int64_t deadline_ms)
{
	char head[64];
	int err;

	snprintf(head, sizeof(head), "{\"status\":%d}", status);
	err = chan_send(ch, head, strlen(head), deadline_ms);
	return err ? err : chan_send(ch, body ? body : "", body ? strlen(body) : 0, deadline_ms);
}

/* Only what HTTP can carry in a request line or header value. */
static bool is_clean(const char *s, bool allow_space)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 + !allow_space || *s == 0x7f)
			return false;
	return true;
}

/* Forward one authenticated request to the app; the status, *reply its body. */
static int forward(struct invoke *inv, const char *head, const char *body, size_t len,
		   const struct ident_cert *peer_cert, char **reply)
{
	const char *peer = peer_cert->subject;
	const char *method = NULL, *path = NULL, *ctype = NULL, *caller = NULL;
	char hdrs[1024];
	json_t *o;
	int status;

	o = json_loads(head, 0, NULL);
	if (!o ||
	    json_unpack(o, "{s:s,s:s,s:s,s:s}", "method", &method, "path", &path, "ctype", &ctype,
			"caller", &caller) ||
	    !is_clean(method, false) || !is_clean(path, false) || *path != '/' ||
	    !is_clean(ctype, true) || !is_clean(caller, false) || !is_clean(peer, false)) {
		json_decref(o);
		return 400;
	}
	snprintf(hdrs, sizeof(hdrs),
		 "dapr-caller-app-id: %.128s\r\nX-Bpfmesh-Peer: %.512s\r\n"
		 "X-Bpfmesh-Peer-Serial: %016llx\r\n",
		 caller, peer, (unsigned long long)peer_cert->serial);
	status = inv->cfg.app_port
			 ? appclient_request_hdrs(inv->cfg.app_port, method, path, ctype, hdrs,
						  body, len, INVOKE_TIMEOUT_MS, reply)
			 : -ECONNREFUSED;
	json_decref(o);
	return status < 0 ? 502 : status;
}

/* Serve calls on an authenticated connection until it idles, breaks or expires. */
static void serve_calls(struct invoke *inv, struct chan *ch, const struct ident_hs_result *res)
{
	const char *peer = res->peer.certs[0].subject;
	bool is_allowed = sc_identity_in_namespace(peer, inv->cfg.namespace);
	char *head = NULL, *body = NULL, *reply = NULL;
	int wait_ms = INVOKE_TIMEOUT_MS;
	size_t hlen, blen;
	int64_t dl;
	int status;

	if (!is_allowed)
		pr_info("sidecar: invoke: %s is not of namespace %s: refused", peer,
			inv->cfg.namespace);
	while (!atomic_load(&inv->is_stopping) && time(NULL) < res->not_after) {
		/* Read the whole request first: closing on unread data would reset the answer. */
		if (chan_recv(ch, &head, &hlen, HEAD_MAX, hs_io_deadline(wait_ms)))
			break;
		dl = hs_io_deadline(INVOKE_TIMEOUT_MS);
		if (chan_recv(ch, &body, &blen, CHAN_MSG_MAX, dl))
			break;
		status = is_allowed ? forward(inv, head, body, blen, &res->peer.certs[0], &reply)
				    : 403;
		send_answer(ch, status,
			    is_allowed ? reply
				       : "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":"
					 "\"caller not allowed\"}",
			    dl);
		free(head);
		free(body);
		free(reply);
		head = body = reply = NULL;
		if (!is_allowed)
			break;
		wait_ms = SERVE_IDLE_MS;
	}
	free(head);
	free(body);
}

/* Track fd as served (false: too many already). */
static bool serving_add(struct invoke *inv, int fd, bool is_add)
{
	bool is_done = false;
	int i;

	pthread_mutex_lock(&inv->lock);
	for (i = 0; i < SERVE_MAX && !is_done; i++) {
		if (inv->serving[i] == (is_add ? -1 : fd)) {
			inv->serving[i] = is_add ? fd : -1;
			is_done = true;
		}
	}
	pthread_mutex_unlock(&inv->lock);
	return is_done;
}

/* One caller's connection: handshake, then its calls. */
static void *serve_conn(void *arg)
{
	struct conn *c = arg;
	struct invoke *inv = c->inv;
	struct sc_idref *id = sc_idhold_get(inv->cfg.ids);
	struct ident_hs_result res;
	struct ident_hs_config hc;
	struct chan ch;
	int err = -ENOKEY;

	memset(&res, 0, sizeof(res));
	if (id) {
		hs_config(id, &hc);
		err = ident_hs_server(c->fd, &hc, &res);
	}
	sc_idref_put(id); /* the session keys are all the calls need */
	if (err) {
		pr_info("sidecar: invoke: handshake with a caller failed: %s", strerror(-err));
	} else {
		chan_init(&ch, c->fd, &res);
		serve_calls(inv, &ch, &res);
		chan_clear(&ch);
	}
	ident_hs_result_clear(&res);
	serving_add(inv, c->fd, false);
	close(c->fd);
	free(c);
	atomic_fetch_sub(&inv->active, 1);
	return NULL;
}

static void spawn_conn(struct invoke *inv, int fd)
{
	struct conn *c = malloc(sizeof(*c));
	pthread_attr_t at;
	pthread_t th;

	if (!c) {
		close(fd);
		return;
	}
	*c = (struct conn){.inv = inv, .fd = fd};
	if (!serving_add(inv, fd, true)) {
		close(fd);
		free(c);
		return;
	}
	atomic_fetch_add(&inv->active, 1);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, serve_conn, c)) {
		serving_add(inv, fd, false);
		atomic_fetch_sub(&inv->active, 1);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&at);
}

static void *accept_loop(void *arg)
{
	struct invoke *inv = arg;
	struct pollfd p = {.fd = inv->lfd, .events = POLLIN};
	int fd;

	while (!atomic_load(&inv->is_stopping)) {
		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(inv->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		/* An answer is two frames: no Nagle wait for the second one. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		spawn_conn(inv, fd);
	}
	return NULL;
}

static int start_listener(struct invoke *inv)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char ip[INET_ADDRSTRLEN];
	int one = 1;

	if (parse_addr(inv->cfg.listen, &sa))
		return -EINVAL;
	inv->lfd = sc_app_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (inv->lfd < 0)
		return -errno;
	setsockopt(inv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(inv->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(inv->lfd, 64) ||
	    getsockname(inv->lfd, (struct sockaddr *)&sa, &sl))
		return -errno;
	inv->port = ntohs(sa.sin_port);
	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	if (inv->cfg.advertise)
		snprintf(inv->advertise, sizeof(inv->advertise), "%s", inv->cfg.advertise);
	else if (sa.sin_addr.s_addr == htonl(INADDR_ANY))
		return -EDESTADDRREQ; /* which of the addresses? say it with --invoke-advertise */
	else
		snprintf(inv->advertise, sizeof(inv->advertise), "%s:%u", ip, inv->port);
	if (pthread_create(&inv->accept_th, NULL, accept_loop, inv))
		return -EAGAIN;
	inv->has_thread = true;
	return 0;
}

/* Discovery: tell a caller where to dial. */
static void on_discover(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct invoke *inv = closure;

	(void)sub;
	if (natsMsg_GetReply(msg))
		natsConnection_PublishString(nc, natsMsg_GetReply(msg), inv->advertise);
	natsMsg_Destroy(msg);
}

static void pooled_close(struct pooled *p)
{
	chan_clear(&p->ch);
	close(p->fd);
	p->fd = -1;
}

/* An idle connection to addr still young enough to reuse, moved to *out. */
static bool pool_take(struct invoke *inv, const char *addr, struct pooled *out)
{
	int64_t now = hs_io_deadline(0);
	bool is_found = false;
	unsigned int i;

	pthread_mutex_lock(&inv->lock);
	for (i = 0; i < inv->n_pool && !is_found;) {
		struct pooled *p = &inv->pool[i];
		bool is_stale = now - p->born_ms > POOL_AGE_MS || time(NULL) >= p->not_after;

		if (!is_stale && strcmp(p->addr, addr)) {
			i++;
			continue;
		}
		if (is_stale)
			pooled_close(p);
		else
			*out = *p;
		is_found = !is_stale;
		inv->pool[i] = inv->pool[--inv->n_pool];
	}
	pthread_mutex_unlock(&inv->lock);
	return is_found;
}

/* Keep p for the next call to its address, or close it. */
static void pool_put(struct invoke *inv, struct pooled *p)
{
	pthread_mutex_lock(&inv->lock);
	if (inv->n_pool < POOL_MAX && !atomic_load(&inv->is_stopping))
		inv->pool[inv->n_pool++] = *p;
	else
		pooled_close(p);
	pthread_mutex_unlock(&inv->lock);
}

/* Start; see invoke.h. */
int invoke_start(const struct invoke_config *cfg, struct invoke **out)
{
	struct invoke *inv;
	char subj[300];
	int err = 0, i;

	if (!cfg->ids || !cfg->nc)
		return -EINVAL;
	inv = calloc(1, sizeof(*inv));
	if (!inv)
		return -ENOMEM;
	inv->cfg = *cfg;
	inv->lfd = -1;
	pthread_mutex_init(&inv->lock, NULL);
	for (i = 0; i < SERVE_MAX; i++)
		inv->serving[i] = -1;
	if (cfg->listen)
		err = start_listener(inv);
	if (!err && cfg->listen) {
		subject_of(cfg->namespace, cfg->app_id, subj, sizeof(subj));
		if (natsConnection_QueueSubscribe(&inv->sub, cfg->nc, subj, "bminv", on_discover,
						  inv) != NATS_OK)
			err = -ENOTCONN;
	}
	if (err) {
		pr_warn("sidecar: invoke on %s: %s", cfg->listen ? cfg->listen : "-",
			strerror(-err));
		invoke_stop(inv);
		return err;
	}
	if (cfg->listen)
		pr_info("sidecar: serving invocations on %s (advertised %s)", cfg->listen,
			inv->advertise);
	*out = inv;
	return 0;
}

/* The serving port; see invoke.h. */
unsigned int invoke_port(const struct invoke *inv)
{
	return inv ? inv->port : 0;
}

/* Stop; see invoke.h. */
void invoke_stop(struct invoke *inv)
{
	int waited_ms = 0, i;

	if (!inv)
		return;
	if (inv->sub) {
		natsSubscription_Unsubscribe(inv->sub);
		natsSubscription_Destroy(inv->sub);
	}
	atomic_store(&inv->is_stopping, true);
	if (inv->has_thread)
		pthread_join(inv->accept_th, NULL);
	if (inv->lfd >= 0)
		close(inv->lfd);
	/* Wake the served connections waiting for a next call; drop the idle pool. */
	pthread_mutex_lock(&inv->lock);
	for (i = 0; i < SERVE_MAX; i++)
		if (inv->serving[i] >= 0)
			shutdown(inv->serving[i], SHUT_RDWR);
	while (inv->n_pool)
		pooled_close(&inv->pool[--inv->n_pool]);
	pthread_mutex_unlock(&inv->lock);
	while (atomic_load(&inv->active) > 0 && waited_ms < STOP_WAIT_MS) {
		usleep(10000);
		waited_ms += 10;
	}
	if (atomic_load(&inv->active) > 0)
		return; /* a call still runs: leak rather than free under it */
	pthread_mutex_destroy(&inv->lock);
	free(inv);
}

/* The address a replica of app (in ns) serves on, asked over the bus. */
static int discover(struct invoke *inv, const char *ns, const char *app, char *addr, size_t size)
{
	natsMsg *reply = NULL;
	char subj[300];
	natsStatus s;

	subject_of(ns, app, subj, sizeof(subj));
	s = natsConnection_RequestString(&reply, inv->cfg.nc, subj, "", DISCOVER_TIMEOUT_MS);
	if (s != NATS_OK)
		return s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT ? -ENOENT : -ENOTCONN;
	snprintf(addr, size, "%.*s", natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
	natsMsg_Destroy(reply);
	return 0;
}

/* Wait (bounded) for a non-blocking connect on fd to finish. 0 or -errno. */
static int connect_wait(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(int);
	int n, soerr = 0;

	n = poll(&p, 1, CONNECT_TIMEOUT_MS);
	if (n == 0)
		return -ETIMEDOUT;
	if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return -errno;
	return -soerr;
}

/*
 * A connection to addr from the app's namespace (so policy judges it as the
 * replica's traffic), connected within CONNECT_TIMEOUT_MS: a policy that
 * does not admit it drops the SYN, and that must not hold the caller for
 * the whole call timeout. The fd (blocking) or -errno (-ETIMEDOUT).
 */
static int dial(const char *addr)
{
	struct timeval tv = {.tv_sec = INVOKE_TIMEOUT_MS / 1000};
	struct sockaddr_in sa;
	int fd, one = 1, err = 0;

	if (parse_addr(addr, &sa))
		return -EINVAL;
	fd = sc_app_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		err = errno == EINPROGRESS ? connect_wait(fd) : -errno;
	if (!err && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Why a connection to app's replica at addr could not be made, as Dapr's error. */
static void dial_error(struct http_response *resp, const char *addr, const char *app,
		       const char *ns, int err)
{
	const char *port = strrchr(addr, ':');

	port = port ? port + 1 : "?";
	if (err == -ETIMEDOUT)
		dapr_error(resp, 504, "ERR_DIRECT_INVOKE",
			   "app %s (namespace %s) at %s: no answer to connect within %d ms: the "
			   "network policies selecting %s must admit TCP port %s from this "
			   "replica (docs/sidecar.md, \"Service invocation\")",
			   app, ns, addr, CONNECT_TIMEOUT_MS, app, port);
	else if (err == -EPERM || err == -EACCES)
		dapr_error(resp, 403, "ERR_DIRECT_INVOKE",
			   "app %s (namespace %s) at %s: connect refused by policy (TCP port %s)",
			   app, ns, addr, port);
	else
		dapr_error(resp, 502, "ERR_DIRECT_INVOKE", "app %s (namespace %s) at %s: %s", app,
			   ns, addr, strerror(-err));
}

/* The request's head as the serving sidecar reads it (caller frees). */
static char *request_head(struct invoke *inv, const struct http_request *req, const char *path)
{
	const char *ctype = http_header(req, "Content-Type");
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "method", req->method, "path", path, "ctype",
			      ctype ? ctype : "application/json", "caller", inv->cfg.app_id);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* After the handshake: send the request, read the answer into resp. */
static int exchange(struct invoke *inv, struct chan *ch, const struct http_request *req,
		    const char *path, struct http_response *resp, bool *has_answer)
{
	int64_t dl = hs_io_deadline(INVOKE_TIMEOUT_MS);
	char *head = request_head(inv, req, path), *ans = NULL, *body = NULL;
	size_t alen, blen;
	json_int_t status = 0;
	json_t *o = NULL;
	int err;

	err = head ? chan_send(ch, head, strlen(head), dl) : -ENOMEM;
	if (!err)
		err = chan_send(ch, req->body ? req->body : "", req->content_length, dl);
	if (!err)
		err = chan_recv(ch, &ans, &alen, HEAD_MAX, dl);
	*has_answer = !err;
	if (!err)
		err = chan_recv(ch, &body, &blen, CHAN_MSG_MAX, dl);
	if (!err) {
		o = json_loads(ans, 0, NULL);
		if (!o || json_unpack(o, "{s:I}", "status", &status) || status < 100 ||
		    status > 599)
			err = -EPROTO;
	}
	if (!err) {
		resp->status = (int)status;
		resp->body = body;
		resp->body_len = blen;
		body = NULL;
		resp->content_type = blen && (resp->body[0] == '{' || resp->body[0] == '[')
					     ? "application/json"
					     : "text/plain";
	}
	json_decref(o);
	free(head);
	free(ans);
	free(body);
	return err;
}

/* Dial addr, authenticate both ways, check the peer's namespace: *p, or resp says why. */
static int open_conn(struct invoke *inv, const char *addr, const char *app, const char *ns,
		     struct pooled *p, struct http_response *resp)
{
	struct ident_hs_result res;
	struct ident_hs_config hc;
	struct sc_idref *id;
	int fd, err = -ENOKEY;

	memset(&res, 0, sizeof(res));
	fd = dial(addr);
	if (fd < 0) {
		dial_error(resp, addr, app, ns, fd);
		return fd;
	}
	id = sc_idhold_get(inv->cfg.ids);
	if (id) {
		hs_config(id, &hc);
		err = ident_hs_client(fd, &hc, &res);
	}
	sc_idref_put(id);
	if (err) {
		dapr_error(resp, 403, "ERR_DIRECT_INVOKE", "mutual authentication with %s: %s",
			   addr, strerror(-err));
	} else if (!sc_identity_in_namespace(res.peer.certs[0].subject, ns)) {
		dapr_error(resp, 403, "ERR_DIRECT_INVOKE", "%s answered as %s, not namespace %s",
			   addr, res.peer.certs[0].subject, ns);
		err = -EPERM;
	}
	if (!err) {
		snprintf(p->addr, sizeof(p->addr), "%s", addr);
		p->fd = fd;
		p->born_ms = hs_io_deadline(0);
		p->not_after = res.not_after;
		chan_init(&p->ch, fd, &res);
	} else {
		close(fd);
	}
	ident_hs_result_clear(&res);
	return err;
}

/*
 * Call over a pooled connection to addr, or a new one. A reused connection
 * that breaks before any answer (the server closed it meanwhile) is
 * replaced once.
 */
static void call_at(struct invoke *inv, const char *addr, const char *app, const char *ns,
		    const struct http_request *req, const char *path, struct http_response *resp)
{
	bool is_reused, has_answer = false;
	struct pooled p;
	int err;

	is_reused = pool_take(inv, addr, &p);
	if (!is_reused && open_conn(inv, addr, app, ns, &p, resp))
		return;
	err = exchange(inv, &p.ch, req, path, resp, &has_answer);
	if (err && is_reused && !has_answer) {
		pooled_close(&p);
		if (open_conn(inv, addr, app, ns, &p, resp))
			return;
		err = exchange(inv, &p.ch, req, path, resp, &has_answer);
	}
	if (err) {
		dapr_error(resp, 502, "ERR_DIRECT_INVOKE", "call to %s: %s", addr, strerror(-err));
		pooled_close(&p);
		return;
	}
	pool_put(inv, &p);
}

/* /v1.0/invoke/{app-id}[.{namespace}]/method/{path}; see invoke.h. */
void invoke_call(struct invoke *inv, const char *rest, const struct http_request *req,
		 struct http_response *resp)
{
	const char *m = strstr(rest, "/method/");
	char app[128], ns[128], path[2048], addr[128];
	size_t n = m ? (size_t)(m - rest) : 0;
	char *dot;
	int err;

	if (!inv) {
		dapr_error(resp, 501, "ERR_DIRECT_INVOKE",
			   "service invocation needs this sidecar's identity (--identity)");
		return;
	}
	if (!n || n >= sizeof(app)) {
		dapr_error(resp, 400, "ERR_DIRECT_INVOKE", "use /v1.0/invoke/{app-id}/method/...");
		return;
	}
	memcpy(app, rest, n);
	app[n] = '\0';
	dot = strchr(app, '.');
	snprintf(ns, sizeof(ns), "%s", dot ? dot + 1 : inv->cfg.namespace);
	if (dot)
		*dot = '\0';
	if ((size_t)snprintf(path, sizeof(path), "/%s%s%s", m + 8, *req->query ? "?" : "",
			     req->query) >= sizeof(path) ||
	    !is_clean(path, false)) {
		dapr_error(resp, 400, "ERR_DIRECT_INVOKE", "method path too long or not printable");
		return;
	}
	err = discover(inv, ns, app, addr, sizeof(addr));
	if (err) {
		dapr_error(resp, err == -ENOENT ? 404 : 503, "ERR_DIRECT_INVOKE",
			   "app %s in namespace %s: %s", app, ns,
			   err == -ENOENT ? "no replica answers" : "bus unavailable");
		return;
	}
	call_at(inv, addr, app, ns, req, path, resp);
}
