#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build.sh SUITE KERNEL-RELEASE... [--later PACKAGE...]: build (once per
# machine) a clean Debian root of SUITE (debootstrap from Debian's archive)
# as an operator's build machine looks before our package arrives: the
# given kernels' images and headers, dkms, a C library's headers (libc6-dev,
# which the package depends on) and what the package recommends (zstd,
# xz-utils), so that installing the package needs no download. Packages
# after --later (with apt's "name/release" where they come from another
# release, such as a backports kernel) are only downloaded, with what they
# depend on, into the root's /var/cache/iorp-later/, so a test can install
# them later with "apt-get install --no-download -o
# Dir::Cache::Archives=/var/cache/iorp-later/". Prints the root's directory.
#
# The root is cached outside the checkout in $IORP_CACHE (default
# /var/cache/iommu-replace)/roots/<suite>-<key>/, keyed by the suite, the
# kernels, the later packages and this script; tests use it as the lower
# layer of an overlay, so it stays clean. Building a new one removes the
# suite's older roots that no run is using (a user holds a shared flock on
# <root>.lock, as make check does); one build runs at a time (a lock in the
# cache).
# Its apt sources are SUITE, SUITE-updates and SUITE-backports (from
# $IORP_DEBIAN_MIRROR, default http://deb.debian.org/debian) and
# SUITE-security (from $IORP_DEBIAN_SECURITY, default
# http://deb.debian.org/debian-security), where Debian's current kernels
# are. Takes a few minutes the first time.
set -euo pipefail

suite=${1:?usage: build.sh SUITE KERNEL-RELEASE... [--later PACKAGE...]}
shift
kernels=() later=()
while [ $# -gt 0 ] && [ "$1" != --later ]; do
	kernels+=("$1")
	shift
done
[ $# -gt 0 ] && shift && later=("$@")
[ ${#kernels[@]} -gt 0 ] || { echo "build.sh: no kernel given" >&2; exit 1; }
mirror=${IORP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${IORP_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
cache=${IORP_CACHE:-/var/cache/iommu-replace}/roots
key=$( { echo "$suite $mirror $security ${kernels[*]} -- ${later[*]}"; cat "$0"; } |
	sha256sum | cut -c1-12)
root=$cache/$suite-$key

if [ -f "$root.done" ]; then
	echo "$root"
	exit 0
fi
mkdir -p "$cache"
exec 9> "$cache/.lock"
flock 9
if [ -f "$root.done" ]; then	# built while this waited
	echo "$root"
	exit 0
fi
command -v debootstrap > /dev/null ||
	{ echo "build.sh: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

log=$(mktemp /tmp/iorp-root-"$suite".XXXXXX.log)
echo "Debian root: building $suite in $root (log: $log)" >&2
# older roots of this suite, named as this script names them, unless a
# run is using one (an interrupted build may have left proc mounted in one)
for old in "$cache/$suite"-*; do
	[[ ${old#"$cache/$suite"-} =~ ^[0-9a-f]{12}$ ]] || continue
	exec 8> "$old.lock"
	if ! flock -xn 8; then
		echo "Debian root: $old is in use; left" >&2
		continue
	fi
	mountpoint -q "$old/proc" && umount "$old/proc"
	rm -rf --one-file-system "$old" "$old.done"
	rm -f "$old.lock"
done
exec 8>&-
packages=(dkms libc6-dev zstd xz-utils)
for k in "${kernels[@]}"; do
	packages+=("linux-image-$k" "linux-headers-$k")
done
# INITRD=No: no initramfs for the kernels (Debian's kernel hook honours
# it); nothing boots them with one (tests/qemu/run-lane makes its own), and
# each would cost a minute.
in_root() {
	chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		INITRD=No PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
unmount_proc() {
	if mountpoint -q "$root/proc"; then umount "$root/proc"; fi
}
trap unmount_proc EXIT
build_root() {
	debootstrap --variant=minbase "$suite" "$root" "$mirror" &&
	mount -t proc proc "$root/proc" || return 1
	printf 'deb %s %s main\n' "$mirror" "$suite" "$mirror" "$suite-updates" \
		"$mirror" "$suite-backports" "$security" "$suite-security" \
		> "$root/etc/apt/sources.list"
	in_root apt-get update -q &&
	in_root apt-get install -y -q --no-install-recommends "${packages[@]}" &&
	in_root apt-get clean || return 1
	[ ${#later[@]} -gt 0 ] || return 0
	mkdir -p "$root/var/cache/iorp-later/partial" &&
	in_root apt-get install -y -q --no-install-recommends --download-only \
		-o Dir::Cache::Archives=/var/cache/iorp-later/ "${later[@]}"
}
if ! build_root > "$log" 2>&1 || ! unmount_proc; then
	tail -n 30 "$log" >&2
	echo "build.sh: building the $suite root failed (log: $log)" >&2
	exit 1
fi
touch "$root.done"
rm -f "$log"
echo "$root"
