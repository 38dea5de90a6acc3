#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# demo.sh: "make demo". On a machine that cannot load modules (like the
# build machines of this project) the demo is a QEMU guest: it boots the
# newest installed Debian kernel with an emulated Intel VT-d IOMMU, loads
# the production module, runs tests/demo.c and unloads the module, then
# prints what the guest reported. Exits non-zero if any step failed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/install-deps.sh

kver=$(for d in /lib/modules/*/build; do
	k=$(basename "$(dirname "$d")")
	[ -f "$d/Module.symvers" ] && [ -f "/boot/vmlinuz-$k" ] && echo "$k"
done | sort -V | tail -n 1)
echo "iommu-replace demo: building the module for $kver and the guest programs"
log=$top/build/demo-build.log
mkdir -p build
make -s module KVER="$kver" > "$log" 2>&1 || { cat "$log"; exit 1; }
make -s tests >> "$log" 2>&1 || { cat "$log"; exit 1; }

out=$top/build/demo
echo "iommu-replace demo: booting a Debian $kver guest (QEMU TCG, emulated Intel VT-d)"
tests/qemu/run-lane --kernel "$kver" --topology vtd --out "$out" \
	--module prod="build/$kver/prod/iommu_replace.ko" -- "demo prod demo"

echo
awk '
	/^# suite demo/ { on = 1; next }
	/^# end suite demo/ { on = 0 }
	on && /^# / { sub(/^# /, "  "); print }
	/^ok - demo: load/ { print "  load       iommu_replace.ko inserted" }
	/^ok - demo: unload/ { print "  unload     module removed" }
	/^not ok/ { print "  FAILED:    " $0 }' "$out/lane.tap"
echo
if grep -q '^not ok' "$out/lane.tap"; then
	echo "iommu-replace demo: FAILED (guest log: $out/console.log)"
	exit 1
fi
echo "iommu-replace demo: every step worked (guest log: $out/console.log)"
