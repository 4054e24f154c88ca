#!/bin/sh
# gen-module-list.sh [KBUILD] - the guest kernel modules, one a line, from
# the obj-m lines of guest-linux/Kbuild (the one place the list lives). The
# initramfs hooks read the installed list, /usr/share/openvmbus/modules.
set -eu
kbuild=${1:-guest-linux/Kbuild}
sed -n 's/^obj-m[[:space:]]*+\{0,1\}=//p' "$kbuild" | tr ' \t' '\n\n' | sed -n 's/\.o$//p'
