#!/bin/sh
# An unprivileged user mounts its own volume (fusermount3, as on a desktop):
# init, mount, write, read back, umount, remount; another user cannot read
# through the mount (no allow_other); a planted run directory is refused.
. "$(dirname "$0")/lib.sh"

user_setup nobody
UID_U=$(id -u "$U")
RUNDIR=/tmp/cryptstack-$UID_U
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
