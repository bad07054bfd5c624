// SPDX-License-Identifier: GPL-2.0-only
/*
 * Owner of the bm_xdp_ingress skeleton: loads the program with its maps
 * reused from (or created at) the pin directory, attaches and detaches it
 * through libxdp, and runs frames through it with BPF_PROG_TEST_RUN.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "xdp_ingress.skel.h"

#include "bpffs.h"
#include "dataplane_priv.h"
#include "log.h"

#define BM_PROG_NAME "bm_xdp_ingress"

struct dataplane {
	struct xdp_ingress *skel;
	volatile struct bm_config *config;
	struct dp_slots *slots; /* tables_install.c */
	size_t config_len;
	bool is_dry_run;
	char pin_dir[PATH_MAX];
};

static int map_config(struct dataplane *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.bm_config);
	void *mem;

	dp->config_len = (size_t)sysconf(_SC_PAGESIZE);
	mem = mmap(NULL, dp->config_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		pr_warn("mmap %s: %s", BM_MAP_CONFIG, strerror(errno));
		return -errno;
	}
	dp->config = mem;
	return 0;
}

/*
 * A freshly created config is all zero: stamp our ABI version and defaults.
 * A config written by another ABI version means the pinned maps have another
 * layout: refuse rather than misread them.
 */
static int check_config(struct dataplane *dp)
{
	volatile struct bm_config *cfg = dp->config;

	if (cfg->abi_version == 0 && !dp->is_dry_run) {
		cfg->flags = BM_CFG_F_FLOW_CACHE | BM_CFG_F_EVENTS;
		cfg->allow_sample = 64;
		cfg->deny_event_rate = BM_DENY_EVENT_RATE_DEFAULT;
		cfg->abi_version = BM_ABI_VERSION;
		return 0;
	}
	if (cfg->abi_version != BM_ABI_VERSION && cfg->abi_version != 0) {
		pr_warn("maps pinned under %s use ABI %u, this bpfmesh speaks ABI %u: "
			"detach every interface and remove %s first",
			dp->pin_dir, cfg->abi_version, BM_ABI_VERSION, dp->pin_dir);
		return -EPROTO;
	}
	return 0;
}

static int open_skeleton(const char *pin_dir, bool is_dry_run, bool is_policy_only,
			 struct xdp_ingress **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct xdp_ingress *skel;

	skel = xdp_ingress__open_opts(&opts);
	if (!skel) {
		pr_warn("open BPF object %s: %s", BM_PROG_NAME, strerror(errno));
		return -errno;
	}
	skel->rodata->bm_dry_run = is_dry_run ? 1 : 0;
	skel->rodata->bm_policy_only = is_policy_only ? 1 : 0;
	*out = skel;
	return 0;
}

static int open_instance(const char *pin_dir, bool is_dry_run, bool is_policy_only,
			 struct dataplane **out)
{
	char probe[PATH_MAX];
	struct dataplane *dp;
	int err;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->is_dry_run = is_dry_run;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", pin_dir);
	err = bpffs_prepare(pin_dir);
	if (err)
		goto err_free;
	snprintf(probe, sizeof(probe), "%s/%s", pin_dir, BM_MAP_CONFIG);
	if (is_dry_run && access(probe, F_OK)) {
		pr_warn("no data plane pinned under %s: load a policy first", pin_dir);
		err = -ENOENT;
		goto err_free;
	}
	err = open_skeleton(pin_dir, is_dry_run, is_policy_only, &dp->skel);
	if (err)
		goto err_free;
	err = xdp_ingress__load(dp->skel);
	if (err) {
		pr_warn("load %s (maps pinned under %s): %s", BM_PROG_NAME, pin_dir,
			strerror(-err));
		goto err_destroy;
	}
	err = map_config(dp);
	if (err)
		goto err_destroy;
	err = check_config(dp);
	if (err)
		goto err_unmap;
	*out = dp;
	return 0;

err_unmap:
	munmap((void *)dp->config, dp->config_len);
err_destroy:
	xdp_ingress__destroy(dp->skel);
err_free:
	free(dp);
	return err;
}

/* See dataplane.h. */
int dp_open(const char *pin_dir, bool is_dry_run, struct dataplane **out)
{
	return open_instance(pin_dir, is_dry_run, false, out);
}

/* See dataplane.h. */
int dp_open_policy_check(const char *pin_dir, struct dataplane **out)
{
	return open_instance(pin_dir, true, true, out);
}

/* See dataplane.h. */
void dp_close(struct dataplane *dp)
{
	if (!dp)
		return;
	dp_slots_free(dp->slots);
	if (dp->config)
		munmap((void *)dp->config, dp->config_len);
	xdp_ingress__destroy(dp->skel);
	free(dp);
}

/* See dataplane_priv.h. */
volatile struct bm_config *dp_config(struct dataplane *dp)
{
	return dp->config;
}

/* See dataplane_priv.h. */
struct dp_slots **dp_slots(struct dataplane *dp)
{
	return &dp->slots;
}

/* See dataplane.h. */
int dp_prog_fd(const struct dataplane *dp)
{
	return bpf_program__fd(dp->skel->progs.bm_xdp_ingress);
}

/* See dataplane.h. */
int dp_map_fd(const struct dataplane *dp, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(dp->skel->obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

/* See dataplane.h. */
uint32_t dp_generation(const struct dataplane *dp)
{
	return __atomic_load_n(&dp->config->generation, __ATOMIC_ACQUIRE);
}

/* See dataplane.h. */
int dp_configure(struct dataplane *dp, uint32_t flags, uint32_t allow_sample)
{
	if (dp->is_dry_run)
		return -EPERM;
	dp->config->flags = flags;
	dp->config->allow_sample = allow_sample;
	return 0;
}

/* See dataplane.h. */
int dp_set_deny_event_rate(struct dataplane *dp, uint32_t per_cpu_per_sec)
{
	if (dp->is_dry_run)
		return -EPERM;
	dp->config->deny_event_rate = per_cpu_per_sec;
	return 0;
}

static int attach_in_mode(struct dataplane *dp, int ifindex, enum xdp_attach_mode mode)
{
	struct xdp_ingress *skel = NULL;
	struct xdp_program *prog;
	int err;

	/*
	 * libxdp must load the program itself (as an extension of its
	 * dispatcher), so attach a second, unloaded instance of the object;
	 * its maps resolve to the same pins.
	 */
	err = open_skeleton(dp->pin_dir, false, false, &skel);
	if (err)
		return err;
	prog = xdp_program__from_bpf_obj(skel->obj, "xdp");
	err = (int)libxdp_get_error(prog);
	if (err) {
		prog = NULL;
		goto out;
	}
	err = xdp_program__attach(prog, ifindex, mode, 0);
out:
	xdp_program__close(prog);
	xdp_ingress__destroy(skel);
	return err;
}

/* See dataplane.h. */
bool dp_is_attached(int ifindex, enum dp_mode *mode)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p = NULL;
	bool found = false;

	if (!mp || libxdp_get_error(mp))
		return false;
	if (mode)
		*mode = xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? DP_MODE_GENERIC
								       : DP_MODE_NATIVE;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		found = p && !strcmp(xdp_program__name(p), BM_PROG_NAME);
	} else {
		while ((p = xdp_multiprog__next_prog(p, mp)))
			found |= !strcmp(xdp_program__name(p), BM_PROG_NAME);
	}
	xdp_multiprog__close(mp);
	return found;
}

/* See dataplane.h. */
int dp_attach(struct dataplane *dp, int ifindex, enum dp_mode mode, enum dp_mode *got)
{
	char ifname[IF_NAMESIZE] = "?";
	int err;

	if_indextoname((unsigned int)ifindex, ifname);
	if (dp_is_attached(ifindex, NULL)) {
		pr_info("%s already has %s attached", ifname, BM_PROG_NAME);
		*got = mode;
		return -EEXIST;
	}
	if (mode == DP_MODE_NATIVE) {
		err = attach_in_mode(dp, ifindex, XDP_MODE_NATIVE);
		if (!err) {
			*got = DP_MODE_NATIVE;
			return 0;
		}
		pr_warn("attach xdp to %s in native mode: %s; falling back to generic mode", ifname,
			strerror(-err));
	}
	err = attach_in_mode(dp, ifindex, XDP_MODE_SKB);
	if (err) {
		pr_warn("attach xdp to %s in generic mode: %s", ifname, strerror(-err));
		return err;
	}
	*got = DP_MODE_GENERIC;
	return 0;
}

/* See dataplane.h. */
int dp_detach(const char *pin_dir, int ifindex)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	enum xdp_attach_mode mode;
	int err;

	/* libxdp must look where dp_attach() made it pin (see bpffs_prepare()). */
	err = bpffs_prepare(pin_dir);
	if (err)
		return err;
	err = -ENOENT;
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!mp || libxdp_get_error(mp))
		return -ENOENT;
	mode = xdp_multiprog__attach_mode(mp);
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), BM_PROG_NAME))
			err = xdp_program__detach(p, ifindex, mode, 0);
		goto out;
	}
	while ((p = xdp_multiprog__next_prog(p, mp))) {
		if (strcmp(xdp_program__name(p), BM_PROG_NAME))
			continue;
		err = xdp_program__detach(p, ifindex, mode, 0);
		break;
	}
out:
	xdp_multiprog__close(mp);
	return err;
}

/* See dataplane.h. */
int dp_test_run(struct dataplane *dp, const void *frame, size_t len, struct bm_verdict_record *rec)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .repeat = 1);
	__u32 zero = 0;
	int err;

	memset(rec, 0, sizeof(*rec));
	if (dp->is_dry_run) {
		err = bpf_map_update_elem(bpf_map__fd(dp->skel->maps.bm_last), &zero, rec, 0);
		if (err)
			return err;
	}
	err = bpf_prog_test_run_opts(dp_prog_fd(dp), &opts);
	if (err)
		return err;
	if (dp->is_dry_run) {
		err = bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.bm_last), &zero, rec);
		if (err)
			return err;
	}
	rec->xdp_action = opts.retval;
	return 0;
}
