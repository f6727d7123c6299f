#!/bin/bash
# Run every fuzz target for SECONDS each, keeping a corpus per target in
# tests/fuzz/corpus-NAME (ignored by git). Usage: tests/run-fuzz.sh DIR SECONDS
set -u
dir=${1:-build-fuzz} secs=${2:-60}
fail=0
for f in "$dir"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus="tests/fuzz/corpus-$name"
	mkdir -p "$corpus"
	echo "== $name ($secs s)"
	log=$(mktemp)
	"$f" -max_total_time="$secs" -rss_limit_mb=2048 "$corpus" >"$log" 2>&1 || fail=1
	tail -3 "$log"
	rm -f "$log"
done
exit $fail
