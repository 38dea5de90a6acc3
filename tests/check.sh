#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check.sh: everything "make check" runs, and the results table.
#
# Every result belongs to a row (kernel, topology, suite):
#   topology "host"     builds (-Werror), sparse, checkpatch, the uAPI header,
#                       the compat probes, make install, the standard kbuild
#                       invocation and DKMS (in DKMS trees of its own, never
#                       the machine's); the Debian package through its life
#                       in clean Debian 12 and 13 roots;
#   none | vtd | amd    one QEMU guest per kernel and topology running the
#                       suites of tests/suites (see tests/qemu/run-lane),
#                       for the host's Debian 12 kernels and Debian 13's
#                       (built and booted from a clean trixie root);
#                       kernel "6.1-debug" is the reliability lane: a 6.1
#                       kernel of our own with lockdep, KASAN, kmemleak and
#                       fault injection (tests/kernels), where the
#                       upstream fail_nth test runs for real and the fuzzer
#                       runs for FUZZ_SECONDS (default 60; FUZZ_SEED replays a seed);
#   "selftest"          the runner's self-test: a failing guest test, a guest
#                       panic, a kernel dying before /init (booted three
#                       times), a hang and a kernel warning must each be
#                       reported as a failure.
# The run ends with the table and exactly one line "N passed, N failed";
# the exit status is non-zero when anything failed.
#
# Filters (comma-separated; a kernel matches by release prefix, so "6.1"
# selects 6.1.x and 6.1-debug, not 6.12.x, and "6.12" both Debian 12's and
# Debian 13's 6.12): KERNEL=6.12 TOPOLOGY=vtd SUITE=basic;
# KERNEL=6.12.117+deb12 selects Debian 12's 6.12 alone, KERNEL=6.1-debug
# the reliability lane alone. LANES (default: the cores) guests at a time.
# With any filter set only the matching rows run, which is how a single
# lane is iterated on in about a minute.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
out=$top/build/check
results=$out/results.tsv
filter_kernel=${KERNEL:-} filter_topology=${TOPOLOGY:-} filter_suite=${SUITE:-}
topologies=(none vtd amd)

tests/install-deps.sh || exit 1
# every make below (module builds, DKMS, kbuild) uses the machine's cores;
# an outer make's flags are dropped (its jobserver does not reach here)
export MAKEFLAGS="-j$(nproc)"
# guests at a time (see the guests' section)
lanes_parallel=${LANES:-$(nproc)}
[[ $lanes_parallel =~ ^[1-9][0-9]*$ ]] ||
	{ echo "check.sh: LANES=$lanes_parallel is not a number of lanes" >&2; exit 1; }
# a run killed in the package steps may have left its overlay (and the
# proc inside it) mounted: unmount before removing anything
findmnt -rn -o TARGET | awk -v p="$out/" 'index($0, p) == 1' | sort -r |
	xargs -r umount
rm -rf --one-file-system "$out"
mkdir -p "$out/logs" "$out/lanes"
: > "$results"

kernels=()
for d in /lib/modules/*/build; do
	k=$(basename "$(dirname "$d")")
	[ -f "$d/Module.symvers" ] && [ -f "/boot/vmlinuz-$k" ] && kernels+=("$k")
done
mapfile -t kernels < <(printf '%s\n' "${kernels[@]}" | sort -V)
newest=${kernels[-1]}
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)

# Debian 13's kernel lives in a clean trixie root (tests/debian-root,
# cached), never on the host: it is built there with trixie's gcc-14,
# probed, packaged, and booted from there (run-lane --root). The root also
# fetches, for later, sparse (for the lint rows) and trixie-backports'
# kernel, which is outside dkms.conf's range and must install with the
# package present.
d13=${IORP_DEBIAN13_KERNEL:-6.12.117+deb13-amd64}
[[ $d13 =~ ^[0-9][A-Za-z0-9.+_-]*$ ]] ||
	{ echo "check.sh: IORP_DEBIAN13_KERNEL=$d13 is not a kernel release" >&2; exit 1; }
d13_later=(sparse linux-image-amd64/trixie-backports linux-headers-amd64/trixie-backports)
d13_lower=

# A Debian root is used through an overlay (mount_root NAME LOWER mounts it
# at $out/roots/NAME/merged), so the cached root stays clean. Mounts are
# undone in reverse order, on any exit too. (This checkout is never bound
# into a root: what a root builds is copied in and out.)
root_mounts=()
mount_root() {
	local dir=$out/roots/$1
	mkdir -p "$dir/upper" "$dir/work" "$dir/merged" &&
	mount -t overlay overlay \
		-o "lowerdir=$2,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged" &&
	root_mounts+=("$dir/merged") &&
	mount -t proc proc "$dir/merged/proc" &&
	root_mounts+=("$dir/merged/proc")
}
# unmount_root [NAME]: undo the mounts of root NAME (of every root without)
unmount_root() {
	local i m keep=() rc=0
	for (( i = ${#root_mounts[@]} - 1; i >= 0; i-- )); do
		m=${root_mounts[i]}
		if [ -n "${1:-}" ] && [[ $m != "$out/roots/$1/merged"* ]]; then
			keep=("$m" "${keep[@]}")
		elif mountpoint -q "$m" && ! umount "$m"; then
			keep=("$m" "${keep[@]}") rc=1
		fi
	done
	root_mounts=("${keep[@]}")
	return $rc
}
# Background work (root builds, the debug kernel, lanes) runs in sessions
# of its own (setsid), so that on INT or TERM each whole group, QEMU
# included, is stopped before the mounts are undone.
# A job still running is its group's leader (setsid), so its group is
# stopped; one that has ended is not touched.
bg_groups=()
stop_background() {
	local g
	for g in $(jobs -pr); do
		kill -TERM -- "-$g" 2> /dev/null
	done
	wait
}
trap 'stop_background; unmount_root' EXIT
trap 'stop_background; unmount_root; exit 130' INT TERM
# in_root NAME COMMAND...: run COMMAND in the mounted root NAME. INITRD=No:
# kernels installed there get no initramfs (nothing boots them with one).
in_root() {
	local dir=$out/roots/$1/merged
	shift
	chroot "$dir" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		INITRD=No PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# in_list VALUE FILTER [prefix]: VALUE matches the comma-separated FILTER
in_list() {
	local f
	[ -z "$2" ] && return 0
	for f in ${2//,/ }; do
		[ "$1" = "$f" ] && return 0
		[ -n "${3:-}" ] && [[ $1 == "$f".* || $1 == "$f"-* ]] && return 0
	done
	return 1
}

# selected KERNEL TOPOLOGY SUITE: the row passes the filters
selected() {
	{ [ "$1" = - ] || in_list "$1" "$filter_kernel" prefix; } &&
		in_list "$2" "$filter_topology" && in_list "$3" "$filter_suite"
}

mapfile -t suite_lines < <(grep -v '^#' tests/suites | grep -v '^[[:space:]]*$' | tr -s ' \t' ' ')

# plan_selected KERNEL LINE...: a suite of these tests/suites lines (tags
# aside) passes the filters for KERNEL in one of the topologies
plan_selected() {
	local k=$1 t line name
	shift
	for t in "${topologies[@]}"; do
		for line in "$@"; do
			name=${line%% *}
			selected "$k" "$t" "${name%%@*}" && return 0
		done
	done
	return 1
}

# Debian 13's kernel takes part when the filters let any of its rows run:
# a host row of its own, or a suite of its lanes
need_d13=0
for s in build sparse probes install kbuild package; do
	selected "$d13" host "$s" && need_d13=1
done
plan_selected "$d13" "${suite_lines[@]}" && need_d13=1

# record KERNEL TOPOLOGY SUITE pass|fail|skip NAME
record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$results"
}

# host_step KERNEL SUITE NAME COMMAND...: run COMMAND and record its outcome;
# a failure shows the end of its log
host_step() {
	run_step record "$@"
}

# need_step KERNEL SUITE NAME COMMAND...: the same for a step other rows
# depend on; it always runs, and a pass is recorded only if the row passes
# the filters (a failure is always recorded)
need_step() {
	if selected "$1" host "$2"; then
		run_step record "$@"
	else
		run_step quiet "$@"
	fi
}

run_step() {
	local mode=$1 kernel=$2 suite=$3 name=$4 log start
	shift 4
	log=$out/logs/$(echo "$kernel-$suite-$name" | tr -c 'A-Za-z0-9.+_-' _).log
	start=$(date +%s)
	if "$@" > "$log" 2>&1; then
		[ "$mode" = quiet ] && return 0
		record "$kernel" host "$suite" pass "$name"
		printf '  pass  %-22s %-12s %s (%ss)\n' "$kernel" "$suite" "$name" $(( $(date +%s) - start ))
	else
		record "$kernel" host "$suite" fail "$name"
		printf '  FAIL  %-22s %-12s %s; log %s:\n' "$kernel" "$suite" "$name" "$log"
		tail -n 15 "$log" | sed 's/^/        /'
		return 1
	fi
}

# tap_rows KERNEL TOPOLOGY FILE [RESULTS]: record every result of a lane's
# TAP file, by the "# suite NAME" section it appears in. A numbered line
# ("ok 3 name") is a test case: pass, fail, or skip ("# SKIP why"). A line
# of the runner's own ("ok - suite: load test module", "... nothing left
# allocated or pinned") is a runner check: rpass or rfail, counted apart.
tap_rows() {
	awk -F '\t' -v k="$1" -v t="$2" '
		/^# suite / { suite = $0; sub(/^# suite /, "", suite); next }
		/^(not )?ok / {
			runner = $0 ~ /^(not )?ok - /
			status = /^not ok/ ? "fail" : "pass"
			if (status == "pass" && tolower($0) ~ /# skip/)
				status = "skip"
			if (runner)
				status = "r" status
			name = $0
			sub(/^(not )?ok [0-9-]* ?-? ?/, "", name)
			printf "%s\t%s\t%s\t%s\t%s\n", k, t, suite, status, name
		}' "$3" >> "${4:-$results}"
}

# lane_results KERNEL TOPOLOGY FILE: record a lane's results, print its line
lane_results() {
	local rows=$out/lane-rows.tsv
	: > "$rows"
	tap_rows "$1" "$2" "$3" "$rows"
	cat "$rows" >> "$results"
	awk -F '\t' -v k="$1" -v t="$2" \
		-v took="$(sed -n 's/.*guest completed in \(.*\)$/\1/p' "$3")" '
		{ n[$4]++ }
		END {
			printf "  %-22s %-5s %d passed, %d failed, %d skipped; runner checks %d ok, %d failed (%s)\n",
				k, t, n["pass"], n["fail"], n["skip"], n["rpass"], n["rfail"], took
		}' "$rows"
}

# summarize RESULTS: the table of rows, every failure by name, then the
# totals; fails when anything failed or nothing ran. The last line counts
# test cases; a failed runner check (a module that did not load, pages left
# pinned, a kernel warning) counts among the failures there too, since it
# means something did not do what it should.
summarize() {
	awk -F '\t' '
		{
			row = $1 "\t" $2 "\t" $3
			if (!(row in seen)) { seen[row] = 1; order[n++] = row }
			count[row, $4]++
			total[$4]++
			if ($4 == "fail" || $4 == "rfail")
				failed[nf++] = $1 " " $2 " " $3 ": " $5
		}
		END {
			printf "%-24s %-9s %-12s %7s %7s %8s %8s\n", "kernel", "topology", "suite", \
				"passed", "failed", "skipped", "runner"
			for (i = 0; i < n; i++) {
				split(order[i], f, "\t")
				r = count[order[i], "rpass"] + count[order[i], "rfail"]
				printf "%-24s %-9s %-12s %7d %7d %8d %8s\n", f[1], f[2], f[3], \
					count[order[i], "pass"], count[order[i], "fail"], \
					count[order[i], "skip"], \
					r ? count[order[i], "rpass"] "/" r : "-"
			}
			for (i = 0; i < nf; i++) print "FAILED: " failed[i]
			printf "runner checks: %d ok, %d failed\n", total["rpass"], total["rfail"]
			printf "%d skipped\n", total["skip"]
			printf "%d passed, %d failed\n", total["pass"], total["fail"] + total["rfail"]
			exit (nf > 0 || n == 0)
		}' "$1"
}

compat_of() {
	sed -n 's/^#define IORP_COMPAT_FEATURES "\(.*\)"$/\1/p' \
		"build/$1/compat/compat_config.h"
}

# what the build found about the VFIO backend (modinfo vfio_backend)
vfio_backend_of() {
	sed -n 's/^#define IORP_VFIO_BACKEND_STATUS "\(.*\)"$/\1/p' \
		"build/$1/compat/compat_config.h"
}

# package_needed KERNEL: its package rows or its guests' dkms suites run
package_needed() {
	local t
	selected "$1" host package && return 0
	for t in "${topologies[@]}"; do
		selected "$1" "$t" dkms && return 0
		selected "$1" "$t" dkms-modprobe && return 0
	done
	return 1
}
pkg_kernels_bookworm=()
for k in "${kernels[@]}"; do
	package_needed "$k" && pkg_kernels_bookworm+=("$k")
done
pkg_kernels_trixie=()
[ $need_d13 = 1 ] && package_needed "$d13" && pkg_kernels_trixie+=("$d13")

# The clean Debian roots (tests/debian-root) take minutes the first time on
# a machine, mostly downloading: they are built in the background while
# the host steps run, one after the other in the order the run needs them
# (Debian 13 first); root_ready waits for one, and holds a shared lock on
# it for the rest of the run, so that no other run's build.sh prunes it
# meanwhile.
root_builds=()	# "SUITE ARGS..." lines, built in this order
[ $need_d13 = 1 ] && root_builds+=("trixie $d13 --later ${d13_later[*]}")
[ ${#pkg_kernels_bookworm[@]} -gt 0 ] && root_builds+=("bookworm ${kernels[*]}")
build_roots() {
	local line suite
	for line in "${root_builds[@]}"; do
		read -r suite _ <<< "$line"
		# shellcheck disable=SC2086 # the line is words
		tests/debian-root/build.sh $line > "$out/root-$suite.dir" \
			2> "$out/logs/root-$suite.log"
		# whole or not at all: root_ready reads it as soon as it exists
		echo $? > "$out/root-$suite.rc.tmp" &&
			mv "$out/root-$suite.rc.tmp" "$out/root-$suite.rc"
	done
}
rm -f "$out"/root-*.rc
roots_pid=
if [ ${#root_builds[@]} -gt 0 ]; then
	setsid bash -c "$(declare -p out root_builds; declare -f build_roots); build_roots" &
	roots_pid=$!
	bg_groups+=($!)
fi
root_ready() {	# SUITE: sets root_dir
	local fd
	while [ ! -f "$out/root-$1.rc" ]; do
		# the builder gone without a word about this root: failed (our
		# job table, not kill -0: its PID may be someone else's by now)
		jobs -pr | grep -qxF "$roots_pid" || [ -f "$out/root-$1.rc" ] ||
			return 1
		sleep 1
	done
	cat "$out/logs/root-$1.log"
	[ "$(cat "$out/root-$1.rc")" = 0 ] &&
	root_dir=$(cat "$out/root-$1.dir") && [ -n "$root_dir" ] &&
	exec {fd}> "$root_dir.lock" && flock -s "$fd"
}

# The reliability lane: a 6.1 kernel of our own (tests/kernels), test
# flavour only (no dkms, no prod), and the fuzzer.
debug=6.1-debug
debug_topologies=("${topologies[@]}")
fuzz_seconds=${FUZZ_SECONDS:-60}
debug_plan=()
for line in "${suite_lines[@]}"; do
	read -r _ module _ <<< "$line"
	[ "${module%%,*}" = test ] && debug_plan+=("$line")
done
debug_plan+=("fuzz test fuzz")
need_debug=0
plan_selected "$debug" "${debug_plan[@]}" && need_debug=1
# It builds (the first time on a machine: about 9 minutes on two cores)
# in the background, niced, from the start: it takes what the host steps
# and the first lanes leave of the cores.
dk_pid=
if [ $need_debug = 1 ] || selected "$debug" host build; then
	setsid nice -n 19 tests/kernels/build.sh debug > "$out/debug-kernel.dir" \
		2> "$out/logs/debug-kernel.log" &
	dk_pid=$!
	bg_groups+=($!)
fi

echo "== host: builds, lint, uAPI, probes, install, DKMS"
need_step - programs "guest test programs build" make tests

# build_emu_module KDIR DIR: iorp_emu.ko, the emulated VFIO devices of the
# vfio-type1 suites, built from a copy in DIR against the kernel tree KDIR
build_emu_module() {
	rm -rf "$2" && mkdir -p "$2" && cp tests/emu-module/* "$2/" &&
		make -C "$1" M="$2" modules
}

for k in "${kernels[@]}"; do
	in_list "$k" "$filter_kernel" prefix || continue
	for t in 0 1; do
		flavour=$([ $t = 1 ] && echo test || echo prod)
		need_step "$k" build "$flavour module builds with -Werror" \
			make module KVER="$k" TEST=$t WERROR=1
		selected "$k" host sparse &&
			host_step "$k" sparse "$flavour module is sparse clean" \
				make sparse-one KVER="$k" TEST=$t
	done
	need_step "$k" build "iorp_emu.ko (emulated VFIO devices for the tests) builds" \
		build_emu_module "/lib/modules/$k/build" "$top/build/$k/emu-module"
done

selected - host checkpatch &&
	host_step - checkpatch "checkpatch.pl --strict clean" make checkpatch

if selected - host uapi; then
	ksrc_uapi=$top/build/linux-source-6.12/include/uapi
	sysinc=$out/uapi-sysinc
	mkdir -p "$sysinc/linux"
	cp "$ksrc_uapi/linux/iommufd.h" "$sysinc/linux/"
	for lang in "gcc -std=c11" "g++ -std=c++11 -x c++"; do
		for mode in alone IOMMUFD_FIRST IOMMUFD_AFTER has_include; do
			flags=(-Wall -Wextra -Werror -pedantic -Iuapi)
			case $mode in
			alone) ;;
			has_include) flags+=(-isystem "$sysinc") ;;
			*) flags+=(-isystem "$sysinc" -D"$mode") ;;
			esac
			# shellcheck disable=SC2086
			host_step - uapi "header compiles: ${lang%% *}, $mode" \
				$lang "${flags[@]}" tests/uapi_header.c -o "$out/uapi_header"
		done
	done
fi

# known_api KERNEL: what the probes must find in a Debian kernel of its
# series (../shared/research/kernel_feasibility.md and the kernel sources)
known_api() {
	case $1 in
	6.1.*) echo "gup_unshare_anon_only=yes iommu_cap_enforce_cache_coherency=no iommu_domain_alloc_user=no iommu_domain_owner=no iommu_group_has_isolated_msi=no iommu_group_replace_domain=no iommu_map_gfp=no iommu_ops_hw_info=no iommu_paging_domain_alloc=no pin_user_pages_remote_no_vmas=no vfio_group_file=yes" ;;
	6.12.*) echo "gup_unshare_anon_only=no iommu_cap_enforce_cache_coherency=yes iommu_domain_alloc_user=yes iommu_domain_owner=yes iommu_group_has_isolated_msi=yes iommu_group_replace_domain=yes iommu_map_gfp=yes iommu_ops_hw_info=yes iommu_paging_domain_alloc=yes pin_user_pages_remote_no_vmas=yes vfio_group_file=yes" ;;
	*) return 1 ;;
	esac
}

# known_vfio_backend KERNEL: what the build must find about the VFIO
# backend of a Debian kernel of its series
known_vfio_backend() {
	case $1 in
	6.1.*) echo "built: the notify layout, verified by the BTF of vfio.ko" ;;
	6.12.*) echo "built: the plain layout, verified by the BTF of vfio.ko.xz" ;;
	*) return 1 ;;
	esac
}

# The VFIO backend's private layout (module/compat/vfio-layout): found in
# the BTF of both Debian kernels' vfio modules, and refused when it differs.
vfio_layout_checks() {
	local k want kdir bad ko61 ko612
	for k in "${kernels[@]}"; do
		selected "$k" host probes || continue
		want=$(known_vfio_backend "$k") || continue
		host_step "$k" probes "VFIO backend layout verified from vfio.ko's BTF" \
			test "$(vfio_backend_of "$k")" = "$want"
	done
	# vfio_layout_says TEXT KDIR [VAR=VALUE...]: vfio-layout's verdict
	vfio_layout_says() {
		local text=$1 kdir=$2
		shift 2
		rm -rf "$out/vfio-layout"
		env "$@" bash module/compat/vfio-layout "$kdir" "$out/vfio-layout" \
			> "$out/vfio-layout.h" &&
		grep -q '^/\* #undef IORP_VFIO_OPS_LAYOUT \*/$' "$out/vfio-layout.h" &&
		grep -q "$text" "$out/vfio-layout.h"
	}
	# known layouts with two members swapped: neither kernel matches
	bad=$out/vfio-bad-layouts
	mkdir -p "$bad"
	for f in module/compat/vfio-ops-layouts/*.txt; do
		awk 'NR == 4 { held = $0; next } NR == 5 { print; print held; next } { print }' \
			"$f" > "$bad/$(basename "$f")"
	done
	for k in "${kernels[@]}"; do
		selected "$k" host probes || continue
		host_step "$k" probes "VFIO backend refused when the BTF layout differs" \
			vfio_layout_says 'matches no known layout' \
			"/lib/modules/$k/build" IORP_VFIO_LAYOUTS="$bad"
	done
	# one kernel's vfio module read against another's vmlinux BTF
	ko61=$(ls /lib/modules/6.1.*/kernel/drivers/vfio/vfio.ko* 2> /dev/null | head -n 1)
	ko612=$(ls /lib/modules/6.12.*/kernel/drivers/vfio/vfio.ko* 2> /dev/null | head -n 1)
	for k in "${kernels[@]}"; do
		case $k in
		6.1.*) ko=$ko612 ;;
		6.12.*) ko=$ko61 ;;
		*) continue ;;
		esac
		[ -n "$ko" ] && selected "$k" host probes || continue
		host_step "$k" probes "VFIO backend refused for a vfio module of another kernel" \
			vfio_layout_says 'not verified' "/lib/modules/$k/build" IORP_VFIO_KO="$ko"
	done
	# the kernel's private header, where a tree has it (as the debug
	# kernel's does): the struct as it is, and with one signature changed
	kdir=$out/vfio-source-kdir
	rm -rf "$kdir"
	cp -rs "$(readlink -f "/lib/modules/$newest/build")" "$kdir"
	mkdir -p "$kdir/drivers/vfio"
	cp build/linux-source-6.12/drivers/vfio/vfio.h "$kdir/drivers/vfio/"
	host_step "$newest" probes "VFIO backend layout checked against drivers/vfio/vfio.h" \
		bash -c "bash module/compat/vfio-layout '$kdir' '$out/vfio-layout' |
			grep -q '^#define IORP_VFIO_OPS_LAYOUT 2\$'"
	sed -i 's/struct iommu_group \*group);/struct iommu_group *group, int changed);/' \
		"$kdir/drivers/vfio/vfio.h"
	host_step "$newest" probes "VFIO backend refused when drivers/vfio/vfio.h differs" \
		vfio_layout_says 'matches no known layout' "$kdir"
}

if selected - host probes; then
	# A kernel without the IOMMU API: one line saying so, and no build.
	fake=$out/fake-kdir
	mkdir -p "$fake/include/generated" "$fake/include/config"
	echo '#define UTS_RELEASE "0.0.0-no-iommu"' > "$fake/include/generated/utsrelease.h"
	echo 'CONFIG_PCI=y' > "$fake/include/config/auto.conf"
	: > "$fake/Module.symvers"
	probe_fails_with() {	# KDIR TEXT: make module fails with one line holding TEXT
		local err=$out/probe-err.txt
		! make -s module KVER=fake KDIR="$1" > /dev/null 2> "$err" || return 1
		grep -vE "^make(\[[0-9]+\])?: \*\*\*" "$err" > "$err.ours"
		[ "$(wc -l < "$err.ours")" = 1 ] && grep -q "$2" "$err.ours"
	}
	host_step - probes "kernel without CONFIG_IOMMU_API is refused in one line" \
		probe_fails_with "$fake" 'not supported: CONFIG_IOMMU_API is not set'
	# A real tree whose Module.symvers lacks a required export.
	real=$(readlink -f "/lib/modules/$newest/build")
	doctored=$out/doctored-kdir
	cp -rs "$real" "$doctored"
	rm "$doctored/Module.symvers"
	grep -v -P '\tiommu_group_claim_dma_owner\t' "$real/Module.symvers" > "$doctored/Module.symvers"
	host_step - probes "kernel without iommu_group_claim_dma_owner is refused in one line" \
		probe_fails_with "$doctored" 'not supported: needs iommu_group_claim_dma_owner()'
	# The probes find what the Debian kernels are known to have
	for k in "${kernels[@]}"; do
		selected "$k" host probes || continue
		want=$(known_api "$k") || continue
		host_step "$k" probes "probes find the known API of $k" \
			test "$(compat_of "$k")" = "$want"
	done
	vfio_layout_checks
fi

# installed_ko KERNEL [DESTDIR]: make install put the module there
installed_ko() {
	ls "${2:-$out/install-$1}/lib/modules/$1/updates/iommu_replace.ko"* > /dev/null
}
for k in "${kernels[@]}"; do
	selected "$k" host install || continue
	host_step "$k" install "make install DESTDIR=... installs into updates/" \
		make install KVER="$k" DESTDIR="$out/install-$k"
	host_step "$k" install "the installed module file exists" installed_ko "$k"
done

# The standard kbuild invocation, on a copy whose files lost their exec bits
# (as an archive or a package can leave them): it runs the probes itself.
# "make module" then builds in the same copy, where scripts run through bash.
kbuild_copy() {
	rm -rf "$1" && mkdir -p "$1" &&
	cp -R Kbuild Makefile dkms.conf module include uapi "$1/" &&
	find "$1" -type f -exec chmod a-x {} +
}
vermagic_is() { modinfo -F vermagic "$1" | grep -q "^$2 "; }
for k in "${kernels[@]}"; do
	selected "$k" host kbuild || continue
	copy=$out/kbuild-$k
	kbuild_copy "$copy"
	# without HOME, as a package's hook may run it
	host_step "$k" kbuild "make -C /lib/modules/$k/build M=\$PWD builds the module" \
		env -u HOME make -C "/lib/modules/$k/build" M="$copy" modules
	host_step "$k" kbuild "the standard build's module is for $k" \
		vermagic_is "$copy/iommu_replace.ko" "$k"
	# kbuild's clean reads Kbuild too: it must not run the probes
	kbuild_clean() {
		rm -rf "$copy/build" &&
		make -C "/lib/modules/$k/build" M="$copy" clean &&
		[ ! -e "$copy/build" ] && [ ! -e "$copy/iommu_replace.ko" ]
	}
	host_step "$k" kbuild "make -C /lib/modules/$k/build M=\$PWD clean runs no probes" \
		kbuild_clean
	if [ "$k" = "$newest" ]; then
		host_step "$k" kbuild "make module works where scripts lost their exec bits" \
			make -C "$copy" module KVER="$k"
	fi
done

# DKMS: the real "make dkms-install" for every kernel, with a version string
# of its own and private DKMS trees (DKMS_ROOT), so a real install of this
# machine is never touched; then "make dkms-remove" cleans up.
need_dkms=0
for k in "${kernels[@]}"; do
	selected "$k" host dkms && need_dkms=1
done
if [ $need_dkms = 1 ]; then
	dkms_version=$version-check
	dkms_root=$out/dkms-root
	dkms_args=(DKMS_VERSION="$dkms_version" DKMS_ROOT="$dkms_root")
	private_dkms() {
		mok_signing_key=$dkms_root/mok.key mok_certificate=$dkms_root/mok.pub \
			dkms --sourcetree "$dkms_root/usr/src" --dkmstree "$dkms_root/var/lib/dkms" \
			--installtree "$dkms_root/lib/modules" "$@"
	}
	# what the machine's own DKMS holds of this package, before and after
	system_dkms_state() {
		dkms status -m iommu-replace 2> /dev/null
		ls -A /var/lib/dkms 2> /dev/null
		ls -d /usr/src/iommu-replace-* /var/lib/dkms/iommu-replace/* \
			/lib/modules/*/updates/dkms/iommu_replace.ko* 2> /dev/null || true
	}
	system_dkms_state > "$out/logs/dkms-system-before.txt"
	rm -rf "$dkms_root"
	# a kernel outside dkms.conf's BUILD_EXCLUSIVE_KERNEL range (7.x), and one
	# in range without CONFIG_IOMMU_API: skipped with a line, not failed
	outside_range() {
		local log=$out/logs/dkms-outside-range.txt fake=$dkms_root/fake-kernel status
		mkdir -p "$fake" && echo '# CONFIG_IOMMU_API is not set' > "$fake/.config" &&
		make --no-print-directory dkms-install "${dkms_args[@]}" \
			DKMS_KERNELS=7.4.0-1-amd64 > "$log" 2>&1 &&
		grep -q 'kernel 7.4.0-1-amd64 skipped: outside the range' "$log" &&
		status=$(private_dkms status -m iommu-replace) &&
		[[ $status != *7.4.0* ]] &&
		mkdir -p "$dkms_root/lib/modules/6.12.999-1-cloud-amd64" && {
			private_dkms build -m iommu-replace -v "$dkms_version" \
				-k 6.12.999-1-cloud-amd64 --kernelsourcedir "$fake"
			[ $? = 77 ]
		} >> "$log" 2>&1
	}
	host_step - dkms "kernels outside dkms.conf's range are skipped, not failed" outside_range
	host_step - dkms "make dkms-install" make dkms-install "${dkms_args[@]}"
	for k in "${kernels[@]}"; do
		dkms_built() {
			local status
			status=$(private_dkms status -m iommu-replace -v "$dkms_version" -k "$1") &&
			[[ $status == *': installed'* ]] &&
			modinfo -F version "$dkms_root/lib/modules/$1/updates/dkms/"iommu_replace.ko* |
				grep -qx "$dkms_version"
		}
		host_step "$k" dkms "DKMS built and installed the module" dkms_built "$k"
	done
	dkms_gone() {
		local status
		status=$(private_dkms status -m iommu-replace) && [ -z "$status" ] &&
		! ls "$dkms_root"/lib/modules/*/updates/dkms/iommu_replace.ko* 2> /dev/null &&
		[ ! -e "$dkms_root/usr/src/iommu-replace-$dkms_version" ]
	}
	host_step - dkms "make dkms-remove" make dkms-remove "${dkms_args[@]}"
	host_step - dkms "nothing of the DKMS install is left" dkms_gone
	system_dkms_untouched() {
		system_dkms_state | diff -u "$out/logs/dkms-system-before.txt" - &&
		[ ! -e "/usr/src/iommu-replace-$dkms_version" ]
	}
	host_step - dkms "the machine's own DKMS state is untouched" system_dkms_untouched
fi

# --- Debian 13 ------------------------------------------------------------------
# Its kernel is built, probed and installed in the trixie root, by trixie's
# own compiler and make, in a copy of the sources at /src/iommu-replace
# there; its build/<release>/ (modules, probe results) is copied back to
# build/ for the guests and the checks.
if [ $need_d13 = 1 ]; then
	echo "== Debian 13: $d13 in a clean trixie root, with trixie's compiler"
	debian13_root() { root_ready trixie && d13_lower=$root_dir; }
	d13_merged=$out/roots/d13-build/merged
	d13_src=/src/iommu-replace
	# the root the builds run in: sparse installed from what the root
	# fetched, the sources copied in (the emulated devices' module too)
	d13_build_root() {
		mount_root d13-build "$d13_lower" &&
		in_root d13-build apt-get install -y -q --no-install-recommends --no-download \
			-o Dir::Cache::Archives=/var/cache/iorp-later/ sparse &&
		mkdir -p "$d13_merged$d13_src/build/$d13/emu-module" &&
		cp -R Kbuild Makefile dkms.conf module include uapi "$d13_merged$d13_src/" &&
		cp tests/emu-module/* "$d13_merged$d13_src/build/$d13/emu-module/"
	}
	d13_copy_back() {
		rm -rf "build/$d13" && mkdir -p build &&
		cp -R "$d13_merged$d13_src/build/$d13" "build/$d13"
	}
	if need_step "$d13" build "a clean Debian 13 root (debootstrap; cached)" debian13_root &&
		need_step "$d13" build "the Debian 13 root mounts, with the sources and sparse" \
			d13_build_root; then
		for t in 0 1; do
			flavour=$([ $t = 1 ] && echo test || echo prod)
			need_step "$d13" build "$flavour module builds with -Werror (trixie's gcc-14)" \
				in_root d13-build make -C "$d13_src" module KVER="$d13" TEST=$t WERROR=1
			selected "$d13" host sparse &&
				host_step "$d13" sparse "$flavour module is sparse clean" \
					in_root d13-build make -C "$d13_src" sparse-one KVER="$d13" TEST=$t
		done
		need_step "$d13" build "iorp_emu.ko (emulated VFIO devices for the tests) builds" \
			in_root d13-build make -C "/lib/modules/$d13/build" \
			M="$d13_src/build/$d13/emu-module" modules
		need_step "$d13" build "the modules and probe results are copied out of the root" \
			d13_copy_back
		if selected "$d13" host probes; then
			host_step "$d13" probes "probes find the known API of $d13" \
				test "$(compat_of "$d13")" = "$(known_api "$d13" || echo "(none known)")"
			host_step "$d13" probes "VFIO backend layout verified from vfio.ko's BTF" \
				test "$(vfio_backend_of "$d13")" = \
				"$(known_vfio_backend "$d13" || echo "(none known)")"
		fi
		if selected "$d13" host install; then
			host_step "$d13" install "make install DESTDIR=... installs into updates/" \
				in_root d13-build make -C "$d13_src" install KVER="$d13" \
				DESTDIR=/tmp/install
			host_step "$d13" install "the installed module file exists" \
				installed_ko "$d13" "$d13_merged/tmp/install"
		fi
		if selected "$d13" host kbuild; then
			kbuild_copy "$d13_merged/src/kbuild"
			host_step "$d13" kbuild "make -C /lib/modules/$d13/build M=\$PWD builds the module" \
				in_root d13-build env -u HOME \
				make -C "/lib/modules/$d13/build" M=/src/kbuild modules
			host_step "$d13" kbuild "the standard build's module is for $d13" \
				vermagic_is "$d13_merged/src/kbuild/iommu_replace.ko" "$d13"
			# trixie's make 4.4 exports variables to $(shell): clean too
			d13_kbuild_clean() {
				rm -rf "$d13_merged/src/kbuild/build" &&
				in_root d13-build make -C "/lib/modules/$d13/build" M=/src/kbuild clean &&
				[ ! -e "$d13_merged/src/kbuild/build" ] &&
				[ ! -e "$d13_merged/src/kbuild/iommu_replace.ko" ]
			}
			host_step "$d13" kbuild "make -C /lib/modules/$d13/build M=\$PWD clean runs no probes" \
				d13_kbuild_clean
		fi
	fi
	need_step "$d13" build "the Debian 13 build root unmounts" unmount_root d13-build
fi

# The Debian package, as an operator meets it: "make deb" (lintian clean),
# then "apt install ./iommu-replace-dkms_*.deb" into a clean Debian 12 root
# holding the host's kernels and a clean Debian 13 root holding its kernel
# (tests/debian-root, cached; they have what the package needs, so nothing
# is downloaded). There /lib/modules also has an empty directory for the
# running kernel's release (so dkms's own postinst builds only for that
# one, which has no headers, and the newest; the package's postinst must
# build for the others) and a 7.x kernel with headers, which it must skip
# with a line. DKMS must report the module installed for each kernel under
# test; those modules are what the guests' dkms suites boot. "apt remove"
# must take the module, the sources and the DKMS state away, and after the
# purge the root's files and module indexes must be exactly as before. In
# the Debian 13 root the package is then installed again and
# trixie-backports' kernel (7.x, outside the range) must install with it
# present: DKMS skips it and the kernel's install succeeds.
pkg_out=$out/package
outside=7.4.0-1-amd64
deb=iommu-replace-dkms_${version}_all.deb
# root_files, module_indexes: every file of the package root but what apt
# and dpkg keep as their own records; the module indexes' contents
root_files() {
	(cd "$merged" && find . -xdev \( -path ./proc -o -path ./tmp -o \
		-path ./var/log -o -path ./var/cache -o -path ./var/lib/dpkg -o \
		-path ./var/lib/apt \) -prune -o -print | sort)
}
module_indexes() {
	(cd "$merged" && md5sum lib/modules/*/modules.*)
}
# the steps below work on the root $pkg (mounted at $merged), results in $pkg_dir
package_root_up() {
	mount_root "$pkg" "$1" &&
	mkdir -p "$merged/lib/modules/$(uname -r)" "$merged/lib/modules/$outside/build/include" &&
	cp "$top/build/deb/$deb" "$merged/tmp/"
}
package_installs() {
	local log=$pkg_dir/apt-install.txt rc
	root_files > "$pkg_dir/files-before.txt" &&
	module_indexes > "$pkg_dir/indexes-before.txt" &&
	in_root "$pkg" apt-get install -y -q "/tmp/$deb" > "$log" 2>&1
	rc=$?
	cat "$log"
	# dkms's own postinst builds for the newest kernel; where the root has
	# more than one, the package's postinst builds for the others
	[ $rc = 0 ] &&
	{ [ "$(ls "$merged"/boot/vmlinuz-* | wc -l)" -lt 2 ] ||
		grep -q "^iommu-replace: built and installed for kernel " "$log"; } &&
	grep -q "^iommu-replace: kernel $outside skipped: outside" "$log"
}
package_built() {
	local status
	status=$(in_root "$pkg" dkms status -m iommu-replace -v "$version" -k "$1") &&
	echo "$status" && [[ $status == *': installed'* ]] &&
	mkdir -p "$pkg_out/modules/$1" &&
	cp "$merged/lib/modules/$1/updates/dkms/"iommu_replace.ko* "$pkg_out/modules/$1/" &&
	modinfo -F version "$pkg_out/modules/$1/"iommu_replace.ko* | grep -qx "$version"
}
package_removed() {
	local status
	in_root "$pkg" apt-get remove -y -q iommu-replace-dkms &&
	status=$(in_root "$pkg" dkms status -m iommu-replace) && [ -z "$status" ] &&
	! ls -d "$merged"/usr/src/iommu-replace-* "$merged"/var/lib/dkms/iommu-replace \
		"$merged"/lib/modules/*/updates/dkms/iommu_replace.ko* \
		"$merged"/lib/udev/rules.d/70-iommu-replace.rules 2> /dev/null
}
package_purged() {
	in_root "$pkg" dpkg --purge iommu-replace-dkms &&
	root_files > "$pkg_dir/files-after.txt" &&
	module_indexes > "$pkg_dir/indexes-after.txt" &&
	diff -u "$pkg_dir/files-before.txt" "$pkg_dir/files-after.txt" &&
	diff -u "$pkg_dir/indexes-before.txt" "$pkg_dir/indexes-after.txt"
}
# with the package installed, the backports kernel the root fetched
# installs: its kernel hooks run DKMS, which skips it
backports_kernel_installs() {
	local log=$pkg_dir/apt-install-backports-kernel.txt rc release status
	in_root "$pkg" apt-get install -y -q "/tmp/$deb" > "$pkg_dir/apt-reinstall.txt" 2>&1 ||
		{ cat "$pkg_dir/apt-reinstall.txt"; return 1; }
	in_root "$pkg" apt-get install -y -q --no-install-recommends --no-download \
		-o Dir::Cache::Archives=/var/cache/iorp-later/ \
		linux-image-amd64/trixie-backports linux-headers-amd64/trixie-backports > "$log" 2>&1
	rc=$?
	cat "$log"
	[ $rc = 0 ] || return 1
	release=$(cd "$merged/lib/modules" && ls -d 7.* | grep -vx "$outside")
	echo "installed kernel: $release"
	status=$(in_root "$pkg" dkms status -m iommu-replace) && echo "$status" &&
	[ -n "$release" ] && [ -f "$merged/boot/vmlinuz-$release" ] &&
	[ -d "$merged/lib/modules/$release/build" ] &&
	[[ $status != *"$release"* ]] &&
	! ls "$merged/lib/modules/$release"/updates/dkms/iommu_replace.ko* 2> /dev/null &&
	grep -qF "Autoinstall on $release was skipped for module(s) iommu-replace" "$log"
}
if [ ${#pkg_kernels_bookworm[@]} -gt 0 ] || [ ${#pkg_kernels_trixie[@]} -gt 0 ]; then
	echo "== the Debian package in clean Debian 12 and 13 roots"
	host_step - package "make deb builds both packages, lintian clean" make deb
fi
for suite in bookworm trixie; do
	if [ $suite = bookworm ]; then
		pkg_kernels=("${pkg_kernels_bookworm[@]}") label="Debian 12"
	else
		pkg_kernels=("${pkg_kernels_trixie[@]}") label="Debian 13"
	fi
	[ ${#pkg_kernels[@]} -gt 0 ] || continue
	pkg=pkg-$suite merged=$out/roots/pkg-$suite/merged pkg_dir=$pkg_out/$suite
	mkdir -p "$pkg_dir"
	if [ $suite = bookworm ]; then
		lower=
		bookworm_root() { root_ready bookworm && lower=$root_dir; }
		host_step - package "a clean Debian 12 root (debootstrap; cached)" bookworm_root ||
			continue
	else
		lower=$d13_lower
		[ -n "$lower" ] || continue	# its build step failed above
	fi
	if host_step - package "the $label root mounts, with the package" package_root_up "$lower"; then
		host_step - package "$label: apt install ./$deb builds for each kernel, skips a 7.x one" \
			package_installs
		for k in "${pkg_kernels[@]}"; do
			host_step "$k" package "the package's DKMS built and installed the module" \
				package_built "$k"
		done
		host_step - package "$label: apt remove takes the module, sources and DKMS state away" \
			package_removed
		host_step - package "$label: after the purge the root's files are exactly as before" \
			package_purged
		[ $suite = trixie ] &&
			host_step - package "$label: with the package installed, trixie-backports' 7.x kernel installs; DKMS skips it" \
				backports_kernel_installs
	fi
	host_step - package "the $label root unmounts" unmount_root "$pkg"
done

# lane_plan KERNEL-RELEASE TOPOLOGY FILTER-KERNEL LINE...: sets plan to the
# lines (of tests/suites) that run in the lane and pass the filters, with
# "@tags" taken off the suite names. A suite "name@tag,..." runs only where
# its tags hold: the topology is one of the topology tags (if any), and
# "native" needs the kernel's iommu_group_replace_domain.
lane_plan() {
	local krel=$1 topo=$2 fkernel=$3 line name tags tag topo_tags topo_ok
	shift 3
	plan=()
	for line in "$@"; do
		name=${line%% *}
		if [[ $name == *@* ]]; then
			topo_tags=0 topo_ok=0 tags=${name#*@}
			for tag in ${tags//,/ }; do
				case $tag in
				native) [[ " $(compat_of "$krel") " == *" iommu_group_replace_domain=yes "* ]] ||
						continue 2 ;;
				*) topo_tags=1; [ "$tag" = "$topo" ] && topo_ok=1 ;;
				esac
			done
			[ $topo_tags = 0 ] || [ $topo_ok = 1 ] || continue
			name=${name%%@*}
		fi
		selected "$fkernel" "$topo" "$name" && plan+=("$name ${line#* }")
	done
}

# --- guests ---------------------------------------------------------------------
# Each guest is one QEMU process on one host thread (TCG, thread=single), so
# LANES (default: the machine's cores) of them run at a time; the debug
# kernel's lanes join the queue when it is built (it builds from the start,
# niced), and the runner's self-test lanes after them. A lane's results are
# recorded once every lane has finished, in the order the lanes started.
lane_pids=() lane_labels=() lane_topos=() lane_dirs=()
declare -A lane_running=()
# guest_slot: wait until fewer than LANES guests run
guest_slot() {
	local done_pid
	while [ ${#lane_running[@]} -ge "$lanes_parallel" ]; do
		done_pid=
		wait -n -p done_pid "${!lane_running[@]}"
		if [ -n "$done_pid" ]; then
			unset "lane_running[$done_pid]"
		else
			lane_running=()	# none left to wait for
		fi
	done
}
# start_guest DIR RUN-LANE-ARGS...: start run-lane --out DIR in a session of
# its own when a slot is free (its output in DIR.log); sets guest_pid
start_guest() {
	guest_slot
	mkdir -p "$1"
	setsid tests/qemu/run-lane --out "$1" "${@:2}" > "$1.log" 2>&1 &
	guest_pid=$!
	lane_running[$guest_pid]=1
	bg_groups+=("$guest_pid")
}
# start_lane KERNEL TOPOLOGY DIR RUN-LANE-ARGS...: start a lane when a slot
# is free; it writes DIR/lane.tap, and DIR.log
start_lane() {
	echo "  start $1 $2"
	start_guest "$3" --topology "$2" "${@:4}"
	lane_pids+=("$guest_pid") lane_labels+=("$1") lane_topos+=("$2") lane_dirs+=("$3")
}
# finish_lanes: wait for every lane, then record each one's results in the
# order they started; a runner that failed, or left no results, fails
finish_lanes() {
	local i tap
	for i in "${!lane_pids[@]}"; do
		tap=${lane_dirs[i]}/lane.tap
		if ! wait "${lane_pids[i]}" || [ ! -s "$tap" ]; then
			mkdir -p "${lane_dirs[i]}"
			echo "not ok - lane: runner failed (see ${lane_dirs[i]}.log)" >> "$tap"
		fi
		lane_results "${lane_labels[i]}" "${lane_topos[i]}" "$tap"
	done
	lane_pids=() lane_labels=() lane_topos=() lane_dirs=() lane_running=()
}

echo "== guests: every kernel and topology, $lanes_parallel at a time"
# Debian 13's kernel boots from its root (when the root was built; if not,
# that failure is recorded above)
lane_kernels=("${kernels[@]}")
[ $need_d13 = 1 ] && [ -n "$d13_lower" ] && lane_kernels+=("$d13")
for k in "${lane_kernels[@]}"; do
	in_list "$k" "$filter_kernel" prefix || continue
	root=
	[ "$k" = "$d13" ] && root=$d13_lower
	for t in "${topologies[@]}"; do
		lane_plan "$k" "$t" "$k" "${suite_lines[@]}"
		[ ${#plan[@]} -gt 0 ] || continue
		# shellcheck disable=SC2012
		dkms_ko=$(ls "$out/package/modules/$k"/iommu_replace.ko* 2> /dev/null | head -n 1)
		start_lane "$k" "$t" "$out/lanes/$k-$t" --kernel "$k" ${root:+--root "$root"} \
			--module test="build/$k/test/iommu_replace.ko" \
			--module prod="build/$k/prod/iommu_replace.ko" \
			--module emu="build/$k/emu-module/iorp_emu.ko" \
			${dkms_ko:+--module dkms="$dkms_ko"} \
			--env IORP_VERSION="$version" --env IORP_COMPAT="$(compat_of "$k")" \
			--env IORP_VFIO_BACKEND="$(vfio_backend_of "$k")" \
			-- "${plan[@]}"
	done
done

dk=
if [ -n "$dk_pid" ]; then
	echo "== reliability lane: debug kernel (lockdep, KASAN, kmemleak, fault injection)"
	if wait "$dk_pid"; then
		dk=$(cat "$out/debug-kernel.dir")
		record "$debug" host build pass "debug kernel builds ($(cat "$dk/release"))"
	else
		record "$debug" host build fail "debug kernel builds"
		tail -n 20 "$out/logs/debug-kernel.log"
	fi
fi
if [ -n "$dk" ]; then
	dk_release=$(cat "$dk/release")
	need_step "$debug" build "test module builds against the debug kernel" \
		make module KVER="$dk_release" KDIR="$dk/build" TEST=1 WERROR=1
	need_step "$debug" build "iorp_emu.ko builds against the debug kernel" \
		build_emu_module "$dk/build" "$top/build/$dk_release/emu-module"
	# its tree has drivers/vfio/vfio.h: the backend must be built
	host_step "$debug" build "VFIO backend layout checked against the debug kernel's vfio.h" \
		test "$(vfio_backend_of "$dk_release")" = \
			"built: the notify layout, checked against drivers/vfio/vfio.h of the kernel source"
	for t in "${debug_topologies[@]}"; do
		lane_plan "$dk_release" "$t" "$debug" "${debug_plan[@]}"
		[ ${#plan[@]} -gt 0 ] || continue
		start_lane "$debug" "$t" "$out/lanes/$debug-$t" --kernel "$dk_release" \
			--vmlinuz "$dk/bzImage" --kdir "$dk/build" \
			--timeout $(( 3600 + fuzz_seconds )) --memory 3072 \
			--module test="build/$dk_release/test/iommu_replace.ko" \
			--module emu="build/$dk_release/emu-module/iorp_emu.ko" \
			--env IORP_VERSION="$version" --env IORP_COMPAT="$(compat_of "$dk_release")" \
			--env IORP_VFIO_BACKEND="$(vfio_backend_of "$dk_release")" \
			--env IORP_FUZZ_SECONDS="$fuzz_seconds" \
			${FUZZ_SEED:+--env IORP_FUZZ_SEED="$FUZZ_SEED"} \
			--env IORP_PROGRAM_TIMEOUT=$(( 600 + fuzz_seconds )) \
			-- "${plan[@]}"
	done
fi
if selected "$newest" selftest runner; then
	echo "== runner self-test: failures must be reported as failures"
	k=$newest
	# Its lanes go through the queue after the others (declared below by
	# name: expected line, suite, run-lane options); the verdicts come after.
	declare -A selftest_pid=() selftest_expect=() selftest_also=()
	selftest_start() {	# NAME EXPECTED-LINE SUITE [run-lane options]
		echo "  start selftest $1"
		selftest_expect[$1]=$2
		start_guest "$out/selftest/$1" --kernel "$k" --topology none "${@:4}" -- "$3"
		selftest_pid[$1]=$guest_pid
	}
	# selftest_lane NAME: the lane ran and holds its expected "not ok" line
	# (and what selftest_also[NAME], "FILE:REGEX", asks of one of its files)
	selftest_lane() {
		local dir=$out/selftest/$1 also=${selftest_also[$1]:-}
		wait "${selftest_pid[$1]}" || return 1
		grep -q "${selftest_expect[$1]}" "$dir/lane.tap" &&
		{ [ -z "$also" ] || grep -aq "${also#*:}" "$dir/${also%%:*}"; }
	}
	mkdir -p "$out/selftest"
	warn_dir=$top/build/$k/warn-module
	mkdir -p "$warn_dir" && cp tests/warn-module/* "$warn_dir/"
	host_step "$k" runner "warn_on_load.ko builds" \
		make -C "/lib/modules/$k/build" M="$warn_dir" modules
	selftest_start failing-test '^not ok 2 global.fails_on_purpose' "mustfail none must_fail"
	# the guest must really have panicked, and the hung one have been
	# started on its hang and stopped by the timeout (exit 124, or 137
	# after the kill), not merely have failed to boot in time
	selftest_also[panic]='console.log:Kernel panic - not syncing: sysrq triggered crash'
	selftest_start panic '^not ok - lane: guest completed' "crash none crash"
	selftest_start early-death '^not ok - lane: booted to /init (every boot died' \
		"basic none basic" --append "rdinit=/nonexistent"
	selftest_also[hang]='lane.tap:^# suite hang$'
	selftest_start hang '^not ok - lane: guest completed (qemu exit \(124\|137\) ' \
		"hang none hang" --timeout 40
	selftest_start warning '^not ok - lane: kernel log clean' "warn warn" \
		--module warn="$warn_dir/warn_on_load.ko"
fi
echo "== guests: results"
finish_lanes

if selected "$newest" selftest runner; then
	echo "== runner self-test: verdicts"
	host_step "$k" runner "a failing guest test is reported as failed" \
		selftest_lane failing-test
	# the same lane through the totals: a failure there fails make check,
	# the skip counts as skipped, the runner's own checks apart
	failing_lane_totals() {
		local rows=$out/selftest/failing-test.tsv sum=$out/selftest/failing-test.txt
		: > "$rows"
		tap_rows "$k" none "$out/selftest/failing-test/lane.tap" "$rows"
		if summarize "$rows" > "$sum"; then
			echo "the totals passed a lane with a failing case"; return 1
		fi
		cat "$sum"
		grep -q '^FAILED: .* global.fails_on_purpose$' "$sum" &&
		grep -qx '1 skipped' "$sum" &&
		grep -q '^runner checks: [1-9][0-9]* ok, 1 failed$' "$sum" &&
		tail -n 1 "$sum" | grep -qx '1 passed, 2 failed'
	}
	host_step "$k" runner "a failing case fails the totals; its skip counts as skipped" \
		failing_lane_totals
	host_step "$k" runner "a guest panic is reported as failed" selftest_lane panic
	host_step "$k" runner "a kernel dying before /init is booted 3 times, each reported" \
		selftest_lane early-death
	host_step "$k" runner "a hung guest is reported as failed" selftest_lane hang
	host_step "$k" runner "a kernel WARNING is reported as failed" selftest_lane warning
	# these rows record whether the runner noticed; relabel them
	sed -i "s/^\($k\thost\trunner\)/$k\tselftest\trunner/" "$results"
fi

echo
echo "== results"
summarize "$results"
