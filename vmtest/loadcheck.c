// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmtest_loadcheck: load and verify every BPF object of the build on the
 * running kernel, and when one cannot load, say which kernel feature is
 * missing (program type, map type, map flag, helper, kernel BTF) and from
 * which Linux release on it exists, instead of dumping the verifier log.
 *
 * Usage: vmtest_loadcheck [-v] [DIR|OBJ...]   (default: $BM_BPF_OBJ_DIR)
 * Exit: 0 all loaded; 1 a load failed although every probed feature is
 * there (a real bug); 77 a feature is missing, i.e. the kernel is older than
 * bpfmesh supports (1 instead under CI=true); 2 usage error.
 *
 * ctest-labels: bpf vmtest
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "features.h"

#define MAX_MISSING 64

enum verdict { V_PASS, V_FAIL, V_SKIP };

struct check {
	const char *missing[MAX_MISSING];
	char why[MAX_MISSING][96];
	int nr_missing;
};

static int verbose;
/* Last lines libbpf printed for the object being loaded, verifier log cut. */
static char last_log[8192];
/* The kernel's last word on the object's BTF, when it rejected it. */
static char btf_reject[160];

static void note_missing(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_missing(struct check *c, const char *fmt, ...)
{
	va_list ap;
	int i;

	if (c->nr_missing >= MAX_MISSING)
		return;
	va_start(ap, fmt);
	vsnprintf(c->why[c->nr_missing], sizeof(c->why[0]), fmt, ap);
	va_end(ap);
	for (i = 0; i < c->nr_missing; i++) {
		if (!strcmp(c->why[i], c->why[c->nr_missing]))
			return; /* same helper used by two programs: say it once */
	}
	c->missing[c->nr_missing] = c->why[c->nr_missing];
	c->nr_missing++;
}

/*
 * Keep only the verdict of a kernel log libbpf forwards (the verifier's
 * "-- BEGIN PROG LOAD LOG --" or the BTF checker's "-- BEGIN BTF LOAD LOG
 * ---" block): its last two lines other than the "processed N insns"
 * statistics. The whole log only with -v.
 */
static void keep_log_tail(const char *msg)
{
	const char *begin = strstr(msg, "-- BEGIN ");
	const char *end = strstr(msg, "-- END ");
	const char *lines[2] = {NULL, NULL};
	int lens[2] = {0, 0};
	const char *p, *nl;
	size_t used;
	int i;

	if (!begin || !end || end < begin)
		return;
	for (p = strchr(begin, '\n'); p && p < end; p = nl) {
		p++;
		nl = memchr(p, '\n', end - p);
		if (!nl)
			break;
		if (nl == p || !strncmp(p, "processed ", 10))
			continue;
		lines[0] = lines[1];
		lens[0] = lens[1];
		lines[1] = p;
		lens[1] = (int)(nl - p);
	}
	used = strlen(last_log);
	snprintf(last_log + used, sizeof(last_log) - used, "    %.*s\n", (int)(begin - msg), msg);
	if (strstr(begin, "BTF LOAD LOG") && lines[1])
		snprintf(btf_reject, sizeof(btf_reject), "%.*s", lens[1], lines[1]);
	for (i = 0; i < 2; i++) {
		if (!lines[i])
			continue;
		used = strlen(last_log);
		snprintf(last_log + used, sizeof(last_log) - used, "    kernel: %.*s\n", lens[i],
			 lines[i]);
	}
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t used;
	char *msg;

	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (verbose)
		return vfprintf(stderr, fmt, ap);
	if (level != LIBBPF_WARN || vasprintf(&msg, fmt, ap) < 0)
		return 0;
	if (strstr(msg, "-- BEGIN ")) {
		keep_log_tail(msg);
	} else {
		used = strlen(last_log);
		snprintf(last_log + used, sizeof(last_log) - used, "    %s", msg);
	}
	free(msg);
	return 0;
}

/* Create a small map with extra flags to see whether the kernel knows them. */
static bool map_flags_supported(enum bpf_map_type type, __u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	int fd = bpf_map_create(type, NULL, 4, 8, 1, &opts);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void probe_maps(struct bpf_object *obj, struct check *c)
{
	struct bpf_map *map;
	__u32 flags;

	bpf_object__for_each_map (map, obj) {
		enum bpf_map_type type = bpf_map__type(map);

		if (libbpf_probe_bpf_map_type(type, NULL) != 1) {
			note_missing(c, "map type %s (Linux %s)", libbpf_bpf_map_type_str(type),
				     feature_map_since(type));
			continue;
		}
		flags = bpf_map__map_flags(map);
		if ((flags & BPF_F_MMAPABLE) && type == BPF_MAP_TYPE_ARRAY &&
		    !map_flags_supported(type, BPF_F_MMAPABLE))
			note_missing(c, "map flag BPF_F_MMAPABLE on %s (Linux 5.5)",
				     bpf_map__name(map));
	}
}

/* Load a tiny socket filter to see whether the verifier accepts insns. */
static bool insns_supported(const struct bpf_insn *insns, size_t n)
{
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns, n, NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV64_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Atomic fetch-and-add on the stack: the BPF_ATOMIC family of Linux 5.12. */
static bool atomics_supported(void)
{
	const struct bpf_insn insns[] = {
		MOV64_IMM(BPF_REG_1, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_1, -8, 0),
		MOV64_IMM(BPF_REG_1, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_10, BPF_REG_1, -8, BPF_ADD | BPF_FETCH),
		MOV64_IMM(BPF_REG_0, 0),
		EXIT(),
	};

	return insns_supported(insns, sizeof(insns) / sizeof(insns[0]));
}

/* A 32-bit conditional jump, emitted by clang -mcpu=v3 (Linux 5.1). */
static bool jmp32_supported(void)
{
	const struct bpf_insn insns[] = {
		MOV64_IMM(BPF_REG_0, 0),
		INSN(BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, 0),
		EXIT(),
	};

	return insns_supported(insns, sizeof(insns) / sizeof(insns[0]));
}

/* A backward jump: bounded loops (Linux 5.3). */
static bool loops_supported(void)
{
	const struct bpf_insn insns[] = {
		MOV64_IMM(BPF_REG_0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_0, 0, 0, 1),
		INSN(BPF_JMP | BPF_JLT | BPF_K, BPF_REG_0, 0, -2, 4),
		EXIT(),
	};

	return insns_supported(insns, sizeof(insns) / sizeof(insns[0]));
}

/* Instruction-set features a program uses that the kernel may not verify. */
static void probe_insns(struct bpf_program *prog, struct check *c)
{
	const struct bpf_insn *insn = bpf_program__insns(prog);
	size_t i, n = bpf_program__insn_cnt(prog);
	bool atomics = false, jmp32 = false, loops = false;

	for (i = 0; i < n; i++) {
		__u8 class = BPF_CLASS(insn[i].code);

		if (class == BPF_STX && BPF_MODE(insn[i].code) == BPF_ATOMIC &&
		    insn[i].imm != BPF_ADD)
			atomics = true; /* plain add is the old BPF_XADD */
		if (class == BPF_JMP32)
			jmp32 = true;
		if ((class == BPF_JMP || class == BPF_JMP32) && insn[i].off < 0 &&
		    BPF_OP(insn[i].code) != BPF_CALL && BPF_OP(insn[i].code) != BPF_EXIT)
			loops = true;
	}
	if (atomics && !atomics_supported())
		note_missing(c,
			     "atomic fetch/xchg/cmpxchg/and/or/xor instructions in %s (Linux 5.12)",
			     bpf_program__name(prog));
	if (jmp32 && !jmp32_supported())
		note_missing(c, "32-bit jumps (clang -mcpu=v3) in %s (Linux 5.1)",
			     bpf_program__name(prog));
	if (loops && !loops_supported())
		note_missing(c, "bounded loops in %s (Linux 5.3)", bpf_program__name(prog));
}

/* Every helper a program calls must exist for its program type. */
static void probe_helpers(struct bpf_program *prog, struct check *c)
{
	enum bpf_prog_type type = bpf_program__type(prog);
	const struct bpf_insn *insn = bpf_program__insns(prog);
	size_t i, n = bpf_program__insn_cnt(prog);

	for (i = 0; i < n; i++) {
		__s32 id = insn[i].imm;

		if (insn[i].code != (BPF_JMP | BPF_CALL) || insn[i].src_reg != 0)
			continue; /* not a helper call (subprogram or kfunc) */
		if (libbpf_probe_bpf_helper(type, id, NULL) == 1)
			continue;
		note_missing(c, "helper bpf_%s (#%d) in %s programs (Linux %s)",
			     feature_helper_name(id), id, libbpf_bpf_prog_type_str(type),
			     feature_helper_since(id));
	}
}

static void probe_programs(struct bpf_object *obj, struct check *c)
{
	struct bpf_program *prog;

	bpf_object__for_each_program (prog, obj) {
		enum bpf_prog_type type = bpf_program__type(prog);

		if (libbpf_probe_bpf_prog_type(type, NULL) != 1) {
			note_missing(c, "program type %s (Linux %s)",
				     libbpf_bpf_prog_type_str(type), feature_prog_since(type));
			continue;
		}
		probe_helpers(prog, c);
		probe_insns(prog, c);
	}
}

/* Pins belong to the controller; a check must leave /sys/fs/bpf alone. */
static void drop_pinning(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map (map, obj)
		bpf_map__set_pin_path(map, NULL);
}

static enum verdict check_object(const char *path)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct check c = {.nr_missing = 0};
	struct bpf_object *obj;
	int err, i, nr_progs = 0, nr_maps = 0;
	struct bpf_program *prog;
	struct bpf_map *map;

	last_log[0] = '\0';
	btf_reject[0] = '\0';
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		printf("FAIL %s: open: %s\n%s", name, strerror(errno), last_log);
		return V_FAIL;
	}
	drop_pinning(obj);
	probe_programs(obj, &c);
	probe_maps(obj, &c);
	bpf_object__for_each_program (prog, obj)
		nr_progs++;
	bpf_object__for_each_map (map, obj)
		nr_maps++;
	err = bpf_object__load(obj);
	/*
	 * libbpf carries on without BTF the kernel refuses, but maps that need it
	 * (socket storage, spin locks) then fail: name the refusal.
	 */
	if (err && btf_reject[0] && bpf_object__btf_fd(obj) < 0)
		note_missing(&c, "kernel support for this object's BTF (kernel said: %s)",
			     btf_reject);
	bpf_object__close(obj);
	if (!err) {
		printf("PASS %s: %d programs, %d maps loaded and verified\n", name, nr_progs,
		       nr_maps);
		return V_PASS;
	}
	if (c.nr_missing) {
		printf("SKIP %s: kernel lacks %d feature(s) bpfmesh needs:\n", name, c.nr_missing);
		for (i = 0; i < c.nr_missing; i++)
			printf("    missing: %s\n", c.missing[i]);
		return V_SKIP;
	}
	printf("FAIL %s: load: %s (every probed feature is present)\n%s", name, strerror(-err),
	       last_log);
	return V_FAIL;
}

static bool is_object(const char *name)
{
	size_t len = strlen(name);

	return len > 6 && !strcmp(name + len - 6, ".bpf.o");
}

static void tally(enum verdict v, int count[3])
{
	count[v]++;
}

static int check_dir(const char *dir, int count[3])
{
	struct dirent **ents;
	char path[4096];
	int i, n;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "loadcheck: open %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	for (i = 0; i < n; i++) {
		if (is_object(ents[i]->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			tally(check_object(path), count);
		}
		free(ents[i]);
	}
	free(ents);
	return 0;
}

static void print_kernel(void)
{
	struct utsname u;
	bool btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;

	uname(&u);
	printf("loadcheck: kernel %s %s, kernel BTF %s, oldest supported %s\n", u.release,
	       u.version, btf ? "present" : "MISSING (CONFIG_DEBUG_INFO_BTF, Linux 5.4)",
	       FEATURE_MIN_KERNEL);
}

static int exit_code(const int count[3])
{
	const char *ci = getenv("CI");

	printf("loadcheck: %d passed, %d failed, %d skipped\n", count[V_PASS], count[V_FAIL],
	       count[V_SKIP]);
	if (count[V_FAIL])
		return 1;
	if (count[V_SKIP])
		return ci && !strcmp(ci, "true") ? 1 : 77;
	if (!count[V_PASS]) {
		printf("loadcheck: no *.bpf.o found\n");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dflt = getenv("BM_BPF_OBJ_DIR");
	int count[3] = {0, 0, 0};
	int opt, i;

	while ((opt = getopt(argc, argv, "v")) != -1) {
		if (opt != 'v') {
			fprintf(stderr, "usage: %s [-v] [DIR|OBJ...]\n", argv[0]);
			return 2;
		}
		verbose++;
	}
	if (geteuid() != 0) {
		const char *ci = getenv("CI");

		fprintf(stderr, "SKIP: needs root (CAP_BPF)\n");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	print_kernel();
	if (optind == argc && !dflt) {
		fprintf(stderr, "loadcheck: no object dir: pass DIR or set BM_BPF_OBJ_DIR\n");
		return 2;
	}
	if (optind == argc && check_dir(dflt, count))
		return 1;
	for (i = optind; i < argc; i++) {
		if (is_object(argv[i]))
			tally(check_object(argv[i]), count);
		else if (check_dir(argv[i], count))
			return 1;
	}
	return exit_code(count);
}
