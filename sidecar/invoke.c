// SPDX-License-Identifier: GPL-2.0-only
/* Service invocation between sidecars with the identity handshake; see invoke.h. */
#include <arpa/inet.h>
#include <errno.h>
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
#include <unistd.h>

#include "../control/log.h"
#include "appclient.h"
#include "chan.h"
#include "dapr.h"
#include "ident_hs_io.h"
#include "invoke.h"
#include "store.h"

#define INVOKE_TIMEOUT_MS 10000
#define DISCOVER_TIMEOUT_MS 2000
#define STOP_WAIT_MS 15000
#define HEAD_MAX 4096

struct invoke {
	struct invoke_config cfg;
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

static void hs_config(const struct invoke *inv, struct ident_hs_config *hc)
{
	const struct sc_identity *id = inv->cfg.id;

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
		   const char *peer, char **reply)
{
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
	snprintf(hdrs, sizeof(hdrs), "dapr-caller-app-id: %.128s\r\nX-Bpfmesh-Peer: %.512s\r\n",
		 caller, peer);
	status = inv->cfg.app_port
			 ? appclient_request_hdrs(inv->cfg.app_port, method, path, ctype, hdrs,
						  body, len, INVOKE_TIMEOUT_MS, reply)
			 : -ECONNREFUSED;
	json_decref(o);
	return status < 0 ? 502 : status;
}

/* One caller: handshake, namespace check, one request, one answer. */
static void *serve_conn(void *arg)
{
	struct conn *c = arg;
	struct invoke *inv = c->inv;
	char *head = NULL, *body = NULL, *reply = NULL;
	struct ident_hs_result res;
	struct ident_hs_config hc;
	size_t hlen, blen;
	struct chan ch;
	int64_t dl;
	int err, status;

	memset(&res, 0, sizeof(res));
	hs_config(inv, &hc);
	err = ident_hs_server(c->fd, &hc, &res);
	if (err) {
		pr_info("sidecar: invoke: handshake with a caller failed: %s", strerror(-err));
		goto out;
	}
	chan_init(&ch, c->fd, &res);
	dl = hs_io_deadline(INVOKE_TIMEOUT_MS);
	/* Read the whole request first: closing on unread data would reset the answer. */
	err = chan_recv(&ch, &head, &hlen, HEAD_MAX, dl);
	if (!err)
		err = chan_recv(&ch, &body, &blen, CHAN_MSG_MAX, dl);
	if (err)
		goto out_chan;
	if (!sc_identity_in_namespace(res.peer.certs[0].subject, inv->cfg.namespace)) {
		pr_info("sidecar: invoke: %s is not of namespace %s: refused",
			res.peer.certs[0].subject, inv->cfg.namespace);
		send_answer(&ch, 403,
			    "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":"
			    "\"caller not allowed\"}",
			    dl);
		goto out_chan;
	}
	status = forward(inv, head, body, blen, res.peer.certs[0].subject, &reply);
	send_answer(&ch, status, reply, dl);
out_chan:
	chan_clear(&ch);
out:
	ident_hs_result_clear(&res);
	free(head);
	free(body);
	free(reply);
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
	atomic_fetch_add(&inv->active, 1);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, serve_conn, c)) {
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
		if (fd >= 0)
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
	inv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

/* Start; see invoke.h. */
int invoke_start(const struct invoke_config *cfg, struct invoke **out)
{
	struct invoke *inv;
	char subj[300];
	int err = 0;

	if (!cfg->id || !cfg->nc)
		return -EINVAL;
	inv = calloc(1, sizeof(*inv));
	if (!inv)
		return -ENOMEM;
	inv->cfg = *cfg;
	inv->lfd = -1;
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
	int waited_ms = 0;

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
	while (atomic_load(&inv->active) > 0 && waited_ms < STOP_WAIT_MS) {
		usleep(10000);
		waited_ms += 10;
	}
	if (atomic_load(&inv->active) > 0)
		return; /* a call still runs: leak rather than free under it */
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

static int dial(const char *addr)
{
	struct timeval tv = {.tv_sec = INVOKE_TIMEOUT_MS / 1000};
	struct sockaddr_in sa;
	int fd, one = 1;

	if (parse_addr(addr, &sa))
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		one = -errno;
		close(fd);
		return one;
	}
	return fd;
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
		    const char *path, struct http_response *resp)
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

/* Dial addr, authenticate both ways, check the peer's namespace, exchange. */
static void call_at(struct invoke *inv, const char *addr, const char *ns,
		    const struct http_request *req, const char *path, struct http_response *resp)
{
	struct ident_hs_result res;
	struct ident_hs_config hc;
	struct chan ch;
	int fd, err;

	memset(&res, 0, sizeof(res));
	fd = dial(addr);
	if (fd < 0) {
		dapr_error(resp, 502, "ERR_DIRECT_INVOKE", "dial %s: %s", addr, strerror(-fd));
		return;
	}
	hs_config(inv, &hc);
	err = ident_hs_client(fd, &hc, &res);
	if (err) {
		dapr_error(resp, 403, "ERR_DIRECT_INVOKE", "mutual authentication with %s: %s",
			   addr, strerror(-err));
		goto out;
	}
	if (!sc_identity_in_namespace(res.peer.certs[0].subject, ns)) {
		dapr_error(resp, 403, "ERR_DIRECT_INVOKE", "%s answered as %s, not namespace %s",
			   addr, res.peer.certs[0].subject, ns);
		goto out;
	}
	chan_init(&ch, fd, &res);
	err = exchange(inv, &ch, req, path, resp);
	chan_clear(&ch);
	if (err)
		dapr_error(resp, 502, "ERR_DIRECT_INVOKE", "call to %s: %s", addr, strerror(-err));
out:
	ident_hs_result_clear(&res);
	close(fd);
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
	call_at(inv, addr, ns, req, path, resp);
}
