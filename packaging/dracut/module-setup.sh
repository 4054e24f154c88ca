#!/bin/bash
# dracut module 90openvmbus (openvmbus-guest): put the openvmbus kernel
# modules into the initramfs, so a root disk on the openvmbus storage driver
# can be mounted. The list is /usr/share/openvmbus/modules (from
# guest-linux/Kbuild); a module not built for this kernel is left out.

check() {
	[[ -r /usr/share/openvmbus/modules ]] || return 1
	return 0
}

depends() {
	return 0
}

# shellcheck disable=SC2154 # $kernel is set by dracut
installkernel() {
	local m
	for m in $(cat /usr/share/openvmbus/modules); do
		modinfo -k "$kernel" "$m" &>/dev/null && instmods "$m"
	done
	return 0
}
