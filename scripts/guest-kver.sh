#!/bin/bash
# guest-kver.sh - print the release of the Debian guest kernel the modules are
# built for: the one linux-headers-amd64 depends on.
set -euo pipefail
dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) || {
	echo "guest-kver: linux-headers-amd64 is not installed (run 'make deps')" >&2
	exit 1
}
dep=${dep%% *}
echo "${dep#linux-headers-}"
