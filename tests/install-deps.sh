#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# install-deps.sh: install the Debian 12 packages that building, linting and
# testing need, if any is missing. Needs root (or sudo) and Debian's archive.
#
#   both Debian kernels with headers: linux-image-amd64 + linux-headers-amd64
#   (6.1) and linux-image-6.12-amd64 + linux-headers-6.12-amd64 (6.12); the
#   kernel sources (checkpatch.pl, kselftest_harness.h, reference); QEMU,
#   busybox-static and cpio for the guests; kmod and libkmod-dev for the
#   guest loader; dkms; sparse; debhelper, dh-dkms and lintian for the
#   Debian package, debootstrap for the clean roots it is installed into;
#   bc, flex, bison, libelf-dev and libssl-dev
#   to build the debug kernel; xz-utils and zstd, which unpack a kernel's
#   vmlinuz for the VFIO backend's layout check (6.12's is zstd);
#   gnuplot-nox for make bench's chart.
set -euo pipefail

packages=(
	make gcc g++ libc6-dev perl xz-utils zstd cpio
	bc flex bison libelf-dev libssl-dev patch
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-source-6.1 linux-source-6.12
	qemu-system-x86 busybox-static kmod libkmod-dev dkms sparse
	debhelper dh-dkms lintian debootstrap gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=
if [ "$(id -u)" != 0 ]; then
	command -v sudo > /dev/null || {
		echo "install-deps: need root to install: ${missing[*]}" >&2
		exit 1
	}
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
