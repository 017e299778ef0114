#!/bin/sh
# Real programs on a mount: extract a real source subtree (checksums
# against the tarball), git, sqlite3 with thousands of transactions,
# fio --verify on random writes, rsync out and compare; then the lower
# directory holds no plaintext, and a remount reads everything back.
. "$(dirname "$0")/lib.sh"

SRC=/usr/src/linux-source-6.1.tar.xz
SUB="linux-source-6.1/fs/ext4 linux-source-6.1/fs/fuse linux-source-6.1/fs/xfs/libxfs linux-source-6.1/include/linux/[a-f]* linux-source-6.1/lib"
for p in git sqlite3 fio rsync xz tar; do
	command -v $p >/dev/null || skip "$p missing (scripts/setup.sh installs it)"
done
[ -r "$SRC" ] || skip "$SRC missing (Debian package linux-source-6.1)"

REF=$T/ref
cs_new

say "reference extract (plain directory)"
mkdir -p "$REF"
# shellcheck disable=SC2086
set -f # the [a-f]* is for tar, not the shell
tar -xJf "$SRC" -C "$REF" --wildcards $SUB
set +f
(cd "$REF" && tar -cf "$T/sub.tar" linux-source-6.1)
nfiles=$(find "$REF" -type f | wc -l)
echo "$nfiles files, $(du -sh "$REF" | cut -f1)"

say "tar extract onto the mount"
start=$(date +%s)
tar -xf "$T/sub.tar" -C "$M"
echo "extract: $(( $(date +%s) - start )) s"
[ "$(tree_sums "$REF")" = "$(tree_sums "$M")" ] || fail "extracted checksums differ from the tarball"
# names, types, modes, sizes of files (the size of a directory is the
# lower file system's business). mtimes are checked after a remount, at
# the end: while inodes stay cached the kernel shows its own.
meta() { (cd "$1" && find . \( -type f -printf '%p %y %m %s\n' \) -o \( ! -type f -printf '%p %y %m\n' \) | sort); }
mtimes() { (cd "$1" && find . -type f -printf '%p %T@\n' | sort); }
meta "$REF" >"$T/meta.ref"
meta "$M" >"$T/meta.mnt"
diff "$T/meta.ref" "$T/meta.mnt" | head -20
cmp -s "$T/meta.ref" "$T/meta.mnt" || fail "tree metadata differs"

say "git"
start=$(date +%s)
cd "$M/linux-source-6.1"
git init -q
git -c user.name=t -c user.email=t@t add -A
git -c user.name=t -c user.email=t@t commit -qm "import"
echo "/* changed */" >>fs/ext4/super.c
git -c user.name=t -c user.email=t@t commit -qam "change"
[ "$(git log --oneline | wc -l)" = 2 ] || fail "git log"
git diff --stat HEAD~1 | grep -q "fs/ext4/super.c" || fail "git diff"
git status --porcelain | grep -q . && fail "git status not clean"
git repack -q -a -d || fail "git repack"
echo "git: $(( $(date +%s) - start )) s"
cd "$T"

say "sqlite3: 2000 WAL transactions, 300 rollback-journal transactions"
gen() { # gen FIRST LAST: one transaction per row
	i=$1
	while [ "$i" -le "$2" ]; do
		echo "BEGIN; INSERT INTO t(v, n) VALUES (hex(randomblob(64)), $i); UPDATE t SET n = n + 1 WHERE id = $(( (i % 50) + 1 )); COMMIT;"
		i=$((i + 1))
	done
}
{
	echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);"
	gen 1 2000
	echo "CREATE INDEX tv ON t(v);"
} >"$T/sql1"
{
	echo "PRAGMA journal_mode=DELETE;"
	gen 2001 2300
	echo "DELETE FROM t WHERE id % 7 = 0;"
	echo "VACUUM;"
} >"$T/sql2"
start=$(date +%s)
sqlite3 "$M/db.sqlite" <"$T/sql1" >/dev/null
[ "$(sqlite3 "$M/db.sqlite" 'PRAGMA integrity_check;')" = ok ] || fail "sqlite WAL integrity_check"
sqlite3 "$M/db.sqlite" <"$T/sql2" >/dev/null
echo "sqlite: $(( $(date +%s) - start )) s"
[ "$(sqlite3 "$M/db.sqlite" 'PRAGMA integrity_check;')" = ok ] || fail "sqlite integrity_check"
[ "$(sqlite3 "$M/db.sqlite" 'SELECT count(*) FROM t;')" = 1972 ] || fail "sqlite row count"

say "fio --verify (random writes, 4k-64k)"
start=$(date +%s)
fio --name=verify --filename="$M/fio.dat" --size=24M --rw=randwrite \
	--bsrange=4k-64k --ioengine=psync --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --fsync=64 --randrepeat=0 --output="$T/fio.out" ||
	{ cat "$T/fio.out"; fail "fio verify"; }
grep -q "err= 0" "$T/fio.out" || { cat "$T/fio.out"; fail "fio errors"; }
fio --name=verify-unaligned --filename="$M/fio2.dat" --size=8M --rw=randrw \
	--bs=1000 --ioengine=psync --verify=md5 --do_verify=1 \
	--verify_fatal=1 --output="$T/fio2.out" ||
	{ cat "$T/fio2.out"; fail "fio unaligned verify"; }

echo "fio: $(( $(date +%s) - start )) s"

say "rsync out and compare"
start=$(date +%s)
rsync -a "$M/linux-source-6.1/" "$T/out/"
diff -r "$M/linux-source-6.1" "$T/out" || fail "rsync copy differs"
rsync -a --delete "$REF/linux-source-6.1/fs/" "$M/rsync-in/"
[ "$(tree_sums "$REF/linux-source-6.1/fs")" = "$(tree_sums "$M/rsync-in")" ] || fail "rsync into the mount differs"

echo "rsync: $(( $(date +%s) - start )) s"
want=$(tree_sums "$M")
cs_umount "$M"

say "lower holds no plaintext"
# A line of ext4's source that is not in any other file we wrote.
if grep -r -a -q -F "EXT4_SUPER_MAGIC" "$L"; then fail "plaintext source text found in the lower directory"; fi
# Exact names: encrypted names are random base64, which can contain "ext4"
# as a substring by chance (about 1 run in 100 with this tree).
if find "$L" -name "*.c" -o -name "*.h" -o -name "ext4" -o -name "Kconfig" -o -name "db.sqlite" | grep -q .; then fail "plaintext names in the lower directory"; fi

say "remount reads back identically"
cs_mount "$L" "$M"
[ "$want" = "$(tree_sums "$M")" ] || fail "contents differ after remount"
cd "$M/linux-source-6.1" && git fsck --strict --no-progress --no-dangling || fail "git fsck after remount"
[ "$(git log --oneline | wc -l)" = 2 ] || fail "git log after remount"
cd "$T"
[ "$(sqlite3 "$M/db.sqlite" 'PRAGMA integrity_check;')" = ok ] || fail "sqlite after remount"

say "mtimes restored by tar survive a remount"
# tar sets times with futimens while the data may still sit in the kernel's
# writeback cache; the WRITE that follows must not bump the lower mtime
# (docs/MOUNT.md, "Times under the writeback cache").
mtimes "$REF" | grep -v "/\.git/\|fs/ext4/super.c" >"$T/mt.ref"
mtimes "$M" | grep -v "/\.git/\|fs/ext4/super.c" | grep "^./linux-source-6.1/" >"$T/mt.mnt"
n=$(diff "$T/mt.ref" "$T/mt.mnt" | grep -c "^>" || true)
cs_umount "$M"
[ "$n" = 0 ] || fail "$n files lost the mtime tar gave them"
echo "programs: all passed"
