#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build.sh: build (once per machine) the debug kernel of the reliability
# lane and print the directory holding it.
#
# Source: Debian's linux-source-6.1 (the 6.1 of the main target); config:
# tinyconfig plus debug.config (lockdep, KASAN, kmemleak, fault injection,
# and what the guests need); the *.patch files here are applied to the
# source (each explains why). The result is cached outside the checkout in
# $IORP_CACHE (default /var/cache/iommu-replace)/debug-kernel/<key>/, keyed
# by the source package version, debug.config, the patches and this script:
#   bzImage   the kernel to boot
#   build/    the build tree (KDIR for building our module against it)
#   release   its release string
# Takes about 9 minutes on two cores the first time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tarball=/usr/src/linux-source-6.1.tar.xz
cache=${IORP_CACHE:-/var/cache/iommu-replace}/debug-kernel
srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1)
key=$(cat "$here/debug.config" "$here"/*.patch "$0" | sha256sum | cut -c1-12)
out=$cache/$srcver-$key

if [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi
[ -f "$tarball" ] || { echo "build.sh: no $tarball (apt-get install linux-source-6.1)" >&2; exit 1; }

log=$(mktemp /tmp/iorp-debug-kernel.XXXXXX.log)
echo "debug kernel: building in $out (log: $log)" >&2
rm -rf "$out"
mkdir -p "$out"
{
	tar -xJf "$tarball" -C "$out"
	src=$out/linux-source-6.1
	for patch in "$here"/*.patch; do
		patch -p1 -d "$src" < "$patch"
	done
	make -C "$src" O="$out/build" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out/build" \
		"$out/build/.config" "$here/debug.config"
	make -C "$src" O="$out/build" olddefconfig
} > "$log" 2>&1

# every requested option must have survived the dependency resolution
missing=$(grep -E '^(CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)$' \
	"$here/debug.config" | grep -vxFf "$out/build/.config" || true)
if [ -n "$missing" ]; then
	echo "build.sh: options of debug.config lost in olddefconfig:" >&2
	echo "$missing" >&2
	exit 1
fi

if ! make -C "$out/linux-source-6.1" O="$out/build" -j"$(( $(nproc) + 1 ))" \
	all >> "$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "build.sh: the kernel build failed (log: $log)" >&2
	exit 1
fi
cp "$out/build/arch/x86/boot/bzImage" "$out/bzImage"
cat "$out/build/include/config/kernel.release" > "$out/release"
touch "$out/done"
rm -f "$log"
echo "$out"
