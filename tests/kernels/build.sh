#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build.sh [debug|reference]: build (once per machine) a kernel of our own
# and print the directory holding it.
#
#   debug      the reliability lane's kernel (make check): Debian's
#              linux-source-6.1 (the 6.1 of the main target) with lockdep,
#              KASAN, kmemleak and fault injection (debug.config), and the
#              debug-*.patch files here applied (each explains why).
#   reference  upstream iommufd's kernel, the peer make bench measures us
#              against: Debian's linux-source-6.12 with CONFIG_IOMMUFD and
#              the VFIO device cdev, VFIO's container and type1 kept
#              (reference.config), no debug options.
#
# Config: tinyconfig plus guest.config (what every test guest needs) plus
# the flavour's fragment. The result is cached outside the checkout in
# $IORP_CACHE (default /var/cache/iommu-replace)/<flavour>-kernel/
# <version>-<key>/, keyed by the source package version and a hash of the
# fragments, the patches and this script:
#   bzImage   the kernel to boot
#   build/    the build tree (KDIR for building our module against it)
#   release   its release string
# Each takes about 10 minutes on two cores the first time. Two builds of
# one flavour at once wait for each other (a lock in the cache); a build
# removes the flavour's unfinished builds of other keys.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
flavour=${1:-debug}
case $flavour in
debug) series=6.1 ;;
reference) series=6.12 ;;
*) echo "usage: $0 [debug|reference]" >&2; exit 2 ;;
esac
tarball=/usr/src/linux-source-$series.tar.xz
fragment=$here/$flavour.config
patches=()
for p in "$here/$flavour"-*.patch; do
	[ -f "$p" ] && patches+=("$p")
done
cache=${IORP_CACHE:-/var/cache/iommu-replace}/$flavour-kernel
srcver=$(dpkg-query -W -f '${Version}' "linux-source-$series")
key=$(cat "$here/guest.config" "$fragment" ${patches[@]+"${patches[@]}"} "$0" |
	sha256sum | cut -c1-12)
out=$cache/$srcver-$key

mkdir -p "$cache"
exec {lock}> "$cache/.lock"
flock "$lock"
if [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi
[ -f "$tarball" ] || { echo "build.sh: no $tarball (apt-get install linux-source-$series)" >&2; exit 1; }

for dir in "$cache"/*/; do
	[ -d "$dir" ] && [ ! -f "$dir/done" ] && rm -rf "$dir"
done
log=$(mktemp "/tmp/iorp-$flavour-kernel.XXXXXX.log")
echo "$flavour kernel: building in $out (log: $log)" >&2
rm -rf "$out"
mkdir -p "$out"
src=$out/linux-source-$series
# every step must succeed (set -e does not reach into an if's condition)
unpack_and_configure() {
	tar -xJf "$tarball" -C "$out" || return
	for patch in ${patches[@]+"${patches[@]}"}; do
		patch -p1 -d "$src" < "$patch" || return
	done
	make -C "$src" O="$out/build" tinyconfig || return
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out/build" \
		"$out/build/.config" "$here/guest.config" "$fragment" || return
	make -C "$src" O="$out/build" olddefconfig
}
if ! unpack_and_configure > "$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "build.sh: unpacking or configuring the $flavour kernel failed (log: $log)" >&2
	exit 1
fi

# every requested option must have survived the dependency resolution
missing=$(cat "$here/guest.config" "$fragment" |
	grep -E '^(CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)$' |
	grep -vxFf "$out/build/.config" || true)
if [ -n "$missing" ]; then
	echo "build.sh: options lost in olddefconfig ($flavour):" >&2
	echo "$missing" >&2
	exit 1
fi

if ! make -C "$src" O="$out/build" -j"$(( $(nproc) + 1 ))" all >> "$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "build.sh: the $flavour kernel build failed (log: $log)" >&2
	exit 1
fi
cp "$out/build/arch/x86/boot/bzImage" "$out/bzImage"
cat "$out/build/include/config/kernel.release" > "$out/release"
touch "$out/done"
rm -f "$log"
echo "$out"
