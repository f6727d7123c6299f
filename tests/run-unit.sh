#!/bin/bash
# Run every unit test binary of one build directory.
# Usage: tests/run-unit.sh BUILD_DIR
set -u
build=${1:-build}
fail=0
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	"$t" || fail=1
done
exit $fail
