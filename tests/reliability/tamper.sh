#!/bin/sh
# Tampering and fsck (docs/RELIABILITY.md). One clean volume is populated
# through a mount; every case works on its own copy of the lower directory:
# tamper with the lower bytes/names, then
#   - read every file through a fresh mount: each 4 KiB block is the
#     original content or fails with EIO (or the file is absent); anything
#     else is forged plaintext and fails the test;
#   - fsck exits 1 and reports the case;
#   - where repairable: fsck --repair exits 3, a second fsck exits 0, and
#     the file reads back through a mount with exactly the reported lost
#     range as zeros and everything else intact.
# Cases the format does not detect by design (FORMAT.md "Rollback: what is
# still not detected") are printed as KNOWN GAP and counted, never silently
# passed.
#   sh tamper.sh BUILD_DIR
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/rel.sh"
command -v python3 >/dev/null || skip "python3 missing"
command -v setfattr >/dev/null || skip "setfattr missing (Debian package attr)"

V0=$T/v0
M=$T/mnt
REF=$T/ref
mkdir -p "$REF" "$M"
GAPS=0
FAILS=0

cs_init "$V0"
cs_mount "$V0" "$M"
head -c 1200000 /dev/urandom >"$REF/a" # 293 extents: groups 0 and 1
head -c 307200 /dev/urandom >"$REF/b"
head -c 100 /dev/urandom >"$REF/c"
head -c 51200 /dev/urandom >"$REF/e"
head -c 9000 /dev/urandom >"$REF/long"
LONG=$(printf 'L%.0s' $(seq 1 200))
mkdir "$M/d"
cp "$REF/a" "$REF/b" "$REF/c" "$M/"
cp "$REF/e" "$M/d/e"
cp "$REF/long" "$M/$LONG"
ln -s "c" "$M/sym"
setfattr -n user.color -v blue "$M/c"
# lp NAME [VOL]: the lower path (relative to VOL, default $V0) of NAME on
# the mount $M, by inode: cryptod passes inode numbers through.
lp() { (cd "${2:-$V0}" && find . -inum "$(stat -c %i "$M/$1")" | head -n1 | sed 's|^\./||'); }
LA=$(lp a); LB=$(lp b); LC=$(lp c); LD=$(lp d); LE=$(lp d/e); LL=$(lp "$LONG")
LS=$(lp sym)
[ -n "$LA" ] && [ -n "$LE" ] && [ -n "$LL" ] && [ -n "$LS" ] || fail "lower paths not found"
cs_umount "$M"

# A rollback source: the lower file of a before extent 2 is rewritten.
cp "$V0/$LA" "$T/a.lower.old"
cp "$REF/a" "$REF/a.old"
cs_mount "$V0" "$M"
head -c 4096 /dev/urandom >"$T/x2"
dd if="$T/x2" of="$M/a" bs=4096 seek=2 conv=notrunc status=none
dd if="$T/x2" of="$REF/a" bs=4096 seek=2 conv=notrunc status=none
cmp "$M/a" "$REF/a" || fail "a differs after the rewrite"
cs_umount "$M"

fsck() { "$CS" fsck --passfile "$PASS" --no-progress "$@"; }
fsck "$V0" >"$T/out" 2>&1 || { cat "$T/out"; fail "fsck of the clean volume: exit $?"; }
say "clean volume: fsck 0"

bad() { echo "FAIL [$CASE]: $*"; FAILS=$((FAILS + 1)); }

# new_case NAME: a fresh copy of the volume in $V.
new_case() {
	CASE=$1
	V=$T/case-$1
	rm -rf "$V"
	cp -a "$V0" "$V"
	say "case $1"
}

# read_all [FILE...]: verify each file through a mount of $V; sets EIO_SEEN
# and fails on forged data. ALT_<file> gives an older version.
read_all() {
	cs_mount "$V" "$M"
	EIO_SEEN=0
	for f in "$@"; do
		alt=""
		[ "$f" = a ] && alt="$REF/a.old"
		out=$($R verify "$M/$f" "$REF/$(basename "$f" | sed "s/^$LONG\$/long/")" $alt) || bad "$f: forged plaintext: $out"
		echo "   $f: $out"
		case "$out" in *" eio=0 "*openerr=0*) ;; *) EIO_SEEN=1 ;; esac
		case "$out" in *"old="[1-9]*) OLD_SEEN=1 ;; esac
	done
	cs_umount "$M"
}

# expect_fsck RC PATTERN [fsck args]: run fsck on $V.
expect_fsck() {
	want=$1 pat=$2
	shift 2
	rc=0
	fsck "$@" "$V" >"$T/out" 2>&1 || rc=$?
	if [ "$rc" != "$want" ] || ! grep -q -- "$pat" "$T/out"; then
		cat "$T/out"
		bad "fsck $* exit $rc (want $want) / pattern '$pat'"
		return
	fi
	grep -E "^(CORRUPT|BAD-DATA|LOST|UNSETTLED|REPAIRED|REMOVED)" "$T/out" | sed 's/^/   /' | head -8
}

# detected_read FILE...: reading must have failed somewhere.
detected_read() {
	OLD_SEEN=0
	read_all "$@"
	[ "$EIO_SEEN" = 1 ] || bad "tampering not visible as EIO/absence"
}

# repaired FILE ZERO_A ZERO_B: repair, fsck clean, lost range reads zeros.
repaired() {
	expect_fsck 3 "REPAIRED\|REMOVED" --repair
	expect_fsck 0 "0 corrupt"
	[ -n "${1:-}" ] || return 0
	cs_mount "$V" "$M"
	out=$($R verify "$M/$1" "$REF/$1" --zero "$2:$3") || bad "after repair: $out"
	echo "   after repair $1: $out"
	case "$out" in *" eio=0 "*) ;; *) bad "EIO after repair: $out" ;; esac
	cs_umount "$M"
}

ALL="a b c d/e $LONG"

# ---- data ----
new_case flip_data
$R flip "$V/$LA" $(($($R off data 5) + 100))
detected_read $ALL
expect_fsck 1 "BAD-DATA.*20480..24575"
repaired a 20480 24576

new_case flip_record
$R flip "$V/$LA" $(($($R off rec 60) + 14))
detected_read a
expect_fsck 1 "BAD-DATA.*245760..249855"
repaired a 245760 249856

new_case flip_record_group1
$R flip "$V/$LA" $(($($R off rec 270) + 3))
detected_read a
expect_fsck 1 "BAD-DATA.*1105920..1110015"
repaired a 1105920 1110016

new_case swap_within
$R swap "$V/$LA" $($R off data 7) $($R off data 8) 4096
$R swap "$V/$LA" $($R off rec 7) $($R off rec 8) 64
detected_read a
expect_fsck 1 "BAD-DATA.*28672..36863"
repaired a 28672 36864

new_case swap_between_files
$R copy "$V/$LB" $($R off data 3) "$V/$LA" $($R off data 3) 4096
$R copy "$V/$LB" $($R off rec 3) "$V/$LA" $($R off rec 3) 64
detected_read a b
expect_fsck 1 "BAD-DATA.*12288..16383"
repaired a 12288 16384

new_case truncate
truncate -s $($R off data 100) "$V/$LA"
detected_read a
expect_fsck 1 "cut short"
repaired a 409600 1200000

new_case truncate_to_zero_pad
# cut and zero-pad: records remain for extents whose data is now zeros
sz=$(stat -c %s "$V/$LA")
truncate -s $($R off data 280) "$V/$LA"
truncate -s "$sz" "$V/$LA"
detected_read a
expect_fsck 1 "BAD-DATA.*1146880..1199999"
repaired a 1146880 1200000

new_case rollback_data_only
$R copy "$T/a.lower.old" $($R off data 2) "$V/$LA" $($R off data 2) 4096
detected_read a
expect_fsck 1 "BAD-DATA.*8192..12287"
repaired a 8192 12288

# Format with the records seal (FMT_RF_ROLLBACK_MAC, FORMAT.md "Records
# seal"): an extent rolled back together with its record no longer matches
# the seal of the cleanly closed file.
new_case rollback_extent_and_record
$R copy "$T/a.lower.old" $($R off data 2) "$V/$LA" $($R off data 2) 4096
$R copy "$T/a.lower.old" $($R off rec 2) "$V/$LA" $($R off rec 2) 64
detected_read a
[ "$OLD_SEEN" = 0 ] || bad "the rolled-back (older) content was returned"
expect_fsck 1 "records do not match the records seal"
expect_fsck 3 "REPAIRED.*accepted as is" --repair
expect_fsck 0 "0 corrupt"
cs_mount "$V" "$M"
out=$($R verify "$M/a" "$REF/a" "$REF/a.old") || bad "a forged after repair: $out"
echo "   after repair a: $out"
case "$out" in *" old=1 "*" eio=0 "*) ;; *) bad "after repair: want the older extent 2 accepted as is: $out" ;; esac
cs_umount "$M"

# A hole put in place of an extent (record and data zeroed) inside the size.
new_case extent_replaced_by_hole
truncate -s 0 "$T/zero4k"; truncate -s 4096 "$T/zero4k"
$R copy "$T/zero4k" 0 "$V/$LA" $($R off data 270) 4096
$R copy "$T/zero4k" 0 "$V/$LA" $($R off rec 270) 64
detected_read a
expect_fsck 1 "records do not match the records seal"

# The whole older header block (size slots, seal, records 0..51) put back
# with one older extent, while another extent (in group 0's meta region)
# changed since: the older seal does not cover the newer record.
new_case rollback_header_block
cs_mount "$V" "$M"
head -c 307200 /dev/urandom >"$REF/h"
cp "$REF/h" "$M/h"
LH=$(lp h "$V")
cs_umount "$M"
cp "$V/$LH" "$T/h.lower.old"
cp "$REF/h" "$REF/h.old"
cs_mount "$V" "$M"
head -c 4096 /dev/urandom >"$T/x1"
dd if="$T/x1" of="$M/h" bs=4096 seek=1 conv=notrunc status=none
dd if="$T/x1" of="$REF/h" bs=4096 seek=1 conv=notrunc status=none
dd if="$T/x1" of="$M/h" bs=4096 seek=60 conv=notrunc status=none
dd if="$T/x1" of="$REF/h" bs=4096 seek=60 conv=notrunc status=none
cs_umount "$M"
$R copy "$T/h.lower.old" 0 "$V/$LH" 0 4096
$R copy "$T/h.lower.old" $($R off data 1) "$V/$LH" $($R off data 1) 4096
cs_mount "$V" "$M"
out=$($R verify "$M/h" "$REF/h" "$REF/h.old") || bad "h forged: $out"
echo "   h: $out"
case "$out" in *" eio=0 "*openerr=0*) bad "rolled-back header block not detected: $out" ;; esac
cs_umount "$M"
expect_fsck 1 "records do not match the records seal"

# The last extent rolled back (data + record) to a version from before a
# truncate: the size stays, the extent's bytes past EOF are no longer zero.
# The seal catches the rollback; fsck also reports the non-zero tail, and
# --repair reseals and zeroes it.
new_case rollback_last_extent_tail
cs_mount "$V" "$M"
head -c 4096 /dev/urandom >"$T/t4k"
cp "$T/t4k" "$M/t"
LT=$(lp t "$V")
cs_umount "$M"
cp "$V/$LT" "$T/t.lower.old"
cs_mount "$V" "$M"
truncate -s 100 "$M/t"
cs_umount "$M"
$R copy "$T/t.lower.old" $($R off data 0) "$V/$LT" $($R off data 0) 4096
$R copy "$T/t.lower.old" $($R off rec 0) "$V/$LT" $($R off rec 0) 64
head -c 100 "$T/t4k" >"$REF/t"
cs_mount "$V" "$M"
if cat "$M/t" >/dev/null 2>&1; then
	bad "t: the rolled-back last extent reads"
fi
truncate -s 4096 "$M/t" 2>/dev/null && bad "t: extending a rolled-back file worked"
cs_umount "$M"
expect_fsck 1 "past the end of the file in its last extent are not zero"
grep -q "records do not match the records seal" "$T/out" || bad "fsck: no seal mismatch reported for t"
expect_fsck 3 "REPAIRED.*tail zeroed.*accepted as is" --repair
expect_fsck 0 "0 corrupt"
cs_mount "$V" "$M"
cmp "$M/t" "$REF/t" || bad "t after repair: first 100 bytes differ"
truncate -s 4096 "$M/t"
head -c 100 "$T/t4k" >"$T/t.want"; head -c 3996 /dev/zero >>"$T/t.want"
cmp "$M/t" "$T/t.want" || bad "t after repair: extension does not show zeros"
cs_umount "$M"

new_case swap_headers
$R copy "$V/$LA" 0 "$T/ha" 4096 2>/dev/null || : >"$T/ha"
dd if="$V/$LA" of="$T/ha" bs=4096 count=1 status=none
dd if="$V/$LB" of="$V/$LA" bs=4096 count=1 conv=notrunc status=none
dd if="$T/ha" of="$V/$LB" bs=4096 count=1 conv=notrunc status=none
detected_read a b
expect_fsck 1 "BAD-DATA"

new_case swap_header_area
# only the 768-byte header area (ids, size slots, packets); records stay
dd if="$V/$LA" of="$T/ha" bs=768 count=1 status=none
dd if="$V/$LB" of="$V/$LA" bs=768 count=1 conv=notrunc status=none
dd if="$T/ha" of="$V/$LB" bs=768 count=1 conv=notrunc status=none
detected_read a b
expect_fsck 1 "BAD-DATA\|CORRUPT"

new_case size_slot_one
# the current slot: the higher seq; flip a tag byte of both in turn is
# case size_slot_both. Here slot 1 (the later one after the writes).
$R flip "$V/$LC" $((128 + 40))
detected_read c
expect_fsck 1 "size slot fails"
expect_fsck 3 "REPAIRED" --repair
expect_fsck 0 "0 corrupt"
cs_mount "$V" "$M"
cat "$M/c" >/dev/null || bad "c unreadable after repair"
cs_umount "$M"

new_case size_slot_erased
# a's current (clean) slot zeroed: its older slot is the DIRTY commit of
# the session that rewrote extent 2, whose old data is put back. An erased
# slot must not make the file recovering (older extents accepted, no
# records seal check).
python3 - "$V/$LA" <<'PY' || bad "zeroing the slot failed"
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    b = f.read(192)
    s0, s1 = struct.unpack('<Q', b[64:72])[0], struct.unpack('<Q', b[128:136])[0]
    f.seek(64 if s0 > s1 else 128)
    f.write(bytes(64))
PY
$R copy "$T/a.lower.old" $($R off data 2) "$V/$LA" $($R off data 2) 4096
detected_read a
[ "$OLD_SEEN" = 0 ] || bad "the rolled-back extent of a was returned"
expect_fsck 1 "size slot is erased"
expect_fsck 3 "REPAIRED" --repair
expect_fsck 0 "0 corrupt"

new_case size_slot_both
$R flip "$V/$LC" $((64 + 40))
$R flip "$V/$LC" $((128 + 40))
detected_read c
expect_fsck 1 "both size slots"
expect_fsck 1 "both size slots" --repair

new_case header_magic
$R flip "$V/$LC" 0
detected_read c
expect_fsck 1 "bad header"

new_case header_file_id
$R flip "$V/$LC" 30
detected_read c
expect_fsck 1 "key packet fails"

new_case key_packet
$R flip "$V/$LC" $((192 + 30))
detected_read c
expect_fsck 1 "key packet fails"

new_case empty_lower_file
: >"$V/$LC"
detected_read c
expect_fsck 1 "empty lower file"
expect_fsck 3 "REMOVED" --repair
expect_fsck 0 "0 corrupt"

# ---- names ----
new_case name_moved_to_other_dir
mv "$V/$LC" "$V/$LD/"
detected_read c
cs_mount "$V" "$M"
ls "$M/d" | grep -qv '^e$' && bad "a moved entry shows up in d"
cs_umount "$M"
expect_fsck 1 "name fails authentication"

new_case name_bitflip
n=$(basename "$LC")
first=$(printf %s "$n" | cut -c1)
if [ "$first" = A ]; then nf=B; else nf=A; fi
mv "$V/$LC" "$V/$nf$(printf %s "$n" | cut -c2-)"
detected_read c
expect_fsck 1 "name fails authentication"

# Name binding (FORMAT.md "Name binding"): each file's size slots carry a
# tag of its lower name, so a file under another file's name is EIO.
new_case names_swapped
mv "$V/$LA" "$V/tmp.x"; mv "$V/$LB" "$V/$LA"; mv "$V/tmp.x" "$V/$LB"
detected_read a b
[ "$OLD_SEEN" = 0 ] || bad "swapped content returned"
expect_fsck 1 "content belongs to another name"
expect_fsck 3 "REPAIRED.*rebound to this name" --repair
expect_fsck 0 "0 corrupt"
cs_mount "$V" "$M"
out=$($R verify "$M/a" "$REF/b") || true
echo "   after repair a: $out (b's content, accepted as is)"
case "$out" in ok=75\ *" eio=0 "*) ;; *) bad "after repair a should read b's content: $out" ;; esac
cs_umount "$M"

new_case copied_over_name
cp -f "$V/$LB" "$V/$LA"
detected_read a
expect_fsck 1 "content belongs to another name"

new_case moved_over_name_long
# a long name's entry replaced by another file of the same directory
mv -f "$V/$LC" "$V/$LL"
read_all "$LONG"
[ "$EIO_SEEN" = 1 ] || bad "another file under the long name reads"
expect_fsck 1 "content belongs to another name"

new_case older_slot_spliced
# c is renamed through the mount and a new file takes its name; the
# attacker puts c's size slot from before the rename (bound to "c") into
# the moved file's older slot and the moved file over the new c. The
# older-slot rule (an interrupted rename) must not accept it.
cp "$V/$LC" "$T/c.before"
cs_mount "$V" "$M"
mv "$M/c" "$M/c.moved"
head -c 3000 /dev/urandom >"$T/cnew"
cp "$T/cnew" "$M/c"
LCM=$(lp c.moved "$V"); LCN=$(lp c "$V")
cs_umount "$M"
[ -n "$LCM" ] && [ -n "$LCN" ] || bad "lower paths of c.moved/c not found"
python3 - "$T/c.before" "$V/$LCM" <<'PY' || bad "slot splice failed"
import struct, sys
def slots(p):
    b = open(p, 'rb').read(192)
    return [b[64:128], b[128:192]]
old = max(slots(sys.argv[1]), key=lambda x: struct.unpack('<Q', x[:8])[0])
cur = slots(sys.argv[2])
seqs = [struct.unpack('<Q', x[:8])[0] for x in cur]
older = 0 if seqs[0] < seqs[1] else 1
with open(sys.argv[2], 'r+b') as f:
    f.seek(64 + 64 * older)
    f.write(old)
PY
mv -f "$V/$LCM" "$V/$LCN"
cs_mount "$V" "$M"
if cmp -s "$M/c" "$REF/c"; then
	bad "the moved file's content answers to its earlier name"
elif cat "$M/c" >/dev/null 2>&1; then
	bad "c readable with other content"
else
	echo "   c: EIO"
fi
cs_umount "$M"
expect_fsck 1 "content belongs to another name"

new_case hardlink_alias
# b's lower file hard-linked over c's name (offline): cryptod's node is the
# lower inode, whichever name the kernel looked it up by; the alias must
# not serve b's content, also while b is open or looked up last.
ln -f "$V/$LB" "$V/$LC"
cs_mount "$V" "$M"
exec 3<"$M/b"
if cmp -s "$M/c" "$REF/b"; then bad "c serves b's content while b is open"; fi
exec 3<&-
ls -l "$M" >/dev/null
if cmp -s "$M/c" "$REF/b"; then bad "c serves b's content"; fi
cmp -s "$M/b" "$REF/b" || echo "   b: EIO while the alias is known"
cs_umount "$M"
expect_fsck 1 "several lower names"
expect_fsck 3 "REPAIRED.*unbound" --repair
expect_fsck 0 "0 corrupt"

new_case unbound_after_unlink
# c hard-linked and the link removed again through the mount: c stays
# unbound (FORMAT.md) with one name, so its lower file copied over b's
# name answers to b.
cs_mount "$V" "$M"
ln "$M/c" "$M/c2"
rm "$M/c2"
cs_umount "$M"
cp -f "$V/$LC" "$V/$LB"
cs_mount "$V" "$M"
rc2=0; cmp -s "$M/b" "$REF/c" || rc2=$?
cs_umount "$M"
if [ "$rc2" = 0 ]; then
	echo "KNOWN GAP [$CASE]: a file once hard-linked stays unbound until renamed: its lower file copied over another name reads under it (FORMAT.md Name binding)"
	GAPS=$((GAPS + 1))
else
	echo "   detected ($rc2)"
fi

new_case hardlink_then_swap
# A file with two names cannot be bound to one (FORMAT.md): made through
# the mount, its content can then be swapped with another unbound file's.
cs_mount "$V" "$M"
ln "$M/c" "$M/c2"
cp "$REF/c" "$REF/c2"
head -c 100 /dev/urandom >"$REF/c3"
cp "$REF/c3" "$M/c3"
ln "$M/c3" "$M/c4"
ic=$(stat -c %i "$M/c2"); i3=$(stat -c %i "$M/c3")
cs_umount "$M"
L2=$(cd "$V" && find . -inum "$ic" | sed 's|^\./||' | grep -v "^$LC\$" | head -n1)
L3=$(cd "$V" && find . -inum "$i3" | sed 's|^\./||' | head -n1)
mv "$V/$L2" "$V/tmp.x"; mv "$V/$L3" "$V/$L2"; mv "$V/tmp.x" "$V/$L3"
cs_mount "$V" "$M"
rc2=0; cmp -s "$M/c2" "$REF/c3" || rc2=$?
cs_umount "$M"
if [ "$rc2" = 0 ]; then
	echo "KNOWN GAP [$CASE]: files with several names are not bound to a name: swapping two hard-linked files' names swaps their contents (FORMAT.md Name binding)"
	GAPS=$((GAPS + 1))
else
	echo "   detected ($rc2)"
fi

new_case dirid_missing
rm -f "$V/$LD/.cs.dirid"
detected_read d/e
expect_fsck 1 "directory id file"

new_case dirid_swapped
cp "$V/.cs.dirid" "$T/rootid"
chmod u+w "$V/$LD/.cs.dirid" 2>/dev/null || true
cp -f "$T/rootid" "$V/$LD/.cs.dirid"
detected_read d/e
expect_fsck 1 "name fails authentication"

# A long name's side file serves readdir only: a lookup hashes the name the
# caller gave. So the file stays readable by its name (genuine content);
# readdir must not show a forged name.
no_forged_names() {
	read_all "$LONG"
	cs_mount "$V" "$M"
	ls "$M" >"$T/ls" || bad "readdir failed"
	cs_umount "$M"
	n=$(grep -c "^$1\$" "$T/ls" || true)
	[ "$n" -le 1 ] || bad "readdir shows $1 $n times (forged side file accepted)"
	grep -v -x -e a -e b -e c -e d -e sym -e "$LONG" -e "$1" "$T/ls" && bad "readdir shows an unexpected name"
	return 0
}

new_case side_file_tampered
$R flip "$V/$LL.name" 20
no_forged_names "$LONG"
expect_fsck 1 "long name: side file"

new_case side_file_swapped
# another long name's side file put in place of ours
cs_mount "$V" "$M"
cp "$REF/c" "$M/$(printf 'M%.0s' $(seq 1 200))"
cs_umount "$M"
other=$(cd "$V" && ls | grep '^cs~.*\.name$' | grep -v "^$(basename "$LL").name\$" | head -n1)
[ -n "$other" ] || bad "second side file not found"
cp -f "$V/$other" "$V/$LL.name"
no_forged_names "$(printf 'M%.0s' $(seq 1 200))"
expect_fsck 1 "long name: side file"

new_case side_file_orphaned
rm -f "$V/$LL"
expect_fsck 1 "orphaned long-name side file"
expect_fsck 3 "REMOVED" --repair
expect_fsck 0 "0 corrupt"
[ ! -e "$V/$LL.name" ] || bad "orphan side file still there"

new_case symlink_target
t=$(readlink "$V/$LS")
first=$(printf %s "$t" | cut -c1)
if [ "$first" = A ]; then nf=B; else nf=A; fi
ln -sfn "$nf$(printf %s "$t" | cut -c2-)" "$V/$LS"
cs_mount "$V" "$M"
if tgt=$(readlink "$M/sym" 2>/dev/null); then
	[ "$tgt" = c ] || bad "symlink target forged: '$tgt'"
fi
cs_umount "$M"
expect_fsck 1 "symlink target fails"

new_case xattr_value
x=$(getfattr -d -m '^user\.cs\.' --absolute-names "$V/$LC" 2>/dev/null | sed -n 's/^\(user\.cs\.[^=]*\)=.*/\1/p' | head -n1)
[ -n "$x" ] || bad "no lower xattr found"
setfattr -n "$x" -v 0sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "$V/$LC"
cs_mount "$V" "$M"
v=$(getfattr --only-values -n user.color "$M/c" 2>/dev/null || true)
[ -z "$v" ] || [ "$v" = blue ] || bad "xattr value forged: '$v'"
cs_umount "$M"
expect_fsck 1 "value fails authentication"

# ---- crash leftovers: a file left recovering (DIRTY) ----
new_case unsettled_after_kill
cs_mount "$V" "$M"
sp=$(sup_pid "$M")
cd_=$(child_pid "$sp" cryptstack-cryptod)
[ -n "$cd_" ] || fail "cryptod pid not found"
head -c 8192 /dev/urandom >"$T/w"
exec 3>>"$M/b"
dd if="$T/w" of="$M/b" bs=4096 seek=10 conv=notrunc,fsync status=none
kill -9 "$cd_"
exec 3>&-
sleep 0.3
"$CS" umount "$M" >/dev/null 2>&1 || umount -l "$M" || true
i=0; while alive "$sp" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
cp "$REF/b" "$REF/b.new"
dd if="$T/w" of="$REF/b.new" bs=4096 seek=10 conv=notrunc status=none
expect_fsck 1 "UNSETTLED.*FMT_SZ_DIRTY"
expect_fsck 3 "REPAIRED.*settled" --repair
expect_fsck 0 "0 corrupt"
cs_mount "$V" "$M"
out=$($R verify "$M/b" "$REF/b.new" "$REF/b") || bad "b forged after kill: $out"
echo "   b after kill + repair: $out"
case "$out" in *" eio=0 "*) ;; *) bad "EIO after settling: $out" ;; esac
cs_umount "$M"

# A write whose record landed but whose data did not (kill -9 between the
# two): the file is recovering, the extent matches its older slot and reads
# the old content; --repair re-seals it as the newer version.
new_case interrupted_write
cp "$V/$LB" "$T/b.lower.old"
cs_mount "$V" "$M"
sp=$(sup_pid "$M")
cd_=$(child_pid "$sp" cryptstack-cryptod)
head -c 4096 /dev/urandom >"$T/w4"
exec 3>>"$M/b"
dd if="$T/w4" of="$M/b" bs=4096 seek=4 conv=notrunc,fsync status=none
kill -9 "$cd_"
exec 3>&-
"$CS" umount "$M" >/dev/null 2>&1 || umount -l "$M" || true
i=0; while alive "$sp" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
cp "$V/$LB" "$T/b.lower.new"
$R copy "$T/b.lower.old" $($R off data 4) "$V/$LB" $($R off data 4) 4096
cs_mount "$V" "$M"
out=$($R verify "$M/b" "$REF/b") || bad "b forged: $out"
echo "   b with the old data back: $out"
case "$out" in *" ok=75 "*|ok=75\ *) ;; *) bad "b not entirely old content: $out" ;; esac
cs_umount "$M"
expect_fsck 1 "UNSETTLED"
grep -q "BAD-DATA" "$T/out" && bad "fsck calls the older slot's data bad"
expect_fsck 3 "REPAIRED.*settled" --repair
expect_fsck 0 "0 corrupt"
cs_mount "$V" "$M"
out=$($R verify "$M/b" "$REF/b") || bad "b forged after repair: $out"
echo "   b after repair: $out"
case "$out" in ok=75\ *) ;; *) bad "b after settling: $out" ;; esac
cs_umount "$M"
# settled = clean again: putting back the other version's data is detected
$R copy "$T/b.lower.new" $($R off data 4) "$V/$LB" $($R off data 4) 4096
detected_read b
expect_fsck 1 "BAD-DATA.*16384..20479"

new_case stale_tail
sz=$(stat -c %s "$V/$LC")
truncate -s $((sz + 3 * 4096)) "$V/$LC"
expect_fsck 1 "stale tail"
expect_fsck 3 "REPAIRED" --repair
expect_fsck 0 "0 corrupt"
[ "$(stat -c %s "$V/$LC")" = "$sz" ] || bad "stale tail not removed"

# ---- operational errors ----
CASE=operational
rc=0; "$CS" fsck --passfile "$WRONG" --no-progress "$V0" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || bad "wrong passphrase: exit $rc (want 2)"
rc=0; "$CS" fsck --passfile "$PASS" --no-progress "$T" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || bad "not a volume: exit $rc (want 2)"
cs_mount "$V0" "$M"
rc=0; fsck "$V0" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "in use" "$T/out" || bad "mounted volume: exit $rc (want 2, 'in use')"
rc=0; fsck --force "$V0" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -q "checking anyway" "$T/out" || bad "--force on a mounted volume: exit $rc (want 0 and a warning)"
rc=0; fsck --force --repair "$V0" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || bad "--force --repair on a mounted volume: exit $rc (want 2)"
cs_umount "$M"

echo "tamper: $FAILS failures, $GAPS known gaps (documented in FORMAT.md, counted)"
[ "$FAILS" = 0 ] || exit 1
exit 0
