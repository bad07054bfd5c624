// SPDX-License-Identifier: GPL-2.0-only
/* bpfmesh apply --dry-run: the one-line summaries and the open-reference warnings. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cmd_apply.h"
#include "sched_expand.h"
#include "sched_topic.h"

/* See cmd_apply.h. */
void apply_format_cpu(uint64_t milli, char *buf, size_t cap)
{
	if (milli % 1000)
		snprintf(buf, cap, "%" PRIu64 "m", milli);
	else
		snprintf(buf, cap, "%" PRIu64, milli / 1000);
}

/* See cmd_apply.h. */
void apply_format_mem(uint64_t bytes, char *buf, size_t cap)
{
	static const char *const units[] = {"Ki", "Mi", "Gi", "Ti"};
	int i = -1;

	while (i < 3 && bytes && !(bytes % 1024)) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, cap, "%" PRIu64 "%s", bytes, i >= 0 ? units[i] : "");
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "UDP" : proto == IPPROTO_SCTP ? "SCTP" : "TCP";
}

static void print_amount(const struct wl_int_or_percent *v, FILE *fp)
{
	fprintf(fp, "%u%s", v->value, v->is_percent ? "%" : "");
}

static void print_labels(const struct pm_labels *l, FILE *fp)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		fprintf(fp, "%s%s=%s", i ? "," : "", l->items[i].key, l->items[i].value);
}

static void print_pod(const struct wl_object *o, FILE *fp)
{
	struct wl_resources r = wl_pod_requests(&o->pod);
	char cpu[32], mem[32];

	apply_format_cpu(r.cpu_milli, cpu, sizeof(cpu));
	apply_format_mem(r.mem_bytes, mem, sizeof(mem));
	if (o->kind == WL_DAEMONSET)
		fprintf(fp, "one replica per fitting node");
	else
		fprintf(fp, "%u replica%s", o->replicas, o->replicas == 1 ? "" : "s");
	if (o->kind == WL_STATEFULSET && o->replicas)
		fprintf(fp, " (ordinals 0..%u)", o->replicas - 1);
	fprintf(fp, ", identity %s, requests cpu=%s mem=%s", o->pod.identity, cpu, mem);
	if (o->pod.labels.n) {
		fprintf(fp, ", labels ");
		print_labels(&o->pod.labels, fp);
	}
	fprintf(fp, ", template %s", o->pod.template_hash);
	if (o->kind == WL_DEPLOYMENT) {
		fprintf(fp, ", rolling update maxSurge=");
		print_amount(&o->max_surge, fp);
		fprintf(fp, " maxUnavailable=");
		print_amount(&o->max_unavailable, fp);
	}
}

static void print_node(const struct wl_object *o, FILE *fp)
{
	static const char *const effects[] = {"", "NoSchedule", "PreferNoSchedule", "NoExecute"};
	char cpu[32], mem[32];
	size_t i;

	apply_format_cpu(o->allocatable.cpu_milli, cpu, sizeof(cpu));
	apply_format_mem(o->allocatable.mem_bytes, mem, sizeof(mem));
	fprintf(fp, "allocatable cpu=%s mem=%s", cpu, mem);
	if (o->labels.n) {
		fprintf(fp, ", labels ");
		print_labels(&o->labels, fp);
	}
	for (i = 0; i < o->n_taints; i++)
		fprintf(fp, "%s%s=%s:%s", i ? "," : ", taints ", o->taints[i].key,
			o->taints[i].value, effects[o->taints[i].effect]);
}

static void print_object(const struct wl_object *o, FILE *fp)
{
	size_t i;

	if (o->kind == WL_NODE)
		fprintf(fp, "node/%s: ", o->name);
	else
		fprintf(fp, "%s/%s/%s: ", wl_kind_name(o->kind), o->ns, o->name);
	switch (o->kind) {
	case WL_NODE:
		print_node(o, fp);
		break;
	case WL_SERVICE:
		fprintf(fp, "selector ");
		print_labels(&o->svc_selector, fp);
		fprintf(fp, ", ports");
		for (i = 0; i < o->n_svc_ports; i++)
			fprintf(fp, "%s%u->%u/%s", i ? "," : " ", o->svc_ports[i].port,
				o->svc_ports[i].target_port, proto_name(o->svc_ports[i].protocol));
		break;
	case WL_SERVICE_ACCOUNT:
		fprintf(fp, "workload identity for serviceAccountName %s", o->name);
		break;
	case WL_CONFIG_MAP:
		fprintf(fp, "%zu key%s", o->data.n, o->data.n == 1 ? "" : "s");
		break;
	default:
		print_pod(o, fp);
	}
	fputc('\n', fp);
}

/* See cmd_apply.h. */
void apply_print_objects(const struct wl_model *wm, const struct pm_model *pm, FILE *fp)
{
	const struct pm_policy *p;
	size_t i;

	for (i = 0; i < wm->n_objs; i++)
		print_object(&wm->objs[i], fp);
	for (i = 0; i < pm->n_policies; i++) {
		p = &pm->policies[i];
		fprintf(fp, "%s/%s/%s: %zu ingress rule%s, %zu egress rule%s%s\n",
			p->kind == PM_KIND_MESH_POLICY ? "meshpolicy" : "networkpolicy", p->ns,
			p->name, p->n_ingress, p->n_ingress == 1 ? "" : "s", p->n_egress,
			p->n_egress == 1 ? "" : "s",
			p->auth_required ? ", authentication required" : "");
	}
	for (i = 0; i < pm->n_endpoints; i++)
		fprintf(fp, "endpoint/%s/%s: identity %s\n", pm->endpoints[i].ns,
			pm->endpoints[i].name, pm->endpoints[i].identity_uri);
}

static void warn_at(const struct wl_object *o, FILE *fp, size_t *n, const char *what,
		    const char *name, const char *extra)
{
	fprintf(fp, "%s:%u:%u: warning: %s/%s/%s: %s %s%s is not in the applied manifests\n",
		o->pos.file ? o->pos.file : "?", o->pos.line, o->pos.column, wl_kind_name(o->kind),
		o->ns, o->name, what, name, extra);
	(*n)++;
}

static void check_env(const struct wl_model *wm, const struct wl_object *o, FILE *fp, size_t *n)
{
	const struct wl_container *ctr;
	const struct wl_object *cm;
	size_t i, j;

	for (i = 0; i < o->pod.n_containers; i++) {
		ctr = &o->pod.containers[i];
		for (j = 0; j < ctr->n_env; j++) {
			if (!ctr->env[j].cm_name)
				continue;
			cm = wl_model_find(wm, WL_CONFIG_MAP, o->ns, ctr->env[j].cm_name);
			if (!cm)
				warn_at(o, fp, n, "ConfigMap", ctr->env[j].cm_name, "");
			else if (!pm_labels_get(&cm->data, ctr->env[j].cm_key))
				warn_at(o, fp, n, "key", ctr->env[j].cm_key, " of its ConfigMap");
		}
		for (j = 0; j < ctr->n_env_from_cm; j++)
			if (!wl_model_find(wm, WL_CONFIG_MAP, o->ns, ctr->env_from_cm[j]))
				warn_at(o, fp, n, "ConfigMap", ctr->env_from_cm[j], "");
	}
}

/* See cmd_apply.h. */
size_t apply_check_refs(const struct wl_model *wm, bool is_strict, FILE *fp)
{
	const struct wl_object *o;
	size_t i, n = 0;

	for (i = 0; i < wm->n_objs; i++) {
		o = &wm->objs[i];
		if (o->kind != WL_POD && o->kind != WL_DEPLOYMENT && o->kind != WL_STATEFULSET &&
		    o->kind != WL_DAEMONSET)
			continue;
		check_env(wm, o, fp, &n);
		if (strcmp(o->pod.service_account, "default") &&
		    !wl_model_find(wm, WL_SERVICE_ACCOUNT, o->ns, o->pod.service_account))
			warn_at(o, fp, &n, "ServiceAccount", o->pod.service_account, "");
	}
	return is_strict ? n : 0;
}

static void print_daemonsets(const struct wl_model *wm, const struct sched_batch *b, FILE *fp)
{
	struct sched_replica r;
	const struct wl_object *o;
	size_t i, j;

	for (i = 0; i < wm->n_objs; i++) {
		o = &wm->objs[i];
		if (o->kind != WL_DAEMONSET)
			continue;
		r = (struct sched_replica){
			.key = o->name, .pod = &o->pod, .req = wl_pod_requests(&o->pod)};
		for (j = 0; j < b->n_nodes; j++)
			if (sched_node_fits(&b->nodes[j], &r))
				fprintf(fp, "placement: %s/%s/%s -> %s\n", o->ns, o->name,
					b->nodes[j].name, b->nodes[j].name);
	}
}

/* See cmd_apply.h. */
int apply_print_placement(const struct wl_model *wm, FILE *fp, FILE *warn_fp)
{
	struct sched_view v = {0};
	struct sched_batch b;
	int32_t *out = NULL;
	int err, n_unplaced = 0;
	size_t i;

	err = sched_batch_from_model(wm, &b);
	if (err)
		return err;
	if (!b.n_nodes)
		goto out;
	out = calloc(b.n_reps ? b.n_reps : 1, sizeof(*out));
	err = out ? sched_view_init(&v, b.nodes, b.n_nodes) : -ENOMEM;
	if (!err)
		err = sched_place_by_topic(&v, b.reps, b.n_reps, NULL, out, NULL);
	for (i = 0; err >= 0 && i < b.n_reps; i++) {
		if (out[i] >= 0) {
			fprintf(fp, "placement: %s -> %s\n", b.keys[i], b.nodes[out[i]].name);
			continue;
		}
		fprintf(warn_fp,
			"%s:%u:%u: warning: %s/%s/%s: replica %s: no node fits "
			"(it would stay pending)\n",
			b.owner[i]->pos.file, b.owner[i]->pos.line, b.owner[i]->pos.column,
			wl_kind_name(b.owner[i]->kind), b.owner[i]->ns, b.owner[i]->name,
			b.keys[i]);
		n_unplaced++;
	}
	if (err >= 0) {
		print_daemonsets(wm, &b, fp);
		err = n_unplaced;
	}
out:
	sched_view_release(&v);
	free(out);
	sched_batch_release(&b);
	return err;
}
