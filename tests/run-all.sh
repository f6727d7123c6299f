#!/bin/bash
# The whole suite, as `make check` runs it:
#   1. unit tests (cmocka) of the gcc build and of the clang ASan+UBSan build;
#   2. each fuzz target for a few seconds (FUZZ_SECONDS, default 5);
#   3. integration tests (tests/integration/*.sh, root only: they make network
#      namespaces) against the ASan+UBSan build of ray.
# Ends with the line "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
failures=()
logdir=$(mktemp -d /tmp/ray-check.XXXXXX)

count_cmocka() { # NAME LOGFILE EXIT
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -1)
	p=${p:-0} f=${f:-0}
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)) failed=$((failed + f))
	if [ "$f" -ne 0 ]; then failures+=("$1"); fi
}

echo "== unit tests"
for build in build build-san; do
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		name="$build/$(basename "$t")"
		log="$logdir/$(echo "$name" | tr / _).log"
		timeout 300 "$t" >"$log" 2>&1
		rc=$?
		count_cmocka "$name" "$log" $rc
		if [ $rc -ne 0 ]; then
			echo "FAIL $name"; cat "$log"
		else
			echo "ok   $name ($(grep -c '^\[       OK \]' "$log") cases)"
		fi
	done
done

echo "== fuzz targets (${FUZZ_SECONDS:-5} s each)"
for f in build-fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	log="$logdir/$name.log"
	corpus="$logdir/corpus-$name"
	mkdir -p "$corpus"
	if timeout 120 "$f" -max_total_time="${FUZZ_SECONDS:-5}" -rss_limit_mb=2048 \
		-artifact_prefix="$logdir/" "$corpus" >"$log" 2>&1; then
		passed=$((passed + 1)); echo "ok   $name ($(grep -o 'Done [0-9]* runs' "$log" | awk '{print $2}') runs)"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name"; tail -40 "$log"
	fi
done

echo "== integration tests"
for t in tests/integration/*.sh; do
	[ -e "$t" ] || continue
	case "$(basename "$t")" in *lib.sh) continue ;; esac
	name=$(basename "$t" .sh)
	if [ "$(id -u)" -ne 0 ]; then
		skipped=$((skipped + 1)); echo "skip $name (needs root for network namespaces)"
		continue
	fi
	log="$logdir/$name.log"
	start=$(date +%s)
	RAY="$PWD/build-san/ray" timeout 600 bash "$t" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1)); echo "ok   $name (${secs}s)"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name (exit $rc, ${secs}s)"; tail -60 "$log"
	fi
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
	echo "logs: $logdir"
else
	rm -rf "$logdir"
fi
if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
