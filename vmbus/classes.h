/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * classes.h - device class identifiers offered on the bus, shared by the
 * host backends and the guest drivers. The short name is what users see:
 * sysfs, /dev/openvmbus/<name>, `vmbusctl channels`, VM definitions.
 */
#ifndef VMBUS_CLASSES_H
#define VMBUS_CLASSES_H

#include "guid.h"

#define VMBUS_CLASS_ECHO	VMBUS_GUID_INIT(0x6f766d62, 0x0001, 0x4e00, 0x8000, 0x6563686f0001ULL)
#define VMBUS_CLASS_HEARTBEAT	VMBUS_GUID_INIT(0x6f766d62, 0x0002, 0x4e00, 0x8000, 0x686561720001ULL)
#define VMBUS_CLASS_SHUTDOWN	VMBUS_GUID_INIT(0x6f766d62, 0x0003, 0x4e00, 0x8000, 0x736864770001ULL)
#define VMBUS_CLASS_TIMESYNC	VMBUS_GUID_INIT(0x6f766d62, 0x0004, 0x4e00, 0x8000, 0x74696d650001ULL)
#define VMBUS_CLASS_KVP		VMBUS_GUID_INIT(0x6f766d62, 0x0005, 0x4e00, 0x8000, 0x6b7670000001ULL)
#define VMBUS_CLASS_BACKUP	VMBUS_GUID_INIT(0x6f766d62, 0x0006, 0x4e00, 0x8000, 0x626b75700001ULL)
#define VMBUS_CLASS_STORAGE	VMBUS_GUID_INIT(0x6f766d62, 0x0007, 0x4e00, 0x8000, 0x626c6b000001ULL)
#define VMBUS_CLASS_NET		VMBUS_GUID_INIT(0x6f766d62, 0x0008, 0x4e00, 0x8000, 0x6e6574000001ULL)
#define VMBUS_CLASS_VIDEO	VMBUS_GUID_INIT(0x6f766d62, 0x0009, 0x4e00, 0x8000, 0x766964000001ULL)
#define VMBUS_CLASS_CRASH	VMBUS_GUID_INIT(0x6f766d62, 0x000a, 0x4e00, 0x8000, 0x637273680001ULL)

/*
 * Classes served to userspace through /dev/openvmbus/<name> (the guest's
 * character-device bridge) rather than by a kernel driver of their own.
 */
#define VMBUS_CLASS_FLAG_USERSPACE	0x1u

struct vmbus_class_info {
	const char *name;
	struct vmbus_guid guid;
	unsigned int flags;
};

#define VMBUS_CLASS_TABLE(X)						\
	X("echo",      VMBUS_CLASS_ECHO,      VMBUS_CLASS_FLAG_USERSPACE)	\
	X("heartbeat", VMBUS_CLASS_HEARTBEAT, VMBUS_CLASS_FLAG_USERSPACE)	\
	X("shutdown",  VMBUS_CLASS_SHUTDOWN,  VMBUS_CLASS_FLAG_USERSPACE)	\
	X("timesync",  VMBUS_CLASS_TIMESYNC,  0)				\
	X("kvp",       VMBUS_CLASS_KVP,       VMBUS_CLASS_FLAG_USERSPACE)	\
	X("backup",    VMBUS_CLASS_BACKUP,    VMBUS_CLASS_FLAG_USERSPACE)	\
	X("storage",   VMBUS_CLASS_STORAGE,   0)				\
	X("net",       VMBUS_CLASS_NET,       0)				\
	X("video",     VMBUS_CLASS_VIDEO,     0)				\
	X("crash",     VMBUS_CLASS_CRASH,     0)

/* Look up by GUID or by name; NULL when unknown. */
const struct vmbus_class_info *vmbus_class_by_guid(const struct vmbus_guid *g);
const struct vmbus_class_info *vmbus_class_by_name(const char *name);

#endif /* VMBUS_CLASSES_H */
