#!/bin/sh
# Cipher backends (-o backend=ipsecmb|mbedtls): for every volume cipher,
# files written through one backend read back byte-identical through the
# other and vice versa (the format does not depend on the AES code), the
# chosen backend is the one cryptod reports, and a bad name is refused.
. "$(dirname "$0")/lib.sh"

M=$T/mnt
head -c 3145728 /dev/urandom >"$T/big"     # 3 MiB: several 1 MiB requests
head -c 5000 /dev/urandom >"$T/small"      # a partial last extent

# mountb BACKEND LOWER: mounts with backend and checks cryptod's log.
mountb() {
	rm -f "$T/log"
	cs_mount -o "backend=$1,log=$T/log" "$2" "$M"
	grep -q "cipher backend $1" "$T/log" ||
		fail "cryptod does not report backend $1: $(cat "$T/log")"
}

for cipher in aes-256-gcm aes-128-gcm chacha20-poly1305; do
	L=$T/lower-$cipher
	mkdir -p "$L"
	"$CS" init --passfile "$PASS" --cipher "$cipher" --kdf-memory 1M \
		--kdf-time 1 --kdf-parallelism 1 "$L" >/dev/null ||
		fail "init --cipher $cipher"

	say "$cipher: write with ipsecmb, read and append with mbedtls"
	mountb ipsecmb "$L"
	cp "$T/big" "$M/big"
	cp "$T/small" "$M/small"
	cs_umount "$M"
	mountb mbedtls "$L"
	cmp "$T/big" "$M/big" || fail "$cipher: mbedtls reads ipsecmb's big file differently"
	cmp "$T/small" "$M/small" || fail "$cipher: mbedtls reads ipsecmb's small file differently"
	cat "$T/small" >>"$M/big"
	cp "$T/small" "$M/small2"
	cs_umount "$M"

	say "$cipher: read mbedtls's writes with ipsecmb"
	mountb ipsecmb "$L"
	cat "$T/big" "$T/small" >"$T/want"
	cmp "$T/want" "$M/big" || fail "$cipher: ipsecmb reads mbedtls's append differently"
	cmp "$T/small" "$M/small2" || fail "$cipher: ipsecmb reads mbedtls's file differently"
	cs_umount "$M"
	"$CS" fsck --passfile "$PASS" "$L" >/dev/null || fail "$cipher: fsck after mixed backends"
done

say "an unknown backend is refused before mounting"
if "$CS" mount --passfile "$PASS" -o backend=rot13 "$T/lower-aes-256-gcm" "$M" 2>"$T/err"; then
	fail "mount -o backend=rot13 succeeded"
fi
grep -q "backend" "$T/err" || fail "no clear message: $(cat "$T/err")"
! is_mounted "$M" || fail "mounted despite a bad backend"
echo "backends: all passed"
