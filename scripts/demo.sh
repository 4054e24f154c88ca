#!/bin/bash
# demo.sh - `make demo`: a real guest with openvmbus, end to end.
#
# Builds a small Debian-kernel guest (busybox initramfs carrying the
# openvmbus modules and openvmbusd), creates it with vmbusctl, starts it
# (vmbus-worker runs QEMU and serves the bus), shows its status, channels
# and heartbeat, and stops it. Everything lives under build/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
# shellcheck source=../tests/vm/lib.sh
. tests/vm/lib.sh			# the VM test harness builds the guest image
vm_require

demo=$BUILD/demo
vmbusctl="$BUILD/host/vmbusctl --dir $demo/state"
rm -rf "$demo" && mkdir -p "$demo"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "building the guest image (Debian kernel $VM_KVER, busybox, openvmbus modules, openvmbusd)"
mapfile -t libs < <(vm_libs_of "$BUILD/guest/openvmbusd")
vm_build_initramfs -s - "$demo/initrd.img" "$BUILD/guest/openvmbusd:/usr/sbin/openvmbusd" \
	"${libs[@]}" <<'GUEST'
# The openvmbus driver autoloads from the device's modalias; the daemon
# serves the integration services. Then the guest just stays up.
for _ in $(seq 100); do [ -c /dev/openvmbus/heartbeat ] && break; sleep 0.1; done
openvmbusd 2>/dev/console &
for d in /sys/bus/openvmbus/devices/*; do
	echo "guest sees: $(cat "$d/class_name") channel $(cat "$d/channel_id"), $(cat "$d/state"), CPU $(cat "$d/target_cpu")"
done
echo "guest sees: $(ls /dev/openvmbus | tr '\n' ' ')in /dev/openvmbus; modules: $(lsmod | awk '/openvmbus/ { printf "%s ", $1 }')"
exec sleep 100000
GUEST
echo "image: $demo/initrd.img ($(du -h "$demo/initrd.img" | cut -f1))"

say "creating the VM"
run $vmbusctl create demo --memory 512M --cpus 2 --kernel "$VM_BOOT_KERNEL" \
	--initrd "$demo/initrd.img" --append "console=ttyS0 quiet" --services "heartbeat echo"

say "starting it (waits until the guest's bus driver connects)"
run $vmbusctl start demo --timeout 180

say "status, once the guest daemon answers heartbeats"
for _ in $(seq 60); do
	$vmbusctl status demo | grep -q "heartbeat ok" && break
	sleep 0.5
done
run $vmbusctl status demo

say "channels"
run $vmbusctl channels demo

say "the guest's side (its serial console)"
for _ in $(seq 50); do
	grep -qa "guest sees: .*/dev/openvmbus" "$demo/state/vms/demo/run/console.log" 2>/dev/null && break
	sleep 0.2
done
echo "\$ $vmbusctl console demo"
$vmbusctl console demo --lines 40 </dev/null | grep -a "guest sees\|openvmbusd" || true

say "disabling and re-enabling an integration service at run time"
run $vmbusctl integration demo disable echo
run $vmbusctl integration demo enable echo

say "stopping it"
run $vmbusctl stop demo --force
run $vmbusctl status demo
