#!/usr/bin/awk -f
# SPDX-License-Identifier: GPL-2.0-only
#
# Turn the '@' lines of a run.sh log into the comparison table and the
# target checks. POSIX awk (Debian's mawk is enough).
#
#   @xdp <entries> <case> <best_ns> <median_ns> <action> <reason>
#   @xdpinstall <entries> <ms>
#   @pps <label> <case> <cpu_median> <cpu_best> <wall_median> <wall_best> <sent> <seen>
#   @nftload <sets|linear> <rules> <ms>
#   @install <synthetic|compiled> <entries|rules> <phase> <best_ms> <median_ms>

function max(a, b) { return a > b ? a : b }
function verdict(ok) { return ok ? "MET" : "NOT MET" }
function fmt_pps(p) { return p == "" ? "-" : sprintf("%.0f", p) }
function fmt_ns(v) { return v == "" ? "-" : sprintf("%.1f", v) }
# ns the sink spends per packet above the generator's own cost (see BENCHMARKS.md)
function sink_ns(p) { return (p == "" || ceiling == 0) ? "" : max(1e9 / p - 1e9 / ceiling, 0) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "" : a / b }
function fmt_ratio(r) { return r == "" ? "-" : sprintf("%.2fx", r) }

/^@xdp / {
	key = $2 SUBSEP $3
	xdp[key] = $4
	xdp_med[key] = $5
	xdp_act[key] = $6
	xdp_reason[key] = $7
	if (!($2 in seen_size)) { seen_size[$2] = 1; sizes[++nsizes] = $2 }
}
/^@pps / {
	key = $2 SUBSEP $3
	# a label measured twice (the baselines): keep the higher rate
	if (!(key in pps) || $4 > pps[key]) pps[key] = $4
	if (!(key in wall) || $7 > wall[key]) wall[key] = $7
	if ($9 + 0 < $8 + 0)
		short = short sprintf("  %s %s: %s sent, %s seen by the sink\n", $2, $3, $8, $9)
	if (!($2 in seen_label)) { seen_label[$2] = 1; labels[++nlabels] = $2 }
	if ($2 == "xdp-drop") ceiling = max(ceiling, $4)
}
/^@nftload / { nftload[$2 SUBSEP $3] = $4 }
/^@install / { inst[$2 SUBSEP $4] = $5; inst_med[$2 SUBSEP $4] = $6; inst_n[$2] = $3 }
/^@xdpinstall / { xdpinst[$2] = $3 }
/^@model / { model[++nmodels] = $0 }
/^@install compiled / { cinst[$3, $4] = $5 }
/^(date|cpu|nproc|kernel|commit|bpf obj|load):/ { print }

END {
	print ""
	print "A. ns per packet, BPF_PROG_TEST_RUN, 60-byte UDP"
	print "   (best round; the bare XDP_PASS program measured in the same run)"
	printf "%-8s %8s %8s %8s %8s %8s | %8s %8s %8s %8s\n", "entries", "XDP_PASS", "cached",
	       "uncached", "deny", "2 LPM +", "new-pair", "new-conn", "new-conn", "XDP_PASS"
	printf "%-8s %8s %8s %8s %8s %8s | %8s %8s %8s %8s\n", "", "", "allow", "allow", "",
	       "2 hash", "cache on", "cache on", "no cache", "(stats)"
	for (i = 1; i <= nsizes; i++) {
		n = sizes[i]
		printf "%-8s %8s %8s %8s %8s %8s | %8s %8s %8s %8s\n", n,
		       fmt_ns(xdp[n, "pass"]), fmt_ns(xdp[n, "cached"]), fmt_ns(xdp[n, "uncached"]),
		       fmt_ns(xdp[n, "deny"]), fmt_ns(xdp[n, "ref"]), fmt_ns(xdp[n, "newpair"]),
		       fmt_ns(xdp[n, "first"]), fmt_ns(xdp[n, "distinct"]), fmt_ns(xdp[n, "pass1"])
		for (c in xdp_act) {
			split(c, kc, SUBSEP)
			if (kc[1] != n) continue
			want = kc[2] == "deny" ? "DROP" : "PASS"
			if (kc[2] == "ref") want = "PASS"
			if (xdp_act[c] != want)
				bad = bad sprintf("  %s entries, %s: action %s (reason %s), expected %s\n",
						  n, kc[2], xdp_act[c], xdp_reason[c], want)
		}
	}
	print "left of '|': --repeat runs of one frame (test-run clock, loop included); 2 LPM + 2 hash:"
	print "the issue's yardstick (tools/bench/reference.bpf.c) on the same policy and frame;"
	print "right of '|': one test run per packet, distinct flows over random host pairs"
	print "(BPF run-time statistics: program only, plus two clock reads)."
	if (bad != "") { print "UNEXPECTED VERDICTS:"; printf "%s", bad }

	print ""
	print "B. packets/s through a veth pair into a namespace, 60-byte UDP"
	print "   (per CPU-second of the one CPU that runs generator + receiver; median of rounds)"
	printf "%-24s %10s %10s %10s | %8s %8s %8s\n", "receiver", "allow", "allow", "deny",
	       "sink ns", "sink ns", "load ms"
	printf "%-24s %10s %10s %10s | %8s %8s %8s\n", "", "", "no cache", "", "allow", "deny", ""
	for (i = 1; i <= nlabels; i++) {
		l = labels[i]
		load = ""
		if (l ~ /^nft-set-/) { split(l, p, "-"); load = nftload["sets", p[3]] }
		if (l ~ /^nft-linear-/) { split(l, p, "-"); load = nftload["linear", p[3]] }
		if (l ~ /^nft-inet-/) { split(l, p, "-"); load = nftload["sets-inet", p[3]] }
		if (l ~ /^bpfmesh-[0-9]/) { split(l, p, "-"); load = xdpinst_for(p[2]) }
		printf "%-24s %10s %10s %10s | %8s %8s %8s\n", l, fmt_pps(pps[l, "allow"]),
		       fmt_pps(pps[l, "nocache"]), fmt_pps(pps[l, "deny"]),
		       fmt_ns(sink_ns(pps[l, "allow"])), fmt_ns(sink_ns(pps[l, "deny"])), load
	}
	print "xdp-drop: a bare XDP_DROP receiver, the generator's ceiling; nofilter: bare XDP_PASS"
	print "receiver + the namespace's IP/UDP stack (no socket: the datagram is dropped there)."
	print "sink ns = 1e9/pps - 1e9/ceiling: what the receiver adds per packet above the generator."
	print "nft-set/linear-*: nofilter + nftables netdev ingress on the sink veth (before the IP"
	print "stack: nftables' cheapest spot), one set element / rule per entry; nft-inet-*: the"
	print "same set in an inet prerouting chain (after the IP receive checks)."
	print "bpfmesh-direct: bm_xdp_ingress attached alone, without the libxdp dispatcher."
	print "*-flows60k: the generator cycles the UDP source port over 60000 values (60000 flows)."
	print "load ms: nft -f time for nft-*, dp_install() of the synthetic policy for bpfmesh-*."
	print "Wall-clock rates (best round) are in the raw log; they agree when the machine is idle."
	if (short != "") { print "FRAMES LOST BETWEEN GENERATOR AND SINK:"; printf "%s", short }

	print ""
	print "C. compile and load"
	if (("synthetic" SUBSEP "install") in inst)
		printf "synthetic %s entries: build %s ms, dp_install %s ms (best; median %s)\n",
		       inst_n["synthetic"], inst["synthetic", "build"], inst["synthetic", "install"],
		       inst_med["synthetic", "install"]
	if (("swap" SUBSEP "outer-upd") in inst)
		printf "one outer map-in-map slot update (waits for an RCU grace period): %s ms " \
		       "(best; median %s); dp_install does 7\n", inst["swap", "outer-upd"],
		       inst_med["swap", "outer-upd"]
	if (nmodels)
		printf "%-9s %-9s %-7s %-8s %-10s %-10s %-11s %-11s\n", "endpoints", "policies",
		       "rules", "classes", "policy ent", "all ent", "compile ms", "install ms"
	for (i = 1; i <= nmodels; i++) {
		split(model[i], mf, " ")
		printf "%-9s %-9s %-7s %-8s %-10s %-10s %-11s %-11s\n", mf[2], mf[3], mf[4], mf[5],
		       mf[6], mf[7], cinst[mf[4], "compile"], cinst[mf[4], "install"]
	}
	if (nmodels) {
		print "(random models from control/policy_gen.c compiled by policy_compile(), best of rounds;"
		print " policies = 0.75 x endpoints: policy_gen_scale_defaults(), a realistic cluster;"
		print " otherwise policy_gen_defaults(): small, dense, overlapping selectors)"
	}

	print ""
	print "D. targets"
	big = "100000"
	c = xdp[big, "cached"]; u = xdp[big, "uncached"]; f = xdp[big, "first"]
	if (c != "")
		printf "%-8s test-run allow < 60 ns at 100k, flow cache hit: %s ns\n",
		       verdict(c < 60), c
	if (u != "")
		printf "%-8s test-run allow < 60 ns at 100k, no flow cache (full decision): %s ns\n",
		       verdict(u < 60), u
	if (f != "")
		printf "%-8s test-run allow < 60 ns at 100k, first packet of a new connection " \
		       "(cache miss + insert): %s ns\n", verdict(f < 60), f
	nf = pps["nofilter", "allow"]; a = pps["bpfmesh-" big, "allow"]
	if (a != "" && nf != "")
		printf "%-8s veth allow within 10%% of no filter at 100k: %s vs %s pps (%.1f%% lower)\n",
		       verdict(a >= 0.9 * nf), fmt_pps(a), fmt_pps(nf), 100 * (1 - a / nf)
	nf60 = pps["nofilter-flows60k", "allow"]; a60 = pps["bpfmesh-" big "-flows60k", "allow"]
	n60 = pps["bpfmesh-" big "-flows60k", "nocache"]
	if (a60 != "" && nf60 != "")
		printf "%-8s (extra) the same with 60000 flows: %s (cache on), %s (cache off) vs %s pps " \
		       "(%.1f%% / %.1f%% lower)\n", verdict(a60 >= 0.9 * nf60), fmt_pps(a60),
		       fmt_pps(n60), fmt_pps(nf60), 100 * (1 - a60 / nf60), 100 * (1 - n60 / nf60)
	d = pps["bpfmesh-" big, "deny"]
	ns_set = pps["nft-set-" big, "deny"]; ns_lin = pps["nft-linear-10000", "deny"]
	if (ns_set == "") ns_set = pps["nft-set-10000", "deny"]
	if (d != "" && ns_set != "") {
		r = ratio(d, ns_set)
		printf "%-8s veth deny >= 4x nftables (set, netdev ingress): %s vs %s pps = %s pipeline; " \
		       "sink cost %s vs %s ns = %s\n", verdict(r >= 4), fmt_pps(d), fmt_pps(ns_set),
		       fmt_ratio(r), fmt_ns(sink_ns(d)), fmt_ns(sink_ns(ns_set)),
		       fmt_ratio(ratio(sink_ns(ns_set), sink_ns(d)))
	}
	ns_inet = pps["nft-inet-" big, "deny"]
	if (d != "" && ns_inet != "")
		printf "%-8s veth deny >= 4x nftables (set, inet prerouting): %s vs %s pps = %s " \
		       "pipeline; sink cost %s vs %s ns = %s\n", verdict(ratio(d, ns_inet) >= 4),
		       fmt_pps(d), fmt_pps(ns_inet), fmt_ratio(ratio(d, ns_inet)),
		       fmt_ns(sink_ns(d)), fmt_ns(sink_ns(ns_inet)),
		       fmt_ratio(ratio(sink_ns(ns_inet), sink_ns(d)))
	if (d != "" && ns_lin != "")
		printf "%-8s veth deny >= 4x nftables (10k linear rules): %s vs %s pps = %s\n",
		       verdict(ratio(d, ns_lin) >= 4), fmt_pps(d), fmt_pps(ns_lin),
		       fmt_ratio(ratio(d, ns_lin))
	d1 = pps["bpfmesh-1", "deny"]; dM = pps["bpfmesh-1000000", "deny"]
	a1 = pps["bpfmesh-1", "allow"]; aM = pps["bpfmesh-1000000", "allow"]
	if (dM == "") { dM = pps["bpfmesh-" big, "deny"]; aM = pps["bpfmesh-" big, "allow"] }
	u1 = xdp[sizes[1], "uncached"]; uM = xdp[sizes[nsizes], "uncached"]
	if (d1 != "" && dM != "")
		printf "%-8s flat as rules grow (largest vs 1 entry, within 10%%): veth deny %s, " \
		       "veth allow %s, test-run uncached %s\n",
		       verdict(dM >= 0.9 * d1 && aM >= 0.9 * a1 && uM <= 1.1 * u1),
		       fmt_ratio(ratio(dM, d1)), fmt_ratio(ratio(aM, a1)), fmt_ratio(ratio(uM, u1))
	s = inst["synthetic", "install"]
	if (s != "")
		printf "%-8s load 100k entries < 200 ms: dp_install of %s hand-built entries %s ms\n",
		       verdict(s < 200), inst_n["synthetic"], s
	for (i = 1; i <= nmodels; i++) {
		split(model[i], mf, " ")
		if (mf[4] + 0 < 100000) continue
		t = cinst[mf[4], "compile"] + cinst[mf[4], "install"]
		printf "%-8s compile + load 100k rules < 200 ms: %s rules (%s map entries): " \
		       "%s + %s = %.0f ms\n", verdict(t < 200), mf[4], mf[7],
		       cinst[mf[4], "compile"], cinst[mf[4], "install"], t
	}
}

# dp_install time of the bench_xdp size nearest above n (bench_xdp rounds sizes up to even)
function xdpinst_for(n,    k, b) {
	b = ""
	for (k in xdpinst)
		if (k + 0 >= n + 0 && (b == "" || k + 0 < b + 0)) b = k
	return b == "" ? "" : xdpinst[b]
}
