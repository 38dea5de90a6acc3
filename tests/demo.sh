#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# demo.sh [demo|bench]: "make demo" and "make bench". On a machine that
# cannot load modules (like the build machines of this project) both are a
# QEMU guest: it boots the newest installed Debian kernel (or KVER) with an
# emulated Intel VT-d IOMMU (or TOPOLOGY=amd for AMD-Vi), loads the
# production module, runs tests/demo.c (the story of a VMM) or tests/bench.c
# (figures against VFIO type1) and unloads the module, then prints what the
# guest reported. make bench then does the same on the reference kernel
# (tests/kernels/build.sh reference: upstream iommufd, measured beside us);
# KVER=<release> boots that kernel alone, KVER=reference the reference
# kernel alone. Exits non-zero if any step failed.
set -euo pipefail

prog=${1:-demo}
case $prog in demo|bench) ;; *) echo "usage: $0 [demo|bench]" >&2; exit 2 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/install-deps.sh

# PROFILE_ONLY=1 make bench: the profiles alone (bench --profile)
program=$prog
[ "$prog" = bench ] && [ "${PROFILE_ONLY:-0}" = 1 ] && program=bench-profile
topology=${TOPOLOGY:-vtd}
case $topology in
vtd) iommu="Intel VT-d" ;;
amd) iommu="AMD-Vi" ;;
*) echo "$prog: TOPOLOGY must be vtd or amd" >&2; exit 2 ;;
esac
newest=$(for d in /lib/modules/*/build; do
	k=$(basename "$(dirname "$d")")
	[ -f "$d/Module.symvers" ] && [ -f "/boot/vmlinuz-$k" ] && echo "$k"
done | sort -V | tail -n 1)
# make bench also boots the reference kernel, for upstream iommufd
kernels=("${KVER:-$newest}")
[ "$prog" = bench ] && [ -z "${KVER:-}" ] && kernels+=(reference)
log=$top/build/$prog-build.log
mkdir -p build
: > "$log"
make -s tests >> "$log" 2>&1 || { cat "$log"; exit 1; }

# bench_files DIR: the figures as DIR/bench.json, and DIR/bench.svg, a chart
# of each row's ratios against ours (gnuplot, from DIR/bench.tsv)
bench_files() {
	local peers=
	grep -q '^# json ' "$1/lane.tap" || return 0	# the run failed
	sed -n 's/^# json //p' "$1/lane.tap" > "$1/bench.json"
	sed -n 's/^# tsv //p' "$1/lane.tap" > "$1/bench.tsv"
	awk -F '\t' '$3 != "NaN" { found = 1 } END { exit !found }' \
		"$1/bench.tsv" && peers=iommufd
	gnuplot -c tests/bench-chart.gp "$1/bench.tsv" "$1/bench.svg" \
		"$kver, $iommu" "$peers" &&
		echo "iommu-replace bench: figures in $1/bench.json, chart in $1/bench.svg"
}

failed=0
for kver in "${kernels[@]}"; do
	own=()
	if [ "$kver" = reference ]; then
		echo "iommu-replace $prog: the reference kernel (upstream iommufd; the first time it takes about 10 minutes to build)"
		if ! rk=$(tests/kernels/build.sh reference); then
			echo "iommu-replace $prog: FAILED: the reference kernel did not build"
			failed=1
			continue
		fi
		kver=$(cat "$rk/release")
		own=(--vmlinuz "$rk/bzImage" --kdir "$rk/build")
		kdir=(KDIR="$rk/build")
		what="the reference kernel $kver"
	else
		kdir=()
		what="a Debian $kver guest"
	fi
	# make bench keeps each kernel's and IOMMU's results apart:
	# build/bench/<release>-<topology>/, the profiles alone in -profile/
	out=$top/build/$prog
	[ "$prog" = bench ] && out=$top/build/bench/$kver-$topology
	[ "$program" = bench-profile ] && out=$out-profile
	echo "iommu-replace $prog: building the module for $kver"
	if ! make -s module KVER="$kver" "${kdir[@]}" >> "$log" 2>&1; then
		cat "$log"
		echo "iommu-replace $prog: FAILED: the module did not build for $kver"
		failed=1
		continue
	fi

	echo "iommu-replace $prog: booting $what (QEMU TCG, emulated $iommu)"
	# the benchmark keeps 1 GiB of each of four kinds of memory
	memory=2048
	[ "$prog" = bench ] && memory=6144
	tests/qemu/run-lane --kernel "$kver" --topology "$topology" --out "$out" \
		"${own[@]}" --memory "$memory" --timeout 1800 \
		--env IORP_PROGRAM_TIMEOUT=1700 \
		--module prod="build/$kver/prod/iommu_replace.ko" -- "$prog prod $program"

	echo
	awk -v suite="$prog" '
		$0 == "# suite " suite { on = 1; next }
		$0 == "# end suite " suite { on = 0 }
		on && /^# (json|tsv) / { next }
		on && /^#$/ { print "" }
		on && /^# / { sub(/^# /, "  "); print }
		/^ok - .*: load/ { print "  load       iommu_replace.ko inserted" }
		/^ok - .*: unload/ { print "  unload     module removed" }
		/^not ok/ { print "  FAILED:    " $0 }' "$out/lane.tap"
	if [ "$prog" = bench ]; then
		bench_files "$out" || echo "iommu-replace bench: no chart (gnuplot failed)" >&2
	fi
	echo
	if grep -q '^not ok' "$out/lane.tap"; then
		echo "iommu-replace $prog: FAILED on $kver (guest log: $out/console.log)"
		failed=1
	else
		echo "iommu-replace $prog: every step worked on $kver (guest log: $out/console.log)"
	fi
done
exit $failed
