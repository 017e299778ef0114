#!/bin/sh
# Real programs on a mount: extract a real source subtree (checksums
# against the tarball), git, sqlite3 with thousands of transactions,
# fio --verify on random writes, rsync out and compare; then the lower
# directory holds no plaintext, and a remount reads everything back.
. "$(dirname "$0")/lib.sh"

SRC=/usr/src/linux-source-6.1.tar.xz
SUB="linux-source-6.1/fs/ext4 linux-source-6.1/fs/fuse linux-source-6.1/fs/xfs/libxfs linux-source-6.1/include/linux linux-source-6.1/lib"
for p in git sqlite3 fio rsync xz tar; do
	command -v $p >/dev/null || skip "$p missing (scripts/setup.sh installs it)"
done
[ -r "$SRC" ] || skip "$SRC missing (Debian package linux-source-6.1)"

L=$T/lower
M=$T/mnt
REF=$T/ref
cs_init "$L"
cs_mount "$L" "$M"

say "reference extract (plain directory)"
mkdir -p "$REF"
# shellcheck disable=SC2086
tar -xJf "$SRC" -C "$REF" $SUB
(cd "$REF" && tar -cf "$T/sub.tar" linux-source-6.1)
nfiles=$(find "$REF" -type f | wc -l)
echo "$nfiles files, $(du -sh "$REF" | cut -f1)"

say "tar extract onto the mount"
start=$(date +%s)
tar -xf "$T/sub.tar" -C "$M"
echo "extract: $(( $(date +%s) - start )) s"
[ "$(tree_sums "$REF")" = "$(tree_sums "$M")" ] || fail "extracted checksums differ from the tarball"
[ "$(cd "$REF" && find . -printf '%p %y %m %s\n' | sort)" = \
  "$(cd "$M" && find . -printf '%p %y %m %s\n' | sort)" ] || fail "tree metadata differs"

say "git"
cd "$M/linux-source-6.1"
git init -q
git -c user.name=t -c user.email=t@t add -A
git -c user.name=t -c user.email=t@t commit -qm "import"
echo "/* changed */" >>fs/ext4/super.c
git -c user.name=t -c user.email=t@t commit -qam "change"
[ "$(git log --oneline | wc -l)" = 2 ] || fail "git log"
git fsck --strict -q || fail "git fsck"
git diff --stat HEAD~1 | grep -q "fs/ext4/super.c" || fail "git diff"
git status --porcelain | grep -q . && fail "git status not clean"
git gc -q || fail "git gc"
git fsck -q || fail "git fsck after gc"
cd "$T"

say "sqlite3: 3000 transactions"
{
	echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);"
	i=1
	while [ $i -le 3000 ]; do
		echo "BEGIN; INSERT INTO t(v, n) VALUES (hex(randomblob(64)), $i); UPDATE t SET n = n + 1 WHERE id = $(( (i % 50) + 1 )); COMMIT;"
		i=$((i + 1))
	done
	echo "CREATE INDEX tv ON t(v);"
	echo "DELETE FROM t WHERE id % 7 = 0;"
	echo "VACUUM;"
} >"$T/sql"
start=$(date +%s)
sqlite3 "$M/db.sqlite" <"$T/sql"
echo "sqlite: $(( $(date +%s) - start )) s"
[ "$(sqlite3 "$M/db.sqlite" 'PRAGMA integrity_check;')" = ok ] || fail "sqlite integrity_check"
[ "$(sqlite3 "$M/db.sqlite" 'SELECT count(*) FROM t;')" = 2572 ] || fail "sqlite row count"
sqlite3 "$M/db.sqlite" 'PRAGMA journal_mode=WAL; INSERT INTO t(v, n) VALUES ("wal", 1);' >/dev/null
[ "$(sqlite3 "$M/db.sqlite" 'PRAGMA integrity_check;')" = ok ] || fail "sqlite WAL integrity_check"

say "fio --verify (random writes, 4k-64k)"
fio --name=verify --filename="$M/fio.dat" --size=24M --rw=randwrite \
	--bsrange=4k-64k --ioengine=psync --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --fsync=64 --randrepeat=0 --output="$T/fio.out" ||
	{ cat "$T/fio.out"; fail "fio verify"; }
grep -q "err= 0" "$T/fio.out" || { cat "$T/fio.out"; fail "fio errors"; }
fio --name=verify-unaligned --filename="$M/fio2.dat" --size=8M --rw=randrw \
	--bs=1000 --ioengine=psync --verify=md5 --do_verify=1 \
	--verify_fatal=1 --output="$T/fio2.out" ||
	{ cat "$T/fio2.out"; fail "fio unaligned verify"; }

say "rsync out and compare"
rsync -a "$M/linux-source-6.1/" "$T/out/"
diff -r "$REF/linux-source-6.1" "$T/out" -x .git >/dev/null || fail "rsync copy differs"
rsync -a --delete "$REF/linux-source-6.1/fs/" "$M/rsync-in/"
[ "$(tree_sums "$REF/linux-source-6.1/fs")" = "$(tree_sums "$M/rsync-in")" ] || fail "rsync into the mount differs"

want=$(tree_sums "$M")
cs_umount "$M"

say "lower holds no plaintext"
# A line of ext4's source that is not in any other file we wrote.
if grep -r -a -q -F "EXT4_SUPER_MAGIC" "$L"; then fail "plaintext source text found in the lower directory"; fi
if find "$L" -name "*.c" -o -name "*ext4*" -o -name "db.sqlite" | grep -q .; then fail "plaintext names in the lower directory"; fi

say "remount reads back identically"
cs_mount "$L" "$M"
[ "$want" = "$(tree_sums "$M")" ] || fail "contents differ after remount"
cd "$M/linux-source-6.1" && git fsck -q || fail "git fsck after remount"
cd "$T"
[ "$(sqlite3 "$M/db.sqlite" 'PRAGMA integrity_check;')" = ok ] || fail "sqlite after remount"
cs_umount "$M"
echo "programs: all passed"
