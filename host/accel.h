/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * accel.h - choosing KVM or TCG. /dev/kvm can exist and still be unable to
 * boot a standard kernel (nested, paravirtual KVM), so "auto" means: boot a
 * real kernel under KVM once, with a timeout, and use KVM only if it got as
 * far as printing a kernel panic for the missing root filesystem. The
 * verdict is cached per machine (CPU model and QEMU binary).
 */
#ifndef HOST_ACCEL_H
#define HOST_ACCEL_H

/*
 * Resolve "auto" to "kvm" or "tcg", using and updating cache_path (may be
 * NULL: no cache). kernel may be NULL: the newest /boot/vmlinuz-* is used.
 * why (optional, 128 bytes) says how the choice was made.
 */
const char *accel_resolve(const char *requested, const char *qemu, const char *kernel,
			  const char *cache_path, char *why);

#endif
