#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Materialise the fake sysfs tree of the QEMU model into DEST: the files and directories of
# tests/data/sysfs-qemu plus the symlinks listed in tests/data/sysfs-qemu.links (driver,
# iommu_group, devices/*, module links as the real kernel has them). The links live in a
# manifest because `make dist` packs with tar -h, which would turn them into directories.
#   fake-sysfs.sh DEST
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=$1
[ ! -e "$dest" ] || { echo "fake-sysfs: '$dest' exists" >&2; exit 1; }
mkdir -p "$dest"
cp -R "$here/sysfs-qemu/." "$dest/"
chmod -R u+w "$dest"
tab=$(printf '\t')
while IFS="$tab" read -r path target; do
	[ -n "$path" ] || continue
	mkdir -p "$dest/$(dirname "$path")"
	ln -s "$target" "$dest/$path"
done < "$here/sysfs-qemu.links"
