# shellcheck shell=sh
# storage.sh - the guest half of tests/bench/storage.bench (busybox sh,
# sourced by the test initramfs's /init after /lib/vmtest.sh).
#
# Finds the three disks (one of each kind, each backed by its own copy of
# the same image), puts them on the same I/O scheduler, then runs each row
# as one fio run in which the three disks take turns in short slices (one
# fio job per disk and slice, run one after the other), the order of the
# disks rotated from slice to slice: drift of the host's disk and CPUs over
# seconds then hits all three alike. Before and after each row's fio run it
# asks the host agent for a snapshot of the worker's counters (requests,
# doorbells, interrupts); only our disk moves them.
#
# Console lines for the host (one each, parsed by storage.bench):
#   BENCH-CONFIG engine=E runtime=S ramp=S slices=N
#   BENCH-DEV KIND NAME key=value...   queue settings as the run saw them
#   BENCH-FIO ROW MD5 JSON             fio's JSON report of the row's run,
#                                      whitespace removed (twice; MD5 of
#                                      the JSON text); its jobs are named
#                                      ROW:KIND:SLICE
# Environment (from storage.bench): ROWS ("name:rw:bs:qd ..."), RUNTIME and
# RAMP (seconds per slice), SLICES, SCHED (an I/O scheduler name, or
# "default"), SIZE_BYTES, REPEAT.
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
echo "BENCH-CONFIG engine=$engine runtime=$RUNTIME ramp=$RAMP slices=$SLICES"

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

# kinds_from N: the three kinds, starting with number N (0: ovbd).
kinds_from() {
	n=$1
	# shellcheck disable=SC2086 # a word list
	set -- $KINDS $KINDS
	shift "$n"
	echo "$1 $2 $3"
}

# job_file ROW RW BS QD FIRST: the row's fio jobs, SLICES slices of the
# three disks one after the other (stonewall), the first slice starting
# with kind number FIRST and each next slice with the next kind.
job_file() {
	printf '[global]\ndirect=1\nioengine=%s\nrw=%s\nbs=%s\niodepth=%s\nnumjobs=1\n' \
		"$engine" "$2" "$3" "$4"
	printf 'time_based=1\nruntime=%s\nramp_time=%s\nrandrepeat=0\nnorandommap=1\n' \
		"$RUNTIME" "$RAMP"
	s=1
	while [ "$s" -le "$SLICES" ]; do
		for k in $(kinds_from $((($5 + s - 1) % 3))); do
			printf '[%s:%s:%s]\nfilename=/dev/%s\nstonewall\n' "$1" "$k" "$s" "$(dev_of "$k")"
		done
		s=$((s + 1))
	done
}

# run ROW RW BS QD FIRST: the row's fio run; its report, whitespace
# removed, goes to the console twice with its md5 (the host takes an
# intact copy).
run() {
	job_file "$@" >/tmp/row.fio || return 1
	ask snap "$1-before" || return 1
	if ! fio --output-format=json --output=/tmp/fio.json /tmp/row.fio >/tmp/fio.err 2>&1; then
		cat /tmp/fio.err
		return 1
	fi
	ask snap "$1-after" || return 1
	tr -d ' \t\r\n' </tmp/fio.json >/tmp/fio.line
	sum=$(md5sum </tmp/fio.line | cut -d' ' -f1)
	# check captures stdout: the report goes to the console itself.
	for _ in 1 2; do
		echo "BENCH-FIO $1 $sum $(cat /tmp/fio.line)" >/dev/console
	done
	echo "$1: $(wc -c </tmp/fio.line) bytes of fio JSON"
}

# REPEAT rounds over the rows; a row's later rounds are labelled ROW@N.
# The first slice of each row and round starts with the next kind.
i=0
round=1
while [ "$round" -le "${REPEAT:-1}" ]; do
	for spec in $ROWS; do
		IFS=: read -r row rw bs qd <<EOF
$spec
EOF
		[ "$round" = 1 ] || row="$row@$round"
		check "fio:$row" run "$row" "$rw" "$bs" "$qd" $((i % 3))
		i=$((i + 1))
	done
	round=$((round + 1))
done
