#!/bin/sh
# An unprivileged user mounts its own volume (fusermount3, as on a desktop):
# init, mount, write, read back, umount, remount; another user cannot read
# through the mount (no allow_other); a planted run directory is refused.
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || skip "setpriv missing (util-linux)"
U=nobody
id "$U" >/dev/null 2>&1 || skip "no user $U"
UID_U=$(id -u "$U")
[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not setuid root"

# The user must reach the binaries: copy them next to each other (the CLI
# runs the helpers from its own directory).
BIN=$T/bin
mkdir -p "$BIN"
for b in cryptstack cryptstack-frontend cryptstack-cryptod cryptstack-keyd; do
	cp "$B/$b" "$BIN/" || fail "copy $b"
done
chmod -R a+rX "$BIN"

# Debian's /dev/fuse is 0666; some containers make it 0600. Open it up
# for the test and put the mode back afterwards.
FUSE_MODE=$(stat -c %a /dev/fuse)
restore() { chmod "$FUSE_MODE" /dev/fuse; }
chmod 666 /dev/fuse
W=$T/home
mkdir -p "$W"
chown "$U" "$W"
RUNDIR=/tmp/cryptstack-$UID_U

# as_user CMD...: runs CMD as $U with a clean environment.
as_user() {
	setpriv --reuid="$U" --regid="$(id -g "$U")" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="$W" "$@"
}

trap 'set +e; restore; as_user "$BIN/cryptstack" umount "$W/mnt" >/dev/null 2>&1; rm -rf "$RUNDIR"; cleanup' EXIT
rm -rf "$RUNDIR"

say "user $U: init and mount"
as_user sh -c "cd '$W' && printf 'a user passphrase\n' >pass && mkdir low mnt" || fail "setup as $U"
as_user "$BIN/cryptstack" init --passfile "$W/pass" --kdf-memory 1M --kdf-time 1 \
	--kdf-parallelism 1 "$W/low" >/dev/null || fail "init as $U"
as_user "$BIN/cryptstack" mount --passfile "$W/pass" "$W/low" "$W/mnt" || fail "mount as $U"
is_mounted "$W/mnt" || fail "not mounted"
[ "$(as_user stat -c %u "$W/mnt")" = "$UID_U" ] || fail "mount root not owned by $U"

say "write and read as $U"
head -c 1048577 /dev/urandom >"$T/data"
chmod a+r "$T/data"
as_user cp "$T/data" "$W/mnt/data" || fail "write as $U"
as_user cmp "$T/data" "$W/mnt/data" || fail "read back as $U"
as_user sh -c "echo small >'$W/mnt/small' && mkdir '$W/mnt/d' && mv '$W/mnt/small' '$W/mnt/d/s'" ||
	fail "create/mkdir/rename as $U"
[ "$(stat -c %U "$W/low/.cryptstack.conf")" = "$U" ] || fail "lower files not owned by $U"
if grep -a -q "a user passphrase" "$W/low"/* 2>/dev/null; then fail "plaintext in the lower dir"; fi

say "other users, root included, cannot read through the mount (no allow_other)"
if setpriv --reuid=65533 --regid=65533 --clear-groups cat "$W/mnt/d/s" >/dev/null 2>&1; then
	fail "uid 65533 read $U's mount"
fi
if cat "$W/mnt/d/s" >/dev/null 2>&1; then fail "root read $U's mount without allow_other"; fi

say "umount and remount as $U"
as_user "$BIN/cryptstack" umount "$W/mnt" || fail "umount as $U"
! is_mounted "$W/mnt" || fail "still mounted"
as_user "$BIN/cryptstack" mount --passfile "$W/pass" "$W/low" "$W/mnt" || fail "remount as $U"
as_user cmp "$T/data" "$W/mnt/data" || fail "data after remount"
[ "$(as_user cat "$W/mnt/d/s")" = small ] || fail "small file after remount"
as_user "$BIN/cryptstack" umount "$W/mnt" || fail "second umount as $U"

say "a run directory planted by someone else is refused"
rm -rf "$RUNDIR"
mkdir -m 0777 "$RUNDIR"
if as_user "$BIN/cryptstack" mount --passfile "$W/pass" "$W/low" "$W/mnt" 2>"$T/err"; then
	fail "mounted with a planted world-writable $RUNDIR"
fi
grep -q "not a private directory" "$T/err" || fail "unclear message: $(cat "$T/err")"
rm -rf "$RUNDIR"
echo "user: all passed"
