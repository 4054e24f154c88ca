// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * classes.c - the table of known device classes (see classes.h).
 */
#include "classes.h"

#define VMBUS_CLASS_ENTRY(n, g, f) { .name = n, .guid = g, .flags = f },
static const struct vmbus_class_info vmbus_classes[] = {
	VMBUS_CLASS_TABLE(VMBUS_CLASS_ENTRY)
};

const struct vmbus_class_info *vmbus_class_by_guid(const struct vmbus_guid *g)
{
	unsigned int i;

	for (i = 0; i < sizeof(vmbus_classes) / sizeof(vmbus_classes[0]); i++)
		if (vmbus_guid_equal(&vmbus_classes[i].guid, g))
			return &vmbus_classes[i];
	return NULL;
}

const struct vmbus_class_info *vmbus_class_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(vmbus_classes) / sizeof(vmbus_classes[0]); i++)
		if (strcmp(vmbus_classes[i].name, name) == 0)
			return &vmbus_classes[i];
	return NULL;
}
