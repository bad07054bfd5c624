/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dapr pub-sub over JetStream, at least once: publish wraps the body in a
 * CloudEvent and stores it in the component's stream (BMPS_<ns>_<pubsub>,
 * subjects bm.ps.<ns>.<pubsub>.<topic>) before answering; subscriptions
 * come from the application's GET /dapr/subscribe and are durable pull
 * consumers named after the app id, shared by its replicas (each event
 * reaches one replica of each subscribing workload), delivered as a
 * CloudEvent POSTed to the route and acknowledged only after the app's 2xx
 * with Dapr status SUCCESS (or DROP); RETRY, errors and no answer make
 * NATS deliver it again. docs/sidecar.md has the details.
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
	int replicas; /* stream replicas (falls back to 1 when not clustered); 0: 1 */
	unsigned int ack_wait_ms; /* unacknowledged for this long: redelivered; 0: 30000 */
	unsigned int retry_ms; /* redelivery delay after RETRY or an error; 0: 1000 */
	unsigned int max_deliver; /* attempts before dead-letter/drop; 0: unlimited */
};

/* What the app's answer to a delivery means (Dapr's rules). */
enum pubsub_verdict {
	PUBSUB_SUCCESS, /* acknowledge */
	PUBSUB_RETRY, /* deliver again later */
	PUBSUB_DROP, /* acknowledge without success (logged) */
};

/*
 * Classify the app's answer (pure): status is the HTTP status or -errno
 * (no answer); body may be NULL. 2xx with no body, a non-JSON body or
 * {"status":"SUCCESS"} is success, {"status":"DROP"} drop, any other status
 * value retry; 404 drop; anything else (5xx, no answer) retry.
 */
enum pubsub_verdict pubsub_verdict(int status, const char *body);

struct pubsub;

/*
 * Start: when app_port is set, a thread asks the app for its
 * subscriptions (retrying while it is not up yet, at most 60 s), makes
 * the streams and durable consumers and starts one delivery thread per
 * subscription. nc stays the caller's. Returns 0 and *out or -errno.
 */
int pubsub_start(natsConnection *nc, const struct pubsub_config *cfg, struct pubsub **out);

/*
 * Stop the threads (an event being delivered is finished and settled;
 * fetched ones not yet delivered are redelivered later), free. The durable
 * consumers stay on the server. NULL-safe.
 */
void pubsub_stop(struct pubsub *ps);

/*
 * Publish data (len bytes, content_type may be NULL) on topic of the
 * component name and wait until the stream stored it. The event id is the
 * JetStream message id: a publish repeated with the same CloudEvent id
 * within two minutes is stored once. Returns 0, -ENOENT (no such
 * component), -EINVAL (bad topic or CloudEvent), -ETIMEDOUT, -ENOTCONN.
 */
int pubsub_publish(struct pubsub *ps, const char *name, const char *topic, const char *data,
		   size_t len, const char *content_type);

/* The component names, and the subscriptions found so far, for metadata. New references. */
json_t *pubsub_components(const struct pubsub *ps);
json_t *pubsub_subscriptions(struct pubsub *ps);

/*
 * Build the CloudEvent for a publish (pure): a body that already is a
 * CloudEvent (content type application/cloudevents+json) is kept and
 * completed; anything else becomes its data. Fields set when absent: id,
 * specversion, source, type, datacontenttype, time, traceparent, traceid,
 * tracestate; always: topic, pubsubname. Returns a new object or NULL
 * (-EINVAL: a cloudevents body that is not a JSON object).
 */
json_t *pubsub_cloudevent(const char *source, const char *name, const char *topic, const char *data,
			  size_t len, const char *content_type);

#endif /* BM_SC_PUBSUB_H */
