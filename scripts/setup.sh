#!/bin/sh
# Installs every Debian package cryptstack's build, tests and benchmarks need.
# Idempotent and non-interactive; run as root (or through sudo).
set -eu

PKGS="
build-essential cmake pkg-config
liburing-dev libfuse3-dev fuse3 libipsec-mb-dev libmbedtls-dev
libcunit1-dev libseccomp-dev libargon2-dev libssl-dev
clang libclang-rt-14-dev
git sqlite3 fio rsync xz-utils attr strace psmisc
gocryptfs gnuplot-nox linux-source-6.1 time python3 linux-perf
"

SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi

missing=
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "setup: all packages present"
	exit 0
fi

echo "setup: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "setup: done"
