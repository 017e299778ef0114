#!/bin/sh
# -o encrypted_view (docs/MOUNT.md): a read-only mount showing the lower
# ciphertext tree exactly as it is (names, sizes, bytes, symlink targets,
# user.* xattrs, the volume's own files), every change EROFS, and a copy of
# it mounted normally gives back the plaintext (the backup use case).
. "$(dirname "$0")/lib.sh"

V=$T/view
BK=$T/backup
BM=$T/backup-mnt
MARK="CRYPTSTACK-ENCVIEW-MARKER-51c2"
LONG=$(printf 'long-name-%0200d' 7)

# listing DIR: sorted "path type size mode nlink target" of every object.
listing() { (cd "$1" && find . -mindepth 1 -printf '%P %y %s %m %n %l\n' | LC_ALL=C sort); }
# xattrs DIR: every user.* xattr (names and values, hex) of every file/dir.
xattrs() { (cd "$1" && find . \( -type f -o -type d \) -print0 | LC_ALL=C sort -z |
	xargs -0 getfattr --absolute-names -h -e hex -d -m '^user\.' 2>/dev/null); }
# erofs WHAT CMD...: CMD must fail with "Read-only file system".
erofs() {
	what=$1
	shift
	if "$@" 2>"$T/err"; then fail "$what succeeded on the encrypted view"; fi
	grep -q "Read-only file system" "$T/err" || fail "$what: not EROFS: $(cat "$T/err")"
}

say "write a tree through a normal mount"
cs_new
mkdir -p "$M/dir/sub/deeper"
printf '%s\n' "$MARK" >"$M/dir/small.txt"
: >"$M/empty"
head -c 3000000 /dev/urandom >"$M/dir/sub/random.bin"
seq 1 50000 | sed "s/^/$MARK /" >"$M/dir/sub/deeper/lines.txt"
printf 'long\n' >"$M/dir/$LONG"
ln -s small.txt "$M/dir/link"
ln "$M/dir/small.txt" "$M/hardlink"
truncate -s 5M "$M/sparse"
printf 'tail' >>"$M/sparse"
setfattr -n user.colour -v blue "$M/dir/small.txt"
setfattr -n user.note -v "a note on a directory" "$M/dir"
want=$(tree_sums "$M")
want_x=$(xattrs "$M")
cs_umount "$M"
lower_before=$(listing "$L"; tree_sums "$L")

say "a wrong passphrase still mounts nothing"
mkdir -p "$V"
if "$CS" mount --passfile "$WRONG" -o encrypted_view "$L" "$V" 2>"$T/err"; then
	MOUNTS="$MOUNTS $V"
	fail "encrypted_view mounted with a wrong passphrase"
fi
! is_mounted "$V" || fail "something got mounted"

say "the encrypted view equals the lower tree"
cs_mount -o encrypted_view "$L" "$V"
grep -q " $V fuse.cryptstack ro," /proc/self/mounts || fail "encrypted_view mount is not ro"
[ -f "$V/.cryptstack.conf" ] || fail "volume config not shown"
if grep -r -a -l "$MARK" "$V"; then fail "plaintext shown in the encrypted view"; fi
if find "$V" | grep -q -e small.txt -e random.bin -e long-name; then fail "plaintext name in the encrypted view"; fi
[ "$(listing "$L")" = "$(listing "$V")" ] || {
	listing "$L" >"$T/l.lst"
	listing "$V" >"$T/v.lst"
	diff "$T/l.lst" "$T/v.lst" | head -20
	fail "names, types, sizes, modes, link counts or symlink targets differ"
}
diff -r --no-dereference "$L" "$V" || fail "diff -r: bytes differ"
[ "$(tree_sums "$L")" = "$(tree_sums "$V")" ] || fail "file checksums differ"
[ "$(xattrs "$L" | sed "s|^# file: ||")" = "$(xattrs "$V" | sed "s|^# file: ||")" ] ||
	fail "user.* xattrs differ"
[ -n "$(xattrs "$V")" ] || fail "no xattr shown"
# Reads at odd offsets and lengths, past EOF too.
f=$(cd "$L" && find . -type f -size +2M | head -n1)
[ -n "$f" ] || fail "no big lower file"
dd if="$L/$f" bs=4099 skip=123 count=97 2>/dev/null >"$T/a"
dd if="$V/$f" bs=4099 skip=123 count=97 2>/dev/null >"$T/b"
cmp "$T/a" "$T/b" || fail "odd-offset read differs"
[ "$(stat -c %s "$V/$f")" = "$(stat -c %s "$L/$f")" ] || fail "size is not the lower size"
[ "$(stat -f -c %l "$V")" = "$(stat -f -c %l "$L")" ] || fail "statfs namemax is not the lower one"

say "every change is EROFS"
g=$(cd "$V" && find . -type f ! -name '.*' | head -n1)
d=$(cd "$V" && find . -mindepth 1 -type d | head -n1)
erofs "create" touch "$V/new"
erofs "append" sh -c "printf x >>'$V/$g'"
erofs "truncate" truncate -s 0 "$V/$g"
erofs "mkdir" mkdir "$V/newdir"
erofs "unlink" rm -f "$V/$g"
erofs "rmdir" rmdir "$V/$d"
erofs "rename" mv "$V/$g" "$V/renamed"
erofs "link" ln "$V/$g" "$V/hard2"
erofs "symlink" ln -s x "$V/sym2"
erofs "chmod" chmod 600 "$V/$g"
erofs "utimes" touch -d @0 "$V/$g"
erofs "setxattr" setfattr -n user.x -v y "$V/$g"

say "backup: copy the view, mount the copy normally"
cp -a "$V" "$BK"
cs_umount "$V"
[ "$lower_before" = "$(listing "$L"; tree_sums "$L")" ] || fail "the encrypted view changed the lower tree"
cs_mount "$BK" "$BM"
[ "$want" = "$(tree_sums "$BM")" ] || fail "restored plaintext differs"
[ "$want_x" = "$(xattrs "$BM")" ] || fail "restored xattrs differ"
[ "$(readlink "$BM/dir/link")" = small.txt ] || fail "restored symlink target"
[ "$(cat "$BM/dir/$LONG")" = long ] || fail "restored long name"
[ "$(stat -c %s "$BM/sparse")" = 5242884 ] || fail "restored sparse size"
[ "$(stat -c %i "$BM/hardlink")" = "$(stat -c %i "$BM/dir/small.txt")" ] || fail "hard link lost"
printf 'more\n' >>"$BM/dir/small.txt" || fail "restored volume not writable"
cs_umount "$BM"

say "the original still mounts and reads back"
cs_mount "$L" "$M"
[ "$want" = "$(tree_sums "$M")" ] || fail "original contents differ"
cs_umount "$M"
echo "PASS"
