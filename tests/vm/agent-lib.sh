# shellcheck shell=bash
# agent-lib.sh - what host-side agents (tests/vm/host-agent, the agents a
# test writes for itself) share when they serve a guest's HOST-REQUEST
# lines from its serial console file.

# agent_requests CONSOLE: the console's HOST-REQUEST lines (and the
# GUEST-USERSPACE marks that count boots), from complete lines only: the
# file grows while we read it, and a request the guest has half written
# must not be taken for a whole one.
agent_requests() {
	local console
	console=$(tr -d '\0' <"$1" 2>/dev/null; echo .)
	console=${console%.}
	if [[ $console != *$'\n' ]]; then
		if [[ $console == *$'\n'* ]]; then console=${console%$'\n'*}; else console=''; fi
	fi
	grep -ao 'HOST-REQUEST [0-9]* .*\|^GUEST-USERSPACE ' <<<"$console"
}
