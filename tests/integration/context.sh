#!/bin/sh
# Mount contexts (issue 6): a volume with two FEKEKs (passphrase A and a
# second key B added with `key add --new-key`). Files created under a mount
# holding only A are wrapped to A alone: a mount holding only B cannot open
# them (EACCES, never garbage); a mount holding A and B wraps new files to
# both; `recipients add` gives an old file B's packet without re-encryption.
. "$(dirname "$0")/lib.sh"

PASSB=$T/passb
printf 'the second key of this volume\n' >"$PASSB"

mountwith() { # mountwith MNT passfile...
	m=$1
	shift
	mkdir -p "$m"
	MOUNTS="$MOUNTS $m"
	args=
	for p in "$@"; do args="$args --passfile $p"; done
	# shellcheck disable=SC2086
	"$CS" mount $args "$L" "$m" || fail "mount with $*"
}

say "a volume with two keys"
cs_init "$L"
"$CS" key add --passfile "$PASS" --new-passfile "$PASSB" --new-key \
	--kdf-memory 1M --kdf-time 1 --kdf-parallelism 1 "$L" >/dev/null ||
	fail "key add --new-key"
[ "$("$CS" info "$L" | grep -c -i 'slot')" -ge 2 ] || fail "info lists fewer than 2 slots"

say "file wrapped to A only"
mountwith "$M" "$PASS"
echo "only for A" >"$M/a-only.txt"
cs_umount "$M"

say "a mount holding only B cannot open it"
mountwith "$M" "$PASSB"
ls "$M" | grep -q '^a-only.txt$' || fail "names must stay readable with B"
if cat "$M/a-only.txt" >"$T/out" 2>"$T/err"; then
	fail "B-only mount read a file wrapped to A only: $(cat "$T/out")"
fi
grep -q "Permission denied" "$T/err" || fail "expected EACCES, got: $(cat "$T/err")"
echo "made under B" >"$M/b-only.txt"
cs_umount "$M"

say "a mount holding A and B wraps new files to both"
mountwith "$M" "$PASS" "$PASSB"
[ "$(cat "$M/a-only.txt")" = "only for A" ] || fail "A+B cannot read A's file"
[ "$(cat "$M/b-only.txt")" = "made under B" ] || fail "A+B cannot read B's file"
echo "for both" >"$M/both.txt"
cs_umount "$M"

mountwith "$M" "$PASS"
[ "$(cat "$M/both.txt")" = "for both" ] || fail "A cannot read a file made by A+B"
if cat "$M/b-only.txt" >/dev/null 2>&1; then fail "A read a file wrapped to B only"; fi
cs_umount "$M"
mountwith "$M" "$PASSB"
[ "$(cat "$M/both.txt")" = "for both" ] || fail "B cannot read a file made by A+B"
cs_umount "$M"

say "recipients add: B gets A's old file, headers only"
keyb=$("$CS" info "$L" | awk '$1 == "slot" && $2 == "1:" && $3 == "key" {print $4}')
if [ -n "$keyb" ]; then
	"$CS" recipients add --key-id "$keyb" --passfile "$PASS" \
		--passfile "$PASSB" "$L" >/dev/null || fail "recipients add"
	mountwith "$M" "$PASSB"
	[ "$(cat "$M/a-only.txt")" = "only for A" ] || fail "B cannot read A's file after recipients add"
	cs_umount "$M"
else
	echo "NOTE: could not find key B's id in 'cryptstack info'; recipients step not run"
	"$CS" info "$L"
	fail "info output has no key id for slot 1"
fi
say "ok"
