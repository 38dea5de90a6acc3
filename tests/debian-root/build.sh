#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build.sh SUITE KERNEL-RELEASE...: build (once per machine) a clean Debian
# root of SUITE (debootstrap from Debian's archive) as an operator's build
# machine looks before our package arrives: the given kernels' images and
# headers, dkms, a C library's headers (libc6-dev, which the package
# depends on) and what the package recommends (zstd, xz-utils), so that
# installing the package needs no download. Prints the root's directory.
#
# The root is cached outside the checkout in $IORP_CACHE (default
# /var/cache/iommu-replace)/roots/<suite>-<key>/, keyed by the suite, the
# kernels and this script; tests use it as the lower layer of an overlay,
# so it stays clean. Building a new one removes the suite's older roots. Its apt sources are SUITE, SUITE-updates (from
# $IORP_DEBIAN_MIRROR, default http://deb.debian.org/debian) and
# SUITE-security (from $IORP_DEBIAN_SECURITY, default
# http://deb.debian.org/debian-security), where Debian's current kernels
# are. Takes a few minutes the first time.
set -euo pipefail

suite=${1:?usage: build.sh SUITE KERNEL-RELEASE...}
shift
[ $# -gt 0 ] || { echo "build.sh: no kernel given" >&2; exit 1; }
mirror=${IORP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${IORP_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
cache=${IORP_CACHE:-/var/cache/iommu-replace}/roots
key=$( { echo "$suite $mirror $security $*"; cat "$0"; } | sha256sum | cut -c1-12)
root=$cache/$suite-$key

if [ -f "$root.done" ]; then
	echo "$root"
	exit 0
fi
command -v debootstrap > /dev/null ||
	{ echo "build.sh: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

log=$(mktemp /tmp/iorp-root-"$suite".XXXXXX.log)
echo "Debian root: building $suite in $root (log: $log)" >&2
# older roots of this suite (an interrupted build may have left proc
# mounted in one)
for old in "$cache/$suite"-*; do
	[ -d "$old" ] || continue
	mountpoint -q "$old/proc" && umount "$old/proc"
	rm -rf --one-file-system "$old" "$old.done"
done
mkdir -p "$cache"
packages=(dkms libc6-dev zstd xz-utils)
for k in "$@"; do
	packages+=("linux-image-$k" "linux-headers-$k")
done
in_root() {
	chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
build_root() {
	debootstrap --variant=minbase "$suite" "$root" "$mirror" &&
	mount -t proc proc "$root/proc" || return 1
	printf 'deb %s %s main\n' "$mirror" "$suite" "$mirror" "$suite-updates" \
		"$security" "$suite-security" > "$root/etc/apt/sources.list"
	in_root apt-get update -q &&
	in_root apt-get install -y -q --no-install-recommends "${packages[@]}" &&
	in_root apt-get clean
	local rc=$?
	umount "$root/proc"
	return $rc
}
if ! build_root > "$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "build.sh: building the $suite root failed (log: $log)" >&2
	exit 1
fi
touch "$root.done"
rm -f "$log"
echo "$root"
