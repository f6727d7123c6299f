#!/bin/bash
# A/B on one data path setting: two rayfish nodes in namespaces over one
# veth pair, iperf3 single-stream TCP, 4-stream TCP and UDP 64-byte packets,
# alternating the two settings for ROUNDS rounds so drift in the machine's
# load falls on both alike. Prints each round and the median ratio A / B.
#
#   usage: bench/compare.sh firewall|threads [PATH_TO_RAY]
#          (root; BENCH_SECONDS=N per run, default 5; BENCH_ROUNDS=N, default 3)
#   firewall: on (a rule opens the iperf3 port, so every packet goes through
#             the connection tracker) / off
#   threads:  the daemons' crypto on 2 threads / on 1 (--threads)
MODE=${1:-}
case "$MODE" in
firewall) A=on B=off ;;
threads) A=2 B=1 ;;
*) echo "usage: bench/compare.sh firewall|threads [PATH_TO_RAY]"; exit 2 ;;
esac
. "$(dirname "$0")/lib.sh" "${2:-}"
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}

bench_link
iperf_server b 5201

# setting VALUE: the daemons run with it, their tunnel up.
started=
setting() {
	if [ "$MODE" = firewall ]; then
		if [ -z "$started" ]; then nodes_start; fi
		ray_on a firewall "$1" >/dev/null && ray_on b firewall "$1" >/dev/null
	else
		if [ -n "$started" ]; then daemon_stop a && daemon_stop b; fi
		nodes_start --threads "$1"
	fi
}
nodes_start() {
	daemon_start a "$@"
	daemon_start b "$@"
	if [ -z "$started" ]; then
		bench_peer
		ray_on b firewall add in allow --proto any --port 5201 >/dev/null
		started=1
	fi
	bench_tunnel_wait
}
run_iperf() { # ARGS... -> prints the received rate (Gbit/s, or kpps for UDP)
	local out
	out=$(in_ns a timeout 60 iperf3 -c "$b4" -p 5201 -t "$SECS" -J "$@") || fail "iperf3 $* failed"
	case " $* " in
	*" -u "*) jq '(.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds / 1e3' <<<"$out" ;;
	*) jq '.end.sum_received.bits_per_second / 1e9' <<<"$out" ;;
	esac
}

declare -a T1 T4 U
printf "%-6s %-9s %8s %10s %12s\n" round "$MODE" "TCP Gb/s" "TCP×4 Gb/s" "UDP64 kpps"
for r in $(seq 1 "$ROUNDS"); do
	for v in "$A" "$B"; do
		setting "$v"
		t1=$(run_iperf)
		t4=$(run_iperf -P 4)
		u=$(run_iperf -u -b 0 -l 64)
		printf "%-6s %-9s %8.2f %10.2f %12.0f\n" "$r" "$v" "$t1" "$t4" "$u"
		T1+=("$t1")
		T4+=("$t4")
		U+=("$u")
	done
done

median_ratio() { # A1 B1 A2 B2 ... -> the median of Ai / Bi
	printf "%s\n" "$@" | awk '
		NR % 2 { a = $1; next }
		{ r[n++] = a / $1 }
		END {
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
			printf "%.3f", (n % 2) ? r[int(n / 2)] : (r[n / 2 - 1] + r[n / 2]) / 2
		}'
}
echo
echo "$MODE $A / $B (median of $ROUNDS rounds): TCP $(median_ratio "${T1[@]}")x," \
	"TCP×4 $(median_ratio "${T4[@]}")x, UDP64 $(median_ratio "${U[@]}")x"
