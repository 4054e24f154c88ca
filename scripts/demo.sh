#!/bin/bash
# demo.sh - `make demo`: what openvmbus does today, end to end.
#
# Starts vmbus-worker with the userspace test guest in place of QEMU (the
# real-guest demo takes over once the guest driver lands), lets the guest
# connect, open channels, echo data and answer heartbeats, and prints what
# the worker's control socket reports.
set -euo pipefail
BUILD=${BUILD:-build}
dir=$(mktemp -d "${TMPDIR:-/tmp}/openvmbus-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT

cat >"$dir/vm.conf" <<CONF
[VM]
Name=demo
Memory=256M
CPUs=2
Accel=tcg
[Integration]
Services=heartbeat echo
CONF

echo "== channel core: ring buffer vs memcpy (short run)"
RING_BENCH_SECONDS=0.5 "$BUILD/tests/bench/ring_bench" | sed -n '1,20p' || true

echo
echo "== vmbus-worker with the userspace test guest"
SIM_SCENARIO=basic "$BUILD/host/vmbus-worker" --config "$dir/vm.conf" --run-dir "$dir/run" \
	--qemu "$BUILD/tests/sim/sim-guest" 2>"$dir/worker.log" &
worker=$!
wait "$worker" && rc=0 || rc=$?
echo "-- what the guest did:"
sed 's/^sim-guest: /   /' "$dir/run/qemu.log"
echo "-- what the worker logged:"
sed 's/^[^ ]* [^ ]* /   /' "$dir/worker.log"
echo "== worker exit status $rc (0 = the guest powered off)"
exit "$rc"
