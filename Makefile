# openvmbus - top-level Makefile.
#
#   make            userspace programs, tests, and the guest kernel modules
#   make deps       install the Debian packages everything needs
#   make demo       build everything and show it working
#   make test       every test; last line "N passed, N failed, N skipped"
#   make bench      benchmarks, report in build/bench/report.txt
#   make fuzz       libFuzzer (clang), FUZZ_TIME seconds per harness
#   make deb        openvmbus-{dkms,guest,host} .debs in $(BUILD)/pkg/deb
#   make rpm        the same as .rpms in $(BUILD)/pkg/rpm (docs/install.md)
#   V=1             show full command lines
#   KERNELRELEASE=  build the modules for another kernel (default: the one
#                   linux-headers-amd64 points at)

.DEFAULT_GOAL := all
BUILD     ?= build
CLANG     ?= clang
FUZZ_TIME ?= 60
V         ?= 0

ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-7s %s\n'
endif

WARNINGS   := -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Werror
CFLAGS     ?= -O2 -g
BASE_FLAGS := -std=gnu11 $(WARNINGS) -I. -pthread -MMD -MP
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

CORE_SRC   := $(wildcard vmbus/*.c)
TESTLIB    := $(wildcard tests/lib/*.c)
UNIT_SRC   := $(wildcard tests/unit/*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC  := $(wildcard tests/bench/*.c)
# Host code: everything but the programs' main files goes into libhost.a,
# which the worker, vmbusctl, the tests and the fuzzers link.
WORKER_SRC   := host/worker.c host/control.c
HOSTLIB_SRC  := $(filter-out $(WORKER_SRC),$(wildcard host/*.c host/devices/*.c))
VMBUSCTL_SRC := $(wildcard host/vmbusctl/*.c)
# Not $(BUILD)/host/vmbusctl/*.o: that path is the program itself.
VMBUSCTL_OBJ := $(VMBUSCTL_SRC:host/vmbusctl/%.c=$(BUILD)/host/vmbusctl-objs/%.o)
HOST_LIBS    := -lsystemd -luring -lcrypto

HOSTLIB        = $(BUILD)/libhost.a
SAN_HOSTLIB    = $(BUILD)/san/libhost.a
CORE_OBJ       = $(CORE_SRC:%.c=$(BUILD)/%.o) $(TESTLIB:%.c=$(BUILD)/%.o) $(HOSTLIB)
SAN_CORE_OBJ   = $(CORE_SRC:%.c=$(BUILD)/san/%.o) $(TESTLIB:%.c=$(BUILD)/san/%.o) $(SAN_HOSTLIB)
HOST_BIN      := $(BUILD)/host/vmbus-worker $(if $(VMBUSCTL_SRC),$(BUILD)/host/vmbusctl)
UNIT_BIN      := $(UNIT_SRC:%.c=$(BUILD)/%)
SAN_UNIT_BIN  := $(UNIT_SRC:%.c=$(BUILD)/san/%)
REPLAY_BIN    := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/fuzz/replay_%)
SAN_REPLAY_BIN:= $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/san/tests/fuzz/replay_%)
FUZZ_BIN      := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/fuzz/fuzz_%)
BENCH_BIN     := $(BENCH_SRC:%.c=$(BUILD)/%)
OPENVMBUSD_SRC := $(wildcard guest-linux/openvmbusd/*.c)
# openvmbusd's pure parts (no I/O, no sd-event), which the unit tests link too.
OPENVMBUSD_PURE_SRC := guest-linux/openvmbusd/backup_fs.c guest-linux/openvmbusd/backup_text.c
SIM_SRC       := $(wildcard tests/sim/*.c)
SIM_BIN       := $(if $(SIM_SRC),$(BUILD)/tests/sim/sim-guest)

# Object files are not intermediates: keep them for incremental builds.
.SECONDARY:

.PHONY: all userspace modules deps demo test test-quick bench fuzz clean deb rpm pkg-stage
all: userspace modules
GUEST_BENCH := $(BUILD)/guest/chanbench
userspace: $(HOST_BIN) $(BUILD)/guest/openvmbusd $(GUEST_BENCH) $(UNIT_BIN) $(REPLAY_BIN) $(BENCH_BIN) $(SIM_BIN)

# ---------------------------------------------------------------- userspace
$(BUILD)/%.o: %.c
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/san/%.o: %.c
	$(quiet) CC-SAN $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(HOSTLIB): $(HOSTLIB_SRC:%.c=$(BUILD)/%.o)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SAN_HOSTLIB): $(HOSTLIB_SRC:%.c=$(BUILD)/san/%.o)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/host/vmbus-worker: $(WORKER_SRC:%.c=$(BUILD)/%.o) $(CORE_OBJ)
	$(quiet) LD $@
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -o $@ $(WORKER_SRC:%.c=$(BUILD)/%.o) $(CORE_OBJ) $(HOST_LIBS)

$(BUILD)/host/vmbusctl-objs/%.o: host/vmbusctl/%.c
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/host/vmbusctl: $(VMBUSCTL_OBJ) $(CORE_OBJ)
	$(quiet) LD $@
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -o $@ $(VMBUSCTL_OBJ) $(CORE_OBJ) $(HOST_LIBS)

$(BUILD)/san/host/vmbus-worker: $(WORKER_SRC:%.c=$(BUILD)/san/%.o) $(SAN_CORE_OBJ)
	$(quiet) LD-SAN $@
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) $(SAN_FLAGS) -o $@ $(WORKER_SRC:%.c=$(BUILD)/san/%.o) $(SAN_CORE_OBJ) $(HOST_LIBS)

$(BUILD)/guest/openvmbusd: $(OPENVMBUSD_SRC:%.c=$(BUILD)/%.o) $(CORE_SRC:%.c=$(BUILD)/%.o)
	$(quiet) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -o $@ $^ -lsystemd

# Guest-side benchmark tools go into initramfs images: link them statically.
$(BUILD)/guest/%: tests/bench/guest/%.c
	$(quiet) LD-STATIC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -static -o $@ $<

$(BUILD)/tests/sim/sim-guest: $(SIM_SRC:%.c=$(BUILD)/%.o) $(CORE_OBJ)
	$(quiet) LD $@
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -o $@ $(SIM_SRC:%.c=$(BUILD)/%.o) $(CORE_OBJ) $(HOST_LIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(CORE_OBJ) $(OPENVMBUSD_PURE_SRC:%.c=$(BUILD)/%.o)
	$(quiet) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -o $@ $< $(CORE_OBJ) $(OPENVMBUSD_PURE_SRC:%.c=$(BUILD)/%.o) $(HOST_LIBS)

$(BUILD)/san/tests/unit/%: tests/unit/%.c $(SAN_CORE_OBJ) $(OPENVMBUSD_PURE_SRC:%.c=$(BUILD)/san/%.o)
	$(quiet) LD-SAN $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) $(SAN_FLAGS) -o $@ $< $(SAN_CORE_OBJ) $(OPENVMBUSD_PURE_SRC:%.c=$(BUILD)/san/%.o) $(HOST_LIBS)

# Fuzz harnesses replay their saved corpus with gcc inside `make test`.
$(BUILD)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(CORE_OBJ)
	$(quiet) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(CORE_OBJ) $(HOST_LIBS)

$(BUILD)/san/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(SAN_CORE_OBJ)
	$(quiet) LD-SAN $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) $(SAN_FLAGS) -o $@ $< tests/fuzz/replay.c $(SAN_CORE_OBJ) $(HOST_LIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_SRC) $(TESTLIB) $(HOSTLIB_SRC)
	$(quiet) CLANG $@
	@mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 $(WARNINGS) -I. -g -O1 -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(CORE_SRC) $(TESTLIB) $(HOSTLIB_SRC) $(HOST_LIBS)

$(BUILD)/tests/bench/%: tests/bench/%.c $(CORE_OBJ)
	$(quiet) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -o $@ $< $(CORE_OBJ) $(HOST_LIBS)

# ------------------------------------------------------------ kernel modules
KERNELRELEASE ?= $(shell scripts/guest-kver.sh)
KDIR          ?= /lib/modules/$(KERNELRELEASE)/build
KMOD_STAGE    := $(BUILD)/kmod

# Kbuild wants every source under M=, so the module tree and the shared core
# are staged together (the same tree the DKMS package ships); cp -p keeps
# timestamps so kbuild rebuilds only what changed.
modules:
	@test -n "$(KERNELRELEASE)" || { echo "no guest kernel release; run 'make deps'" >&2; exit 1; }
	@test -d "$(KDIR)" || { echo "kernel headers not found at $(KDIR); run 'make deps'" >&2; exit 1; }
	@mkdir -p $(KMOD_STAGE)/vmbus
	$(Q)cp -p guest-linux/Kbuild $(wildcard guest-linux/*.[ch]) $(KMOD_STAGE)/
	$(Q)cp -p vmbus/*.c vmbus/*.h $(KMOD_STAGE)/vmbus/
	$(quiet) KBUILD "$(KMOD_STAGE) for $(KERNELRELEASE)"
	$(Q)$(MAKE) -C $(KDIR) M=$(abspath $(KMOD_STAGE)) V=$(V) modules \
		$(if $(filter 1,$(V)),,>$(BUILD)/kmod.log 2>&1 || { cat $(BUILD)/kmod.log; exit 1; })

# ---------------------------------------------------------------- commands
deps:
	$(Q)scripts/deps.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all $(SAN_UNIT_BIN) $(SAN_REPLAY_BIN) $(BUILD)/san/host/vmbus-worker
	$(Q)tests/run --build $(BUILD)

# Unit tests only, without the slow suites.
test-quick: userspace
	$(Q)tests/run --build $(BUILD) --quick

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/bench/run --build $(BUILD)

fuzz: $(FUZZ_BIN)
	$(Q)tests/fuzz/run --build $(BUILD) --time $(FUZZ_TIME)

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------- packages
# The version is vmbus/version.h's; PKG_VERSION=X builds the packages as
# version X (the staged version.h says X too: modules, programs, DKMS).
OPENVMBUS_VERSION := $(shell sed -n 's/^\#define OPENVMBUS_VERSION "\(.*\)"/\1/p' vmbus/version.h)
PKG_VERSION ?= $(OPENVMBUS_VERSION)
PKG_DIR     := $(BUILD)/pkg
PKG_STAGE   := $(PKG_DIR)/src/openvmbus-$(PKG_VERSION)

# The source tree as git sees it (tracked and new files, not the ignored
# build directories), with the version set; outside a git checkout (a
# release tarball) the tree without build directories.
pkg-stage:
	$(Q)rm -rf $(PKG_STAGE) && mkdir -p $(PKG_STAGE)
	$(Q)if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z -co --exclude-standard | xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
			tar --null -T - -cf - | tar -C $(PKG_STAGE) -xf -; \
	else \
		tar -cf - --exclude=./.git --exclude='./build' --exclude='./build-*' --exclude='./$(BUILD)' . | \
			tar -C $(PKG_STAGE) -xf -; \
	fi
	$(Q)sed -i 's/^\(#define OPENVMBUS_VERSION \)".*"/\1"$(PKG_VERSION)"/' $(PKG_STAGE)/vmbus/version.h

deb: pkg-stage
	$(quiet) DEB "openvmbus $(PKG_VERSION)"
	$(Q)cp -r packaging/debian $(PKG_STAGE)/debian
	$(Q)printf '%s\n' "openvmbus ($(PKG_VERSION)) unstable; urgency=medium" "" \
		"  * Release $(PKG_VERSION) (see the git history)." "" \
		" -- openvmbus developers <openvmbus-devel@lists.openvmbus.invalid>  $$(date -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))" \
		>$(PKG_STAGE)/debian/changelog
	$(Q)cd $(PKG_STAGE) && dpkg-buildpackage -us -uc -b >../../deb.log 2>&1 || { tail -n 40 ../../deb.log; exit 1; }
	$(Q)mkdir -p $(PKG_DIR)/deb && mv $(PKG_DIR)/src/*_$(PKG_VERSION)_*.deb $(PKG_DIR)/deb/
	$(Q)rm -f $(PKG_DIR)/src/*_$(PKG_VERSION)_*.changes $(PKG_DIR)/src/*_$(PKG_VERSION)_*.buildinfo
	$(Q)ls -1 $(PKG_DIR)/deb/*_$(PKG_VERSION)_*.deb

# rpmbuild from a tarball of the staged tree. RPM_FLAGS=--nodeps builds where
# the BuildRequires are not in the rpm database (a Debian host).
RPM_FLAGS ?= $(if $(wildcard /etc/debian_version),--nodeps)
rpm: pkg-stage
	$(quiet) RPM "openvmbus $(PKG_VERSION)"
	$(Q)mkdir -p $(PKG_DIR)/rpmbuild/SOURCES $(PKG_DIR)/rpm
	$(Q)tar -C $(PKG_DIR)/src -czf $(PKG_DIR)/rpmbuild/SOURCES/openvmbus-$(PKG_VERSION).tar.gz openvmbus-$(PKG_VERSION)
	$(Q)rpmbuild -bb $(RPM_FLAGS) --define "_topdir $(abspath $(PKG_DIR)/rpmbuild)" \
		--define "ovb_version $(PKG_VERSION)" packaging/rpm/openvmbus.spec >$(PKG_DIR)/rpm.log 2>&1 || \
		{ tail -n 40 $(PKG_DIR)/rpm.log; exit 1; }
	$(Q)find $(PKG_DIR)/rpmbuild/RPMS -name 'openvmbus-*-$(PKG_VERSION)-*.rpm' -exec mv {} $(PKG_DIR)/rpm/ \;
	$(Q)ls -1 $(PKG_DIR)/rpm/*-$(PKG_VERSION)-*.rpm

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
