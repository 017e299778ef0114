#!/bin/sh
# Fuzzing in CI (docs/RELIABILITY.md): builds every libFuzzer target with
# clang (-DCS_FUZZ=ON) in BUILD_DIR/fuzz-clang and runs each for
# CS_FUZZ_SECS seconds (default 12) on a scratch copy of its seed corpus
# (the committed corpora are not modified). Crashes are kept in
# BUILD_DIR/fuzz-clang/fuzz-out. Exit 77 without clang/libFuzzer.
#   sh fuzz.sh BUILD_DIR        env: CS_FUZZ_SECS, CS_FUZZ_JOBS (default 2)
set -eu
B=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${CS_FUZZ_SECS:-12}
JOBS=${CS_FUZZ_JOBS:-2}
FB=$B/fuzz-clang
OUT=$FB/fuzz-out
CC=${CS_FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "SKIP: $CC not found (Debian package clang)"; exit 77; }
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>/dev/null; then
	rm -rf "$probe"
	echo "SKIP: $CC cannot link libFuzzer (Debian package libclang-rt-14-dev)"
	exit 77
fi
rm -rf "$probe"
# target  corpus
TARGETS="fuzz-fmt-header:tests/fuzz/corpus/fmt_header
fuzz-fmt-names:tests/fuzz/corpus/fmt_names
fuzz-ring:proto/fuzz/corpus
fuzz-cipher:cryptod/cipher/fuzz_corpus
fuzz-keyd-msg:tests/fuzz/corpus/keyd_msg"
cmake -S "$SRC" -B "$FB" -DCMAKE_C_COMPILER="$CC" -DCS_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$FB.cmake.log" 2>&1 || { cat "$FB.cmake.log"; exit 1; }
names=$(echo "$TARGETS" | cut -d: -f1 | tr '\n' ' ')
echo "== building $names"
cmake --build "$FB" -j"$JOBS" --target $names >"$FB.build.log" 2>&1 || { tail -40 "$FB.build.log"; exit 1; }
mkdir -p "$OUT"
rc=0
for tc in $TARGETS; do
	t=${tc%%:*}
	corpus=$SRC/${tc#*:}
	work=$OUT/corpus-$t
	mkdir -p "$work"
	if ! "$FB/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$OUT/$t-" -print_final_stats=1 \
		"$work" "$corpus" >"$OUT/$t.log" 2>&1; then
		echo "FAIL: $t (see $OUT/$t.log and $OUT/$t-*)"
		grep -A30 "ERROR\|==.*==" "$OUT/$t.log" | head -40
		rc=1
	else
		ex=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$t.log")
		cov=$(grep -o 'cov: [0-9]*' "$OUT/$t.log" | tail -n1)
		echo "$t: ${SECS}s, $ex runs, $cov, no crash"
	fi
done
exit $rc
