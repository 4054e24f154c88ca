// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * create.c - `vmbusctl create`: check a VM definition and write vm.conf.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "host/devices.h"
#include "host/vmbusctl/commands.h"
#include "host/vmbusctl/ctl.h"
#include "host/vmbusctl/output.h"
#include "host/vmbusctl/vm.h"

#define CREATE_MEMORY_MIN	(64ULL << 20)
#define CREATE_MEMORY_ALIGN	(2ULL << 20)	/* huge-page sized guest RAM */
#define CREATE_CPUS_MAX		64

/* What a new VM gets: every integration service a guest expects by default. */
#define CREATE_DEFAULT_SERVICES "heartbeat shutdown timesync kvp backup"

static const char create_help[] =
	"Usage: vmbusctl create NAME [options]\n"
	"Define a new VM: writes STATE/vms/NAME/vm.conf.\n\n"
	"  --memory SIZE        guest RAM: 512M, 2G, ... (default 512M; at least 64M,\n"
	"                       a multiple of 2M)\n"
	"  --cpus N             virtual CPUs, 1 to 64 (default 1)\n"
	"  --kernel PATH        Linux kernel to boot directly\n"
	"  --initrd PATH        its initramfs (needs --kernel)\n"
	"  --append TEXT        kernel command line (needs --kernel; default console=ttyS0)\n"
	"  --disk PATH          raw disk image, attached as virtio; booted without --kernel\n"
	"  --qemu-args ARGS     extra QEMU arguments, split on spaces (e.g. '-device virtio-rng-pci')\n"
	"  --accel auto|kvm|tcg auto: KVM if it can boot a kernel on this machine (default)\n"
	"  --services LIST      integration services, separated by commas or spaces\n"
	"                       (default: " CREATE_DEFAULT_SERVICES "; '' for none)\n"
	"  --force              replace the definition of an existing VM\n\n"
	"A VM needs a kernel or a disk. Paths are stored absolute.\n";

enum { OPT_MEMORY = CTL_OPT_FIRST_PRIVATE, OPT_CPUS, OPT_KERNEL, OPT_INITRD, OPT_APPEND,
       OPT_DISK, OPT_ACCEL, OPT_SERVICES, OPT_QEMU_ARGS, OPT_FORCE };

static const struct option create_options[] = {
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "accel", required_argument, NULL, OPT_ACCEL },
	{ "services", required_argument, NULL, OPT_SERVICES },
	{ "qemu-args", required_argument, NULL, OPT_QEMU_ARGS },
	{ "force", no_argument, NULL, OPT_FORCE },
	CTL_COMMON_OPTIONS
};

struct create_args {
	const char *memory, *cpus, *kernel, *initrd, *append, *disk, *accel, *services, *qemu_args;
	bool force;
};

static int create_memory(const char *text, struct vm_config *cfg)
{
	uint64_t bytes;

	if (config_parse_size(text, &bytes) < 0)
		return ctl_usage_error("create", "--memory wants a size like 512M or 2G, not '%s'", text);
	if (bytes < CREATE_MEMORY_MIN)
		return ctl_usage_error("create", "--memory %s is too small: a VM needs at least 64M", text);
	if (bytes % CREATE_MEMORY_ALIGN)
		return ctl_usage_error("create", "--memory %s is not a multiple of 2M", text);
	cfg->memory = bytes;
	return 0;
}

static int create_cpus(const char *text, struct vm_config *cfg)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || n < 1 || n > CREATE_CPUS_MAX)
		return ctl_usage_error("create", "--cpus wants a number from 1 to %d, not '%s'",
				       CREATE_CPUS_MAX, text);
	cfg->cpus = (unsigned int)n;
	return 0;
}

/* An existing readable file (a block device too, for disks), stored as an absolute path. */
static int create_file(const char *what, const char *path, bool disk, char **field)
{
	char abs[PATH_MAX];
	struct stat st;
	int r;

	r = ctl_absolute_path(path, abs, sizeof(abs));
	if (r < 0)
		return ctl_error_errno(r, "%s %s: %m", what, path);
	if (stat(abs, &st) < 0)
		return ctl_error_errno(-errno, "%s %s: %m", what, path);
	if (!S_ISREG(st.st_mode) && !(disk && S_ISBLK(st.st_mode)))
		return ctl_error_errno(-EINVAL, "%s %s is not a %s", what, path,
				       disk ? "file or block device" : "regular file");
	if (access(abs, disk ? R_OK | W_OK : R_OK) < 0)
		return ctl_error_errno(-errno, "%s %s: %m (QEMU needs to %s it)", what, path,
				       disk ? "read and write" : "read");
	free(*field);
	*field = strdup(abs);
	if (!*field)
		return ctl_error_errno(-ENOMEM, "out of memory");
	return 0;
}

static int create_services(const char *list, struct vm_config *cfg)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL, *tok, known[256];
	int r;

	if (!copy)
		return ctl_error_errno(-ENOMEM, "out of memory");
	for (tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (!devices_find(tok)) {
			output_service_names(known, sizeof(known));
			return ctl_usage_error("create", "unknown integration service '%s' (known: %s)",
					       tok, known);
		}
		r = config_set_service(cfg, tok, true);
		if (r < 0)
			return ctl_error_errno(r, "too many services (at most %d)", CONFIG_MAX_SERVICES);
	}
	return 0;
}

/* Everything that can be wrong with the command line itself comes first (exit 2). */
static int create_parse_values(const struct create_args *a, struct vm_config *cfg)
{
	int r;

	if (a->memory && (r = create_memory(a->memory, cfg)) < 0)
		return r;
	if (a->cpus && (r = create_cpus(a->cpus, cfg)) < 0)
		return r;
	if (a->accel) {
		if (strcmp(a->accel, "auto") && strcmp(a->accel, "kvm") && strcmp(a->accel, "tcg"))
			return ctl_usage_error("create", "--accel wants auto, kvm or tcg, not '%s'", a->accel);
		strcpy(cfg->accel, a->accel);
	}
	if (!a->kernel && !a->disk)
		return ctl_usage_error("create", "a VM needs --kernel or --disk to boot from");
	if (!a->kernel && (a->initrd || a->append))
		return ctl_usage_error("create", "--initrd and --append need --kernel");
	if (a->qemu_args && (cfg->qemu_args = strdup(a->qemu_args)) == NULL)
		return -ENOMEM;
	if (a->append && (cfg->append = strdup(a->append)) == NULL)
		return ctl_error_errno(-ENOMEM, "out of memory");
	return create_services(a->services ? a->services : CREATE_DEFAULT_SERVICES, cfg);
}

static int create_files(const struct create_args *a, struct vm_config *cfg)
{
	int r;

	if (a->kernel && (r = create_file("kernel", a->kernel, false, &cfg->kernel)) < 0)
		return r;
	if (a->initrd && (r = create_file("initrd", a->initrd, false, &cfg->initrd)) < 0)
		return r;
	if (a->disk && (r = create_file("disk", a->disk, true, &cfg->disk)) < 0)
		return r;
	return 0;
}

static void create_print_summary(const struct vm *vm, bool existed)
{
	char services[CONFIG_MAX_SERVICES * (CONFIG_NAME_MAX + 1)] = "none";
	struct vm_probe p = { .state = VM_STOPPED };
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < vm->cfg.nservices && len < sizeof(services); i++)
		len += (size_t)snprintf(services + len, sizeof(services) - len, "%s%s",
					i ? " " : "", vm->cfg.services[i]);
	if (existed) {
		vm_probe(vm, &p);
		vm_probe_done(&p);
	}
	printf("%s: %s (%u CPU%s, %llu MiB, accel %s, services: %s); ", vm->name,
	       existed ? "definition replaced" : "created", vm->cfg.cpus, vm->cfg.cpus == 1 ? "" : "s",
	       (unsigned long long)(vm->cfg.memory >> 20), vm->cfg.accel, services);
	if (p.state != VM_STOPPED)
		printf("it is %s: the new definition takes effect at the next start\n",
		       vm_state_name(p.state));
	else
		printf("start it with 'vmbusctl start %s'\n", vm->name);
}

int cmd_create(int argc, char **argv)
{
	_cleanup_(vm_donep) struct vm vm = { .name = "" };
	struct create_args a = { 0 };
	char conf[PATH_MAX];
	bool existed;
	int c, r;

	while ((c = ctl_getopt(argc, argv, create_options)) != -1) {
		switch (c) {
		case OPT_MEMORY: a.memory = optarg; break;
		case OPT_CPUS: a.cpus = optarg; break;
		case OPT_KERNEL: a.kernel = optarg; break;
		case OPT_INITRD: a.initrd = optarg; break;
		case OPT_APPEND: a.append = optarg; break;
		case OPT_DISK: a.disk = optarg; break;
		case OPT_QEMU_ARGS: a.qemu_args = optarg; break;
		case OPT_ACCEL: a.accel = optarg; break;
		case OPT_SERVICES: a.services = optarg; break;
		case OPT_FORCE: a.force = true; break;
		default: return ctl_option_default(c, create_help);
		}
	}
	r = ctl_positional(argc, argv, 1, 1);
	if (r < 0)
		return r;
	r = vm_init(&vm, argv[optind]);
	if (r < 0)
		return r;
	strcpy(vm.cfg.name, vm.name);
	r = create_parse_values(&a, &vm.cfg);
	if (r < 0)
		return r;
	r = create_files(&a, &vm.cfg);
	if (r < 0)
		return r;
	r = vm_check_socket_paths(&vm);
	if (r < 0)
		return r;

	if (vm_path(&vm, "vm.conf", conf, sizeof(conf)) < 0)
		return ctl_error_errno(-ENAMETOOLONG, "%s: path too long", vm.dir);
	existed = access(conf, F_OK) == 0;
	if (existed && !a.force)
		return ctl_error_errno(-EEXIST, "a VM named '%s' already exists (--force replaces its "
				       "definition)", vm.name);
	r = ctl_mkdir_p(vm.dir, 0700);
	if (r < 0)
		return ctl_error_errno(r, "cannot create %s: %m", vm.dir);
	r = config_save(&vm.cfg, conf);
	if (r < 0)
		return ctl_error_errno(r, "cannot write %s: %m", conf);

	create_print_summary(&vm, existed);
	return 0;
}
