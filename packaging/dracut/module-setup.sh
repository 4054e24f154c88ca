#!/bin/bash
# dracut module 90openvmbus (openvmbus-guest): put the openvmbus kernel
# modules into the initramfs, so a root disk on the openvmbus storage driver
# can be mounted. The list is /usr/share/openvmbus/modules (from
# guest-linux/Kbuild); a module not built for this kernel is left out. udev
# loads them there from the devices' modaliases, and our storage rule gives
# the disks their /dev/disk/by-id/openvmbus-SERIAL names, so root= may name
# one.

check() {
	[[ -r /usr/share/openvmbus/modules ]] || return 1
	return 0
}

depends() {
	return 0
}

# Also in hostonly mode, where instmods takes only the modules loaded now:
# the package is there for a guest of an openvmbus host, which may move its
# root to a synthetic disk after the initramfs was made.
# shellcheck disable=SC2154 # $kernel is set by dracut
installkernel() {
	local m
	for m in $(cat /usr/share/openvmbus/modules); do
		modinfo -k "$kernel" "$m" &>/dev/null && hostonly='' instmods "$m"
	done
	return 0
}

install() {
	inst_rules 62-openvmbus-storage.rules
}
