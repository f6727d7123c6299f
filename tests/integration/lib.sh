# Shared helpers for the integration tests. Source it first:
#
#   . "$(dirname "$0")/lib.sh"
#
# Every test makes its own network namespaces (named rf-<pid>-<name>), its own
# state dirs and sockets under one temp dir, kills only the PIDs it started,
# and removes all of it on exit, however it exits.
set -eu
set -o pipefail

RAY=${RAY:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/ray}
[ -x "$RAY" ] || { echo "no ray binary at $RAY (run make)"; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

T_ID=rf-$$
T_DIR=$(mktemp -d /tmp/ray-test.XXXXXX)
chmod 755 "$T_DIR"
T_NETNS=()
T_PIDS=()

log() { echo "[$(date +%T.%3N)] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# Echo each command, as wireguard's netns.sh does, so a failing log reads itself.
run() { log "+ $*" >&2; "$@"; }

cleanup() {
	local rc=$? pid
	set +e
	for pid in "${T_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in "${T_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	if [ $rc -ne 0 ]; then
		for f in "$T_DIR"/*.log; do
			[ -e "$f" ] || continue
			echo "---- $f"; tail -30 "$f"
		done
	fi
	rm -rf "$T_DIR"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# netns_add NAME: a namespace with loopback up. Its real name is $T_ID-NAME.
# It has a resolv.conf of its own (ip netns exec mounts
# /etc/netns/NAME/resolv.conf over /etc/resolv.conf), so a daemon's Magic
# DNS configures that one and never the host's.
netns_add() {
	local ns=$T_ID-$1
	ip netns add "$ns"
	T_NETNS+=("$ns")
	ip -n "$ns" link set lo up
	mkdir -p "/etc/netns/$ns"
	printf '# resolv.conf of test namespace %s\nnameserver 192.0.2.53\n' "$1" \
		>"/etc/netns/$ns/resolv.conf"
}

# ns_resolv_conf NAME: the path of namespace NAME's resolv.conf.
ns_resolv_conf() { echo "/etc/netns/$T_ID-$1/resolv.conf"; }

# in_ns NAME CMD...: run CMD in namespace NAME.
in_ns() { local ns=$T_ID-$1; shift; ip netns exec "$ns" "$@"; }

# bg_in_ns NAME CMD...: CMD in the background in namespace NAME, its PID in
# BG_PID and in T_PIDS for cleanup. `in_ns ... &` would record the PID of a
# subshell, and killing that leaves CMD running.
bg_in_ns() {
	local ns=$T_ID-$1
	shift
	ip netns exec "$ns" "$@" &
	BG_PID=$!
	T_PIDS+=("$BG_PID")
}

# iperf_server NAME PORT [ARGS...]: an iperf3 server daemon in NAME, killed
# at cleanup (it forks away from us, so its pid file tells us which it is).
iperf_server() {
	local n=$1 port=$2 pidfile
	shift 2
	pidfile=$T_DIR/iperf-$n-$port.pid
	in_ns "$n" iperf3 -s -D -p "$port" -I "$pidfile" --logfile "$T_DIR/iperf-$n-$port.log" "$@"
	wait_for 5 "iperf3 server in $n" test -s "$pidfile"
	T_PIDS+=("$(cat "$pidfile")")
}

# veth_pair A B ADDR_A ADDR_B: link namespaces A and B, e.g. 10.0.0.1/24 10.0.0.2/24.
veth_pair() {
	ip link add "v-$1" netns "$T_ID-$1" type veth peer name "v-$2" netns "$T_ID-$2"
	ip -n "$T_ID-$1" addr add "$3" dev "v-$1"
	ip -n "$T_ID-$2" addr add "$4" dev "v-$2"
	ip -n "$T_ID-$1" link set "v-$1" up
	ip -n "$T_ID-$2" link set "v-$2" up
}

# wait_for SECONDS DESCRIPTION CMD...: retry CMD every 0.1 s until it
# succeeds; fail once SECONDS have passed, however long each try takes.
wait_for() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$(($(date +%s%N) / 1000000 + secs * 1000))
	while [ $(($(date +%s%N) / 1000000)) -lt $deadline ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "timed out after ${secs}s waiting for: $what"
}

# wait_gone PID SECONDS: wait for a process we started to exit; sets WAIT_RC.
wait_gone() {
	local pid=$1 secs=$2 i
	for i in $(seq $((secs * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null && WAIT_RC=0 || WAIT_RC=$?
			return 0
		fi
		sleep 0.1
	done
	fail "process $pid still running after ${secs}s"
}

# Node NAME lives in namespace NAME with state $T_DIR/NAME and its own socket.
node_state() { echo "$T_DIR/$1/state"; }
node_socket() { echo "$T_DIR/$1/ray.sock"; }

# ray_on NAME ARGS...: the CLI against node NAME's daemon.
ray_on() {
	local n=$1
	shift
	in_ns "$n" "$RAY" --socket "$(node_socket "$n")" "$@"
}

# daemon_start NAME [ARGS...]: start node NAME's daemon in namespace NAME and
# wait until it answers. Its PID is left in DAEMON_PID[NAME].
declare -A DAEMON_PID
daemon_start() {
	local n=$1
	shift
	mkdir -p "$T_DIR/$n"
	# A simple command, not a function, so that $! is the daemon itself.
	ip netns exec "$T_ID-$n" "$RAY" --socket "$(node_socket "$n")" daemon \
		--state-dir "$(node_state "$n")" "$@" >>"$T_DIR/$n.log" 2>&1 &
	DAEMON_PID[$n]=$!
	T_PIDS+=($!)
	wait_for 10 "daemon $n to answer" ray_on "$n" status
}

# daemon_stop NAME: SIGTERM and wait; fails unless the daemon exits 0 (under
# ASan that includes no leaks).
daemon_stop() {
	local n=$1
	kill -TERM "${DAEMON_PID[$n]}"
	wait_gone "${DAEMON_PID[$n]}" 15
	[ "$WAIT_RC" -eq 0 ] || fail "daemon $n exited with status $WAIT_RC"
}

# json_get NAME FILTER ARGS...: run `ray ARGS --json` on NAME and apply jq FILTER.
json_get() {
	local n=$1 filter=$2
	shift 2
	ray_on "$n" "$@" --json | jq -er "$filter"
}

# peer_pair A B NET: namespaces A and B joined by a veth (NET.1/24 and
# NET.2/24), a daemon in each, and each added as the other's static peer.
# Fills NODE_ID, NODE_IP4 and NODE_IP6 for both.
declare -A NODE_ID NODE_IP4 NODE_IP6
peer_pair() {
	local a=$1 b=$2 net=$3 n
	netns_add "$a"
	netns_add "$b"
	veth_pair "$a" "$b" "$net.1/24" "$net.2/24"
	daemon_start "$a"
	daemon_start "$b"
	for n in "$a" "$b"; do
		NODE_ID[$n]=$(json_get "$n" .id id)
		NODE_IP4[$n]=$(json_get "$n" .ipv4 id)
		NODE_IP6[$n]=$(json_get "$n" .ipv6 id)
	done
	run ray_on "$a" debug peer add "${NODE_ID[$b]}" --endpoint "$net.2:41383" >/dev/null
	run ray_on "$b" debug peer add "${NODE_ID[$a]}" --endpoint "$net.1:41383" >/dev/null
}
