# shellcheck shell=sh
# guest-lib.sh - helpers for guest scripts of tests run under vmbus-worker
# (tests/vm/worker-launch), sourced by the guest script after /lib/vmtest.sh.

# host_request ACTION [ARGS]: ask tests/vm/host-agent on the host to act,
# wait for it (120 s at most) and print its reply.
# Checks run in subshells, so the request counter lives in a file.
host_request() {
	hr_n=$(($(cat /tmp/host-request-n 2>/dev/null || echo 0) + 1))
	echo "$hr_n" >/tmp/host-request-n
	echo "HOST-REQUEST $hr_n $*" >/dev/console
	while read -r -t 120 tag n reply </dev/ttyS0; do
		if [ "$tag" = HOST-DONE ] && [ "$n" = "$hr_n" ]; then
			echo "$reply"
			return 0
		fi
	done
	echo "no answer from the host to '$*'"
	return 1
}

# ovmb_dev CLASS: the sysfs directory of the bus device of that class.
ovmb_dev() {
	for d in /sys/bus/openvmbus/devices/*; do
		[ "$(cat "$d/class_name" 2>/dev/null)" = "$1" ] && { echo "$d"; return 0; }
	done
	return 1
}

# irq_count NAME CPU: interrupts of the IRQ named NAME on CPU.
irq_count() {
	awk -v name="$1" -v col=$(($2 + 2)) '$NF == name { print $col }' /proc/interrupts
}
