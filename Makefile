# openvmbus - top-level Makefile.
#
#   make            userspace programs, tests, and the guest kernel modules
#   make deps       install the Debian packages everything needs
#   make demo       build everything and show it working
#   make test       every test; last line "N passed, N failed, N skipped"
#   make bench      benchmarks, report in build/bench/report.txt
#   make fuzz       libFuzzer (clang), FUZZ_TIME seconds per harness
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
HOST_LIBS    := -lsystemd

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
SIM_SRC       := $(wildcard tests/sim/*.c)
SIM_BIN       := $(if $(SIM_SRC),$(BUILD)/tests/sim/sim-guest)

# Object files are not intermediates: keep them for incremental builds.
.SECONDARY:

.PHONY: all userspace modules deps demo test test-quick bench fuzz clean
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

$(BUILD)/tests/unit/%: tests/unit/%.c $(CORE_OBJ)
	$(quiet) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) -o $@ $< $(CORE_OBJ) $(HOST_LIBS)

$(BUILD)/san/tests/unit/%: tests/unit/%.c $(SAN_CORE_OBJ)
	$(quiet) LD-SAN $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_FLAGS) $(CFLAGS) $(SAN_FLAGS) -o $@ $< $(SAN_CORE_OBJ) $(HOST_LIBS)

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

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
