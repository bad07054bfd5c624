// SPDX-License-Identifier: GPL-2.0-only
/* Sidecar assembly: NATS, stores, HTTP; see sidecar.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "dapr.h"
#include "eventual.h"
#include "http.h"
#include "idhold.h"
#include "invoke.h"
#include "../control/log.h"
#include "natsd.h"
#include "pubsub.h"
#include "sidecar.h"
#include "strong.h"

#define OPEN_RETRIES 60 /* 30 s */

struct sidecar {
	struct sidecar_config cfg;
	struct store stores[SIDECAR_MAX_STORES];
	struct dapr_api api;
	struct http_server *http;
	struct natsd *natsd;
	struct pubsub *pubsub;
	struct invoke *invoke;
	natsConnection *nc;
	struct sc_idhold ids; /* initialized by sidecar_start */
	char replica[128];
	bool is_strong;
};

/* "<ns>_<app>_<version|shared>"; see sidecar.h. */
void sidecar_keyspace(const struct sidecar_config *cfg, char *out, unsigned int size)
{
	char raw[512];

	snprintf(raw, sizeof(raw), "%s_%s_%s", cfg->namespace ? cfg->namespace : "default",
		 cfg->app_id, cfg->is_shared_versions || !cfg->version ? "shared" : cfg->version);
	store_safe_name(raw, out, size);
}

static bool mode_is_strong(const struct sidecar_config *cfg)
{
	if (cfg->consistency)
		return !strcmp(cfg->consistency, "strong");
	return cfg->kind && !strcmp(cfg->kind, "StatefulSet");
}

/* Split "u1,u2,..." for natsOptions_SetServers (libnats 3.4 takes one URL in SetURL). */
static int set_servers(natsOptions *o, const char *urls)
{
	char copy[2048], *save = NULL, *u;
	const char *list[16];
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", urls);
	for (u = strtok_r(copy, ",", &save); u && n < 16; u = strtok_r(NULL, ",", &save))
		list[n++] = u;
	if (!n)
		return -EINVAL;
	return natsOptions_SetServers(o, list, n) == NATS_OK ? 0 : -EINVAL;
}

static int connect_nats(struct sidecar *sc, const char *urls)
{
	natsOptions *o = NULL;
	natsStatus s;

	s = natsOptions_Create(&o);
	if (s == NATS_OK && set_servers(o, urls))
		s = NATS_INVALID_ARG;
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(o, 250);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, sc->replica);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(o, true, NULL, NULL);
	if (s == NATS_OK)
		s = natsConnection_Connect(&sc->nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		pr_warn("sidecar: connect to %s: %s", urls, natsStatus_GetText(s));
		return -ENOTCONN;
	}
	return 0;
}

/*
 * A fresh JetStream cluster has no meta leader for its first seconds, and
 * the agent may start sidecars before NATS is up: retry (bounded) while
 * the bucket cannot be created for want of JetStream.
 */
static int open_strong_retry(struct sidecar *sc, const char *bucket, int replicas, struct store *st)
{
	int err = -ENOTCONN, i;

	for (i = 0; i < OPEN_RETRIES && err == -ENOTCONN; i++) {
		if (i)
			usleep(500000);
		err = strong_open(sc->nc, bucket, replicas, st);
	}
	return err;
}

/* JetStream replicas for buckets and streams: --replicas, else 1 standalone, 3 otherwise. */
static int bucket_replicas(const struct sidecar *sc)
{
	if (sc->cfg.replicas)
		return sc->cfg.replicas;
	return sc->cfg.is_standalone ? 1 : 3;
}

static int open_store(struct sidecar *sc, const char *name, struct store *st)
{
	char ks[256], bucket[320];
	int replicas = bucket_replicas(sc);

	sidecar_keyspace(&sc->cfg, ks, sizeof(ks));
	snprintf(bucket, sizeof(bucket), "bmstate_%s_%s", ks, name);
	store_safe_name(bucket, bucket, sizeof(bucket));
	snprintf(st->name, sizeof(st->name), "%s", name);
	if (sc->is_strong)
		return open_strong_retry(sc, bucket, replicas, st);
	return eventual_open(sc->nc, bucket, sc->replica, sc->cfg.sync_ms, sc->cfg.state_dir, st);
}

static int open_stores(struct sidecar *sc)
{
	char list[512], *save = NULL, *name;
	int err = 0;

	snprintf(list, sizeof(list), "%s", sc->cfg.stores ? sc->cfg.stores : "statestore");
	for (name = strtok_r(list, ",", &save); name && !err; name = strtok_r(NULL, ",", &save)) {
		if (sc->api.nr_stores == SIDECAR_MAX_STORES || strlen(name) >= 64)
			return -E2BIG;
		err = open_store(sc, name, &sc->stores[sc->api.nr_stores]);
		if (!err)
			sc->api.nr_stores++;
		else
			pr_warn("sidecar: open store %s: %s", name, strerror(-err));
	}
	return err;
}

/* Load the replica's identity document (checked) into *out; logs why not. */
static int load_identity(struct sidecar *sc, struct sc_idref **out)
{
	char why[512] = "";
	int err;

	if (!sc->cfg.identity_dir) {
		pr_warn("sidecar: --identity needs --identity-dir (trust bundle)");
		return -EINVAL;
	}
	err = sc_idhold_load(&sc->ids,
			     &(struct sc_identity_config){.doc_path = sc->cfg.identity,
							  .key_path = sc->cfg.identity_key,
							  .dir = sc->cfg.identity_dir,
							  .namespace = sc->cfg.namespace,
							  .skew_s = sc->cfg.identity_skew_s},
			     out, why, sizeof(why));
	if (err) {
		pr_warn("sidecar: %s", why);
		return err;
	}
	return 0;
}

/*
 * Log the identity now in use: at start (-v), and always after a reload
 * (like the "ready" line: a life-cycle event the agent's log tail shows).
 */
static void log_identity(struct sidecar *sc, bool is_reload)
{
	char subject[300];
	uint64_t serial = 0;
	int64_t not_after = 0;

	if (!sc_idhold_describe(&sc->ids, subject, sizeof(subject), &serial, &not_after))
		return;
	if (is_reload)
		fprintf(stderr,
			"bpfmesh-sidecar: identity reloaded: %s (serial %016llx, not after %lld)\n",
			subject, (unsigned long long)serial, (long long)not_after);
	else
		pr_info("sidecar: identity %s (serial %016llx, not after %lld)", subject,
			(unsigned long long)serial, (long long)not_after);
}

/* The replica's identity document: refuse to run with one that does not check out. */
static int start_identity(struct sidecar *sc)
{
	struct sc_idref *r = NULL;
	int err = load_identity(sc, &r);

	if (err)
		return err;
	sc_idhold_swap(&sc->ids, r);
	log_identity(sc, false);
	return 0;
}

/* See sidecar.h. */
int sidecar_reload_identity(struct sidecar *sc)
{
	struct sc_idref *r = NULL;
	int err;

	if (!sc->cfg.identity)
		return -ENOKEY;
	err = load_identity(sc, &r);
	if (err)
		return err;
	sc_idhold_swap(&sc->ids, r);
	log_identity(sc, true);
	return 0;
}

/* Service invocation, for a sidecar that holds an identity. */
static int start_invoke(struct sidecar *sc)
{
	if (!sc->cfg.identity) {
		if (sc->cfg.invoke_listen)
			pr_warn("sidecar: --invoke-listen needs --identity");
		return sc->cfg.invoke_listen ? -EINVAL : 0;
	}
	return invoke_start(&(struct invoke_config){.ids = &sc->ids,
						    .nc = sc->nc,
						    .namespace = sc->cfg.namespace
									 ? sc->cfg.namespace
									 : "default",
						    .app_id = sc->cfg.app_id,
						    .listen = sc->cfg.invoke_listen,
						    .advertise = sc->cfg.invoke_advertise,
						    .app_port = sc->cfg.app_port},
			    &sc->invoke);
}

/* Start everything in order; see sidecar.h. */
int sidecar_start(const struct sidecar_config *cfg, struct sidecar **out)
{
	struct sidecar *sc = calloc(1, sizeof(*sc));
	const char *urls = cfg->nats_urls;
	char host[64] = "replica";
	int err;

	if (!sc)
		return -ENOMEM;
	sc->cfg = *cfg;
	sc_idhold_init(&sc->ids);
	sc->is_strong = mode_is_strong(cfg);
	gethostname(host, sizeof(host) - 1);
	if (cfg->replica)
		snprintf(sc->replica, sizeof(sc->replica), "%s", cfg->replica);
	else
		snprintf(sc->replica, sizeof(sc->replica), "%s-%d", host, (int)getpid());
	if (cfg->identity) {
		err = start_identity(sc);
		if (err)
			goto err_stop;
	}
	if (!urls) {
		err = natsd_start(cfg->state_dir, cfg->nats_port, &sc->natsd);
		if (err)
			goto err_stop;
		urls = natsd_url(sc->natsd);
	}
	err = connect_nats(sc, urls);
	if (!err)
		err = open_stores(sc);
	if (!err)
		err = pubsub_start(sc->nc,
				   &(struct pubsub_config){.namespace = cfg->namespace,
							   .app_id = cfg->app_id,
							   .names = cfg->pubsubs,
							   .app_port = cfg->app_port,
							   .replicas = bucket_replicas(sc),
							   .ack_wait_ms = cfg->ack_wait_ms,
							   .retry_ms = cfg->retry_ms,
							   .max_deliver = cfg->max_deliver},
				   &sc->pubsub);
	if (!err)
		err = start_invoke(sc);
	if (err)
		goto err_stop;
	sc->api.pubsub = sc->pubsub;
	sc->api.invoke = sc->invoke;
	sc->api.ids = cfg->identity ? &sc->ids : NULL;
	sc->api.stores = sc->stores;
	sc->api.app_id = cfg->app_id;
	sc->api.consistency = sc->is_strong ? "strong" : "eventual";
	sc->http = http_server_start(cfg->http_port, NULL, dapr_handle, &sc->api);
	if (!sc->http) {
		err = -errno;
		goto err_stop;
	}
	pr_info("sidecar: %s (%s) serving Dapr API on 127.0.0.1:%u", cfg->app_id,
		sc->api.consistency, http_server_port(sc->http));
	*out = sc;
	return 0;
err_stop:
	sidecar_stop(sc);
	return err;
}

unsigned int sidecar_http_port(const struct sidecar *sc)
{
	return http_server_port(sc->http);
}

/* Reverse order of sidecar_start(). */
void sidecar_stop(struct sidecar *sc)
{
	unsigned int i;

	if (!sc)
		return;
	http_server_stop(sc->http);
	invoke_stop(sc->invoke);
	pubsub_stop(sc->pubsub);
	for (i = 0; i < sc->api.nr_stores; i++)
		sc->stores[i].ops->close(sc->stores[i].impl);
	if (sc->nc) {
		natsConnection_Close(sc->nc);
		natsConnection_Destroy(sc->nc);
	}
	natsd_stop(sc->natsd);
	sc_idhold_release(&sc->ids);
	free(sc);
}
