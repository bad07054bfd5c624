/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dapr pub-sub over core NATS: publish wraps the body in a CloudEvent and
 * sends it on bm.ps.<namespace>.<pubsub>.<topic>; subscriptions come from
 * the application's GET /dapr/subscribe and are NATS queue subscriptions
 * named after the app id, so each message reaches one replica of each
 * subscribing workload, which gets it as a CloudEvent POSTed to its route.
 * Delivery is at most once (core NATS; see docs/sidecar.md).
 */
#ifndef BM_SC_PUBSUB_H
#define BM_SC_PUBSUB_H

#include <jansson.h>
#include <nats/nats.h>
#include <stddef.h>

struct pubsub_config {
	const char *namespace;
	const char *app_id;
	const char *names; /* comma-separated pub-sub component names ("pubsub") */
	unsigned int app_port; /* 0: no application to deliver to */
};

struct pubsub;

/*
 * Start: when app_port is set, a thread asks the app for its
 * subscriptions (retrying while it is not up yet, at most 60 s) and
 * subscribes. nc stays the caller's. Returns 0 and *out or -errno.
 */
int pubsub_start(natsConnection *nc, const struct pubsub_config *cfg, struct pubsub **out);

/* Stop the discovery thread, unsubscribe, free. NULL-safe. */
void pubsub_stop(struct pubsub *ps);

/*
 * Publish data (len bytes, content_type may be NULL) on topic of the
 * component name. Returns 0, -ENOENT (no such component), -EINVAL (bad
 * topic or CloudEvent), -ENOTCONN.
 */
int pubsub_publish(struct pubsub *ps, const char *name, const char *topic, const char *data,
		   size_t len, const char *content_type);

/* The component names, and the subscriptions found so far, for metadata. New references. */
json_t *pubsub_components(const struct pubsub *ps);
json_t *pubsub_subscriptions(struct pubsub *ps);

/*
 * Build the CloudEvent for a publish (pure): a body that already is a
 * CloudEvent (content type application/cloudevents+json) is kept and
 * completed; anything else becomes its data. Returns a new object or NULL
 * (-EINVAL: a cloudevents body that is not a JSON object).
 */
json_t *pubsub_cloudevent(const char *source, const char *name, const char *topic, const char *data,
			  size_t len, const char *content_type);

#endif /* BM_SC_PUBSUB_H */
