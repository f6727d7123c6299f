#!/bin/bash
# RTT over the bare veth link and over rayfish, at several ping intervals,
# alternating the two paths for ROUNDS rounds. On a VM the interval matters:
# the longer a vCPU has been idle, the more each wakeup costs, and rayfish's
# round trip wakes three processes more than the bare link's. Prints each
# round and the median of the average RTTs per interval.
#
#   usage: bench/rtt.sh [PATH_TO_RAY]
#          (root; BENCH_ROUNDS=N, default 3; BENCH_PINGS=N per run, default 100;
#          BENCH_INTERVALS="S S ...", default "0.002 0.01 0.05")
. "$(dirname "$0")/lib.sh" "${1:-}"
ROUNDS=${BENCH_ROUNDS:-3}
PINGS=${BENCH_PINGS:-100}
INTERVALS=${BENCH_INTERVALS:-0.002 0.01 0.05}

bench_link
daemon_start a
daemon_start b
bench_peer
bench_tunnel_wait
ray_on a firewall off >/dev/null
ray_on b firewall off >/dev/null

avg_rtt() { # INTERVAL DEST -> the average RTT in ms
	in_ns a ping -c "$PINGS" -i "$1" -q "$2" | awk -F/ '/^rtt/ { print $5 }'
}
minus() { awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A BARE RAYF
printf "%-8s %-6s %10s %10s %10s\n" interval round "bare ms" "rayfish ms" "overhead"
for r in $(seq "$ROUNDS"); do
	for i in $INTERVALS; do
		b=$(avg_rtt "$i" 10.55.0.2)
		f=$(avg_rtt "$i" "$b4")
		[ -n "$b" ] && [ -n "$f" ] || fail "ping at interval $i failed"
		BARE[$i]+="$b "
		RAYF[$i]+="$f "
		printf "%-8s %-6s %10.3f %10.3f %10.3f\n" "$i" "$r" "$b" "$f" "$(minus "$f" "$b")"
	done
done
echo "median of $ROUNDS rounds, $PINGS pings each:"
for i in $INTERVALS; do
	# shellcheck disable=SC2086 # the lists are space-separated numbers
	b=$(median ${BARE[$i]})
	# shellcheck disable=SC2086
	f=$(median ${RAYF[$i]})
	printf "  interval %-6s bare %.3f ms, rayfish %.3f ms, overhead %+.3f ms\n" "$i" "$b" "$f" \
		"$(minus "$f" "$b")"
done
