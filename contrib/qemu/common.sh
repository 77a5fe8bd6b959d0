# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers shared by the probestorm QEMU kit scripts (sourced, not run).
#   CACHE            cache root (${PROBESTORM_CACHE:-~/.cache/probestorm})
#   ps_need_pkgs P.. install the Debian host packages P.. that are missing (dpkg -s)
#   ps_hash F..      short sha256 of the concatenated files F..
#   ps_log MSG       message on stderr, prefixed with the script's name

CACHE=${PROBESTORM_CACHE:-$HOME/.cache/probestorm}
ps_me=$(basename "$0")

ps_log() { echo "$ps_me: $*" >&2; }
ps_die() { ps_log "$*"; exit 1; }

ps_need_pkgs() {
	ps_missing=
	for ps_p in "$@"; do
		dpkg -s "$ps_p" >/dev/null 2>&1 || ps_missing="$ps_missing $ps_p"
	done
	[ -z "$ps_missing" ] && return 0
	ps_log "installing host packages:$ps_missing"
	if [ "$(id -u)" = 0 ]; then
		# shellcheck disable=SC2086
		{ apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -y -qq install $ps_missing; } >&2
	else
		# shellcheck disable=SC2086
		{ sudo apt-get -qq update && sudo DEBIAN_FRONTEND=noninteractive apt-get -y -qq install $ps_missing; } >&2
	fi
}

ps_hash() { cat "$@" | sha256sum | cut -c1-16; }
