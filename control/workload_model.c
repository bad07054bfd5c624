// SPDX-License-Identifier: GPL-2.0-only
/* The workload model: lifetime, look-ups and Kubernetes quantities. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workload_priv.h"

/* See workload_model.h. */
struct wl_model *wl_model_new(void)
{
	return calloc(1, sizeof(struct wl_model));
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_ports(struct wl_port *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(p[i].name);
	free(p);
}

static void free_container(struct wl_container *c)
{
	size_t i;

	free(c->name);
	free(c->image);
	free_strv(c->command, c->n_command);
	free_strv(c->args, c->n_args);
	for (i = 0; i < c->n_env; i++) {
		free(c->env[i].name);
		free(c->env[i].value);
		free(c->env[i].cm_name);
		free(c->env[i].cm_key);
	}
	free(c->env);
	free_strv(c->env_from_cm, c->n_env_from_cm);
	free_ports(c->ports, c->n_ports);
}

static void free_pod(struct wl_pod_spec *p)
{
	size_t i, j;

	mf_labels_release(&p->labels);
	for (i = 0; i < p->n_containers; i++)
		free_container(&p->containers[i]);
	free(p->containers);
	mf_labels_release(&p->node_selector);
	for (i = 0; i < p->n_terms; i++) {
		for (j = 0; j < p->terms[i].n_exprs; j++) {
			free(p->terms[i].exprs[j].key);
			free_strv(p->terms[i].exprs[j].values, p->terms[i].exprs[j].n_values);
		}
		free(p->terms[i].exprs);
	}
	free(p->terms);
	for (i = 0; i < p->n_tolerations; i++) {
		free(p->tolerations[i].key);
		free(p->tolerations[i].value);
	}
	free(p->tolerations);
	free(p->service_account);
	free(p->identity);
}

static void free_selector(struct pm_selector *s)
{
	size_t i;

	mf_labels_release(&s->match_labels);
	for (i = 0; i < s->n_exprs; i++) {
		free(s->exprs[i].key);
		free_strv(s->exprs[i].values, s->exprs[i].n_values);
	}
	free(s->exprs);
}

/* See workload_priv.h. */
void wl_object_release(struct wl_object *o)
{
	size_t i;

	free(o->ns);
	free(o->name);
	mf_labels_release(&o->labels);
	free_pod(&o->pod);
	free_selector(&o->selector);
	mf_labels_release(&o->svc_selector);
	free_ports(o->svc_ports, o->n_svc_ports);
	mf_labels_release(&o->data);
	for (i = 0; i < o->n_taints; i++) {
		free(o->taints[i].key);
		free(o->taints[i].value);
	}
	free(o->taints);
}

/* See workload_model.h. */
void wl_model_free(struct wl_model *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n_objs; i++)
		wl_object_release(&m->objs[i]);
	free(m->objs);
	free_strv(m->files, m->n_files);
	free(m);
}

/* See workload_model.h. */
const char *wl_kind_name(enum wl_kind kind)
{
	static const char *const names[] = {
		[WL_POD] = "pod",
		[WL_DEPLOYMENT] = "deployment",
		[WL_STATEFULSET] = "statefulset",
		[WL_DAEMONSET] = "daemonset",
		[WL_SERVICE] = "service",
		[WL_SERVICE_ACCOUNT] = "serviceaccount",
		[WL_CONFIG_MAP] = "configmap",
		[WL_NODE] = "node",
	};

	return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

/* See workload_model.h. */
struct wl_resources wl_pod_requests(const struct wl_pod_spec *pod)
{
	struct wl_resources r = {0};
	size_t i;

	for (i = 0; i < pod->n_containers; i++) {
		r.cpu_milli += pod->containers[i].requests.cpu_milli;
		r.mem_bytes += pod->containers[i].requests.mem_bytes;
	}
	return r;
}

/* See workload_model.h. */
const struct wl_object *wl_model_find(const struct wl_model *m, enum wl_kind kind, const char *ns,
				      const char *name)
{
	size_t i;

	for (i = 0; i < m->n_objs; i++) {
		if (m->objs[i].kind == kind && !strcmp(m->objs[i].ns, ns) &&
		    !strcmp(m->objs[i].name, name))
			return &m->objs[i];
	}
	return NULL;
}

static const struct suffix {
	const char *text;
	uint64_t mult;
} suffixes[] = {
	{"Ki", 1ULL << 10},
	{"Mi", 1ULL << 20},
	{"Gi", 1ULL << 30},
	{"Ti", 1ULL << 40},
	{"Pi", 1ULL << 50},
	{"Ei", 1ULL << 60},
	{"k", 1000ULL},
	{"M", 1000000ULL},
	{"G", 1000000000ULL},
	{"T", 1000000000000ULL},
	{"P", 1000000000000000ULL},
	{"E", 1000000000000000000ULL},
	{"", 1},
};

/* Multiply or fail on overflow. */
static int mul(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_mul_overflow(a, b, out) ? -EINVAL : 0;
}

/*
 * See workload_model.h. The value is whole.frac * mult * scale / div, where
 * "m" (milli) sets div = 1000; computed in integers, rounding up.
 */
int wl_parse_quantity(const char *text, uint64_t scale, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, frac_div = 1, mult = 1, div = 1, num;
	const char *p = text, *sfx;
	size_t i;

	if (!*p || !strchr("0123456789.", *p))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++)
		if (mul(whole, 10, &whole) || __builtin_add_overflow(whole, *p - '0', &whole))
			return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (frac_div >= 1000000000ULL)
				continue; /* more precision than any use needs */
			frac = frac * 10 + (uint64_t)(*p - '0');
			frac_div *= 10;
		}
	}
	sfx = p;
	if (!strcmp(sfx, "m")) {
		div = 1000;
	} else {
		for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
			if (!strcmp(sfx, suffixes[i].text))
				break;
		if (i == sizeof(suffixes) / sizeof(suffixes[0]))
			return -EINVAL;
		mult = suffixes[i].mult;
	}
	/* whole part, then the fraction, each scaled and rounded up */
	if (mul(whole, mult, &num) || mul(num, scale, &num))
		return -EINVAL;
	*out = (num + div - 1) / div;
	if (frac) {
		/* frac/frac_div * mult * scale / div, rounded up, in 128 bits */
		unsigned __int128 f = (unsigned __int128)frac * mult * scale;
		unsigned __int128 d = (unsigned __int128)frac_div * div;
		uint64_t add = (uint64_t)((f + d - 1) / d);

		if (__builtin_add_overflow(*out, add, out))
			return -EINVAL;
	}
	return 0;
}
