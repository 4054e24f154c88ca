# shellcheck shell=bash
# agent-lib.sh - what host-side agents (tests/vm/host-agent, the agents a
# test writes for itself) share when they serve a guest's HOST-REQUEST
# lines from its serial console file.

# agent_poll CONSOLE: append to AGENT_LINES the HOST-REQUEST lines (and
# the GUEST-USERSPACE marks that count boots, and the
# GUEST-AWAITS-HOST-POWEROFF mark of a guest that leaves its power-off to
# the host) of the console lines
# completed since the last call. Only complete lines: the file grows while
# we read it, and a request the guest has half written must not be taken
# for a whole one (its start waits in AGENT_PARTIAL). The console stays
# open on AGENT_FD, so each call reads only the new bytes, and nothing is
# forked: agents poll several times a second beside the VM they serve,
# and a benchmark's console grows to megabytes. Read whole with grep each
# time, it took a third of a host CPU from the VM measured; with stat,
# tail, head and grep per poll, still 5 % of one while the console did not
# even grow (docs/testing.md). NULs are dropped (read ignores them).
AGENT_LINES=()
AGENT_FD=
AGENT_FILE=
AGENT_PARTIAL=
agent_poll() {
	local line
	if [[ $AGENT_FILE != "$1" ]]; then
		[[ -n $AGENT_FD ]] && exec {AGENT_FD}<&-
		AGENT_FD= AGENT_PARTIAL=
		[[ -r $1 ]] || return 0
		exec {AGENT_FD}<"$1" || { AGENT_FD=; return 0; }
		AGENT_FILE=$1
	fi
	while IFS= read -r -u "$AGENT_FD" line; do
		line=$AGENT_PARTIAL$line
		AGENT_PARTIAL=
		if [[ $line == GUEST-AWAITS-HOST-POWEROFF* ]]; then
			AGENT_LINES+=("GUEST-AWAITS-HOST-POWEROFF")
			continue
		fi
		if [[ $line == "GUEST-USERSPACE "* ]]; then
			AGENT_LINES+=("GUEST-USERSPACE ")
			line=${line#GUEST-USERSPACE }
		fi
		[[ $line =~ HOST-REQUEST\ [0-9]*\ .* ]] && AGENT_LINES+=("${BASH_REMATCH[0]}")
	done
	AGENT_PARTIAL+=$line	# a line not finished yet (read stopped at the end)
	return 0
}

# agent_sleep SECONDS: sleep without forking sleep(1): a read with a
# timeout on a pipe that never gets data (we hold its write end).
AGENT_SLEEP_FD=
agent_sleep() {
	[[ -n $AGENT_SLEEP_FD ]] || exec {AGENT_SLEEP_FD}<> <(:)
	read -r -t "$1" -u "$AGENT_SLEEP_FD" _
	return 0
}
