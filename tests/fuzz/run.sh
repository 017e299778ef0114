#!/bin/sh
# Builds the format fuzz targets with clang (-DCS_FUZZ=ON) and runs each for
# N seconds (default 10) on a scratch copy of its seed corpus, so the
# committed corpus is not modified. Crashes land in $OUT (default
# build-fuzz/fuzz-out); exit status is non-zero if any target failed.
#   tests/fuzz/run.sh [SECONDS]        env: BUILD=dir JOBS=n OUT=dir
set -eu
SECS=${1:-10}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-fuzz}
OUT=${OUT:-$BUILD/fuzz-out}
JOBS=${JOBS:-2}
CC=${CC:-clang}
command -v "$CC" >/dev/null || { echo "run.sh: $CC not found (Debian package clang)"; exit 1; }
cmake -S "$SRC" -B "$BUILD" -DCMAKE_C_COMPILER="$CC" -DCS_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target fuzz-fmt-header fuzz-fmt-names
mkdir -p "$OUT"
rc=0
for t in fmt_header fmt_names; do
	bin="$BUILD/fuzz-$(echo $t | tr _ -)"
	work="$OUT/corpus-$t"
	mkdir -p "$work"
	echo "== $t: ${SECS}s"
	if ! "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$OUT/$t-" -print_final_stats=1 \
		"$work" "$SRC/tests/fuzz/corpus/$t" 2>"$OUT/$t.log"; then
		echo "FAIL: $t (see $OUT/$t.log and $OUT/$t-*)"
		tail -30 "$OUT/$t.log"
		rc=1
	else
		grep -E "stat::number_of_executed_units|cov:" "$OUT/$t.log" | tail -2
	fi
done
exit $rc
