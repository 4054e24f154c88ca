# shellcheck shell=bash
# tests/vm/debian.sh - boot a real Debian 12 guest (systemd, udev, dbus,
# logind) with our kernel modules and openvmbusd, for tests of the
# integration services that need a whole distribution. Sourced after lib.sh:
#
#   . "${BASH_SOURCE%/*}/lib.sh"
#   . "${BASH_SOURCE%/*}/debian.sh"
#   vm_require
#   vm_debian_require                        # exit 77 without mmdebstrap/root
#   vm_debian_image "$VM_WORK/disk.img"      # cached image, private copy
#   vm_debian_initramfs -s - "$VM_WORK/initrd" <<'EOF'
#   check running systemctl is-system-running --wait
#   EOF
#   vm_debian_run -n deb -m 1G "$VM_WORK/disk.img" "$VM_WORK/initrd"
#   vm_finish deb/running
#
# The image (raw ext4, root on /dev/vda): mmdebstrap --variant=minbase
# bookworm with $VM_DEBIAN_PACKAGES, the host's /lib/modules/$VM_KVER, our
# build/kmod/*.ko in /lib/modules/$VM_KVER/extra (depmod run), openvmbusd at
# /usr/sbin/openvmbusd with guest-linux/openvmbusd/openvmbusd.service and its
# udev rule, serial-getty@ttyS0 masked (the test owns ttyS0), and
# vmtest.service, which runs the test's script at multi-user.target under
# bash with /lib/vmtest.sh (lib.sh's guest helpers), prints its RESULT
# lines, the dmesg and GUEST-DONE on /dev/ttyS0 and then `systemctl poweroff`
# (unless the test sets VMTEST_HOST_POWEROFF=1: then the host shuts it down).
#
# The Debian kernel has virtio_blk and ext4 as modules, so the guest boots
# with a small initramfs (vm_debian_initramfs: lib.sh's busybox base with
# virtio_pci, virtio_blk and ext4) whose /debinit mounts /dev/vda, copies
# the test's script, environment and /opt files into the root and
# switch_roots to systemd. The test's files thus never touch the cache.
#
# A test that boots a root with its own initramfs (root on a synthetic disk,
# tests/vm/packages.test) writes its files into the tree before
# vm_debian_mkimage instead (vm_debian_test_files) and boots with
# vm_debian_run -S SERIAL: no /debinit, no virtio disk.
#
# Cache (build/vm/cache, shared, under lib.sh's lock): debian-base-KEY.tar
# (the mmdebstrap output, keyed by suite, mirror and package list) and
# debian-KEY.img (keyed by the base, the kernel release and its modules,
# our modules, openvmbusd, its unit and this file). Each run copies the image
# (cp --reflink=auto --sparse=always). Building needs root (file owners).
#
# Environment: OPENVMBUS_DEBIAN_MIRROR (default: mmdebstrap's,
# deb.debian.org), VM_DEBIAN_SUITE (bookworm).

VM_DEBIAN_LIB=$(realpath "${BASH_SOURCE[0]}")
VM_DEBIAN_SUITE=${VM_DEBIAN_SUITE:-bookworm}
VM_DEBIAN_PACKAGES=${VM_DEBIAN_PACKAGES:-systemd-sysv,udev,dbus,kmod,iproute2,chrony}
VM_DEBIAN_UNIT=$VM_TOP/guest-linux/openvmbusd/openvmbusd.service
VM_DEBIAN_IMAGE_SECONDS=''	# what vm_debian_image took
VM_DEBIAN_IMAGE_HOW=''		# "cache hit", "built (base cached)", "built"

# The udev rule that starts openvmbusd when a service device appears, as
# openvmbus-guest ships it.
VM_DEBIAN_UDEV_RULE=$VM_TOP/packaging/common/60-openvmbusd.rules

# vm_debian_require: exit 77 when no Debian image can be had here.
vm_debian_require() {
	local f
	PATH=$PATH:/usr/sbin:/sbin
	for f in "$BUILD/guest/openvmbusd" "$VM_DEBIAN_UNIT"; do
		[[ -e $f ]] || vm_die "$f missing (run make)"
	done
	# A cached image for the current inputs needs none of the build tools.
	[[ -n $(_vm_debian_cached) ]] && return 0
	command -v mmdebstrap >/dev/null ||
		vm_skip "mmdebstrap not found (make deps installs it; the Debian guest image is built with it)"
	command -v mkfs.ext4 >/dev/null || vm_skip "mkfs.ext4 not found (make deps installs e2fsprogs)"
	((EUID == 0)) ||
		vm_skip "building the Debian guest image needs root (mmdebstrap and mkfs.ext4 -d keep file owners)"
}

_vm_debian_base_key() {
	printf '%s\n' "$VM_DEBIAN_SUITE" "${OPENVMBUS_DEBIAN_MIRROR:-}" "$VM_DEBIAN_PACKAGES" |
		sha256sum | cut -c1-16
}

_vm_debian_key() {
	{
		_vm_debian_base_key
		echo "$VM_KVER"
		stat -c '%n %s %Y' "/lib/modules/$VM_KVER/modules.dep"
		sha256sum "$VM_DEBIAN_LIB" "$VM_LIB" "$VM_DEBIAN_UNIT" "$VM_DEBIAN_UDEV_RULE" "$BUILD/guest/openvmbusd" "$BUILD"/kmod/*.ko
	} 2>/dev/null | sha256sum | cut -c1-16
}

# _vm_debian_cached: the cached image for the current inputs, if there is one.
_vm_debian_cached() {
	local img
	img=$VM_CACHE/debian-$(_vm_debian_key).img
	[[ -s $img ]] && echo "$img"
}

# vm_debian_image OUT: a private copy of the (cached) Debian image at OUT.
vm_debian_image() {
	local out=$1 img start ms
	start=$(date +%s%N)
	img=$VM_CACHE/debian-$(_vm_debian_key).img
	VM_DEBIAN_IMAGE_HOW='cache hit'
	_vm_cache_lock
	if [[ ! -s $img ]]; then
		_vm_debian_build "$img" || { _vm_cache_unlock; vm_die "cannot build the Debian image ${img#"$PWD"/} (see above)"; }
	fi
	_vm_cache_unlock
	cp --reflink=auto --sparse=always "$img" "$out" || vm_die "cannot copy $img to $out"
	ms=$((($(date +%s%N) - start) / 1000000))
	VM_DEBIAN_IMAGE_SECONDS=$((ms / 1000)).$((ms % 1000 / 100))
	vm_log "debian image: $VM_DEBIAN_IMAGE_HOW in $VM_DEBIAN_IMAGE_SECONDS s (${img#"$PWD"/})"
}

# _vm_debian_base: the cached mmdebstrap tarball in VM_DEBIAN_BASE, built
# if needed (its time in VM_DEBIAN_BASE_SECONDS).
VM_DEBIAN_BASE='' VM_DEBIAN_BASE_SECONDS=''
_vm_debian_base() {
	local tar mirror=() start
	tar=$VM_CACHE/debian-base-$(_vm_debian_base_key).tar
	VM_DEBIAN_BASE=$tar
	if [[ ! -s $tar ]]; then
		VM_DEBIAN_IMAGE_HOW=built
		start=$SECONDS
		[[ -n ${OPENVMBUS_DEBIAN_MIRROR:-} ]] && mirror=("$OPENVMBUS_DEBIAN_MIRROR")
		vm_log "debian image: mmdebstrap --variant=minbase --include=$VM_DEBIAN_PACKAGES $VM_DEBIAN_SUITE"
		rm -f "$tar.tmp.tar"
		mmdebstrap --quiet --variant=minbase --include="$VM_DEBIAN_PACKAGES" \
			"$VM_DEBIAN_SUITE" "$tar.tmp.tar" ${mirror[@]+"${mirror[@]}"} >&2 || return 1
		mv "$tar.tmp.tar" "$tar" || return 1
		# Keep the two newest: debian.test and packages.test use different lists.
		find "$VM_CACHE" -maxdepth 1 -name 'debian-base-*.tar' -printf '%T@ %p\n' |
			sort -rn | tail -n +3 | cut -d' ' -f2- | xargs -r -d '\n' rm -f
		VM_DEBIAN_BASE_SECONDS=$((SECONDS - start))
		vm_log "debian image: mmdebstrap took $VM_DEBIAN_BASE_SECONDS s"
	fi
}

# _vm_debian_build IMG: the whole image, from the (cached) base.
_vm_debian_build() {
	local img=$1 tar root
	VM_DEBIAN_IMAGE_HOW='built (base cached)'
	((EUID == 0)) || { echo "FAIL: building the Debian image needs root" >&2; return 1; }
	_vm_debian_base || return 1
	tar=$VM_DEBIAN_BASE
	root=$img.d
	rm -rf "$root"
	mkdir -p "$root"
	tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$tar" || return 1
	_vm_debian_customize_ours "$root" && _vm_debian_customize "$root" || return 1
	vm_debian_mkimage "$root" "$img" || return 1
	rm -rf "$root"
	find "$VM_CACHE" -maxdepth 1 -name 'debian-*.img' ! -name "${img##*/}" -delete
}

# vm_debian_root ROOT: the (cached) base with the system and test-runner
# setup but none of our files, extracted into the directory ROOT, for tests
# that install our packages themselves (tests/vm/packages.test). Needs root.
vm_debian_root() {
	local root=$1
	_vm_cache_lock
	_vm_debian_base || { _vm_cache_unlock; return 1; }
	_vm_cache_unlock
	rm -rf "$root"
	mkdir -p "$root"
	tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$VM_DEBIAN_BASE" &&
		_vm_debian_customize "$root"
}

# vm_debian_mkimage ROOT IMG: a raw ext4 image of the tree ROOT with room
# for the tests: the tree plus 512 MiB (a sparse file).
vm_debian_mkimage() {
	local root=$1 img=$2 size
	size=$(($(du -sm "$root" | cut -f1) + 512))
	rm -f "$img.tmp"
	truncate -s "${size}M" "$img.tmp" &&
		mkfs.ext4 -q -F -L debian -d "$root" "$img.tmp" &&
		mv "$img.tmp" "$img"
}

# _vm_debian_customize_ours ROOT: our modules and openvmbusd, installed by
# hand the way the packages install them.
_vm_debian_customize_ours() {
	local root=$1 mods sys=$1/usr/lib/systemd/system wants=$1/etc/systemd/system/multi-user.target.wants
	# The Debian kernel's modules, ours in extra/, depmod for this root.
	mods=$root/usr/lib/modules/$VM_KVER
	mkdir -p "$mods/extra"
	cp -a "/lib/modules/$VM_KVER/." "$mods/" || return 1
	rm -f "$mods/build" "$mods/source"
	cp "$BUILD"/kmod/*.ko "$mods/extra/" || return 1
	depmod -b "$root" "$VM_KVER" || return 1

	# openvmbusd as it will be packaged.
	install -m 755 "$BUILD/guest/openvmbusd" "$root/usr/sbin/openvmbusd" || return 1
	install -m 644 "$VM_DEBIAN_UNIT" "$sys/openvmbusd.service" || return 1
	mkdir -p "$root/usr/lib/udev/rules.d" "$wants"
	install -m 644 "$VM_DEBIAN_UDEV_RULE" "$root/usr/lib/udev/rules.d/60-openvmbusd.rules" || return 1
	ln -sf /usr/lib/systemd/system/openvmbusd.service "$wants/openvmbusd.service"
	chroot "$root" ldd /usr/sbin/openvmbusd | grep -q 'not found' &&
		{ echo "FAIL: openvmbusd lacks libraries in the image" >&2; return 1; }
	return 0
}

# _vm_debian_customize ROOT: the system and the test runner.
_vm_debian_customize() {
	local root=$1 sys=$1/usr/lib/systemd/system wants=$1/etc/systemd/system/multi-user.target.wants
	mkdir -p "$wants"
	# The system.
	echo debian-vm >"$root/etc/hostname"
	echo '/dev/vda / ext4 rw,errors=remount-ro 0 0' >"$root/etc/fstab"
	tr -d - </proc/sys/kernel/random/uuid >"$root/etc/machine-id"
	# The test reads host replies from ttyS0: no getty there.
	ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"

	# The test runner.
	local tmp
	tmp=$(mktemp -d) || return 1
	_vm_write_guest_files "$tmp" 2>/dev/null
	install -m 644 "$tmp/lib/vmtest.sh" "$root/usr/lib/vmtest.sh" || return 1
	rm -rf "$tmp"
	mkdir -p "$root/opt/vmtest"
	cat >"$root/opt/vmtest/run" <<'EOF'
#!/bin/bash
# Run by vmtest.service (tests/vm/debian.sh): the test's script with
# lib.sh's guest helpers, then the kernel log, the verdict, power off.
# /debinit said when userspace began; for a guest booted by its own
# initramfs (vm_debian_run -S) the kernel log says it.
grep -q 'rdinit=/debinit' /proc/cmdline ||
	echo "GUEST-USERSPACE $(dmesg | sed -n 's/^\[ *\([0-9.]*\)\] Run .* as init process$/\1/p' | head -n1)"
echo "GUEST-SYSTEMD-TEST $(cut -d' ' -f1 /proc/uptime)"
bash -c '. /lib/vmtest.sh; [ -r /etc/vmtest/env ] && . /etc/vmtest/env; cd /opt/vmtest && . ./test.sh'
rc=$?
echo GUEST-DMESG-BEGIN
dmesg
echo GUEST-DMESG-END
echo "GUEST-DONE $rc"
sync
# A test of the host's shutdown leaves the power-off to the host.
[ -r /etc/vmtest/env ] && . /etc/vmtest/env
if [ "${VMTEST_HOST_POWEROFF:-0}" = 1 ]; then
	echo "GUEST-AWAITS-HOST-POWEROFF"
	exit 0
fi
systemctl poweroff --no-block
EOF
	chmod 755 "$root/opt/vmtest/run"
	cat >"$sys/vmtest.service" <<'EOF'
[Unit]
Description=openvmbus VM test runner (tests/vm/debian.sh)
After=multi-user.target
ConditionPathExists=/opt/vmtest/test.sh

[Service]
# Not oneshot: the boot must finish while the test waits for it.
Type=simple
ExecStart=/opt/vmtest/run
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
EOF
	ln -sf /usr/lib/systemd/system/vmtest.service "$wants/vmtest.service"
}

# vm_debian_test_files [-e NAME=VALUE]... [-s SCRIPT] ROOT [SRC[:DEST]...]
# The test's script, environment and files written into the tree ROOT, where
# vmtest.service finds them: what /debinit copies into the root at boot, for
# a guest that boots with the image's own initramfs (vm_debian_run -S).
# Same arguments as vm_debian_initramfs; VM_DEBIAN_TEST_FILES lists what was
# written, for a tree that is used again afterwards.
VM_DEBIAN_TEST_FILES=()
vm_debian_test_files() {
	local env=() script='' opt OPTIND=1 v val spec src dest
	while getopts 'e:s:' opt; do
		case $opt in
		e) env+=("$OPTARG") ;;
		s) script=$OPTARG ;;
		*) vm_die "vm_debian_test_files: bad option" ;;
		esac
	done
	shift $((OPTIND - 1))
	(($# >= 1)) || vm_die "vm_debian_test_files: no root"
	local root=$1
	shift
	[[ -d $root/opt/vmtest && -e $root/usr/lib/systemd/system/vmtest.service ]] ||
		vm_die "vm_debian_test_files: $root has no test runner (vm_debian_root makes it)"
	mkdir -p "$root/etc/vmtest"
	VM_DEBIAN_TEST_FILES=("$root/etc/vmtest" "$root/opt/vmtest/test.sh")
	for v in ${env[@]+"${env[@]}"}; do
		[[ $v == [A-Za-z_]*=* ]] || vm_die "vm_debian_test_files: -e wants NAME=VALUE, not '$v'"
		val=${v#*=}
		printf "export %s='%s'\n" "${v%%=*}" "${val//\'/\'\\\'\'}"
	done >"$root/etc/vmtest/env"
	case $script in
	'') : >"$root/opt/vmtest/test.sh" ;;
	-) cat >"$root/opt/vmtest/test.sh" ;;
	*) cp "$script" "$root/opt/vmtest/test.sh" || vm_die "cannot read guest script $script" ;;
	esac
	for spec; do
		src=${spec%%:*} dest=${spec#*:}
		[[ $spec == *:* ]] || dest=/opt/${src##*/}
		[[ $dest == /opt/* ]] || vm_die "vm_debian_test_files: $spec: DEST must be under /opt"
		mkdir -p "$root/$(dirname "$dest")"
		cp -a "$src" "$root/$dest" || vm_die "cannot copy $src into $root"
		VM_DEBIAN_TEST_FILES+=("$root$dest")
	done
}

# vm_debian_initramfs [-e NAME=VALUE]... [-s SCRIPT] OUT [SRC[:DEST]...]
# The boot initramfs for a Debian image, carrying the test's script (run by
# bash under systemd, with /lib/vmtest.sh), its environment and files; DEST
# must be under /opt (default /opt/BASENAME), the script runs in /opt/vmtest.
vm_debian_initramfs() {
	local args=() opt OPTIND=1 init=$VM_WORK/debinit
	while getopts 'e:s:' opt; do
		case $opt in
		e|s) args+=("-$opt" "$OPTARG") ;;
		*) vm_die "vm_debian_initramfs: bad option" ;;
		esac
	done
	shift $((OPTIND - 1))
	(($# >= 1)) || vm_die "vm_debian_initramfs: no output file"
	local out=$1 spec
	shift
	for spec; do
		[[ $spec != *:* || ${spec#*:} == /opt/* ]] || vm_die "vm_debian_initramfs: $spec: DEST must be under /opt"
	done
	cat >"$init" <<'EOF'
#!/bin/sh
# /debinit (tests/vm/debian.sh): mount the Debian root from /dev/vda, give
# it the test's files, hand over to systemd.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "GUEST-USERSPACE $(cut -d' ' -f1 /proc/uptime)"
fail() { echo "debinit: $*"; echo "GUEST-DONE 1"; poweroff -f; }
modprobe -a virtio_pci virtio_blk ext4 || fail "cannot load virtio_pci virtio_blk ext4"
i=0
while [ ! -b /dev/vda ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "no /dev/vda after 10 s"
	sleep 0.1
done
mkdir -p /newroot
mount -t ext4 -o rw /dev/vda /newroot || fail "cannot mount /dev/vda"
mkdir -p /newroot/opt/vmtest /newroot/etc/vmtest
cp /test.sh /newroot/opt/vmtest/test.sh && cp /etc/vmtest/env /newroot/etc/vmtest/env &&
	cp -a /opt/. /newroot/opt/ || fail "cannot copy the test into the root"
echo "GUEST-SWITCH-ROOT $(cut -d' ' -f1 /proc/uptime)"
umount -l /dev /sys /proc
exec switch_root /newroot /sbin/init
EOF
	chmod 755 "$init"
	vm_build_initramfs -m "virtio_pci virtio_blk ext4" ${args[@]+"${args[@]}"} "$out" "$init:/debinit" "$@"
}

# vm_debian_run [-n NAME] [-m MEM] [-c CPUS] [-t SECONDS] [-a APPEND] [-S SERIAL] IMAGE INITRD [-- QEMU-ARGS...]
# vm_run with the image as a virtio disk and /debinit as the first process.
# With -S, the image is instead the guest's synthetic disk with serial
# number SERIAL (VM_STORAGE of tests/vm/worker-launch, the VM_LAUNCHER this
# needs) and INITRD the image's own initramfs, which mounts
# root=/dev/disk/by-id/openvmbus-SERIAL; the test's files must be in the
# image (vm_debian_test_files).
# Also sets VM_DEBIAN_MULTIUSER (guest uptime when the test started, i.e.
# multi-user.target reached) and VM_DEBIAN_SWITCH_ROOT (/debinit only).
vm_debian_run() {
	local opts=() append='' serial='' opt OPTIND=1
	while getopts 'n:m:c:t:a:S:' opt; do
		case $opt in
		a) append+=" $OPTARG" ;;
		S) serial=$OPTARG ;;
		n|m|c|t) opts+=("-$opt" "$OPTARG") ;;
		*) vm_die "vm_debian_run: bad option" ;;
		esac
	done
	shift $((OPTIND - 1))
	(($# >= 2)) || vm_die "vm_debian_run: IMAGE INITRD wanted"
	local img=$1 initrd=$2 rc
	shift 2
	[[ ${1:-} == -- ]] && shift
	if [[ -z $serial ]]; then
		vm_run ${opts[@]+"${opts[@]}"} -a "rdinit=/debinit$append" "$initrd" -- \
			-drive "file=$img,if=virtio,format=raw" "$@"
		rc=$?
	else
		[[ $VM_LAUNCHER == *worker-launch* ]] ||
			vm_die "vm_debian_run -S: the synthetic root disk needs VM_LAUNCHER=tests/vm/worker-launch"
		VM_STORAGE="$img,serial=$serial${VM_STORAGE:+$'\n'$VM_STORAGE}" \
			vm_run ${opts[@]+"${opts[@]}"} -a "root=/dev/disk/by-id/openvmbus-$serial ro$append" \
			"$initrd" -- "$@"
		rc=$?
	fi
	VM_DEBIAN_SWITCH_ROOT=$(grep -a -m1 '^GUEST-SWITCH-ROOT ' "$VM_CONSOLE" | cut -d' ' -f2)
	VM_DEBIAN_MULTIUSER=$(grep -a -m1 'GUEST-SYSTEMD-TEST ' "$VM_CONSOLE" | sed 's/.*GUEST-SYSTEMD-TEST //')
	vm_log "debian boot: switch_root at ${VM_DEBIAN_SWITCH_ROOT:-?} s, test started (multi-user) at ${VM_DEBIAN_MULTIUSER:-?} s guest time"
	return $rc
}
