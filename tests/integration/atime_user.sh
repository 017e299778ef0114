#!/bin/sh
# atime on a volume an unprivileged user mounts (cryptod runs as that
# user, without CAP_FOWNER): its own files are reopened O_NOATIME (a stat
# after a remount moves no atime, a read does); a lower file owned by
# someone else refuses O_NOATIME (EPERM) and cryptod opens it without:
# still readable (cryptod/inode.c cd_inode_reopen_noatime).
. "$(dirname "$0")/lib.sh"
user_setup nobody
umnt() { as_user "$BIN/cryptstack" umount "$W/mnt" || fail "umount as $U"; }
mnt() {
	as_user "$BIN/cryptstack" mount --passfile "$W/pass" "$W/low" "$W/mnt" ||
		fail "mount as $U"
}

as_user sh -c "cd '$W' && printf 'a user passphrase\n' >pass && mkdir low mnt" ||
	fail "setup as $U"
as_user "$BIN/cryptstack" init --passfile "$W/pass" --kdf-memory 1M \
	--kdf-time 1 --kdf-parallelism 1 "$W/low" >/dev/null || fail "init as $U"
mnt
as_user sh -c "echo own >'$W/mnt/own' && echo foreign >'$W/mnt/foreign' &&
	touch -a -d @978307200 '$W/mnt/own'" || fail "create as $U"
umnt
# the lower file of "foreign" now belongs to root (as after a restore)
mnt
fino=$(as_user stat -c %i "$W/mnt/foreign")
umnt
flow=$(find "$W/low" -inum "$fino")
[ -n "$flow" ] || fail "lower file of foreign not found"
chown root:root "$flow"
chmod 644 "$flow"
mnt
say "own file: a stat moves no atime, a read does"
as_user stat "$W/mnt/own" >/dev/null || fail "stat own"
# a LOOKUP answers the lower atime from before its header read: look
# again after a remount
umnt
mnt
[ "$(as_user stat -c %X "$W/mnt/own")" = 978307200 ] ||
	fail "stat moved atime of own file: $(as_user stat -c %X "$W/mnt/own")"
[ "$(as_user cat "$W/mnt/own")" = own ] || fail "read own"
a=$(as_user stat -c %X "$W/mnt/own")
[ "$a" != 978307200 ] || fail "a read did not move atime of own file"
say "foreign lower file (O_NOATIME refused): readable"
[ "$(as_user stat -c %u "$W/mnt/foreign")" = 0 ] || fail "foreign not root's"
[ "$(as_user cat "$W/mnt/foreign")" = foreign ] || fail "read foreign"
umnt
echo "PASS: atime as $U, O_NOATIME fallback"
