// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's handshake threads: one listener on the auth port and a few
 * workers that run client and server handshakes (identity/ident_hs.h),
 * each bounded by AGENT_AUTH_TIMEOUT_MS. They only talk and verify; the
 * agent's thread decides and writes bm_auth (agent_auth.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "agent_auth.h"
#include "ident_crl.h"
#include "ident_hs.h"
#include "ident_hs_io.h"
#include "ident_hs_msg.h"
#include "ident_id.h"
#include "ident_trust.h"
#include "log.h"

struct served {
	char uri[IDENT_SUBJECT_MAX + 1];
	char path[IDENT_PATH_MAX];
};

struct agent_auth_hs {
	char id_dir[IDENT_PATH_MAX];
	struct ident_trust trust;
	int listen_fd, stop_fd;
	pthread_t listener, workers[AGENT_AUTH_WORKERS];
	size_t n_workers;
	bool has_listener;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;
	bool is_stopping;
	struct agent_auth_job *jobs, **jobs_tail, *done, **done_tail;
	size_t n_jobs;
	struct served *served;
	size_t n_served;
};

static void push(struct agent_auth_job **head, struct agent_auth_job ***tail,
		 struct agent_auth_job *job)
{
	job->next = NULL;
	**tail = job;
	*tail = &job->next;
	(void)head;
}

static struct agent_auth_job *pop(struct agent_auth_job **head, struct agent_auth_job ***tail)
{
	struct agent_auth_job *job = *head;

	if (job) {
		*head = job->next;
		if (!*head)
			*tail = head;
	}
	return job;
}

/* Our document and key: read, and check they belong together. */
struct own {
	uint8_t *doc;
	size_t doc_len;
	uint8_t sk[64];
	struct ident_crl crl;
};

static int own_load(const struct agent_auth_hs *hs, const char *path, struct own *o)
{
	char key_path[IDENT_PATH_MAX + 8];
	int err;

	memset(o, 0, sizeof(*o));
	ident_crl_init(&o->crl);
	snprintf(key_path, sizeof(key_path), "%s.key", path);
	err = ident_crl_load(hs->id_dir, &hs->trust, &o->crl);
	if (!err)
		err = ident_key_load(key_path, o->sk);
	if (!err)
		err = ident_file_read(path, 0, IDENT_DOC_MAX_LEN, &o->doc, &o->doc_len);
	return err;
}

static void own_release(struct own *o)
{
	sodium_memzero(o->sk, sizeof(o->sk));
	free(o->doc);
	ident_crl_release(&o->crl);
}

static void take_result(struct agent_auth_job *job, const struct ident_hs_result *res)
{
	snprintf(job->local_uri, sizeof(job->local_uri), "%s", res->local.certs[0].subject);
	snprintf(job->peer_uri, sizeof(job->peer_uri), "%s", res->peer.certs[0].subject);
	job->not_after = res->not_after;
	job->handshake_id = res->handshake_id;
}

static int run_hs(const struct agent_auth_hs *hs, struct agent_auth_job *job, const char *doc,
		  bool is_server)
{
	struct ident_hs_config cfg = {.trust = &hs->trust, .timeout_ms = AGENT_AUTH_TIMEOUT_MS};
	struct ident_hs_result res;
	struct own o;
	int err;

	memset(&res, 0, sizeof(res));
	err = own_load(hs, doc, &o);
	if (!err) {
		cfg.crl = &o.crl;
		cfg.doc = o.doc;
		cfg.doc_len = o.doc_len;
		cfg.sk = o.sk;
		err = is_server ? ident_hs_server(job->fd, &cfg, &res)
				: ident_hs_client(job->fd, &cfg, &res);
	}
	if (!err)
		take_result(job, &res);
	ident_hs_result_clear(&res);
	own_release(&o);
	return err;
}

/* The SELECT frame: which of our identities the client wants. */
static int read_select(int fd, char *uri, size_t cap)
{
	int64_t deadline = hs_io_deadline(AGENT_AUTH_TIMEOUT_MS);
	uint8_t hdr[IDENT_HS_HDR_LEN];
	uint16_t len;
	int err;

	err = hs_io_read(fd, hdr, sizeof(hdr), deadline);
	if (err)
		return err;
	len = (uint16_t)(hdr[2] << 8 | hdr[3]);
	if (hdr[0] != IDENT_HS_FRAME_VERSION || hdr[1] != AGENT_AUTH_SELECT || !len ||
	    len > IDENT_SUBJECT_MAX || len >= cap)
		return -EPROTO;
	err = hs_io_read(fd, uri, len, deadline);
	if (err)
		return err;
	uri[len] = '\0';
	return ident_spiffe_id_valid(uri) ? 0 : -EPROTO;
}

static int served_path(struct agent_auth_hs *hs, const char *uri, char *path, size_t cap)
{
	int err = -ENOENT;
	size_t i;

	pthread_mutex_lock(&hs->lock);
	for (i = 0; i < hs->n_served; i++)
		if (!strcmp(hs->served[i].uri, uri)) {
			snprintf(path, cap, "%s", hs->served[i].path);
			err = 0;
			break;
		}
	pthread_mutex_unlock(&hs->lock);
	return err;
}

static int serve_one(struct agent_auth_hs *hs, struct agent_auth_job *job)
{
	char uri[IDENT_SUBJECT_MAX + 1], path[IDENT_PATH_MAX];
	int err;

	err = read_select(job->fd, uri, sizeof(uri));
	if (!err)
		err = served_path(hs, uri, path, sizeof(path));
	if (!err)
		err = run_hs(hs, job, path, true);
	if (!err && strcmp(job->local_uri, uri))
		err = -EKEYREJECTED; /* the document was replaced meanwhile by another subject */
	return err;
}

static int connect_to(const char *addr, unsigned int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, err = 0;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS)
		err = -errno;
	pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
	if (!err && poll(&pfd, 1, AGENT_AUTH_TIMEOUT_MS) != 1)
		err = -ETIMEDOUT;
	if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	err = err > 0 ? -err : err;
	if (!err && fcntl(fd, F_SETFL, 0))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int client_one(struct agent_auth_hs *hs, struct agent_auth_job *job)
{
	uint8_t frame[IDENT_HS_HDR_LEN + IDENT_SUBJECT_MAX];
	size_t len = strlen(job->dst_uri);
	int err;

	job->fd = connect_to(job->addr, job->port);
	if (job->fd < 0)
		return job->fd;
	ident_hs_put_header(frame, AGENT_AUTH_SELECT, (uint16_t)len);
	frame[0] = IDENT_HS_FRAME_VERSION;
	memcpy(frame + IDENT_HS_HDR_LEN, job->dst_uri, len);
	err = hs_io_write(job->fd, frame, IDENT_HS_HDR_LEN + len,
			  hs_io_deadline(AGENT_AUTH_TIMEOUT_MS));
	if (!err)
		err = run_hs(hs, job, job->src_doc, false);
	if (!err && (strcmp(job->peer_uri, job->dst_uri) || strcmp(job->local_uri, job->src_uri)))
		err = -EKEYREJECTED; /* the peer presented another identity */
	return err;
}

static void *worker(void *arg)
{
	struct agent_auth_hs *hs = arg;
	struct agent_auth_job *job;

	for (;;) {
		pthread_mutex_lock(&hs->lock);
		while (!hs->is_stopping && !hs->jobs)
			pthread_cond_wait(&hs->cond, &hs->lock);
		job = hs->is_stopping ? NULL : pop(&hs->jobs, &hs->jobs_tail);
		if (job)
			hs->n_jobs--;
		pthread_mutex_unlock(&hs->lock);
		if (!job)
			return NULL;
		job->err = job->is_server ? serve_one(hs, job) : client_one(hs, job);
		if (job->fd >= 0)
			close(job->fd);
		job->fd = -1;
		pthread_mutex_lock(&hs->lock);
		push(&hs->done, &hs->done_tail, job);
		pthread_mutex_unlock(&hs->lock);
	}
}

/* Queue job unless full; with is_server a full queue refuses the connection. */
static int enqueue(struct agent_auth_hs *hs, struct agent_auth_job *job)
{
	int err = 0;

	pthread_mutex_lock(&hs->lock);
	if (hs->n_jobs >= AGENT_AUTH_QUEUE_MAX || hs->is_stopping) {
		err = -EBUSY;
	} else {
		push(&hs->jobs, &hs->jobs_tail, job);
		hs->n_jobs++;
		pthread_cond_signal(&hs->cond);
	}
	pthread_mutex_unlock(&hs->lock);
	return err;
}

static void *listener(void *arg)
{
	struct agent_auth_hs *hs = arg;
	struct pollfd pfd[2] = {{hs->listen_fd, POLLIN, 0}, {hs->stop_fd, POLLIN, 0}};
	struct agent_auth_job *job;
	int fd;

	while (poll(pfd, 2, -1) >= 0 || errno == EINTR) {
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(hs->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		job = calloc(1, sizeof(*job));
		if (job) {
			job->is_server = true;
			job->fd = fd;
		}
		if (!job || enqueue(hs, job)) {
			pr_debug("auth: handshake refused: %s",
				 job ? "too many at once" : "no memory");
			free(job);
			close(fd);
		}
	}
	return NULL;
}

static int listen_on(const char *addr, unsigned int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd, one = 1, err;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int start_threads(struct agent_auth_hs *hs)
{
	int err;

	for (; hs->n_workers < AGENT_AUTH_WORKERS; hs->n_workers++) {
		err = -pthread_create(&hs->workers[hs->n_workers], NULL, worker, hs);
		if (err)
			return err;
	}
	err = -pthread_create(&hs->listener, NULL, listener, hs);
	hs->has_listener = !err;
	return err;
}

/* See agent_auth.h. */
int agent_auth_hs_start(const char *id_dir, const char *addr, unsigned int port,
			struct agent_auth_hs **out)
{
	struct agent_auth_hs *hs = calloc(1, sizeof(*hs));
	int err;

	if (!hs)
		return -ENOMEM;
	pthread_mutex_init(&hs->lock, NULL);
	pthread_cond_init(&hs->cond, NULL);
	hs->jobs_tail = &hs->jobs;
	hs->done_tail = &hs->done;
	hs->stop_fd = eventfd(0, EFD_CLOEXEC);
	snprintf(hs->id_dir, sizeof(hs->id_dir), "%s", id_dir);
	err = ident_trust_load(id_dir, &hs->trust);
	hs->listen_fd = err ? err : listen_on(addr, port);
	if (!err && hs->listen_fd < 0)
		err = hs->listen_fd;
	if (!err && hs->stop_fd < 0)
		err = -errno;
	if (!err)
		err = start_threads(hs);
	if (err) {
		agent_auth_hs_stop(hs);
		return err;
	}
	*out = hs;
	return 0;
}

static void free_list(struct agent_auth_job *job)
{
	struct agent_auth_job *next;

	for (; job; job = next) {
		next = job->next;
		if (job->is_server && job->fd >= 0)
			close(job->fd);
		free(job);
	}
}

/* See agent_auth.h. */
void agent_auth_hs_stop(struct agent_auth_hs *hs)
{
	uint64_t one = 1;
	size_t i;

	if (!hs)
		return;
	pthread_mutex_lock(&hs->lock);
	hs->is_stopping = true;
	pthread_cond_broadcast(&hs->cond);
	pthread_mutex_unlock(&hs->lock);
	if (hs->stop_fd >= 0 && write(hs->stop_fd, &one, sizeof(one)) < 0)
		pr_debug("auth: stop: %s", strerror(errno));
	if (hs->has_listener)
		pthread_join(hs->listener, NULL);
	for (i = 0; i < hs->n_workers; i++)
		pthread_join(hs->workers[i], NULL);
	free_list(hs->jobs);
	free_list(hs->done);
	if (hs->listen_fd >= 0)
		close(hs->listen_fd);
	if (hs->stop_fd >= 0)
		close(hs->stop_fd);
	free(hs->served);
	pthread_cond_destroy(&hs->cond);
	pthread_mutex_destroy(&hs->lock);
	free(hs);
}

/* See agent_auth.h. */
int agent_auth_hs_serve(struct agent_auth_hs *hs, const char *const *uris, const char *const *paths,
			size_t n)
{
	struct served *s = calloc(n + 1, sizeof(*s));
	size_t i;

	if (!s)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(s[i].uri, sizeof(s[i].uri), "%s", uris[i]);
		snprintf(s[i].path, sizeof(s[i].path), "%s", paths[i]);
	}
	pthread_mutex_lock(&hs->lock);
	free(hs->served);
	hs->served = s;
	hs->n_served = n;
	pthread_mutex_unlock(&hs->lock);
	return 0;
}

/* See agent_auth.h. */
int agent_auth_hs_submit(struct agent_auth_hs *hs, struct agent_auth_job *job)
{
	job->is_server = false;
	job->fd = -1;
	return enqueue(hs, job);
}

/* See agent_auth.h. */
struct agent_auth_job *agent_auth_hs_done(struct agent_auth_hs *hs)
{
	struct agent_auth_job *job;

	pthread_mutex_lock(&hs->lock);
	job = pop(&hs->done, &hs->done_tail);
	pthread_mutex_unlock(&hs->lock);
	return job;
}
