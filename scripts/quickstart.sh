#!/bin/sh
# Installs, builds, then creates (if absent) and mounts an encrypted volume:
# lower directory ./cryptstack-lower, mountpoint ./cryptstack-mnt (or the
# paths given). Asks for the passphrase on the terminal, or reads it from
# --passfile FILE.
#   usage: scripts/quickstart.sh [--passfile FILE] [LOWER [MOUNTPOINT]]
set -eu
here=$(pwd)
src=$(cd "$(dirname "$0")/.." && pwd)

passopt=
if [ "${1:-}" = "--passfile" ]; then
	[ $# -ge 2 ] || { echo "quickstart: --passfile needs a file" >&2; exit 2; }
	passopt="--passfile $(realpath "$2")"
	shift 2
fi
lower=$(realpath -m "${1:-$here/cryptstack-lower}")
mnt=$(realpath -m "${2:-$here/cryptstack-mnt}")

"$src/scripts/setup.sh"
cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$src/build" -j2 >/dev/null

cs="$src/build/cryptstack"
mkdir -p "$lower" "$mnt"
if [ ! -e "$lower/.cryptstack.conf" ]; then
	echo "quickstart: creating a new volume in $lower"
	# shellcheck disable=SC2086
	"$cs" init $passopt "$lower"
fi
# shellcheck disable=SC2086
"$cs" mount $passopt "$lower" "$mnt"
echo "quickstart: $lower is mounted on $mnt"
echo "quickstart: unmount with: $cs umount $mnt"
