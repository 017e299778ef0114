# Sourced by the integration scripts (tests/integration.cmake passes the
# build directory as $1). Real mounts, real processes; as root (CI).
set -eu
B=$(cd "$1" && pwd)
CS=$B/cryptstack
POSIX=$B/cs_posix

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
say() { echo "== $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (CI runs the integration label as root)"
[ -c /dev/fuse ] || skip "/dev/fuse is missing"
command -v fusermount3 >/dev/null || skip "fusermount3 missing (Debian package fuse3)"

T=$(mktemp -d /tmp/cs-it.XXXXXX)
chmod 755 "$T"
PASS=$T/pass
printf 'correct horse battery staple\n' >"$PASS"
WRONG=$T/wrong
printf 'not the passphrase\n' >"$WRONG"
MOUNTS=""
UMOUNTS=""
# Default places (a script may choose others): the lower directory, the
# mount point, a plain directory to compare with (not created).
L=$T/lower
M=$T/mnt
P=$T/plain

is_mounted() { awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts; }

cleanup() {
	set +e
	for m in $MOUNTS; do
		if is_mounted "$m"; then
			"$CS" umount "$m" >/dev/null 2>&1 || umount -l "$m"
		fi
	done
	for m in $UMOUNTS; do
		umount -l "$m"
	done
	rm -rf "$T"
}
trap cleanup EXIT

# cs_init LOWER: a new volume with cheap KDF parameters (tests only).
cs_init() {
	mkdir -p "$1"
	"$CS" init --passfile "$PASS" --kdf-memory 1M --kdf-time 1 \
		--kdf-parallelism 1 "$1" >/dev/null
}

# cs_mount [mount args...] LOWER MNT: mounts with the test passphrase,
# under the command in $CS_MOUNT_WRAP if set (nouring.sh).
cs_mount() {
	eval "mnt=\${$#}"
	mkdir -p "$mnt"
	MOUNTS="$MOUNTS $mnt"
	${CS_MOUNT_WRAP:-} "$CS" mount --passfile "$PASS" "$@"
	is_mounted "$mnt" || fail "mount returned 0 but $mnt is not mounted"
}

# cs_new [mount args...]: a new volume at $L, mounted at $M.
cs_new() {
	cs_init "$L"
	cs_mount "$@" "$L" "$M"
}

# tmpfs_dir DIR SIZE: a tmpfs of SIZE mounted at DIR (the test is skipped
# when it cannot be), unmounted at exit after the file system mounts.
tmpfs_dir() {
	mkdir -p "$1"
	mount -t tmpfs -o size="$2" tmpfs "$1" || skip "cannot mount a tmpfs"
	UMOUNTS="$UMOUNTS $1"
}

cs_umount() {
	"$CS" umount "$1" || fail "umount $1"
	! is_mounted "$1" || fail "$1 still mounted after umount"
}

# alive PID: running and not a zombie (an orphaned supervisor is reaped
# by whoever adopted it, which may be slow or never in a container).
alive() {
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' /proc/"$1"/status 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Supervisor pid of the mount at $1 (from its pid file).
# Stale pid files of killed supervisors stay behind, and their pids get
# reused (e.g. by a frontend, whose command line names the mountpoint too):
# only a live `cryptstack mount ... MNT` counts, and of those the newest
# (the supervisor of a mount just killed may still be exiting while the
# next one for the same mountpoint starts). A subshell: the caller's
# variables stay as they are.
sup_pid() (
	best=
	bestst=0
	for f in /run/cryptstack/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null) || continue
		[ -n "$p" ] && [ -r /proc/"$p"/cmdline ] || continue
		a=$(tr '\0' '\n' </proc/"$p"/cmdline 2>/dev/null) || continue
		a0=$(echo "$a" | sed -n 1p)
		[ "${a0##*/}" = cryptstack ] && [ "$(echo "$a" | sed -n 2p)" = mount ] || continue
		echo "$a" | grep -qxF "$1" || continue
		alive "$p" || continue
		st=$(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null | cut -d' ' -f20)
		[ -n "$st" ] || continue
		if [ "$st" -gt "$bestst" ]; then
			best=$p
			bestst=$st
		fi
	done
	echo "$best"
)

# child_pid SUPERVISOR NAME: pid of the helper NAME started by it.
child_pid() {
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		a0=$(tr '\0' '\n' </proc/"$c"/cmdline 2>/dev/null | head -n1)
		if [ "${a0##*/}" = "$2" ]; then
			echo "$c"
			return
		fi
	done
}

# tree_sums DIR: sorted "sha256  path" of every regular file.
tree_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

# helper_pids MNT: $sp, $cdp, $fep and $kdp are the supervisor, cryptod,
# frontend and keyd of the mount at MNT (empty when not found).
helper_pids() {
	sp=$(sup_pid "$1")
	cdp=$(child_pid "$sp" cryptstack-cryptod)
	fep=$(child_pid "$sp" cryptstack-frontend)
	kdp=$(child_pid "$sp" cryptstack-keyd)
}

# keyd_stop MNT: SIGSTOPs the keyd of the mount at MNT (helper_pids; kill
# -CONT "$kdp" resumes it; it is resumed at exit in any case).
keyd_stop() {
	helper_pids "$1"
	[ -n "$kdp" ] || fail "keyd pid not found"
	kill -STOP "$kdp"
	trap 'set +e; kill -CONT "$kdp" 2>/dev/null; cleanup' EXIT
}

# user_setup USER: for mounts by USER (needs setpriv and a setuid
# fusermount3, else skips): the binaries in $BIN (the CLI runs the helpers
# from its own directory), /dev/fuse open to everyone (its mode is put
# back at exit), USER's home $W. as_user CMD... runs CMD as $U with a
# clean environment.
user_setup() {
	command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"
	U=$1
	id "$U" >/dev/null 2>&1 || skip "no user $U"
	[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not setuid root"
	BIN=$T/bin
	mkdir -p "$BIN"
	for b in cryptstack cryptstack-frontend cryptstack-cryptod cryptstack-keyd; do
		cp "$B/$b" "$BIN/" || fail "copy $b"
	done
	chmod -R a+rX "$BIN"
	FUSE_MODE=$(stat -c %a /dev/fuse)
	chmod 666 /dev/fuse
	W=$T/home
	mkdir -p "$W"
	chown "$U" "$W"
	trap 'set +e; chmod "$FUSE_MODE" /dev/fuse; as_user "$BIN/cryptstack" umount "$W/mnt" >/dev/null 2>&1; rm -rf "/tmp/cryptstack-$(id -u "$U")"; cleanup' EXIT
}

as_user() {
	setpriv --reuid="$U" --regid="$(id -g "$U")" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="$W" "$@"
}
