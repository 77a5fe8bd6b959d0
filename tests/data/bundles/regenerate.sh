#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Rebuilds qemu-sim-2kernels.ndjson: the hand-made source (gen-qemu-sim.py) goes through
# the real import and export code, so the committed bundle is in the exact format
# `probestorm export` writes.   usage: regenerate.sh BUILDDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: regenerate.sh BUILDDIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/gen-qemu-sim.py" > "$tmp/src.ndjson"
"$build/probestorm" --database "$tmp/db" import "$tmp/src.ndjson"
: > "$tmp/out.ndjson"
for uuid in 3f1c9a52-7d4e-4b6a-9c21-5e8f0a7b6d10 8a6d2e17-0b3c-4f59-8e4a-c7d1f2b3a904; do
	"$build/probestorm" --database "$tmp/db" export "$uuid" >> "$tmp/out.ndjson"
done
mv "$tmp/out.ndjson" "$here/qemu-sim-2kernels.ndjson"
