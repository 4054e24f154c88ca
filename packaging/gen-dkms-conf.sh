#!/bin/sh
# gen-dkms-conf.sh VERSION [KBUILD] - write dkms.conf for the guest modules
# to stdout. The module list is read from guest-linux/Kbuild (its obj-m
# lines), the one place it lives: a new module there is a new module here.
set -eu
version=$1
kbuild=${2:-guest-linux/Kbuild}
modules=$("${0%/*}/gen-module-list.sh" "$kbuild")
[ -n "$modules" ] || { echo "gen-dkms-conf.sh: no obj-m modules in $kbuild" >&2; exit 1; }
cat <<CONF
# dkms.conf for openvmbus $version, generated from guest-linux/Kbuild by
# packaging/gen-dkms-conf.sh.
PACKAGE_NAME="openvmbus"
PACKAGE_VERSION="$version"
AUTOINSTALL="yes"
CONF
i=0
for m in $modules; do
	echo "BUILT_MODULE_NAME[$i]=\"$m\""
	echo "DEST_MODULE_LOCATION[$i]=\"/updates/dkms\""
	i=$((i + 1))
done
