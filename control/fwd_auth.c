// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's authentication: the in-memory auth table (the rootless
 * bm_auth), the handshake run on behalf of both workloads, and continuous
 * authorization (expiry, re-authentication, revocation) cutting the
 * connections bound to a pair the moment its entry goes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fwd_priv.h"
#include "ident_store.h"
#include "log.h"

static ssize_t auth_find(const struct fwd *f, uint32_t src_id, uint32_t dst_id)
{
	size_t i;

	for (i = 0; i < f->n_auth; i++)
		if (f->auth_keys[i].src_id == src_id && f->auth_keys[i].dst_id == dst_id)
			return (ssize_t)i;
	return -1;
}

static int write_auth(void *ctx, uint32_t src_id, uint32_t dst_id, uint64_t expires_boot_ns,
		      uint64_t handshake_id)
{
	struct fwd *f = ctx;
	ssize_t i = auth_find(f, src_id, dst_id);

	if (i < 0) {
		if (f->n_auth >= FWD_AUTH_MAX)
			return -ENOSPC;
		i = (ssize_t)f->n_auth++;
		f->auth_keys[i] = (struct bm_auth_key){.src_id = src_id, .dst_id = dst_id};
	}
	f->auth_values[i] = (struct bm_auth_value){.expires_boot_ns = expires_boot_ns,
						   .handshake_id = handshake_id};
	return 0;
}

/* The pair lost its authentication: every connection bound to it ends now. */
static void cut_pair(struct fwd *f, uint32_t src_id, uint32_t dst_id)
{
	struct fwd_conn *c, *next;
	struct fwd_flow *fl, *fnext;
	struct pe_result r;
	struct pe_auth auth;

	fwd_auth_snapshot(f, &auth);
	for (c = f->conns; c; c = next) {
		next = c->next;
		if (!c->is_auth_bound || c->src_id != src_id || c->dst_id != dst_id)
			continue;
		if (!policy_eval(f->cfg.model, &c->tuple, &auth, &r))
			fwd_event_emit(f, &c->tuple, &r);
		fwd_conn_abort(f, c);
	}
	for (fl = f->flows; fl; fl = fnext) {
		fnext = fl->next;
		if (!fl->is_auth_bound || fl->src_id != src_id || fl->dst_id != dst_id)
			continue;
		if (!policy_eval(f->cfg.model, &fl->tuple, &auth, &r))
			fwd_event_emit(f, &fl->tuple, &r);
		fwd_flow_close(f, fl);
	}
}

static int delete_auth(void *ctx, uint32_t src_id, uint32_t dst_id)
{
	struct fwd *f = ctx;
	ssize_t i = auth_find(f, src_id, dst_id);

	if (i >= 0) {
		f->n_auth--;
		f->auth_keys[i] = f->auth_keys[f->n_auth];
		f->auth_values[i] = f->auth_values[f->n_auth];
	}
	cut_pair(f, src_id, dst_id);
	return 0;
}

/* See fwd_priv.h: the table as policy_eval() reads it, at the boot clock now. */
void fwd_auth_snapshot(struct fwd *f, struct pe_auth *auth)
{
	struct ident_clock now;

	ident_clock_now(&now);
	auth->keys = f->auth_keys;
	auth->values = f->auth_values;
	auth->n = f->n_auth;
	auth->now_boot_ns = now.boot_ns;
}

/* See fwd_priv.h: load the trust domain if there is one. 0 or -ENOMEM. */
int fwd_auth_init(struct fwd *f)
{
	struct ident_authz_config cfg = {.policy_ttl_ns = f->cfg.auth_ttl_ns,
					 .reauth_margin_ns = f->cfg.auth_ttl_ns / 10,
					 .directions = IDENT_AUTHZ_PEER_TO_LOCAL |
						       IDENT_AUTHZ_LOCAL_TO_PEER};
	struct ident_authz_ops ops = {
		.write_auth = write_auth, .delete_auth = delete_auth, .ctx = f};
	char dir[PATH_MAX];

	ident_crl_init(&f->crl);
	f->az = ident_authz_new(&ops, &cfg);
	if (!f->az)
		return -ENOMEM;
	if (ident_store_dir(f->cfg.state_dir, 0, dir, sizeof(dir)) ||
	    ident_trust_load(dir, &f->trust))
		return 0; /* no trust domain: no pair can authenticate */
	f->has_trust = true;
	if (ident_store_path(dir, IDENT_FILE_CRL, f->crl_path, sizeof(f->crl_path)))
		f->crl_path[0] = '\0';
	ident_crl_load(dir, &f->trust, &f->crl);
	return 0;
}

/* See fwd_priv.h. NULL-safe members. */
void fwd_auth_release(struct fwd *f)
{
	ident_authz_free(f->az);
	f->az = NULL;
	ident_crl_release(&f->crl);
}

static void hs_config(struct fwd *f, const struct fwd_workload *w, struct ident_hs_config *cfg)
{
	*cfg = (struct ident_hs_config){.trust = &f->trust,
					.crl = &f->crl,
					.doc = w->doc,
					.doc_len = w->doc_len,
					.sk = w->sk};
}

/* The child playing dst: its verdict reaches us as the handshake's outcome. */
static void server_child(struct fwd *f, const struct fwd_workload *dst, int fd)
{
	struct ident_hs_config cfg;
	struct ident_hs_result res;
	int err;

	hs_config(f, dst, &cfg);
	memset(&res, 0, sizeof(res));
	err = ident_hs_server(fd, &cfg, &res);
	ident_hs_result_clear(&res);
	_exit(err ? 1 : 0);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool is_backing_off(const struct fwd *f, uint32_t src_id, uint32_t dst_id)
{
	uint64_t now = mono_ms();
	unsigned int i;

	for (i = 0; i < FWD_HS_FAILS; i++)
		if (f->hs_fails[i].src_id == src_id && f->hs_fails[i].dst_id == dst_id &&
		    f->hs_fails[i].until_ms > now)
			return true;
	return false;
}

static void remember_failure(struct fwd *f, uint32_t src_id, uint32_t dst_id)
{
	unsigned int i = f->hs_fail_next++ % FWD_HS_FAILS;

	f->hs_fails[i].src_id = src_id;
	f->hs_fails[i].dst_id = dst_id;
	f->hs_fails[i].until_ms = mono_ms() + FWD_HS_RETRY_MS;
}

/*
 * See fwd_priv.h: run the handshake between src's and dst's documents over
 * a socketpair (a forked child plays dst, so no thread is needed: the loop
 * waits at most the handshake timeout) and grant the pair. 0 or -errno.
 */
int fwd_auth_pair(struct fwd *f, struct fwd_workload *src, struct fwd_workload *dst)
{
	struct ident_hs_config cfg;
	struct ident_hs_result res;
	struct ident_clock now;
	int sv[2], err, status = 0;
	pid_t pid;

	if (fwd_is_revoked(f, src->sec_id) || fwd_is_revoked(f, dst->sec_id))
		return -EKEYREVOKED;
	if (is_backing_off(f, src->sec_id, dst->sec_id))
		return -EAGAIN;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		server_child(f, dst, sv[1]);
	}
	close(sv[1]);
	hs_config(f, src, &cfg);
	memset(&res, 0, sizeof(res));
	err = pid < 0 ? -errno : ident_hs_client(sv[0], &cfg, &res);
	close(sv[0]);
	if (pid > 0 &&
	    (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) && !err)
		err = -EKEYREJECTED;
	if (!err) {
		ident_clock_now(&now);
		err = ident_authz_grant(f->az, &res, &now);
	}
	if (err) {
		pr_warn("rootless: authenticate %s/%s -> %s/%s: %s", src->ns, src->name, dst->ns,
			dst->name, strerror(-err));
		remember_failure(f, src->sec_id, dst->sec_id);
	}
	if (err)
		f->n_hs_failed++;
	else
		f->n_hs_ok++;
	ident_hs_result_clear(&res);
	return err;
}

static void on_due(void *ctx, const struct ident_authz_session *s)
{
	struct fwd *f = ctx;

	if (f->n_due < FWD_MAX_DUE) {
		f->due[f->n_due][0] = s->local_id;
		f->due[f->n_due][1] = s->peer_id;
		f->n_due++;
	}
}

static struct fwd_workload *by_id(struct fwd *f, uint32_t id)
{
	size_t i;

	for (i = 0; i < f->n_workloads; i++)
		if (f->workloads[i].is_used && f->workloads[i].sec_id == id &&
		    f->workloads[i].has_identity)
			return &f->workloads[i];
	return NULL;
}

/* A new revocation list replaces ours and cuts every pair it revokes. */
static void reload_crl(struct fwd *f)
{
	struct stat st;
	char dir[PATH_MAX];
	int n;

	if (!f->crl_path[0] || stat(f->crl_path, &st))
		return;
	if (st.st_size == f->crl_size && st.st_mtim.tv_sec == f->crl_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == f->crl_mtime.tv_nsec)
		return;
	f->crl_size = st.st_size;
	f->crl_mtime = st.st_mtim;
	if (ident_store_dir(f->cfg.state_dir, 0, dir, sizeof(dir)) ||
	    ident_crl_load(dir, &f->trust, &f->crl))
		return;
	n = ident_authz_revoke(f->az, &f->crl);
	if (n > 0)
		pr_info("rootless: revocation list version %llu cut %d authenticated pairs",
			(unsigned long long)f->crl.version, n);
}

/* See fwd_priv.h: expiry, re-authentication and revocation, every tick. */
void fwd_auth_housekeeping(struct fwd *f)
{
	struct fwd_workload *a, *b;
	struct ident_clock now;
	unsigned int i;

	if (!f->has_trust)
		return;
	reload_crl(f);
	ident_clock_now(&now);
	f->n_due = 0;
	ident_authz_tick(f->az, &now, on_due, f);
	for (i = 0; i < f->n_due; i++) {
		a = by_id(f, f->due[i][0]);
		b = by_id(f, f->due[i][1]);
		if (a && b)
			fwd_auth_pair(f, a, b);
	}
}

/* See fwd_priv.h: is id revoked on the bus (fwd_revoke_ids)? */
bool fwd_is_revoked(const struct fwd *f, uint32_t id)
{
	size_t i;

	for (i = 0; i < f->n_revoked; i++)
		if (f->revoked[i] == id)
			return true;
	return false;
}

/* See fwd.h. */
int fwd_revoke_ids(struct fwd *f, const uint32_t *ids, size_t n)
{
	int deleted = 0, err;
	size_t i;

	f->n_revoked = n < FWD_MAX_REVOKED ? n : FWD_MAX_REVOKED;
	memcpy(f->revoked, ids, f->n_revoked * sizeof(*ids));
	for (i = 0; i < f->n_revoked; i++) {
		err = ident_authz_forget(f->az, f->revoked[i]);
		if (err > 0)
			deleted += err;
	}
	/* Entries no session stands for (none today) go too, with their connections. */
	for (i = f->n_auth; i-- > 0;)
		if (i < f->n_auth && (fwd_is_revoked(f, f->auth_keys[i].src_id) ||
				      fwd_is_revoked(f, f->auth_keys[i].dst_id))) {
			deleted++;
			delete_auth(f, f->auth_keys[i].src_id, f->auth_keys[i].dst_id);
		}
	fwd_conns_reap(f);
	return deleted;
}
