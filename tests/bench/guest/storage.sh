# shellcheck shell=sh
# storage.sh - the guest half of tests/bench/storage.bench (busybox sh,
# sourced by the test initramfs's /init after /lib/vmtest.sh).
#
# Finds the three disks (one of each kind, each backed by its own copy of
# the same image), puts them on the same I/O scheduler, then runs fio once
# per row and disk, the disks interleaved within each row and the order
# rotated from row to row so that drift of the machine hits all alike.
# Before and after each run on our disk it asks the host agent for a
# snapshot of the worker's counters (requests, doorbells, interrupts).
#
# Console lines for the host (one each, parsed by storage.bench):
#   BENCH-CONFIG engine=E runtime=S ramp=S
#   BENCH-DEV KIND NAME key=value...   queue settings as the run saw them
#   BENCH-FIO ROW KIND MD5 JSON        fio's JSON report, whitespace removed
#                                      (twice; MD5 of the JSON text)
# Environment (from storage.bench): ROWS ("name:rw:bs:qd ..."), RUNTIME,
# RAMP, SCHED (an I/O scheduler name, or "default"), SIZE_BYTES.
. /lib/guest-lib.sh

KINDS="ovbd virtio-blk virtio-scsi"

# dev_of KIND: the one block device of that kind.
dev_of() {
	case $1 in
	ovbd) set -- /sys/block/ovbd* ;;
	virtio-blk) set -- /sys/block/vd* ;;
	virtio-scsi) set -- /sys/block/sd* ;;
	esac
	[ $# = 1 ] && [ -e "$1" ] && echo "${1##*/}"
}

disks_ready() {
	for k in $KINDS; do
		d=$(dev_of "$k") || { echo "no $k disk yet"; return 1; }
		[ -b "/dev/$d" ] || { echo "/dev/$d not there yet"; return 1; }
		size=$(($(cat "/sys/block/$d/size") * 512))
		[ "$size" = "$SIZE_BYTES" ] || { echo "$d has $size bytes, not $SIZE_BYTES"; return 1; }
	done
	echo "ovbd $(dev_of ovbd), virtio-blk $(dev_of virtio-blk), virtio-scsi $(dev_of virtio-scsi)"
}
check disks wait_for 60 disks_ready || exit 1

# The kernel picks a scheduler by queue count; the same one for all makes
# the comparison one of the transports.
for k in $KINDS; do
	d=$(dev_of "$k")
	q=/sys/block/$d/queue
	default=$(sed 's/.*\[\(.*\)\].*/\1/' "$q/scheduler")
	[ "$SCHED" = default ] || echo "$SCHED" >"$q/scheduler" || exit 1
	echo "BENCH-DEV $k $d default_scheduler=$default scheduler=$(sed 's/.*\[\(.*\)\].*/\1/' "$q/scheduler")" \
		"hw_queues=$(find "/sys/block/$d/mq" -mindepth 1 -maxdepth 1 | wc -l) nr_requests=$(cat "$q/nr_requests")" \
		"max_sectors_kb=$(cat "$q/max_sectors_kb") max_segments=$(cat "$q/max_segments")" \
		"write_cache=$(tr ' ' _ <"$q/write_cache") rotational=$(cat "$q/rotational")"
done

# io_uring where the kernel and fio both have it, else libaio.
ovbd=$(dev_of ovbd)
engine=libaio
fio --name=probe --filename="/dev/$ovbd" --direct=1 --ioengine=io_uring --rw=read --bs=4k \
	--size=64k --output=/tmp/probe.out >/dev/null 2>&1 && engine=io_uring
echo "BENCH-CONFIG engine=$engine runtime=$RUNTIME ramp=$RAMP"

# Host agent records are named ROW-before / ROW-after. The agent answers
# through `vmbusctl console`, which stays attached for a second after its
# answer; QEMU 7.2 was seen to log a byte twice when the guest prints while
# such a client goes away, so the guest keeps quiet until it has.
ask() {
	out=$(host_request "$@")
	sleep 2
	[ "$out" = ok ] || { echo "host request '$*': $out"; return 1; }
	echo "host: $*: ok"
}

check host-fds ask fds

# run ROW RW BS QD KIND: one fio run; its report, whitespace removed, goes
# to the console twice with its md5 (the host takes an intact copy).
run() {
	d=$(dev_of "$5")
	if [ "$5" = ovbd ]; then ask snap "$1-before" || return 1; fi
	if ! fio --name="$1" --filename="/dev/$d" --direct=1 --ioengine="$engine" \
		--rw="$2" --bs="$3" --iodepth="$4" --numjobs=1 \
		--time_based --runtime="$RUNTIME" --ramp_time="$RAMP" \
		--randrepeat=0 --norandommap \
		--output-format=json --output=/tmp/fio.json >/tmp/fio.err 2>&1; then
		cat /tmp/fio.err
		return 1
	fi
	tr -d ' \t\r\n' </tmp/fio.json >/tmp/fio.line
	sum=$(md5sum </tmp/fio.line | cut -d' ' -f1)
	# check captures stdout: the report goes to the console itself.
	for _ in 1 2; do
		echo "BENCH-FIO $1 $5 $sum $(cat /tmp/fio.line)" >/dev/console
	done
	if [ "$5" = ovbd ]; then ask snap "$1-after" || return 1; fi
	echo "/dev/$d: $(wc -c </tmp/fio.line) bytes of fio JSON"
}

# REPEAT rounds over the rows; a row's later rounds are labelled ROW@N
# (the host takes each disk's median round).
i=0
round=1
while [ "$round" -le "${REPEAT:-1}" ]; do
	for spec in $ROWS; do
		IFS=: read -r row rw bs qd <<EOF
$spec
EOF
		[ "$round" = 1 ] || row="$row@$round"
		# Rotate: row 0 starts with ovbd, row 1 with virtio-blk, ...
		# shellcheck disable=SC2086 # a word list
		set -- $KINDS $KINDS
		shift $((i % 3))
		for k in $1 $2 $3; do
			check "fio:$row:$k" run "$row" "$rw" "$bs" "$qd" "$k"
		done
		i=$((i + 1))
	done
	round=$((round + 1))
done
