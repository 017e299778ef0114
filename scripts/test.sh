#!/bin/sh
# Installs dependencies, builds (warnings are errors), runs the unit tests
# under ASan+UBSan, then the whole suite (unit + integration, real mounts)
# on the release build. The last line printed is CTest's summary.
set -eu
cd "$(dirname "$0")/.."

./scripts/setup.sh

JOBS=${JOBS:-2}

echo "== sanitizer build (ASan+UBSan), unit tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCS_WERROR=ON \
	-DCS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 \
	ctest -L unit --output-on-failure -j"$JOBS")

echo "== release build, every test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCS_WERROR=ON >/dev/null
cmake --build build -j"$JOBS"
cd build
exec ctest --output-on-failure
