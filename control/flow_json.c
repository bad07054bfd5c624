// SPDX-License-Identifier: GPL-2.0-only
/* Flow events as JSON objects: build, filter, print one line. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow_json.h"
#include "names.h"

static const char *const sources[] = {
	[BM_EVENT_SRC_XDP] = "xdp",
	[BM_EVENT_SRC_SOCK] = "sock",
	[BM_EVENT_SRC_USER] = "user",
};

/* See flow_json.h. */
int64_t flow_json_boot_to_real_ns(void)
{
	struct timespec boot, real;

	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &real);
	return ((int64_t)real.tv_sec - boot.tv_sec) * 1000000000 + (real.tv_nsec - boot.tv_nsec);
}

/* See flow_json.h. */
bool flow_json_namespace(const char *spiffe, char *buf, size_t len)
{
	const char *p, *end;

	buf[0] = '\0';
	if (!spiffe || strncmp(spiffe, "spiffe://", 9))
		return false;
	p = strchr(spiffe + 9, '/');
	if (!p || strncmp(p, "/ns/", 4))
		return false;
	p += 4;
	end = strchrnul(p, '/');
	if (end == p || (size_t)(end - p) >= len)
		return false;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	return true;
}

static void format_time(int64_t real_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(real_ns / 1000000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(real_ns % 1000000000 / 1000));
}

/* Add "<end>_id", "<end>_identity", "<end>_namespace" (when known), "<end>", "<end>port". */
static int add_end(json_t *j, const char *end, uint32_t id, const struct id_names *names,
		   const char *addr, unsigned int port)
{
	const char *name = names ? id_names_get(names, id) : NULL;
	char key[32], ns[256];
	int err;

	snprintf(key, sizeof(key), "%s_id", end);
	err = json_object_set_new(j, key, json_integer(id));
	snprintf(key, sizeof(key), "%s_identity", end);
	if (name)
		err |= json_object_set_new(j, key, json_string(name));
	snprintf(key, sizeof(key), "%s_namespace", end);
	if (flow_json_namespace(name, ns, sizeof(ns)))
		err |= json_object_set_new(j, key, json_string(ns));
	err |= json_object_set_new(j, end, json_string(addr));
	snprintf(key, sizeof(key), "%sport", end[0] == 's' ? "s" : "d");
	err |= json_object_set_new(j, key, json_integer(port));
	return err;
}

/* See flow_json.h. */
json_t *flow_json_event(const struct bm_flow_event *e, const char *node,
			const struct id_names *names, int64_t boot_to_real_ns)
{
	int af = e->family == BM_FAMILY_IPV6 ? AF_INET6 : AF_INET;
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?", when[64], pbuf[8];
	json_t *j = json_object();
	int err;

	if (!j)
		return NULL;
	inet_ntop(af, e->saddr, src, sizeof(src));
	inet_ntop(af, e->daddr, dst, sizeof(dst));
	format_time((int64_t)e->ts_boot_ns + boot_to_real_ns, when, sizeof(when));
	err = node ? json_object_set_new(j, "node", json_string(node)) : 0;
	err |= json_object_set_new(j, "time", json_string(when));
	err |= json_object_set_new(j, "verdict", json_string(names_verdict(e->verdict)));
	err |= json_object_set_new(j, "reason", json_string(names_reason(e->reason)));
	err |= add_end(j, "src", e->src_id, names, src, ntohs(e->sport));
	err |= add_end(j, "dst", e->dst_id, names, dst, ntohs(e->dport));
	err |= json_object_set_new(j, "proto",
				   json_string(names_proto(e->proto, pbuf, sizeof(pbuf))));
	err |= json_object_set_new(j, "family", json_string(af == AF_INET6 ? "ipv6" : "ipv4"));
	err |= json_object_set_new(j, "rule_id", json_integer(e->rule_id));
	err |= json_object_set_new(j, "ifindex", json_integer(e->ifindex));
	err |= json_object_set_new(j, "len", json_integer(e->pkt_len));
	err |= json_object_set_new(j, "generation", json_integer(e->generation));
	err |= json_object_set_new(j, "source",
				   json_string(e->source < sizeof(sources) / sizeof(sources[0])
						       ? sources[e->source]
						       : "unknown"));
	if (err) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static const char *str(const json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));

	return s ? s : "";
}

/* Does the identity of one end ("src"/"dst") equal want (number or name)? */
static bool end_is(const json_t *ev, const char *end, const char *want)
{
	json_int_t id;
	char key[32], *stop;

	if (!*want)
		return false;
	snprintf(key, sizeof(key), "%s_identity", end);
	if (!strcmp(str(ev, key), want))
		return true;
	snprintf(key, sizeof(key), "%s_id", end);
	id = (json_int_t)strtoll(want, &stop, 10);
	return !*stop && json_integer_value(json_object_get(ev, key)) == id &&
	       json_is_integer(json_object_get(ev, key));
}

static bool port_is(const json_t *ev, unsigned int port)
{
	return json_integer_value(json_object_get(ev, "sport")) == (json_int_t)port ||
	       json_integer_value(json_object_get(ev, "dport")) == (json_int_t)port;
}

/* See flow_json.h. */
bool flow_filter_match(const struct flow_filter *f, const json_t *ev)
{
	if (f->identity && !end_is(ev, "src", f->identity) && !end_is(ev, "dst", f->identity))
		return false;
	if (f->from && !end_is(ev, "src", f->from))
		return false;
	if (f->to && !end_is(ev, "dst", f->to))
		return false;
	if (f->ns && strcmp(str(ev, "src_namespace"), f->ns) &&
	    strcmp(str(ev, "dst_namespace"), f->ns))
		return false;
	if (f->verdict && strcmp(str(ev, "verdict"), f->verdict) &&
	    strcmp(str(ev, "reason"), f->verdict))
		return false;
	if (f->node && strcmp(str(ev, "node"), f->node))
		return false;
	return !f->has_port || port_is(ev, f->port);
}

static void print_end(FILE *out, const json_t *ev, const char *end)
{
	char key[32];
	const char *name;

	snprintf(key, sizeof(key), "%s_identity", end);
	name = str(ev, key);
	snprintf(key, sizeof(key), "%s_id", end);
	if (*name)
		fprintf(out, "%s", name);
	else
		fprintf(out, "id:%" JSON_INTEGER_FORMAT,
			json_integer_value(json_object_get(ev, key)));
	snprintf(key, sizeof(key), "%sport", end[0] == 's' ? "s" : "d");
	fprintf(out,
		strchr(str(ev, end), ':') ? " ([%s]:%" JSON_INTEGER_FORMAT ")"
					  : " (%s:%" JSON_INTEGER_FORMAT ")",
		str(ev, end), json_integer_value(json_object_get(ev, key)));
}

/* See flow_json.h. */
void flow_json_print_line(FILE *out, const json_t *ev)
{
	fprintf(out, "%s %s %-10s %-20s ", str(ev, "time"),
		*str(ev, "node") ? str(ev, "node") : "-", str(ev, "verdict"), str(ev, "reason"));
	print_end(out, ev, "src");
	fprintf(out, " -> ");
	print_end(out, ev, "dst");
	fprintf(out, " %s rule %" JSON_INTEGER_FORMAT "\n", str(ev, "proto"),
		json_integer_value(json_object_get(ev, "rule_id")));
}
