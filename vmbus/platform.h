/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * platform.h - the one place where the freestanding vmbus core meets its
 * environment: integer types, memcpy, errno values, and the memory barriers
 * used on memory shared with the other side of the bus.
 *
 * The core is compiled into the guest kernel module (Kbuild defines
 * __KERNEL__), into the host worker and into the userspace test guest.
 * Nothing else in vmbus/ may include a system header.
 */
#ifndef VMBUS_PLATFORM_H
#define VMBUS_PLATFORM_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/compiler.h>
#include <linux/stddef.h>
#include <linux/build_bug.h>
#include <asm/barrier.h>

/* Shared memory is seen by another VM/host: use the virt_* barriers. */
#define vmbus_mb()  virt_mb()
#define vmbus_rmb() virt_rmb()
#define vmbus_wmb() virt_wmb()
#define vmbus_load_acquire(p)     smp_load_acquire(p)
#define vmbus_store_release(p, v) smp_store_release(p, v)
#define vmbus_read_once(x)        READ_ONCE(x)
#define vmbus_write_once(x, v)    WRITE_ONCE(x, v)
#define VMBUS_STATIC_ASSERT(c, m) static_assert(c, m)

#else /* userspace */
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>

#define vmbus_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vmbus_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define vmbus_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define vmbus_load_acquire(p)     __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define vmbus_store_release(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define vmbus_read_once(x)        __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define vmbus_write_once(x, v)    __atomic_store_n(&(x), v, __ATOMIC_RELAXED)
#define VMBUS_STATIC_ASSERT(c, m) _Static_assert(c, m)

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#endif

/*
 * The wire format is little-endian and both ends of a bus run on the same
 * machine, so structures are used in place; refuse to build elsewhere.
 */
VMBUS_STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
		    "openvmbus wire structures assume a little-endian CPU");

/* Round up to a multiple of 8 in the type of x (a 64-bit size keeps its high bits). */
#define VMBUS_ALIGN8(x) (((x) + 7u) & ~(__typeof__(x))7)

#endif /* VMBUS_PLATFORM_H */
