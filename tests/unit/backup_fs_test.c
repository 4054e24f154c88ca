// SPDX-License-Identifier: GPL-2.0
/*
 * backup_fs_test.c - which filesystems the guest daemon freezes for a
 * backup, decided from mountinfo text (guest-linux/openvmbusd/backup_fs.c):
 * one mount per superblock (bind mounts, btrfs subvolumes), root last,
 * pseudo/network/FUSE/read-only/deviceless filesystems left out, loop
 * devices on frozen filesystems left out (also through a chain of loops),
 * escapes in mount points, stacked root mounts, malformed input.
 */
#include <errno.h>

#include "guest-linux/openvmbusd/backup_fs.h"
#include "tests/lib/test.h"

struct fake_loop {
	unsigned int major, minor;
	const char *backing;
};

static int fake_backing(void *ctx, unsigned int major, unsigned int minor, char *buf, size_t size)
{
	const struct fake_loop *l;

	for (l = ctx; l && l->backing; l++)
		if (l->major == major && l->minor == minor) {
			snprintf(buf, size, "%s", l->backing);
			return 1;
		}
	return 0;
}

static struct backup_fs_table table_of(const char *text, const struct fake_loop *loops)
{
	struct backup_fs_table t;

	CHECK_EQ(backup_fs_parse(text, strlen(text), &t), 0);
	CHECK_EQ(backup_fs_select(&t, fake_backing, (void *)loops), 0);
	return t;
}

/* The mount points frozen, in order, joined by '|'. */
static const char *order_of(const struct backup_fs_table *t)
{
	static char buf[1024];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < t->n_order; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "|" : "",
					t->mounts[t->order[i]].mount_point);
	return buf;
}

static const struct backup_fs_mount *mount_at(const struct backup_fs_table *t, const char *mp)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->mounts[i].mount_point, mp) == 0)
			return &t->mounts[i];
	fprintf(stderr, "no mount at %s\n", mp);
	exit(1);
}

#define CHECK_STR(a, b) do {								\
	if (strcmp((a), (b)) != 0) {							\
		fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__, (a), (b));	\
		exit(1);								\
	}										\
} while (0)

/* A Debian guest under systemd with everything the VM test mounts, and more. */
static const char debian[] =
	"22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,errors=remount-ro\n"
	"23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
	"24 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	"25 22 0:5 / /dev rw,nosuid,relatime shared:8 - devtmpfs devtmpfs rw,size=492024k,mode=755\n"
	"26 23 0:6 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:3 - securityfs securityfs rw\n"
	"27 25 0:23 / /dev/shm rw,nosuid,nodev shared:9 - tmpfs tmpfs rw\n"
	"28 25 0:24 / /dev/pts rw,nosuid,noexec,relatime shared:10 - devpts devpts rw,gid=5,mode=620\n"
	"29 22 0:25 / /run rw,nosuid,nodev shared:13 - tmpfs tmpfs rw,size=200000k,mode=755\n"
	"30 29 0:26 / /run/lock rw,nosuid,nodev,noexec,relatime shared:14 - tmpfs tmpfs rw,size=5120k\n"
	"31 23 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n"
	"32 23 0:28 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:5 - pstore pstore rw\n"
	"33 23 0:29 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:6 - bpf bpf rw,mode=700\n"
	"34 24 0:30 / /proc/sys/fs/binfmt_misc rw,relatime shared:15 - autofs systemd-1 rw,fd=29\n"
	"35 25 0:19 / /dev/mqueue rw,nosuid,nodev,noexec,relatime shared:16 - mqueue mqueue rw\n"
	"36 23 0:7 / /sys/kernel/debug rw,nosuid,nodev,noexec,relatime shared:17 - debugfs debugfs rw\n"
	"37 23 0:12 / /sys/kernel/tracing rw,nosuid,nodev,noexec,relatime shared:18 - tracefs tracefs rw\n"
	"38 23 0:31 / /sys/fs/fuse/connections rw,nosuid,nodev,noexec,relatime shared:19 - fusectl fusectl rw\n"
	"39 23 0:20 / /sys/kernel/config rw,nosuid,nodev,noexec,relatime shared:20 - configfs configfs rw\n"
	"40 29 0:32 / /run/credentials/systemd-sysctl.service ro,nosuid,nodev,noexec,relatime shared:21 - ramfs ramfs rw,mode=700\n"
	"41 22 0:33 / /tmp rw,relatime shared:22 - tmpfs tmpfs rw\n"
	"42 22 254:16 / /mnt/data rw,relatime shared:23 - xfs /dev/vdb rw,attr2,inode64\n"
	"43 22 254:16 /sub /mnt/bind rw,relatime shared:23 - xfs /dev/vdb rw,attr2,inode64\n"
	"44 22 254:16 / /mnt/robind ro,relatime shared:23 - xfs /dev/vdb rw,attr2,inode64\n"
	"45 22 254:32 / /mnt/ro ro,relatime shared:24 - ext4 /dev/vdc ro\n"
	"46 22 0:34 / /mnt/tmp rw,relatime shared:25 - tmpfs tmpfs rw\n"
	"47 22 7:0 / /mnt/loopt rw,relatime shared:26 - ext4 /dev/loop0 rw\n"
	"48 22 7:1 / /mnt/loopr rw,relatime shared:27 - ext4 /dev/loop1 rw\n"
	"49 22 0:35 / /mnt/nfs rw,relatime shared:28 - nfs4 server:/export rw,vers=4.2\n"
	"50 22 0:36 / /mnt/ssh rw,nosuid,nodev,relatime shared:29 - fuse.sshfs me@host:/ rw,user_id=0\n"
	"51 22 0:37 / /mnt/ovl rw,relatime shared:30 - overlay overlay rw,lowerdir=/a,upperdir=/b\n"
	"52 22 0:38 /@home /mnt/b1 rw,relatime shared:31 - btrfs /dev/vde rw,subvolid=256\n"
	"53 22 0:38 /@var /mnt/b2 rw,relatime shared:32 - btrfs /dev/vde rw,subvolid=257\n"
	"54 22 254:48 / /mnt/with\\040space rw,relatime shared:33 - ext4 /dev/vdd rw\n"
	"55 22 8:1 / /mnt/usb rw,relatime shared:34 - fuseblk /dev/sda1 rw,user_id=0\n"
	"56 22 0:39 / /mnt/share rw,relatime shared:35 - virtiofs hostshare rw\n";

static const struct fake_loop debian_loops[] = {
	{ 7, 0, "/mnt/tmp/loopt.img" },
	{ 7, 1, "/var/tmp/loopr.img" },
	{ 0, 0, NULL },
};

static void test_debian(void)
{
	struct backup_fs_table t = table_of(debian, debian_loops);
	const struct backup_fs_mount *m;

	CHECK_EQ(t.n, 35);
	CHECK_STR(order_of(&t), "/mnt/data|/mnt/loopt|/mnt/b1|/mnt/with space|/");
	CHECK_EQ(mount_at(&t, "/proc")->verdict, BACKUP_FS_PSEUDO);
	CHECK_EQ(mount_at(&t, "/tmp")->verdict, BACKUP_FS_PSEUDO);
	CHECK_EQ(mount_at(&t, "/proc/sys/fs/binfmt_misc")->verdict, BACKUP_FS_PSEUDO);
	CHECK_EQ(mount_at(&t, "/run/credentials/systemd-sysctl.service")->verdict, BACKUP_FS_PSEUDO);
	m = mount_at(&t, "/mnt/bind");
	CHECK_EQ(m->verdict, BACKUP_FS_SAME_FS);
	CHECK_STR(t.mounts[m->other].mount_point, "/mnt/data");
	CHECK_STR(m->root, "/sub");
	m = mount_at(&t, "/mnt/robind");
	CHECK_EQ(m->verdict, BACKUP_FS_SAME_FS);
	CHECK(m->ro_mount && !m->ro_super);
	CHECK_EQ(mount_at(&t, "/mnt/ro")->verdict, BACKUP_FS_READ_ONLY);
	m = mount_at(&t, "/mnt/loopr");
	CHECK_EQ(m->verdict, BACKUP_FS_LOOP_ON_FROZEN);
	CHECK_STR(t.mounts[m->other].mount_point, "/");
	CHECK_EQ(mount_at(&t, "/mnt/nfs")->verdict, BACKUP_FS_NETWORK);
	CHECK_EQ(mount_at(&t, "/mnt/share")->verdict, BACKUP_FS_NETWORK);
	CHECK_EQ(mount_at(&t, "/mnt/ssh")->verdict, BACKUP_FS_FUSE);
	CHECK_EQ(mount_at(&t, "/mnt/usb")->verdict, BACKUP_FS_FUSE);
	CHECK_EQ(mount_at(&t, "/mnt/ovl")->verdict, BACKUP_FS_NO_DEVICE);
	/* btrfs: one superblock, two subvolumes, one freeze. */
	CHECK_EQ(mount_at(&t, "/mnt/b2")->verdict, BACKUP_FS_SAME_FS);
	CHECK_EQ(mount_at(&t, "/")->mount_id, 22);
	CHECK_EQ(mount_at(&t, "/mnt/data")->major, 254);
	CHECK_EQ(mount_at(&t, "/mnt/data")->minor, 16);
	CHECK_STR(mount_at(&t, "/mnt/ssh")->fstype, "fuse.sshfs");
	CHECK_STR(mount_at(&t, "/mnt/nfs")->source, "server:/export");
	backup_fs_table_free(&t);

	/* Without the callback no loop is known: both loop filesystems freeze. */
	CHECK_EQ(backup_fs_parse(debian, strlen(debian), &t), 0);
	CHECK_EQ(backup_fs_select(&t, NULL, NULL), 0);
	CHECK_STR(order_of(&t), "/mnt/data|/mnt/loopt|/mnt/loopr|/mnt/b1|/mnt/with space|/");
	backup_fs_table_free(&t);
}

/*
 * The mount named for a filesystem: the whole filesystem rather than a
 * subdirectory bound first, a writable mount rather than a read-only one,
 * root's "/" rather than an earlier bind of it.
 */
static void test_preference(void)
{
	static const char text[] =
		"10 1 8:0 /srv /srv rw - ext4 /dev/sda rw\n"
		"11 1 8:16 /sub /a rw - ext4 /dev/sdb rw\n"
		"12 1 8:16 / /b ro - ext4 /dev/sdb rw\n"
		"13 1 8:16 / /c rw - ext4 /dev/sdb rw\n"
		"14 1 8:16 / /d rw - ext4 /dev/sdb rw\n"
		"15 1 8:0 / / rw - ext4 /dev/sda rw\n";
	struct backup_fs_table t = table_of(text, NULL);

	CHECK_STR(order_of(&t), "/c|/");
	CHECK_EQ(mount_at(&t, "/srv")->verdict, BACKUP_FS_SAME_FS);
	CHECK_STR(t.mounts[mount_at(&t, "/srv")->other].mount_point, "/");
	CHECK_STR(t.mounts[mount_at(&t, "/a")->other].mount_point, "/c");
	CHECK_STR(t.mounts[mount_at(&t, "/b")->other].mount_point, "/c");
	CHECK_STR(t.mounts[mount_at(&t, "/d")->other].mount_point, "/c");
	backup_fs_table_free(&t);
}

/* A loop on a loop on a frozen filesystem stays as it is too; a partition of a loop device counts. */
static void test_loop_chain(void)
{
	static const char text[] =
		"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
		"2 1 0:30 / /scratch rw - tmpfs tmpfs rw\n"
		"3 1 7:0 / /l0 rw - ext4 /dev/loop0 rw\n"
		"4 1 7:1 / /l1 rw - ext4 /dev/loop1 rw\n"
		"5 1 7:2 / /l2 rw - ext4 /dev/loop2 rw\n"
		"6 1 7:3 / /l3 rw - ext4 /dev/loop3 rw\n"
		"7 1 259:0 / /l4p1 rw - ext4 /dev/loop4p1 rw\n"
		"8 1 7:5 / /l5 rw - ext4 /dev/loop5 rw\n";
	static const struct fake_loop loops[] = {
		{ 7, 0, "/scratch/zero.img" },		/* on tmpfs: frozen */
		{ 7, 1, "/l0/one.img" },		/* on l0, frozen: not */
		{ 7, 2, "/l1/two.img" },		/* on l1, not frozen but on a frozen chain: not */
		{ 7, 3, "/var/lib/three.img (deleted)" },	/* on root */
		{ 259, 0, "/scratch/four.img" },	/* a partition of a loop on tmpfs */
		{ 7, 5, "/l5/itself.img" },		/* its own mount: cannot be, ignored */
		{ 0, 0, NULL },
	};
	struct backup_fs_table t = table_of(text, loops);

	CHECK_STR(order_of(&t), "/l0|/l4p1|/l5|/");
	CHECK_EQ(mount_at(&t, "/l1")->verdict, BACKUP_FS_LOOP_ON_FROZEN);
	CHECK_STR(t.mounts[mount_at(&t, "/l1")->other].mount_point, "/l0");
	CHECK_EQ(mount_at(&t, "/l2")->verdict, BACKUP_FS_LOOP_ON_FROZEN);
	CHECK_STR(t.mounts[mount_at(&t, "/l2")->other].mount_point, "/l1");
	CHECK_EQ(mount_at(&t, "/l3")->verdict, BACKUP_FS_LOOP_ON_FROZEN);
	backup_fs_table_free(&t);

	/* The same, listed in another order (mount --move): the chain is followed. */
	t = table_of("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
		     "5 1 7:2 / /l2 rw - ext4 /dev/loop2 rw\n"
		     "4 1 7:1 / /l1 rw - ext4 /dev/loop1 rw\n"
		     "3 1 7:0 / /l0 rw - ext4 /dev/loop0 rw\n"
		     "2 1 0:30 / /scratch rw - tmpfs tmpfs rw\n", loops);
	CHECK_STR(order_of(&t), "/l0|/");
	CHECK_EQ(mount_at(&t, "/l2")->verdict, BACKUP_FS_LOOP_ON_FROZEN);
	backup_fs_table_free(&t);

	/* A file under a mount point with two mounts on it is on the top one. */
	t = table_of("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
		     "2 1 8:33 / /stack rw - ext4 /dev/sdc1 rw\n"
		     "3 1 0:30 / /stack rw - tmpfs tmpfs rw\n"
		     "4 1 7:6 / /l6 rw - ext4 /dev/loop6 rw\n",
		     (const struct fake_loop[]){ { 7, 6, "/stack/six.img" }, { 0, 0, NULL } });
	CHECK_STR(order_of(&t), "/stack|/l6|/");
	backup_fs_table_free(&t);
}

/* Escapes, a stacked root, a read-only root, optional fields, empty sources. */
static void test_edges(void)
{
	static const char stacked[] =
		"1 1 0:1 / / rw - rootfs rootfs rw\n"
		"20 1 8:2 / / rw,relatime master:1 shared:7 - ext4 /dev/sda2 rw\n"
		"21 20 8:3 / /odd\\134name\\012x rw propagate_from:1 unbindable - ext4  rw\n";
	static const char ro_root[] =
		"1 0 0:20 / / ro - overlay overlay ro\n"
		"2 1 253:0 / /data rw - xfs /dev/mapper/vg-data rw\n";
	struct backup_fs_table t = table_of(stacked, NULL);

	CHECK_EQ(t.n, 3);
	CHECK_STR(order_of(&t), "/odd\\name\nx|/");
	CHECK_EQ(t.mounts[0].verdict, BACKUP_FS_PSEUDO);
	CHECK_STR(t.mounts[2].source, "");
	backup_fs_table_free(&t);

	t = table_of(ro_root, NULL);
	CHECK_STR(order_of(&t), "/data");
	CHECK_EQ(t.mounts[0].verdict, BACKUP_FS_READ_ONLY);
	backup_fs_table_free(&t);

	t = table_of("", NULL);
	CHECK_EQ(t.n, 0);
	CHECK_EQ(t.n_order, 0);
	backup_fs_table_free(&t);

	/* No trailing newline, and blank lines, are fine. */
	t = table_of("\n1 0 8:1 / / rw - ext4 /dev/sda1 rw", NULL);
	CHECK_STR(order_of(&t), "/");
	backup_fs_table_free(&t);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"1 0 8:1 / / rw ext4 /dev/sda1 rw\n",		/* no separator */
		"1 0 8:1 / / rw - ext4 /dev/sda1\n",		/* no super options */
		"x 0 8:1 / / rw - ext4 /dev/sda1 rw\n",		/* id */
		"1 0 8-1 / / rw - ext4 /dev/sda1 rw\n",		/* device */
		"1 0 8:1 / relative rw - ext4 /dev/sda1 rw\n",	/* mount point */
		"1 0 8:1 / / rw - ext4 /dev/sda1 rw\nshort\n",	/* a later line */
	};
	struct backup_fs_table t;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(backup_fs_parse(bad[i], strlen(bad[i]), &t), -EINVAL);
}

int main(void)
{
	test_debian();
	test_preference();
	test_loop_chain();
	test_edges();
	test_malformed();
	printf("backup_fs: all checks passed\n");
	return 0;
}
