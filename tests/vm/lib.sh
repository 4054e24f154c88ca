# shellcheck shell=bash
# tests/vm/lib.sh - the VM test harness, sourced by tests/vm/*.test.
#
# It boots the Debian guest kernel in QEMU with a busybox initramfs that
# carries our modules, runs one guest script that performs several named
# checks (a TCG boot costs seconds, so one boot serves many checks), reads the
# checks' RESULT lines back from the serial console, scans the kernel log for
# splats, and turns it all into the exit code of the .test file:
# 0 pass, 1 fail, 77 skip. docs/testing.md explains how to write a test.
#
#   . "${BASH_SOURCE%/*}/lib.sh"
#   vm_require                                  # exit 77 without QEMU/kernel
#   vm_build_initramfs -l openvmbus -s - "$VM_WORK/initrd" <<'EOF'
#   check uname test "$(uname -m)" = x86_64     # guest side: /lib/vmtest.sh
#   EOF
#   vm_run -m 512M "$VM_WORK/initrd" -- -device virtio-rng-pci
#   vm_finish vm/uname                          # exit with the verdict
#
# Environment: BUILD (build directory, default build/), OPENVMBUS_ACCEL=kvm|tcg
# (skip the KVM probe), OPENVMBUS_CPU (QEMU -cpu model), OPENVMBUS_QEMU,
# OPENVMBUS_KVER, OPENVMBUS_KERNEL, OPENVMBUS_VM_TIMEOUT (seconds per boot),
# OPENVMBUS_VM_LAUNCHER (command that starts the VM instead of QEMU itself,
# see vm_run).

VM_LIB=$(realpath "${BASH_SOURCE[0]}")
VM_TOP=${VM_LIB%/tests/vm/lib.sh}
BUILD=$(realpath -m "${BUILD:-$VM_TOP/build}")
VM_TEST=$(basename "$0" .test)
VM_WORK=$BUILD/vm/tests/$VM_TEST	# this test's initramfs, console logs, results
VM_CACHE=$BUILD/vm/cache		# base initramfs archives, KVM probe
VM_RESULTS=$VM_WORK/results		# "NAME PASS|FAIL DETAIL" lines of every run
VM_QEMU=${OPENVMBUS_QEMU:-qemu-system-x86_64}
VM_KVER=${OPENVMBUS_KVER:-$("$VM_TOP/scripts/guest-kver.sh" 2>/dev/null)}
VM_KERNEL=${OPENVMBUS_KERNEL:-/boot/vmlinuz-$VM_KVER}
VM_BOOT_KERNEL=''			# the image given to -kernel, see _vm_boot_kernel
VM_LAUNCHER=${OPENVMBUS_VM_LAUNCHER:-}
VM_LOG_IGNORE=${VM_LOG_IGNORE:-}	# ERE of kernel lines a test expects

# Debian modules every initramfs carries (with their dependencies); the
# drivers for the devices later tests give the guest.
VM_MODULES_DEFAULT="virtio_pci virtio_blk virtio_net virtio_console virtio_rng ext4"

# Kernel log lines that fail a run (the scan liburing's runner does on dmesg).
# Only lines carrying a printk timestamp count, so a check's own output can
# mention these words.
VM_SPLAT_RE='BUG:|WARNING:|Oops|Call Trace|general protection|Kernel panic|kernel BUG at|UBSAN:|KASAN:|INFO: task .* blocked|rcu: INFO:'

VM_ACCEL='' VM_CPU='' VM_ACCEL_WHY=''
_vm_child=''				# PID of the running QEMU/launcher

vm_log() { printf 'vm: %s\n' "$*" >&2; }

# vm_skip REASON: the test cannot run here; the runner shows the last line.
vm_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

# vm_die REASON: a harness or setup problem, the test fails.
vm_die() { printf 'FAIL: %s\n' "$*"; exit 1; }

# vm_result NAME PASS|FAIL [DETAIL]: record a check made on the host side.
vm_result() {
	local name=$1 status=$2; shift 2
	printf '%s %s %s\n' "$name" "$status" "$*" >>"$VM_RESULTS"
}

_vm_cleanup() {
	[[ -n $_vm_child ]] && kill -KILL "$_vm_child" 2>/dev/null
	_vm_child=''
}
trap _vm_cleanup EXIT
trap '_vm_cleanup; exit 143' TERM INT HUP

# vm_require: exit 77 with the reason when this machine cannot boot the
# guest (no QEMU, no guest kernel, no busybox-static, no kmod tools).
vm_require() {
	command -v "$VM_QEMU" >/dev/null || vm_skip "$VM_QEMU not found (make deps installs qemu-system-x86)"
	[[ -n $VM_KVER ]] || vm_skip "no guest kernel release: linux-headers-amd64 is not installed (make deps)"
	[[ -e $VM_KERNEL ]] || vm_skip "guest kernel $VM_KERNEL not found (make deps installs linux-image-amd64)"
	[[ -r $VM_KERNEL ]] || vm_skip "guest kernel $VM_KERNEL is not readable by $(id -un) (Debian installs it mode 0600)"
	[[ -d /lib/modules/$VM_KVER/kernel ]] || vm_skip "no modules for $VM_KVER in /lib/modules"
	[[ -x /bin/busybox ]] || vm_skip "/bin/busybox not found (make deps installs busybox-static)"
	ldd /bin/busybox >/dev/null 2>&1 && vm_skip "/bin/busybox is dynamically linked (install busybox-static)"
	local tool
	PATH=$PATH:/usr/sbin:/sbin
	for tool in cpio depmod modprobe modinfo; do
		command -v "$tool" >/dev/null || vm_skip "$tool not found (make deps installs cpio and kmod)"
	done
	rm -rf "$VM_WORK"
	mkdir -p "$VM_WORK" "$VM_CACHE" || vm_die "cannot create $VM_WORK"
	: >"$VM_RESULTS"
	_vm_boot_kernel
}

# Builds in the shared cache take this lock, so tests may run side by side.
_vm_cache_lock() {
	mkdir -p "$VM_CACHE"
	exec {_vm_cache_fd}>"$VM_CACHE/.lock" && flock "$_vm_cache_fd"
}
_vm_cache_unlock() {
	exec {_vm_cache_fd}>&-
}

# _vm_boot_kernel: choose the image QEMU boots. Under TCG, decompressing
# the bzImage (xz) takes 3-6 s of each boot, so the ELF vmlinux inside it
# is extracted once and booted through its PVH entry (CONFIG_PVH): the
# same kernel, the same firmware, ACPI tables and memory map, half the boot
# time. OPENVMBUS_VM_BOOT=bzimage boots the vmlinuz as it is.
_vm_boot_kernel() {
	local out off id old
	VM_BOOT_KERNEL=$VM_KERNEL
	case ${OPENVMBUS_VM_BOOT:-pvh} in
	bzimage) vm_log "kernel: $VM_KERNEL (bzImage, OPENVMBUS_VM_BOOT=bzimage)"; return 0 ;;
	pvh) ;;
	*) vm_die "OPENVMBUS_VM_BOOT must be pvh or bzimage, not '$OPENVMBUS_VM_BOOT'" ;;
	esac
	id=$(stat -Lc '%s %Y' "$VM_KERNEL" | sha256sum | cut -c1-8)
	out=$VM_CACHE/vmlinux-$VM_KVER-$id
	_vm_cache_lock
	if [[ ! -s $out ]]; then
		if ! grep -qx CONFIG_PVH=y "/boot/config-$VM_KVER" 2>/dev/null || ! command -v xz >/dev/null; then
			_vm_cache_unlock
			vm_log "kernel: $VM_KERNEL (bzImage: no CONFIG_PVH=y or no xz to extract vmlinux)"
			return 0
		fi
		# The payload is the first xz stream; xz stops at the data after it
		# with an error, so the result is checked instead.
		off=$(LC_ALL=C grep -obUa $'\xfd7zXZ' "$VM_KERNEL" | head -n1 | cut -d: -f1)
		[[ -n $off ]] && tail -c +$((off + 1)) "$VM_KERNEL" | xz -dcq >"$out.tmp" 2>/dev/null
		if [[ $(head -c4 "$out.tmp" 2>/dev/null) == $'\x7fELF' ]]; then
			mv "$out.tmp" "$out"
			for old in "$VM_CACHE"/vmlinux-*; do	# another kernel's
				[[ $old == "$out" ]] || rm -f "$old"
			done
		else
			rm -f "$out.tmp"
			_vm_cache_unlock
			vm_log "kernel: $VM_KERNEL (bzImage: no xz-compressed vmlinux inside)"
			return 0
		fi
	fi
	_vm_cache_unlock
	VM_BOOT_KERNEL=$out
	vm_log "kernel: vmlinux of $VM_KERNEL, PVH entry (${out#"$PWD"/})"
}

# ------------------------------------------------------------------ accel

# vm_accel: print "kvm" or "tcg", the accelerator vm_run uses. KVM counts
# only if the guest kernel really boots on it: /dev/kvm may be a nested KVM
# on which it hangs or dies with an emulation error. The probe result is
# cached per kernel, CPU model and QEMU version.
vm_accel() {
	_vm_accel_resolve
	echo "$VM_ACCEL"
}

_vm_accel_resolve() {
	[[ -n $VM_ACCEL ]] && return 0
	case ${OPENVMBUS_ACCEL:-} in
	kvm) VM_ACCEL=kvm VM_CPU=host VM_ACCEL_WHY="OPENVMBUS_ACCEL=kvm" ;;
	tcg) VM_ACCEL=tcg VM_ACCEL_WHY="OPENVMBUS_ACCEL=tcg" ;;
	'')
		if [[ ! -e /dev/kvm ]]; then
			VM_ACCEL=tcg VM_ACCEL_WHY="no /dev/kvm"
		elif [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
			VM_ACCEL=tcg VM_ACCEL_WHY="/dev/kvm not accessible to $(id -un)"
		else
			_vm_accel_cached_probe
		fi
		;;
	*) vm_die "OPENVMBUS_ACCEL must be kvm or tcg, not '$OPENVMBUS_ACCEL'" ;;
	esac
	[[ $VM_ACCEL == tcg && -z $VM_CPU ]] && VM_CPU=max
	VM_CPU=${OPENVMBUS_CPU:-$VM_CPU}
	vm_log "accel $VM_ACCEL (-cpu $VM_CPU): $VM_ACCEL_WHY"
}

# The probe boots the guest kernel once; the cache is keyed so that another
# machine, kernel or QEMU probes again.
_vm_accel_cached_probe() {
	local cache=$BUILD/vm/accel key k v lock
	[[ -n $VM_BOOT_KERNEL ]] || _vm_boot_kernel
	key=$({
		echo "$VM_KVER ${VM_BOOT_KERNEL##*/}"
		grep -m1 '^model name' /proc/cpuinfo
		"$VM_QEMU" --version | head -n1
	} | sha256sum | cut -c1-16)
	mkdir -p "$VM_CACHE"
	exec {lock}>"$cache.lock"
	flock "$lock"
	if [[ -r $cache ]] && grep -qx "key=$key" "$cache"; then
		while IFS='=' read -r k v; do
			case $k in
			accel) VM_ACCEL=$v ;;
			cpu) VM_CPU=$v ;;
			why) VM_ACCEL_WHY="$v (cached in ${cache#"$PWD"/})" ;;
			esac
		done <"$cache"
	fi
	if [[ $VM_ACCEL != kvm && $VM_ACCEL != tcg ]]; then
		_vm_kvm_probe
		printf 'key=%s\naccel=%s\ncpu=%s\nwhy=%s\n' \
			"$key" "$VM_ACCEL" "$VM_CPU" "$VM_ACCEL_WHY" >"$cache"
	fi
	exec {lock}>&-
}

_vm_kvm_probe() {
	local initrd=$VM_CACHE/kvm-probe.cpio root log cpu rc why=''
	local t=${OPENVMBUS_KVM_PROBE_TIMEOUT:-20}
	mkdir -p "$VM_CACHE"
	if [[ ! -s $initrd ]]; then
		root=$VM_CACHE/kvm-probe.d
		rm -rf "$root"
		_vm_stage_busybox "$root" || vm_die "cannot stage busybox for the KVM probe"
		printf '#!/bin/sh\necho KVM-PROBE-OK\npoweroff -f\n' >"$root/init"
		chmod 755 "$root/init"
		_vm_cpio "$root" >"$initrd" || vm_die "cannot build $initrd"
		rm -rf "$root"
	fi
	log=$VM_CACHE/kvm-probe.log
	# -cpu host is what a usable KVM runs; qemu64 gets past hosts whose
	# nested KVM rejects the host CPU's MSRs.
	for cpu in host qemu64; do
		: >"$log"
		_vm_spawn "$t" "$log.qemu" "$VM_QEMU" -nodefaults -no-user-config \
			-machine q35 -accel kvm -cpu "$cpu" -m 256M -smp 1 \
			-display none -monitor none -serial "file:$log" -no-reboot \
			-kernel "$VM_BOOT_KERNEL" -initrd "$initrd" -append "console=ttyS0 panic=-1 quiet"
		rc=$?
		if grep -q KVM-PROBE-OK "$log"; then
			VM_ACCEL=kvm VM_CPU=$cpu VM_ACCEL_WHY="KVM probe booted $VM_KVER with -cpu $cpu"
			return 0
		fi
		if ((rc == 124)); then
			why+="${why:+; }-cpu $cpu: no output within ${t}s"
		else
			why+="${why:+; }-cpu $cpu: QEMU exit $rc$(grep -m1 -i error "$log.qemu" | sed 's/^/: /')"
		fi
	done
	VM_ACCEL=tcg VM_ACCEL_WHY="KVM unusable ($why)"
}

# --------------------------------------------------------------- initramfs

# _vm_cpio DIR: write DIR as a newc archive to stdout, everything owned by root.
_vm_cpio() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet)
}

# _vm_stage_busybox ROOT: busybox-static with a link for every applet.
_vm_stage_busybox() {
	local root=$1 applet
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc} &&
		cp /bin/busybox "$root/bin/busybox" || return 1
	while read -r applet; do
		[[ $applet == bin/busybox ]] && continue
		mkdir -p "$root/${applet%/*}"
		ln -sf /bin/busybox "$root/$applet" || return 1
	done < <(/bin/busybox --list-full)
}

# _vm_module_files MODULE...: the .ko files of the Debian modules and of
# everything they depend on, dependencies first.
_vm_module_files() {
	(($#)) || return 0
	modprobe -S "$VM_KVER" -a --show-depends "$@" | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
	return "${PIPESTATUS[0]}"
}

# vm_host_results BOOT: the host-side checks tests/vm/host-agent recorded
# during the last vm_run under tests/vm/worker-launch, as BOOT/host-NAME
# results (a test lists the ones it expects in vm_finish).
vm_host_results() {
	local name verdict detail file
	file=$(dirname "$VM_CONSOLE")/vmbusctl/host-results
	[[ -r $file ]] || return 0
	while read -r _ name verdict detail; do
		vm_result "$1/host-${name#host/}" "$verdict" "$detail"
	done <"$file"
}

# vm_libs_of BINARY: the shared libraries BINARY needs, as SRC:DEST pairs for
# vm_build_initramfs (symbolic links resolved, so the guest gets the files).
vm_libs_of() {
	local lib
	while read -r lib; do
		printf '%s:%s\n' "$(readlink -f "$lib")" "$lib"
	done < <(ldd "$1" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }')
}

# vm_build_initramfs [-m MODULES] [-l LOAD] [-e NAME=VALUE]... [-s SCRIPT] OUT [SRC[:DEST]...]
#   -m MODULES  Debian modules to carry, with dependencies (default
#               $VM_MODULES_DEFAULT); our $BUILD/kmod/*.ko always come along
#   -l LOAD     modules the guest loads with modprobe before the script
#               (each one is a check named load:MODULE)
#   -e N=V      a variable the guest script sees (repeatable)
#   -s SCRIPT   the guest script ("-" reads stdin), sourced by /init after
#               /lib/vmtest.sh; it reports checks with "check"/"result"
#   SRC[:DEST]  more files for the guest, at DEST (default /opt/BASENAME)
# The base archive (busybox, modules, /init) is cached; the test's part is a
# second cpio appended to it, which the kernel unpacks on top.
vm_build_initramfs() {
	local modules=$VM_MODULES_DEFAULT load='' script='' env=() opt OPTIND=1
	while getopts 'm:l:e:s:' opt; do
		case $opt in
		m) modules=$OPTARG ;;
		l) load=$OPTARG ;;
		e) env+=("$OPTARG") ;;
		s) script=$OPTARG ;;
		*) vm_die "vm_build_initramfs: bad option" ;;
		esac
	done
	shift $((OPTIND - 1))
	(($# >= 1)) || vm_die "vm_build_initramfs: no output file"
	local out=$1 base part spec src dest
	shift
	base=$(_vm_base_initramfs "$modules") || exit 1
	part=$out.d
	rm -rf "$part"
	mkdir -p "$part/etc/vmtest" "$part/opt"
	echo "$load" >"$part/etc/vmtest/load"
	local v val
	for v in ${env[@]+"${env[@]}"}; do
		[[ $v == [A-Za-z_]*=* ]] || vm_die "vm_build_initramfs: -e wants NAME=VALUE, not '$v'"
		val=${v#*=}
		printf "export %s='%s'\n" "${v%%=*}" "${val//\'/\'\\\'\'}"
	done >"$part/etc/vmtest/env"
	case $script in
	'') : >"$part/test.sh" ;;
	-) cat >"$part/test.sh" ;;
	*) cp "$script" "$part/test.sh" || vm_die "cannot read guest script $script" ;;
	esac
	for spec; do
		src=${spec%%:*} dest=${spec#*:}
		[[ $spec == *:* ]] || dest=/opt/${src##*/}
		mkdir -p "$part/$(dirname "$dest")"
		cp -a "$src" "$part/$dest" || vm_die "cannot copy $src into the initramfs"
	done
	{ cat "$base" && _vm_cpio "$part"; } >"$out" || vm_die "cannot write $out"
	rm -rf "$part"
}

# _vm_base_initramfs MODULES: print the path of the cached base archive for
# this module list, our current modules and this harness, building it if
# needed.
_vm_base_initramfs() {
	local modules=$1 ours=() ko dep deps=() key out root files f
	for ko in "$BUILD"/kmod/*.ko; do
		[[ -e $ko ]] || continue
		ours+=("$ko")
		# Debian modules ours need travel too (ours among themselves: depmod).
		IFS=, read -ra deps < <(modinfo -F depends "$ko")
		for dep in "${deps[@]}"; do
			[[ -e $BUILD/kmod/$dep.ko ]] || modules+=" $dep"
		done
	done
	key=$({
		echo "$VM_KVER $modules"
		stat -c '%n %s %Y' "/lib/modules/$VM_KVER/modules.dep"
		sha256sum /bin/busybox "$VM_LIB" ${ours[@]+"${ours[@]}"}
	} | sha256sum | cut -c1-16)
	out=$VM_CACHE/base-$key.cpio
	if [[ -s $out ]]; then
		echo "$out"
		return 0
	fi
	_vm_cache_lock	# held until this subshell of vm_build_initramfs exits
	if [[ -s $out ]]; then	# built while we waited
		echo "$out"
		return 0
	fi
	# shellcheck disable=SC2086 # the module list is a word list
	files=$(_vm_module_files $modules) || { echo "FAIL: cannot resolve modules: $modules" >&2; return 1; }
	root=$VM_CACHE/base-$key.d
	rm -rf "$root"
	_vm_stage_busybox "$root" || { echo "FAIL: cannot stage busybox" >&2; return 1; }
	local mods=$root/lib/modules/$VM_KVER
	mkdir -p "$mods/extra"
	for f in $files; do
		mkdir -p "$root${f%/*}" && cp "$f" "$root$f" || return 1
	done
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[[ -e /lib/modules/$VM_KVER/$f ]] && cp "/lib/modules/$VM_KVER/$f" "$mods/"
	done
	[[ ${#ours[@]} -gt 0 ]] && cp "${ours[@]}" "$mods/extra/"
	depmod -b "$root" "$VM_KVER" || { echo "FAIL: depmod failed on the initramfs" >&2; return 1; }
	_vm_write_guest_files "$root"
	_vm_cpio "$root" >"$out.tmp" && mv "$out.tmp" "$out" || return 1
	rm -rf "$root"
	# Keep the four newest bases; each module set or harness change makes one.
	find "$VM_CACHE" -maxdepth 1 -name 'base-*.cpio' -printf '%T@ %p\n' |
		sort -rn | tail -n +5 | cut -d' ' -f2- | xargs -r -d '\n' rm -f
	echo "$out"
}

# The guest side: /init, the mdev configuration and /lib/vmtest.sh (the
# helpers for guest scripts, busybox ash; results go to the serial console
# as "RESULT NAME PASS|FAIL DETAIL").
_vm_write_guest_files() {
	local root=$1
	mkdir -p "$root/lib" "$root/etc"
	cat >"$root/init" <<'EOF'
#!/bin/sh
# /init of the openvmbus test initramfs (written by tests/vm/lib.sh): mount
# the pseudo filesystems, start hotplug, load the test's modules, run
# /test.sh, dump the kernel log, power off - also when anything fails.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/vmtest
echo "GUEST-USERSPACE $(cut -d' ' -f1 /proc/uptime)"
. /lib/vmtest.sh
vmtest_start_hotplug
for m in $(cat /etc/vmtest/load); do
	check "load:$m" modprobe "$m"
done
# The script starts with every present device's driver loaded and bound.
check hotplug settle
sh -c '. /lib/vmtest.sh; . /etc/vmtest/env; . /test.sh'
rc=$?
echo GUEST-DMESG-BEGIN
dmesg
echo GUEST-DMESG-END
echo "GUEST-DONE $rc"
sync
# A test of the host's shutdown (the script touched this) leaves the
# power-off to the host; the host-agent acts on the line below.
if [ -e /run/vmtest/host-poweroff ]; then
	echo "GUEST-AWAITS-HOST-POWEROFF"
	sleep 600
fi
poweroff -f
EOF
	chmod 755 "$root/init"

	# The kernel has no uevent helper (CONFIG_UEVENT_HELPER=n), so mdev runs
	# as a netlink daemon. Rule order matters: the first match wins. Only
	# the buses the carried modules have aliases for run modprobe: under TCG
	# each run costs ~50 ms and a q35 machine announces ~50 other devices.
	local buses
	buses=$(awk '$1 == "alias" && $2 ~ /:/ { sub(/:.*/, "", $2); print $2 }' \
		"$root/lib/modules/$VM_KVER/modules.alias" | sort -u | paste -sd'|')
	cat >"$root/etc/mdev.conf" <<'EOF'
$SYNTH_ARG_VMTESTSETTLE=.* 0:0 666 @echo "$SYNTH_ARG_VMTESTSETTLE $SEQNUM" >/run/vmtest/settled
EOF
	[[ -n $buses ]] &&
		echo "\$MODALIAS=($buses):.* 0:0 660 @/lib/vmtest-modalias" >>"$root/etc/mdev.conf"
	cat >"$root/lib/vmtest-modalias" <<'EOF'
#!/bin/sh
# Run by mdev for each uevent with a MODALIAS: load the matching driver the
# way udev does, and keep a log the tests can show.
echo "$SEQNUM $ACTION $MODALIAS" >>/run/vmtest/modalias.log
modprobe -v "$MODALIAS" >>/run/vmtest/modprobe.log 2>&1
EOF
	chmod 755 "$root/lib/vmtest-modalias"

	{
		printf "VMTEST_SPLAT_RE='%s'\n" "$VM_SPLAT_RE"
		cat <<'EOF'

# result NAME PASS|FAIL [DETAIL...]
result() {
	local name=$1 status=$2
	shift 2
	echo "RESULT $name $status${*:+ $(printf %s "$*" | tr "\n" " ")}"
}

# check NAME CMD [ARG...]: PASS when CMD exits 0, with its last output line
# as detail; FAIL otherwise, showing its output. CMD runs in a subshell.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		result "$name" PASS "$(echo "$out" | tail -n1)"
		return 0
	fi
	echo "$out" | tail -n 20 | awk -v p="  $name| " '{ print p $0 }'
	result "$name" FAIL "exit $rc: $(echo "$out" | tail -n1)"
	return 1
}

# wait_for SECONDS CMD [ARG...]: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local i=0 n=$(($1 * 10))
	shift
	until "$@"; do
		i=$((i + 1))
		[ $i -ge $n ] && return 1
		sleep 0.1
	done
}

# module_loaded NAME: NAME is a loaded module (not a built-in).
module_loaded() {
	grep -q "^$1 " /proc/modules
}

# kmsg_mark, then kmsg_since: kernel log lines printed after the mark;
# kmsg_clean: fail, printing them, if any of those lines is a splat.
kmsg_mark() {
	VMTEST_KMSG_MARK=$(dmesg | tail -n1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
}
kmsg_since() {
	dmesg | awk -v t="${VMTEST_KMSG_MARK:-0}" '{ s = $0; sub(/^\[ */, "", s); if (s + 0 > t + 0) print }'
}
kmsg_clean() {
	local bad
	bad=$(kmsg_since | grep -E "$VMTEST_SPLAT_RE")
	[ -z "$bad" ] && return 0
	echo "kernel log: $bad"
	return 1
}

# Hotplug the way a distribution does it: mdev loads the driver of every
# device that appears (its MODALIAS), and the devices that are already
# there are announced again (coldplug, what "udevadm trigger" does).
vmtest_start_hotplug() {
	local m
	mdev -d
	for m in $(find /sys/devices -name modalias); do
		echo add >"${m%/modalias}/uevent"
	done
}

# settle [SECONDS]: wait until mdev has handled every uevent so far,
# including those of drivers it loaded meanwhile: send a marker uevent,
# wait for mdev to reach it, repeat until no event came after the marker.
settle() {
	local deadline n=0 seq
	deadline=$(($(cut -d. -f1 /proc/uptime) + ${1:-30}))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt $deadline ]; do
		n=$((n + 1))
		echo "add 00000000-0000-0000-0000-000000000000 VMTESTSETTLE=$n" \
			>/sys/devices/virtual/mem/null/uevent
		wait_for 10 grep -q "^$n " /run/vmtest/settled 2>/dev/null || continue
		seq=$(cut -d' ' -f2 /run/vmtest/settled)
		[ "$seq" = "$(cat /sys/kernel/uevent_seqnum)" ] && return 0
	done
	echo "settle: uevents still arriving after ${1:-30} s"
	return 1
}
EOF
	} >"$root/lib/vmtest.sh"
}

# ---------------------------------------------------------------- running

# _vm_spawn TIMEOUT OUTFILE CMD...: run CMD (stdin /dev/null, output to
# OUTFILE); after TIMEOUT seconds send TERM, 5 s later KILL. Returns CMD's
# status, 124 on timeout.
_vm_spawn() {
	local t=$1 out=$2 rc timer done_pid
	shift 2
	"$@" </dev/null >"$out" 2>&1 &
	_vm_child=$!
	sleep "$t" &
	timer=$!
	wait -n -p done_pid "$_vm_child" "$timer" 2>/dev/null
	rc=$?
	if [[ ${done_pid:-} == "$timer" ]]; then
		kill -TERM "$_vm_child" 2>/dev/null
		sleep 5 &
		timer=$!
		wait -n "$_vm_child" "$timer" 2>/dev/null
		kill -KILL "$_vm_child" 2>/dev/null
		rc=124
	fi
	kill "$timer" 2>/dev/null
	wait "$_vm_child" "$timer" 2>/dev/null	# QEMU's own stderr tells why it died
	_vm_child=''
	return $rc
}

# vm_run [-n NAME] [-m MEM] [-c CPUS] [-t SECONDS] [-a APPEND] INITRD [-- QEMU-ARGS...]
#
# Boot the guest kernel with INITRD on a q35 machine and wait for it to
# power off (timeout: -t, else OPENVMBUS_VM_TIMEOUT, else 240 s under TCG and
# 60 s under KVM). The guest's checks are recorded as NAME/CHECK (NAME
# defaults to "vm"), with three checks of the host's own:
#   NAME/userspace   the kernel ran /init
#   NAME/script      the guest script ran to its end (exit status 0)
#   NAME/kernel-log  no kernel splat on the console or in the final dmesg
# Leaves the console in $VM_WORK/NAME.console.log ($VM_CONSOLE) and the
# boot's wall time in VM_RUN_SECONDS. Returns 0 when all three held.
#
# With VM_LAUNCHER (or OPENVMBUS_VM_LAUNCHER) set, its words are run
# followed by the whole QEMU command line, e.g. "vmbusctl run --": the
# launcher may add devices or rewrite arguments, must stay in the foreground
# until QEMU exits and must stop QEMU when it gets SIGTERM. The parts are
# also exported as VM_BOOT_KERNEL, VM_INITRD, VM_APPEND, VM_MEM, VM_CPUS,
# VM_ACCEL, VM_CPU and VM_CONSOLE for launchers that build their own.
vm_run() {
	local name=vm mem=512M cpus=2 t='' append='' opt OPTIND=1
	while getopts 'n:m:c:t:a:' opt; do
		case $opt in
		n) name=$OPTARG ;;
		m) mem=$OPTARG ;;
		c) cpus=$OPTARG ;;
		t) t=$OPTARG ;;
		a) append=$OPTARG ;;
		*) vm_die "vm_run: bad option" ;;
		esac
	done
	shift $((OPTIND - 1))
	(($# >= 1)) || vm_die "vm_run: no initramfs"
	local initrd=$1
	shift
	[[ ${1:-} == -- ]] && shift
	_vm_accel_resolve
	[[ -n $t ]] || t=${OPENVMBUS_VM_TIMEOUT:-$([[ $VM_ACCEL == kvm ]] && echo 60 || echo 240)}

	VM_CONSOLE=$VM_WORK/$name.console.log
	VM_INITRD=$initrd VM_MEM=$mem VM_CPUS=$cpus
	VM_APPEND="console=ttyS0 panic=-1 quiet printk.time=1${append:+ $append}"
	export VM_BOOT_KERNEL VM_INITRD VM_APPEND VM_MEM VM_CPUS VM_ACCEL VM_CPU VM_CONSOLE
	local cmd=("$VM_QEMU" -nodefaults -no-user-config -machine q35
		-accel "$VM_ACCEL" -cpu "$VM_CPU" -m "$mem" -smp "$cpus"
		-display none -monitor none -serial "file:$VM_CONSOLE" -no-reboot
		-kernel "$VM_BOOT_KERNEL" -initrd "$initrd" -append "$VM_APPEND" "$@")
	if [[ -n $VM_LAUNCHER ]]; then
		local launcher
		read -ra launcher <<<"$VM_LAUNCHER"
		cmd=("${launcher[@]}" "${cmd[@]}")
	fi
	printf '%q ' "${cmd[@]}" >"$VM_WORK/$name.cmdline"
	: >"$VM_CONSOLE"

	local start rc ms
	start=$(date +%s%N)
	_vm_spawn "$t" "$VM_WORK/$name.qemu.log" "${cmd[@]}"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	VM_RUN_SECONDS=$((ms / 1000)).$((ms % 1000 / 100))
	sed -i 's/\r$//' "$VM_CONSOLE"
	_vm_collect "$name" "$rc" "$t"
}

# _vm_collect NAME QEMU-STATUS TIMEOUT: turn the console of a finished run
# into results.
_vm_collect() {
	local name=$1 rc=$2 t=$3 ok=0 check status detail at done_rc splat
	at=$(grep -a -m1 '^GUEST-USERSPACE ' "$VM_CONSOLE" | cut -d' ' -f2)
	done_rc=$(grep -a '^GUEST-DONE ' "$VM_CONSOLE" | tail -n1 | cut -d' ' -f2)
	vm_log "boot '$name': $VM_RUN_SECONDS s ($VM_ACCEL, -m $VM_MEM, -smp $VM_CPUS${at:+, userspace at ${at} s guest time})"

	if [[ -n $at ]]; then
		vm_result "$name/userspace" PASS "at $at s"
	else
		vm_result "$name/userspace" FAIL "the kernel never ran /init"
		ok=1
	fi
	# The guest's checks; a RESULT may follow other text on a console line.
	while read -r _ check status detail; do
		[[ $status == PASS || $status == FAIL ]] || continue
		vm_result "$name/$check" "$status" "$detail"
	done < <(grep -ao 'RESULT .*' "$VM_CONSOLE")

	if ((rc == 124)); then
		vm_result "$name/script" FAIL "timed out after ${t}s"
		ok=1
	elif [[ -z $done_rc ]]; then
		vm_result "$name/script" FAIL "the guest stopped before the end of its script (QEMU exit $rc)"
		ok=1
	elif ((done_rc != 0)); then
		vm_result "$name/script" FAIL "guest script exited $done_rc"
		ok=1
	else
		vm_result "$name/script" PASS
	fi

	splat=$(grep -aE '\[ *[0-9]+\.[0-9]+\] .*('"$VM_SPLAT_RE"')' "$VM_CONSOLE" |
		{ if [[ -n $VM_LOG_IGNORE ]]; then grep -Ev "$VM_LOG_IGNORE"; else cat; fi } | head -n1)
	if [[ -n $splat ]]; then
		vm_result "$name/kernel-log" FAIL "$splat"
		ok=1
	else
		vm_result "$name/kernel-log" PASS
	fi

	if ((ok != 0)); then
		if ((rc == 124)); then
			vm_log "boot '$name' timed out after ${t}s; last 30 console lines:"
		else
			vm_log "boot '$name' failed; last 30 console lines:"
		fi
		# Without the final dmesg dump: the kernel lines are on the console
		# already, and the guest's own output is what tells.
		sed '/^GUEST-DMESG-BEGIN$/,/^GUEST-DMESG-END$/d' "$VM_CONSOLE" | tail -n 30 | sed 's/^/  | /'
		[[ -s $VM_WORK/$name.qemu.log ]] && sed 's/^/  qemu| /' "$VM_WORK/$name.qemu.log" | tail -n 10
		if [[ -n $splat ]]; then
			vm_log "boot '$name': first kernel splat:"
			grep -aF -m1 -A 25 "$splat" "$VM_CONSOLE" | sed 's/^/  | /'
		fi
	fi
	return "$ok"
}

# vm_finish [EXPECTED...]: print every check of this test and exit 0 when
# all passed and each EXPECTED check (BOOT/CHECK) reported, 1 otherwise.
# The guest's output of failed checks comes first, the table last (the
# runner shows the tail of a failed test's log).
vm_finish() {
	local name status detail failed=0 total=0 e console
	while read -r name status detail; do
		console=$VM_WORK/${name%%/*}.console.log
		[[ $status == FAIL && -r $console ]] || continue
		grep -aF "  ${name#*/}| " "$console" | head -n 20 | sed "s|^ *|  |"
	done <"$VM_RESULTS"
	echo "checks of $VM_TEST (console logs in ${VM_WORK#"$PWD"/}/):"
	while read -r name status detail; do
		total=$((total + 1))
		[[ $status == PASS ]] || failed=$((failed + 1))
		printf '  %-4s  %-36s %s\n' "$status" "$name" "$detail"
	done <"$VM_RESULTS"
	for e; do
		if ! cut -d' ' -f1 "$VM_RESULTS" | grep -qxF "$e"; then
			printf '  %-4s  %-36s %s\n' FAIL "$e" "never reported"
			failed=$((failed + 1)) total=$((total + 1))
		fi
	done
	((total > 0)) || { echo "no checks ran"; exit 1; }
	echo "$VM_TEST: $((total - failed)) of $total checks passed"
	((failed == 0)) || exit 1
	exit 0
}
