#!/bin/sh
# The frontend answers some GETATTR and SETATTR requests from attributes
# cryptod's replies carried (frontend/attrcache.c): the parent directory
# after a create/unlink, a new entry, a node after SETATTR or RELEASE, an
# unlinked file. Whatever the kernel showed through them must be what the
# lower files say: the same listing after a remount (no cache, no kernel
# cache), after sequential and concurrent name operations in one directory.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 missing"
cs_new

# snap: type, mode, links, size, mtime of everything; ctime of
# directories (a regular file's ctime belongs to the kernel under the
# writeback cache and cannot be stored below).
snap() {
	(cd "$M" && find . -printf '%p %y %m %n %s %T@' \
		\( -type d -printf ' %C@' -o -true \) -printf '\n' | sort)
}

say "sequential name operations"
mkdir -p "$M/a/b"
for i in $(seq 1 30); do echo "x$i" >"$M/a/f$i"; done
stat "$M/a" >/dev/null
for i in $(seq 1 10); do rm "$M/a/f$i"; done
mkdir "$M/a/c" && rmdir "$M/a/c"
mkfifo "$M/a/fifo"
ln "$M/a/f11" "$M/a/b/hard"
ln -s f12 "$M/a/sym"
mv "$M/a/f13" "$M/a/b/"
mv "$M/a/b" "$M/a/b2"
chmod 0700 "$M/a/b2"
touch -d '2001-02-03 04:05:06' "$M/a/f14"
: >"$M/a/f15"
ls -la "$M/a" "$M/a/b2" >/dev/null

say "an unlinked file still open"
python3 - "$M/a/f16" <<'EOF' || fail "open unlinked file"
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDWR)
os.unlink(p)
st = os.fstat(fd)
assert st.st_nlink == 0, st
os.pwrite(fd, b"y" * 5000, 100)
os.fsync(fd)
st = os.fstat(fd)
assert st.st_size == 5100 and st.st_nlink == 0, st
assert os.pread(fd, 3, 4000) == b"yyy"
os.close(fd)
EOF

say "concurrent creates and unlinks in one directory"
mkdir "$M/p"
for w in 1 2 3 4; do
	(for i in $(seq 1 60); do
		echo "$w $i" >"$M/p/w$w-$i"
		[ $((i % 3)) -eq 0 ] && rm "$M/p/w$w-$((i - 1))"
		stat "$M/p" >/dev/null
	done) &
done
wait

before=$(snap)
cs_umount "$M"
cs_mount "$L" "$M"
after=$(snap)
if [ "$before" != "$after" ]; then
	echo "$before" >"$T/before"
	echo "$after" >"$T/after"
	diff "$T/before" "$T/after"
	fail "attributes through the mount differ from the lower files"
fi
[ "$(echo "$after" | grep -c '^./p/w')" = 160 ] || fail "wrong entry count in p"
cs_umount "$M"
echo "attrcache: all passed"
