/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One workload replica's sidecar: its configuration, the NATS connection,
 * the state stores of its keyspace, and the local Dapr HTTP API.
 */
#ifndef BM_SC_SIDECAR_H
#define BM_SC_SIDECAR_H

#include <stdbool.h>

#define SIDECAR_MAX_STORES 8

struct sidecar_config {
	const char *app_id; /* Dapr app id = the workload name */
	const char *namespace; /* workload namespace (default "default") */
	const char *version; /* workload version; keyspace unless is_shared_versions */
	const char *consistency; /* "eventual" | "strong"; NULL: from kind */
	const char *kind; /* "Deployment" (eventual) | "StatefulSet" (strong) */
	const char *stores; /* comma-separated component names ("statestore") */
	const char *nats_urls; /* NULL with is_standalone: start our own */
	const char *state_dir;
	const char *replica; /* this replica's name (default: host name + pid) */
	const char *identity; /* identity document path; NULL: none */
	const char *identity_key; /* its secret key; NULL: IDENTITY.key */
	const char *identity_dir; /* trust.bundle + crl.bin; required with identity */
	int identity_skew_s; /* clock skew allowed when checking it; < 0: default 60 */
	const char *invoke_listen; /* "IP:PORT" serving other sidecars' calls; NULL: none */
	const char *invoke_advertise; /* the address they dial; NULL: invoke_listen */
	const char *pubsubs; /* comma-separated pub-sub component names ("pubsub") */
	unsigned int app_port; /* the application's port, for subscriptions; 0: none */
	unsigned int http_port;
	unsigned int nats_port; /* standalone server port; 0: a free one */
	unsigned int sync_ms; /* eventual anti-entropy period (default 2000) */
	unsigned int ack_wait_ms; /* pub-sub: redeliver when not acknowledged (30000) */
	unsigned int retry_ms; /* pub-sub: delay before redelivery after RETRY (1000) */
	unsigned int max_deliver; /* pub-sub: attempts before dead letter; 0: unlimited */
	int replicas; /* strong bucket replicas; 0: 1 standalone, else 3 */
	bool is_standalone;
	bool is_shared_versions;
};

struct sidecar;

/*
 * Resolve defaults, start nats-server when standalone, connect, open the
 * stores and serve the API. Returns 0 and *out (sidecar_stop frees) or
 * -errno, logged.
 */
int sidecar_start(const struct sidecar_config *cfg, struct sidecar **out);

/* The HTTP port in use. */
unsigned int sidecar_http_port(const struct sidecar *sc);

/*
 * Re-read the identity document (same paths and checks as at start) and
 * use it for every handshake from now on; handshakes in progress finish
 * with the old one (idhold.h). Returns 0, -ENOKEY (no --identity), or the
 * load's error (logged with the reason; the old identity stays in use).
 */
int sidecar_reload_identity(struct sidecar *sc);

/* Stop serving, close stores and the connection, stop nats-server. NULL-safe. */
void sidecar_stop(struct sidecar *sc);

/*
 * The keyspace of a workload: "<ns>_<app>_<version>" or "<ns>_<app>_shared"
 * when versions share state, made safe for bucket and subject names.
 * Cannot fail (truncates to size).
 */
void sidecar_keyspace(const struct sidecar_config *cfg, char *out, unsigned int size);

#endif /* BM_SC_SIDECAR_H */
