// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * storage_config_test.c - the [Storage] section of VM definitions
 * (host/config.c): Disk= specs with their options are parsed, bad ones
 * refused with the line number, more than CONFIG_MAX_DISKS refused, the
 * QEMU boot disk ([VM] Disk=) kept apart, and config_save() writes back
 * what config_load() reads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/config.h"
#include "tests/lib/test.h"

static void test_parse(void)
{
	struct config_disk d;

	CHECK_EQ(config_parse_disk("/a/b.img", &d), 0);
	CHECK(strcmp(d.path, "/a/b.img") == 0 && !d.readonly && d.serial[0] == '\0');
	free(d.path);
	CHECK_EQ(config_parse_disk("/x.img,readonly,serial=ABC-123", &d), 0);
	CHECK(strcmp(d.path, "/x.img") == 0 && d.readonly && strcmp(d.serial, "ABC-123") == 0);
	free(d.path);
	CHECK_EQ(config_parse_disk("/x.img,serial=12345678901234567890", &d), 0);
	free(d.path);
	CHECK_EQ(config_parse_disk("relative.img", &d), -EINVAL);
	CHECK_EQ(config_parse_disk("", &d), -EINVAL);
	CHECK_EQ(config_parse_disk("/x.img,readwrite", &d), -EINVAL);
	CHECK_EQ(config_parse_disk("/x.img,serial=", &d), -EINVAL);
	CHECK_EQ(config_parse_disk("/x.img,serial=123456789012345678901", &d), -EINVAL);
	CHECK_EQ(config_parse_disk("/x.img,serial=a b", &d), -EINVAL);
}

static int load_text(const char *text, struct vm_config *c, unsigned int *line)
{
	char path[] = "/tmp/ovmb-cfg-XXXXXX";
	int fd = mkstemp(path), r;

	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	config_init(c);
	*line = 0;
	r = config_load(c, path, line);
	unlink(path);
	return r;
}

static void test_load_save(void)
{
	struct vm_config c, c2;
	char path[] = "/tmp/ovmb-cfg-XXXXXX";
	unsigned int line;
	int fd;

	CHECK_EQ(load_text("[VM]\nName=t\nDisk=/boot.img\n[Storage]\nDisk=/a.img,serial=S1\n"
			   "Disk=/b.img,readonly\n", &c, &line), 0);
	CHECK(strcmp(c.disk, "/boot.img") == 0);
	CHECK_EQ(c.ndisks, 2);
	CHECK(strcmp(c.disks[0].path, "/a.img") == 0 && strcmp(c.disks[0].serial, "S1") == 0);
	CHECK(strcmp(c.disks[1].path, "/b.img") == 0 && c.disks[1].readonly);

	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(config_save(&c, path), 0);
	config_init(&c2);
	CHECK_EQ(config_load(&c2, path, &line), 0);
	unlink(path);
	CHECK_EQ(c2.ndisks, 2);
	CHECK(strcmp(c2.disks[0].path, "/a.img") == 0 && strcmp(c2.disks[0].serial, "S1") == 0 &&
	      !c2.disks[0].readonly);
	CHECK(strcmp(c2.disks[1].path, "/b.img") == 0 && c2.disks[1].readonly);
	CHECK(strcmp(c2.disk, "/boot.img") == 0);
	config_free(&c);
	config_free(&c2);

	CHECK_EQ(load_text("[VM]\nName=t\n[Storage]\nDisk=/a.img\nDisk=nope\n", &c, &line), -EINVAL);
	CHECK_EQ(line, 5);
	config_free(&c);
	{
		char text[1024] = "[VM]\nName=t\n[Storage]\n";

		for (int i = 0; i <= CONFIG_MAX_DISKS; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "Disk=/d%d.img\n", i);
		CHECK_EQ(load_text(text, &c, &line), -E2BIG);
		CHECK_EQ(line, 3 + CONFIG_MAX_DISKS + 1);
		config_free(&c);
	}
}

int main(void)
{
	test_parse();
	test_load_save();
	printf("storage_config_test: ok\n");
	return 0;
}
