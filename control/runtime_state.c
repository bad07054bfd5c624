// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runtime records: one JSON file per replica in STATE_DIR/runtime/ID.json,
 * written atomically (temporary file + rename), and address allocation from
 * the pod range over the recorded replicas, so addresses survive restarts.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "runtime_priv.h"

#define RT_SCHEMA 1

/* 64-bit FNV-1a of key as RT_ID_LEN hex digits. Cannot fail. */
void rts_id(const char *key, char id[RT_ID_LEN + 1])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	snprintf(id, RT_ID_LEN + 1, "%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}

/* Dotted quad of a host-order address into buf. Cannot fail. */
void rts_addr_str(uint32_t addr, char *buf, size_t len)
{
	struct in_addr a = {.s_addr = htonl(addr)};

	if (!inet_ntop(AF_INET, &a, buf, (socklen_t)len) && len)
		buf[0] = '\0';
}

/* Parse "A.B.C.D/N" (N in 8..30, host bits zero). Returns 0 or -EINVAL. */
int rts_parse_cidr(const char *text, uint32_t *net, uint32_t *prefixlen)
{
	char buf[32], *slash, *end;
	struct in_addr a;
	unsigned long n;

	if (!text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || n < 8 || n > 30)
		return -EINVAL;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*net = ntohl(a.s_addr);
	*prefixlen = (uint32_t)n;
	if (*net & ~(0xffffffffU << (32 - n)))
		return -EINVAL;
	return 0;
}

/*
 * The lowest free address of the pod range: not the network, gateway
 * (first) or broadcast address, not held by a known replica. Returns 0 or
 * -ENOSPC.
 */
int rts_addr_alloc(const struct rt *rt, uint32_t *addr)
{
	uint32_t size = 1U << (32 - rt->prefixlen), a;
	size_t i;

	for (a = rt->net + 2; a < rt->net + size - 1; a++) {
		for (i = 0; i < rt->n_reps; i++)
			if (rt->reps[i]->addr == a)
				break;
		if (i == rt->n_reps) {
			*addr = a;
			return 0;
		}
	}
	return -ENOSPC;
}

static json_t *record_json(const struct rt_replica *r)
{
	const struct rt_replica_info *in = &r->info;
	json_t *ctrs = json_array(), *o;
	size_t i;

	for (i = 0; ctrs && i < r->n_ctrs; i++)
		json_array_append_new(ctrs,
				      json_pack("{s:i,s:I}", "pid", r->ctrs[i].pid, "start_time",
						(json_int_t)r->ctrs[i].start_time));
	o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:o}", "schema",
		      RT_SCHEMA, "key", in->key, "ns", in->ns, "pod_name", in->pod_name, "id",
		      r->id, "address", in->address, "host_ifname", in->host_ifname, "cgroup",
		      r->cgroup, "complete", r->is_complete, "xdp", in->is_xdp_attached, "guard",
		      in->is_guarded, "cpu_limited", in->is_cpu_limited, "mem_limited",
		      in->is_mem_limited, "guard_ifindex", r->guard_ifindex, "containers", ctrs);
	return o;
}

/* Write r's record atomically. Returns 0 or -errno (logged). */
int rts_save(const struct rt *rt, const struct rt_replica *r)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	json_t *o = record_json(r);
	int err = 0;

	if (!o)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s.json", rt->rt_dir, r->id);
	snprintf(tmp, sizeof(tmp), "%s/.%s.json.tmp", rt->rt_dir, r->id);
	if (json_dump_file(o, tmp, JSON_COMPACT) || rename(tmp, path)) {
		err = errno ? -errno : -EIO;
		pr_warn("write runtime record %s: %s", path, strerror(-err));
		unlink(tmp);
	}
	json_decref(o);
	return err;
}

/* Remove r's record and log file. Returns 0 or -errno (logged). */
int rts_remove(const struct rt *rt, const struct rt_replica *r)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.log", rt->rt_dir, r->id);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.json", rt->rt_dir, r->id);
	if (unlink(path) && errno != ENOENT) {
		pr_warn("remove runtime record %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int copy_str(char *dst, size_t len, const char *src)
{
	if (!src || strlen(src) >= len)
		return -EINVAL;
	strcpy(dst, src);
	return 0;
}

static int parse_ctrs(struct rt_replica *r, json_t *arr)
{
	json_int_t start;
	size_t i;
	json_t *c;
	int pid;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return -EINVAL;
	r->ctrs = calloc(json_array_size(arr), sizeof(*r->ctrs));
	if (!r->ctrs)
		return -ENOMEM;
	json_array_foreach (arr, i, c) {
		if (json_unpack(c, "{s:i,s:I}", "pid", &pid, "start_time", &start) || pid <= 0)
			return -EINVAL;
		r->ctrs[i].pid = pid;
		r->ctrs[i].start_time = (unsigned long long)start;
		r->ctrs[i].status = -1;
		r->n_ctrs++;
	}
	return 0;
}

static int parse_record(json_t *o, struct rt_replica *r)
{
	const char *key, *ns, *pod, *id, *addr, *ifname, *cg;
	int schema, complete, xdp, guard, cpu, mem, guard_ifindex = 0;
	struct in_addr a;
	json_t *ctrs;

	if (json_unpack(o, "{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s?:i,s:o}",
			"schema", &schema, "key", &key, "ns", &ns, "pod_name", &pod, "id", &id,
			"address", &addr, "host_ifname", &ifname, "cgroup", &cg, "complete",
			&complete, "xdp", &xdp, "guard", &guard, "cpu_limited", &cpu, "mem_limited",
			&mem, "guard_ifindex", &guard_ifindex, "containers", &ctrs) ||
	    schema != RT_SCHEMA)
		return -EINVAL;
	if (copy_str(r->info.key, sizeof(r->info.key), key) ||
	    copy_str(r->info.ns, sizeof(r->info.ns), ns) ||
	    copy_str(r->info.pod_name, sizeof(r->info.pod_name), pod) ||
	    copy_str(r->id, sizeof(r->id), id) ||
	    copy_str(r->info.address, sizeof(r->info.address), addr) ||
	    copy_str(r->info.host_ifname, sizeof(r->info.host_ifname), ifname) ||
	    copy_str(r->cgroup, sizeof(r->cgroup), cg) || inet_pton(AF_INET, addr, &a) != 1)
		return -EINVAL;
	r->addr = ntohl(a.s_addr);
	r->is_complete = complete;
	r->info.is_xdp_attached = xdp;
	r->info.is_guarded = guard;
	r->guard_ifindex = guard_ifindex;
	r->info.is_cpu_limited = cpu;
	r->info.is_mem_limited = mem;
	r->info.exit_status = -1;
	r->info.is_adopted = true;
	return parse_ctrs(r, ctrs);
}

static int load_one(struct rt *rt, const char *name)
{
	struct rt_replica *r = calloc(1, sizeof(*r));
	char path[PATH_MAX], want[RT_ID_LEN + 1];
	json_error_t jerr;
	json_t *o = NULL;
	int err = -ENOMEM;

	if (!r)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", rt->rt_dir, name);
	o = json_load_file(path, 0, &jerr);
	err = o ? parse_record(o, r) : -EINVAL;
	if (!err) {
		rts_id(r->info.key, want);
		if (strcmp(want, r->id) || strncmp(name, want, RT_ID_LEN) ||
		    rts_find(rt, r->info.key))
			err = -EINVAL;
	}
	if (!err)
		err = rts_add(rt, r);
	if (err) {
		pr_warn("runtime record %s: %s; ignored", path,
			o ? "invalid or duplicate" : jerr.text);
		rts_replica_free(r);
	}
	json_decref(o);
	return err == -ENOMEM ? err : 0;
}

/*
 * Load every record in rt->rt_dir into rt->reps (invalid ones are logged
 * and skipped). Returns 0 or -errno of reading the directory or -ENOMEM.
 */
int rts_load_all(struct rt *rt)
{
	struct dirent *de;
	size_t len;
	int err = 0;
	DIR *d;

	d = opendir(rt->rt_dir);
	if (!d) {
		pr_warn("open %s: %s", rt->rt_dir, strerror(errno));
		return -errno;
	}
	while (!err && (de = readdir(d))) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		err = load_one(rt, de->d_name);
	}
	closedir(d);
	return err;
}

/* Append r to rt (rt owns it then). Returns 0 or -ENOMEM. */
int rts_add(struct rt *rt, struct rt_replica *r)
{
	struct rt_replica **v;
	size_t cap;

	if (rt->n_reps == rt->cap_reps) {
		cap = rt->cap_reps ? rt->cap_reps * 2 : 8;
		v = realloc(rt->reps, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		rt->reps = v;
		rt->cap_reps = cap;
	}
	rt->reps[rt->n_reps++] = r;
	return 0;
}

/* Remove r from rt and free it. Cannot fail. */
void rts_drop(struct rt *rt, struct rt_replica *r)
{
	size_t i;

	for (i = 0; i < rt->n_reps; i++) {
		if (rt->reps[i] != r)
			continue;
		rt->reps[i] = rt->reps[--rt->n_reps];
		break;
	}
	rts_replica_free(r);
}

/* The replica of key, or NULL. Cannot fail. */
struct rt_replica *rts_find(const struct rt *rt, const char *key)
{
	size_t i;

	for (i = 0; i < rt->n_reps; i++)
		if (!strcmp(rt->reps[i]->info.key, key))
			return rt->reps[i];
	return NULL;
}

/* Free r. NULL-safe. */
void rts_replica_free(struct rt_replica *r)
{
	if (!r)
		return;
	free(r->ctrs);
	free(r);
}
