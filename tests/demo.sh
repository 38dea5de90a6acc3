#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# demo.sh [demo|bench]: "make demo" and "make bench". On a machine that
# cannot load modules (like the build machines of this project) both are a
# QEMU guest: it boots the newest installed Debian kernel (or KVER) with an
# emulated Intel VT-d IOMMU (or TOPOLOGY=amd for AMD-Vi), loads the
# production module, runs tests/demo.c (the story of a VMM) or tests/bench.c
# (figures against VFIO type1) and unloads the module, then prints what the
# guest reported. Exits non-zero if any step failed.
set -euo pipefail

prog=${1:-demo}
case $prog in demo|bench) ;; *) echo "usage: $0 [demo|bench]" >&2; exit 2 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/install-deps.sh

topology=${TOPOLOGY:-vtd}
case $topology in
vtd) iommu="Intel VT-d" ;;
amd) iommu="AMD-Vi" ;;
*) echo "$prog: TOPOLOGY must be vtd or amd" >&2; exit 2 ;;
esac
kver=${KVER:-$(for d in /lib/modules/*/build; do
	k=$(basename "$(dirname "$d")")
	[ -f "$d/Module.symvers" ] && [ -f "/boot/vmlinuz-$k" ] && echo "$k"
done | sort -V | tail -n 1)}
echo "iommu-replace $prog: building the module for $kver and the guest programs"
log=$top/build/$prog-build.log
mkdir -p build
make -s module KVER="$kver" > "$log" 2>&1 || { cat "$log"; exit 1; }
make -s tests >> "$log" 2>&1 || { cat "$log"; exit 1; }

out=$top/build/$prog
echo "iommu-replace $prog: booting a Debian $kver guest (QEMU TCG, emulated $iommu)"
# the benchmark keeps 1 GiB of each of four kinds of memory
memory=2048
[ "$prog" = bench ] && memory=6144
tests/qemu/run-lane --kernel "$kver" --topology "$topology" --out "$out" \
	--memory "$memory" --timeout 1800 --env IORP_PROGRAM_TIMEOUT=1700 \
	--module prod="build/$kver/prod/iommu_replace.ko" -- "$prog prod $prog"

echo
awk -v suite="$prog" '
	$0 == "# suite " suite { on = 1; next }
	$0 == "# end suite " suite { on = 0 }
	on && /^#$/ { print "" }
	on && /^# / { sub(/^# /, "  "); print }
	/^ok - .*: load/ { print "  load       iommu_replace.ko inserted" }
	/^ok - .*: unload/ { print "  unload     module removed" }
	/^not ok/ { print "  FAILED:    " $0 }' "$out/lane.tap"
echo
if grep -q '^not ok' "$out/lane.tap"; then
	echo "iommu-replace $prog: FAILED (guest log: $out/console.log)"
	exit 1
fi
echo "iommu-replace $prog: every step worked (guest log: $out/console.log)"
