// SPDX-License-Identifier: GPL-2.0-only
/* Sidecar pub-sub pieces without NATS: how the app's answer to a delivery
 * is classified (Dapr's rules) and the CloudEvent built for a publish.
 * ctest-labels: unit sidecar
 */
#include <errno.h>
#include <string.h>

#include "bm_test.h"
#include "pubsub.h"

static void test_sidecar_pubsub_verdict(void)
{
	CU_ASSERT_EQUAL(pubsub_verdict(200, NULL), PUBSUB_SUCCESS);
	CU_ASSERT_EQUAL(pubsub_verdict(204, ""), PUBSUB_SUCCESS);
	CU_ASSERT_EQUAL(pubsub_verdict(200, "ok"), PUBSUB_SUCCESS);
	CU_ASSERT_EQUAL(pubsub_verdict(200, "{\"status\":\"SUCCESS\"}"), PUBSUB_SUCCESS);
	CU_ASSERT_EQUAL(pubsub_verdict(200, "{\"status\":\"success\"}"), PUBSUB_SUCCESS);
	CU_ASSERT_EQUAL(pubsub_verdict(200, "{\"status\":\"RETRY\"}"), PUBSUB_RETRY);
	CU_ASSERT_EQUAL(pubsub_verdict(200, "{\"status\":\"bogus\"}"), PUBSUB_RETRY);
	CU_ASSERT_EQUAL(pubsub_verdict(200, "{\"status\":\"DROP\"}"), PUBSUB_DROP);
	CU_ASSERT_EQUAL(pubsub_verdict(404, NULL), PUBSUB_DROP);
	CU_ASSERT_EQUAL(pubsub_verdict(500, "{\"status\":\"SUCCESS\"}"), PUBSUB_RETRY);
	CU_ASSERT_EQUAL(pubsub_verdict(301, NULL), PUBSUB_RETRY);
	CU_ASSERT_EQUAL(pubsub_verdict(-ECONNREFUSED, NULL), PUBSUB_RETRY);
	CU_ASSERT_EQUAL(pubsub_verdict(-EAGAIN, NULL), PUBSUB_RETRY);
}

static void test_sidecar_pubsub_cloudevent(void)
{
	static const char *fields[] = {"id",	"specversion", "source",     "type",
				       "time",	"traceparent", "traceid",    "tracestate",
				       "topic", "pubsubname",  "datacontenttype"};
	const char *ce = "{\"id\":\"x1\",\"source\":\"s\",\"data\":1,\"specversion\":\"1.0\"}";
	json_t *ev;
	size_t i;

	ev = pubsub_cloudevent("app", "ps", "t", "{\"a\":1}", 7, "application/json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		CU_ASSERT_PTR_NOT_NULL(json_object_get(ev, fields[i]));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(ev, "data"), "a")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ev, "source")), "app");
	CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(ev, "traceparent"))), 55);
	json_decref(ev);
	/* Text stays text. */
	ev = pubsub_cloudevent("app", "ps", "t", "{\"a\":1}", 7, "text/plain");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ev, "data")), "{\"a\":1}");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ev, "datacontenttype")),
			       "text/plain");
	json_decref(ev);
	/* A CloudEvent body keeps its fields; topic and pubsubname are ours. */
	ev = pubsub_cloudevent("app", "ps", "t", ce, strlen(ce), "application/cloudevents+json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ev, "id")), "x1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ev, "source")), "s");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ev, "topic")), "t");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ev, "datacontenttype")),
			       "application/json");
	json_decref(ev);
	CU_ASSERT_PTR_NULL(pubsub_cloudevent("app", "ps", "t", "[1]", 3,
					     "application/cloudevents+json"));
	CU_ASSERT_PTR_NULL(pubsub_cloudevent("app", "ps", "t", "{", 1,
					     "application/cloudevents+json"));
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"verdict", test_sidecar_pubsub_verdict},
		{"cloudevent", test_sidecar_pubsub_cloudevent},
		{NULL, NULL},
	};

	return bm_test_add_suite("sidecar_pubsub", NULL, NULL, cases);
}
