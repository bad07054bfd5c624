// SPDX-License-Identifier: GPL-2.0-only
/* YAML/JSON to jansson with source positions.
 * ctest-labels: unit dataplane
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_test.h"
#include "yaml_json.h"

static struct yj_stream *load(const char *text)
{
	struct yj_stream *s = NULL;
	struct yj_error err;

	CU_ASSERT_EQUAL(yj_load_buffer("t.yaml", text, strlen(text), &s, &err), 0);
	return s;
}

static void test_yaml_json_scalars(void)
{
	struct yj_stream *s = load("a: 80\nb: \"80\"\nc: true\nd: ~\ne: 1.5\nf: !!str 7\n"
				   "g: 0x1f\nh: web\ni: ''\n");
	json_t *d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	d = yj_stream_doc(s, 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(d, "a")), 80);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "b")), "80");
	CU_ASSERT_TRUE(json_is_true(json_object_get(d, "c")));
	CU_ASSERT_TRUE(json_is_null(json_object_get(d, "d")));
	CU_ASSERT_TRUE(json_is_real(json_object_get(d, "e")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "f")), "7");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(d, "g")), 31);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "h")), "web");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "i")), "");
	yj_stream_free(s);
}

static void test_yaml_json_positions(void)
{
	struct yj_stream *s = load("# comment\nspec:\n  ports:\n  - port: 80\n    x: true\n");
	json_t *spec, *ports;
	struct yj_pos p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	spec = json_object_get(yj_stream_doc(s, 0), "spec");
	ports = json_object_get(spec, "ports");
	CU_ASSERT_TRUE_FATAL(yj_member_pos(s, spec, "ports", &p));
	CU_ASSERT_EQUAL(p.line, 4);
	CU_ASSERT_EQUAL(p.column, 3);
	CU_ASSERT_TRUE_FATAL(yj_index_pos(s, ports, 0, &p));
	CU_ASSERT_EQUAL(p.line, 4);
	CU_ASSERT_EQUAL(p.column, 5);
	CU_ASSERT_TRUE_FATAL(yj_member_pos(s, json_array_get(ports, 0), "x", &p));
	CU_ASSERT_EQUAL(p.line, 5);
	CU_ASSERT_EQUAL(p.column, 8);
	CU_ASSERT_TRUE_FATAL(yj_key_pos(s, json_array_get(ports, 0), "x", &p));
	CU_ASSERT_EQUAL(p.column, 5);
	CU_ASSERT_FALSE(yj_member_pos(s, spec, "nope", &p));
	yj_stream_free(s);
}

static void test_yaml_json_anchors_merge(void)
{
	struct yj_stream *s =
		load("base: &b {x: 1, y: 2}\nlist: &l [1, 2]\n"
		     "m:\n  <<: *b\n  y: 3\nn: *l\no:\n  <<: [{p: 1}, {p: 2, q: 4}]\n");
	json_t *d, *m, *o;
	struct yj_pos p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	d = yj_stream_doc(s, 0);
	m = json_object_get(d, "m");
	o = json_object_get(d, "o");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "x")), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "y")), 3);
	CU_ASSERT_PTR_NULL(json_object_get(m, "<<"));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "n")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "p")), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "q")), 4);
	/* a merged value points at its definition */
	CU_ASSERT_TRUE_FATAL(yj_member_pos(s, m, "x", &p));
	CU_ASSERT_EQUAL(p.line, 1);
	yj_stream_free(s);
}

static void test_yaml_json_multi_doc_and_json(void)
{
	struct yj_stream *s = load("---\na: 1\n---\n---\nb: 2\n");
	struct yj_error err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(yj_stream_n_docs(s), 3);
	CU_ASSERT_TRUE(json_is_null(yj_stream_doc(s, 1)));
	CU_ASSERT_PTR_NULL(yj_stream_doc(s, 3));
	yj_stream_free(s);
	s = NULL;
	CU_ASSERT_EQUAL_FATAL(yj_load_buffer("x.json", "{\"a\": [1, {\"b\": null}]}", 23, &s, &err),
			      0);
	CU_ASSERT_TRUE(json_is_array(json_object_get(yj_stream_doc(s, 0), "a")));
	yj_stream_free(s);
}

static void expect_error(const char *text, unsigned int line, const char *needle)
{
	struct yj_stream *s = NULL;
	struct yj_error err;

	CU_ASSERT_EQUAL(yj_load_buffer("t.yaml", text, strlen(text), &s, &err), -EINVAL);
	CU_ASSERT_PTR_NULL(s);
	if (line) /* 0: any line */
		CU_ASSERT_EQUAL(err.pos.line, line);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, needle));
}

static void test_yaml_json_errors(void)
{
	expect_error("a: [1,\nb: 2\n", 2, "");
	expect_error("a: 1\na: 2\n", 2, "duplicate");
	expect_error("a: *nope\n", 1, "anchor");
	expect_error("a: &x [1, *x]\n", 1, "anchor");
	expect_error("x: \"a\n", 1, "quote");
	expect_error("? [a]\n: 1\n", 1, "scalar mapping keys");
	expect_error("m:\n  <<: 5\n", 2, "merge");
	/* libfyaml 0.7 loops forever on this one unless UTF-8 is checked first */
	expect_error("%piVersion:\377v1\nkind: x\n", 1, "invalid UTF-8");
	expect_error("a: b\nc: \xc0\xaf\n", 2, "invalid UTF-8");
}

static void test_yaml_json_file(void)
{
	struct yj_stream *s = NULL;
	struct yj_error err;

	CU_ASSERT_EQUAL(yj_load_file("/nonexistent/x.yaml", &s, &err), -ENOENT);
	CU_ASSERT_PTR_NULL(s);
	yj_stream_free(NULL);
}

static void test_yaml_json_alias_bomb(void)
{
	char text[4096];
	size_t len = 0;
	int i;

	/* ten levels of ten aliases each: 10^10 nodes once expanded */
	len += (size_t)snprintf(text, sizeof(text), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (i = 1; i < 10; i++)
		len += (size_t)snprintf(
			text + len, sizeof(text) - len,
			"a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
			"*a%d, *a%d]\n",
			i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	expect_error(text, 0, "too large");
}

static void test_yaml_json_deep_nesting(void)
{
	static char text[200001];
	struct yj_stream *s = NULL;
	struct yj_error err;

	memset(text, '[', 100000);
	memset(text + 100000, ']', 100000);
	CU_ASSERT_EQUAL(yj_load_buffer("t.yaml", text, 200000, &s, &err), -EINVAL);
	CU_ASSERT_PTR_NULL(s);
}

static void test_yaml_json_stdin(void)
{
	char path[] = "/tmp/bm_yj_XXXXXX";
	struct yj_stream *s = NULL;
	struct yj_error err;
	int fd = mkstemp(path);

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "a: 1\n", 5), 5);
	close(fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(freopen(path, "r", stdin));
	CU_ASSERT_EQUAL_FATAL(yj_load_file("-", &s, &err), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(yj_stream_doc(s, 0), "a")), 1);
	yj_stream_free(s);
	unlink(path);
}

/* YJ_FAST_JSON: the same documents as the YAML path, without positions; else the YAML path. */
static void test_yaml_json_fast(void)
{
	static const char json[] =
		" {\"kind\": \"List\", \"items\": [{\"a\": 1, \"b\": -2.5, \"c\": 1e3, "
		"\"d\": \"x\\ty\\u00e9\", \"e\": [true, false, null, [], {}]}], \"n\": "
		"9007199254740993}\n";
	struct yj_stream *fast = NULL, *slow = NULL, *s = NULL;
	static char deep[1201];
	struct yj_error err;
	struct yj_pos pos;

	CU_ASSERT_EQUAL_FATAL(
		yj_load_buffer_flags("x", json, strlen(json), YJ_FAST_JSON, &fast, &err), 0);
	CU_ASSERT_EQUAL_FATAL(yj_load_buffer("x.json", json, strlen(json), &slow, &err), 0);
	CU_ASSERT_EQUAL(yj_stream_n_docs(fast), 1);
	CU_ASSERT_TRUE(json_equal(yj_stream_doc(fast, 0), yj_stream_doc(slow, 0)));
	CU_ASSERT_FALSE(yj_stream_has_positions(fast));
	CU_ASSERT_TRUE(yj_stream_has_positions(slow));
	CU_ASSERT_FALSE(yj_member_pos(fast, yj_stream_doc(fast, 0), "items", &pos));
	CU_ASSERT_TRUE(yj_member_pos(slow, yj_stream_doc(slow, 0), "items", &pos));
	yj_stream_free(fast);
	yj_stream_free(slow);
	/* YAML, and JSON that jansson refuses, take the YAML path (positions, its errors) */
	CU_ASSERT_EQUAL_FATAL(yj_load_buffer_flags("x", "a: 1\n", 5, YJ_FAST_JSON, &s, &err), 0);
	CU_ASSERT_TRUE(yj_stream_has_positions(s));
	yj_stream_free(s);
	s = NULL;
	CU_ASSERT_EQUAL(
		yj_load_buffer_flags("x", "{\"a\": 1,\n \"a\": 2}", 18, YJ_FAST_JSON, &s, &err),
		-EINVAL);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(err.pos.line, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "duplicate"));
	/* deeper than the YAML path allows: refused the same way */
	memset(deep, '[', 600);
	memset(deep + 600, ']', 600);
	CU_ASSERT_EQUAL(yj_load_buffer_flags("x", deep, 1200, YJ_FAST_JSON, &s, &err), -EINVAL);
	CU_ASSERT_PTR_NULL(s);
}

int bm_test_register(void)
{
	static const struct bm_test_case cases[] = {
		{"scalars", test_yaml_json_scalars},
		{"positions", test_yaml_json_positions},
		{"anchors_merge", test_yaml_json_anchors_merge},
		{"multi_doc_and_json", test_yaml_json_multi_doc_and_json},
		{"errors", test_yaml_json_errors},
		{"file", test_yaml_json_file},
		{"alias_bomb", test_yaml_json_alias_bomb},
		{"deep_nesting", test_yaml_json_deep_nesting},
		{"stdin", test_yaml_json_stdin},
		{"fast", test_yaml_json_fast},
		{NULL, NULL},
	};

	return bm_test_add_suite("yaml_json", NULL, NULL, cases);
}
