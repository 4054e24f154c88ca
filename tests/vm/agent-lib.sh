# shellcheck shell=bash
# agent-lib.sh - what host-side agents (tests/vm/host-agent, the agents a
# test writes for itself) share when they serve a guest's HOST-REQUEST
# lines from its serial console file.

# agent_poll CONSOLE: append to AGENT_LINES the HOST-REQUEST lines (and
# the GUEST-USERSPACE marks that count boots) of the console lines
# completed since the last call. Only complete lines: the file grows while
# we read it, and a request the guest has half written must not be taken
# for a whole one. Only the new bytes are read (AGENT_OFFSET): agents poll
# ten times a second, and a benchmark's console grows to megabytes that,
# read whole each time, took a third of a host CPU from the VM measured.
AGENT_LINES=()
AGENT_OFFSET=0
agent_poll() {
	local LC_ALL=C size chunk
	size=$(stat -c %s "$1" 2>/dev/null) || return 0
	((size > AGENT_OFFSET)) || return 0
	# NULs (which command substitution drops) become \1 for the byte count.
	chunk=$(tail -c +$((AGENT_OFFSET + 1)) "$1" 2>/dev/null | head -c $((size - AGENT_OFFSET)) |
		tr '\0' '\1'; echo .)
	chunk=${chunk%.}
	[[ $chunk == *$'\n'* ]] || return 0
	chunk=${chunk%$'\n'*}$'\n'
	AGENT_OFFSET=$((AGENT_OFFSET + ${#chunk}))
	mapfile -t -O "${#AGENT_LINES[@]}" AGENT_LINES < <(grep -ao 'HOST-REQUEST [0-9]* .*\|^GUEST-USERSPACE ' <<<"${chunk//$'\1'/}")
}
