#!/bin/bash
# deps.sh - install every Debian package the build, tests, benchmarks and
# demo need. Idempotent: when everything is present it only runs dpkg-query.
set -euo pipefail

packages=(
	build-essential pkg-config clang llvm libclang-rt-14-dev	# build, fuzz
	linux-image-amd64 linux-headers-amd64 kmod			# guest kernel + modules
	qemu-system-x86 qemu-utils busybox-static cpio			# VM tests
	liburing-dev libsystemd-dev libssl-dev				# worker (io_uring, SHA-256), daemon
	fio e2fsprogs xz-utils						# storage tests, bench, VM boot
	xfsprogs udev							# storage test: mkfs.xfs, xfs_repair, udevadm
	kexec-tools							# kexec test of the guest bus
	mmdebstrap							# Debian guest image (tests/vm/debian.sh)
	debhelper dh-dkms dkms lintian rpm rpmlint			# make deb, make rpm, tests/vm/packages.test
	systemd man-db procps						# packages.test: systemd-analyze verify, man pages, pgrep
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi
if ((EUID != 0)); then
	echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
