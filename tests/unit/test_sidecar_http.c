// SPDX-License-Identifier: GPL-2.0-only
/* The sidecar's HTTP/1.1 request parser (sidecar/http.c), pure.
 * ctest-labels: unit sidecar
 */
#include <errno.h>
#include <string.h>

#include "bm_test.h"
#include "http.h"

static int parse(const char *text, struct http_request *req, int *status)
{
	static const struct http_limits lim = {.max_head = 256, .max_body = 1000};

	*status = 0;
	return http_parse_head(text, strlen(text), &lim, req, status);
}

static void test_sidecar_http_simple_get(void)
{
	const char *t = "GET /v1.0/state/s/k%20x?consistency=strong HTTP/1.1\r\nHost: a\r\n"
			"If-Match:  \"7\" \r\n\r\nEXTRA";
	struct http_request req;
	char v[16];
	int st;

	CU_ASSERT_EQUAL(parse(t, &req, &st), (int)(strstr(t, "EXTRA") - t));
	CU_ASSERT_STRING_EQUAL(req.method, "GET");
	CU_ASSERT_STRING_EQUAL(req.path, "/v1.0/state/s/k x");
	CU_ASSERT_STRING_EQUAL(http_header(&req, "if-match"), "\"7\"");
	CU_ASSERT_TRUE(http_query_param(&req, "consistency", v, sizeof(v)));
	CU_ASSERT_STRING_EQUAL(v, "strong");
	CU_ASSERT_FALSE(http_query_param(&req, "concurrency", v, sizeof(v)));
	CU_ASSERT_TRUE(req.is_keep_alive);
	CU_ASSERT_EQUAL(req.content_length, 0);
	http_request_free(&req);
}

static void test_sidecar_http_incomplete(void)
{
	struct http_request req;
	int st;

	CU_ASSERT_EQUAL(parse("GET / HTTP/1.1\r\nHost: a\r\n", &req, &st), 0);
	CU_ASSERT_EQUAL(parse("", &req, &st), 0);
}

static void test_sidecar_http_body_length(void)
{
	struct http_request req;
	int st;

	CU_ASSERT_TRUE(parse("POST /x HTTP/1.0\r\nContent-Length: 12\r\n\r\n", &req, &st) > 0);
	CU_ASSERT_EQUAL(req.content_length, 12);
	CU_ASSERT_FALSE(req.is_keep_alive);
	http_request_free(&req);
	CU_ASSERT_EQUAL(parse("POST /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", &req, &st),
			-E2BIG);
	CU_ASSERT_EQUAL(st, 413);
	CU_ASSERT_EQUAL(parse("POST /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &req, &st),
			-EINVAL);
	CU_ASSERT_EQUAL(st, 400);
	CU_ASSERT_EQUAL(parse("POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
			      &req, &st),
			-EINVAL);
	CU_ASSERT_EQUAL(parse("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &req, &st),
			-ENOSYS);
	CU_ASSERT_EQUAL(st, 501);
}

static void test_sidecar_http_malformed(void)
{
	static const struct {
		const char *text;
		int status;
	} cases[] = {
		{"GET\r\n\r\n", 400},
		{"GET  / HTTP/1.1\r\n\r\n", 400},
		{"GET x HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/2.0\r\n\r\n", 505},
		{"GET / FOO/1.1\r\n\r\n", 400},
		{"G(T / HTTP/1.1\r\n\r\n", 400},
		{"GET /%zz HTTP/1.1\r\n\r\n", 400},
		{"GET /%00 HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nBad name: x\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n: x\r\n\r\n", 400},
	};
	struct http_request req;
	size_t i;
	int st;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_TRUE(parse(cases[i].text, &req, &st) < 0);
		CU_ASSERT_EQUAL(st, cases[i].status);
	}
}

static void test_sidecar_http_head_limit(void)
{
	char big[400];
	struct http_request req;
	int st;

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(parse(big, &req, &st), -E2BIG);
	CU_ASSERT_EQUAL(st, 431);
}

static void test_sidecar_http_connection_close(void)
{
	struct http_request req;
	int st;

	CU_ASSERT_TRUE(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &req, &st) > 0);
	CU_ASSERT_FALSE(req.is_keep_alive);
	http_request_free(&req);
	CU_ASSERT_TRUE(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &req, &st) > 0);
	CU_ASSERT_TRUE(req.is_keep_alive);
	http_request_free(&req);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"simple_get", test_sidecar_http_simple_get},
		{"incomplete", test_sidecar_http_incomplete},
		{"body_length", test_sidecar_http_body_length},
		{"malformed", test_sidecar_http_malformed},
		{"head_limit", test_sidecar_http_head_limit},
		{"connection_close", test_sidecar_http_connection_close},
		{NULL, NULL},
	};

	return bm_test_add_suite("sidecar_http", NULL, NULL, cases);
}
