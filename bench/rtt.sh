#!/bin/bash
# RTT over the bare veth link, over the floor (bench/tun_forward: TUN to UDP
# and back through a process, no crypto) and over rayfish, at several ping
# intervals, alternating the three paths for ROUNDS rounds. On a VM the
# interval matters: the longer a vCPU has been idle, the more each wakeup
# costs, and a userspace tunnel's round trip wakes three processes more than
# the bare link's. The floor shows what that costs any userspace VPN here;
# rayfish minus the floor is rayfish's own work. Prints each round and the
# median of the average RTTs per interval.
#
#   usage: bench/rtt.sh [PATH_TO_RAY]
#          (root; BENCH_ROUNDS=N, default 3; BENCH_PINGS=N per run, default 100;
#          BENCH_INTERVALS="S S ...", default "0.002 0.01 0.05")
. "$(dirname "$0")/lib.sh" "${1:-}"
ROUNDS=${BENCH_ROUNDS:-3}
PINGS=${BENCH_PINGS:-100}
INTERVALS=${BENCH_INTERVALS:-0.002 0.01 0.05}

FORWARD=$(dirname "$RAY")/bench/tun_forward
[ -x "$FORWARD" ] || fail "$FORWARD is missing (make $(dirname "$RAY")/bench/tun_forward)"

bench_link
# The floor: fwd0 in a (10.56.0.1) and b (10.56.0.2), over UDP port 41400.
for n in a b; do
	if [ "$n" = a ]; then self=1 peer=2; else self=2 peer=1; fi
	bg_in_ns "$n" "$FORWARD" fwd0 41400 "10.55.0.$peer:41400"
	wait_for 5 "tun_forward in $n" in_ns "$n" ip link show fwd0
	in_ns "$n" ip addr add "10.56.0.$self/24" dev fwd0
	in_ns "$n" ip link set fwd0 up
done
wait_for 5 "the floor tunnel" in_ns a ping -c 1 -W 1 10.56.0.2
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

declare -A BARE FLOOR RAYF
printf "%-8s %-6s %9s %9s %11s %9s %9s\n" interval round "bare ms" "floor ms" "rayfish ms" \
	"overhead" "-floor"
for r in $(seq "$ROUNDS"); do
	for i in $INTERVALS; do
		b=$(avg_rtt "$i" 10.55.0.2)
		l=$(avg_rtt "$i" 10.56.0.2)
		f=$(avg_rtt "$i" "$b4")
		[ -n "$b" ] && [ -n "$l" ] && [ -n "$f" ] || fail "ping at interval $i failed"
		BARE[$i]+="$b "
		FLOOR[$i]+="$l "
		RAYF[$i]+="$f "
		printf "%-8s %-6s %9.3f %9.3f %11.3f %+9.3f %+9.3f\n" "$i" "$r" "$b" "$l" "$f" \
			"$(minus "$f" "$b")" "$(minus "$f" "$l")"
	done
done
echo "median of $ROUNDS rounds, $PINGS pings each:"
for i in $INTERVALS; do
	# shellcheck disable=SC2086 # the lists are space-separated numbers
	b=$(median ${BARE[$i]})
	# shellcheck disable=SC2086
	l=$(median ${FLOOR[$i]})
	# shellcheck disable=SC2086
	f=$(median ${RAYF[$i]})
	printf "  interval %-6s bare %.3f ms, floor %.3f (%+.3f), rayfish %.3f (%+.3f; %+.3f over the floor)\n" \
		"$i" "$b" "$l" "$(minus "$l" "$b")" "$f" "$(minus "$f" "$b")" "$(minus "$f" "$l")"
done
