#!/bin/bash
# Networks at scale: 20 nodes on one "internet" with a relay. n1 creates a
# network and mints one reusable invite; the other 19 redeem it at the same
# time. Measured and printed: the time from the first join until every node
# lists 20 members, and until every ordered pair (380) pings by mesh IPv4;
# the control traffic that took (sum over nodes of the peers' control
# messages sent, and of their rx + tx bytes).
#
#   relay 198.18.0.1 ── inet bridge ── n1 198.18.0.11, n2 .12, ... n20 .30
#
# Asserted: every join succeeds, every node lists all 20, every pair pings,
# all within 60 s of the first join, and every daemon exits 0. The target, a
# full ping mesh within 30 s, is printed, not asserted: the suite runs this
# with the ASan build on 2 cores.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

N=20
BOUND_S=60
TARGET_S=30
NODES=()
for i in $(seq "$N"); do
	NODES+=("n$i")
done

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

nat_inet
nat_relay
for i in $(seq "$N"); do
	netns_add "n$i"
	nat_attach "n$i" "198.18.0.$((10 + i))"
done

log "starting $N daemons"
# All at once, then wait for each: daemon_start would start them one by one.
for n in "${NODES[@]}"; do
	mkdir -p "$T_DIR/$n"
	ip netns exec "$T_ID-$n" "$RAY" --socket "$(node_socket "$n")" daemon \
		--state-dir "$(node_state "$n")" --relay "$RELAY_URL" >>"$T_DIR/$n.log" 2>&1 &
	DAEMON_PID[$n]=$!
	T_PIDS+=($!)
done
for n in "${NODES[@]}"; do
	wait_for 30 "daemon $n to answer" ray_on "$n" status
done

log "n1 creates a network and mints one reusable invite"
ray_on n1 create --name scale --hostname n1 --json >"$T_DIR/create.json"
jq -e '.name == "scale"' "$T_DIR/create.json" >/dev/null || fail "create: $(cat "$T_DIR/create.json")"
ray_on n1 invite scale --reusable --json >"$T_DIR/invite.json"
jq -e '.reusable == true' "$T_DIR/invite.json" >/dev/null || fail "invite: $(cat "$T_DIR/invite.json")"
code=$(jq -r .code "$T_DIR/invite.json")

log "n2..n$N join with it, all at once"
declare -A JOIN_PID
t0=$(now_ms)
for n in "${NODES[@]:1}"; do
	timeout 45 ip netns exec "$T_ID-$n" "$RAY" --socket "$(node_socket "$n")" \
		join "$code" --hostname "$n" --json >"$T_DIR/join-$n.out" 2>"$T_DIR/join-$n.err" &
	JOIN_PID[$n]=$!
done
failed=0
for n in "${NODES[@]:1}"; do
	rc=0
	wait "${JOIN_PID[$n]}" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "join on $n failed (exit $rc): $(cat "$T_DIR/join-$n.err")" >&2
		failed=$((failed + 1))
	fi
done
t_joined=$(now_ms)
[ "$failed" -eq 0 ] || fail "$failed of $((N - 1)) joins failed"
log "all $((N - 1)) joins returned 0 after $(secs $((t_joined - t0))) s"

# snapshot TAG [NODE...]: `ray status --json` of the NODEs (all by default),
# asked all at once, in $T_DIR/TAG-NODE.json.
snapshot() {
	local tag=$1 n
	local -A pid
	shift
	[ $# -gt 0 ] || set -- "${NODES[@]}"
	for n in "$@"; do
		timeout 20 ip netns exec "$T_ID-$n" "$RAY" --socket "$(node_socket "$n")" \
			status --json >"$T_DIR/$tag-$n.json" 2>/dev/null &
		pid[$n]=$!
	done
	for n in "$@"; do
		wait "${pid[$n]}" || fail "ray status on $n failed"
	done
}

# Every node's status lists N members (only the nodes not there yet are asked).
pending=("${NODES[@]}")
deadline=$((t0 + BOUND_S * 1000))
while [ ${#pending[@]} -gt 0 ]; do
	snapshot poll "${pending[@]}"
	left=()
	for n in "${pending[@]}"; do
		[ "$(jq -r '.networks[0].members | length' "$T_DIR/poll-$n.json")" = "$N" ] ||
			left+=("$n")
	done
	[ ${#left[@]} -eq ${#pending[@]} ] || [ ${#left[@]} -eq 0 ] ||
		log "$((N - ${#left[@]})) of $N nodes list $N members (waiting for ${left[*]})"
	pending=("${left[@]}")
	[ ${#pending[@]} -eq 0 ] && break
	[ "$(now_ms)" -lt "$deadline" ] ||
		fail "after ${BOUND_S}s, ${pending[*]} still list fewer than $N members"
	sleep 0.2
done
t_members=$(now_ms)
log "every node lists $N members: $(secs $((t_members - t0))) s after the first join"

# The mesh addresses, from n1's roster; each node's own from its "self" entry.
snapshot members
declare -A IP4
for n in "${NODES[@]}"; do
	IP4[$n]=$(jq -er ".networks[0].members[] | select(.hostname == \"$n\") | .ipv4" \
		"$T_DIR/members-n1.json") || fail "no member $n in n1's roster"
	self=$(jq -r '.networks[0].members[] | select(.self) | .ipv4' "$T_DIR/members-$n.json")
	[ "$self" = "${IP4[$n]}" ] || fail "$n calls itself $self, n1 calls it ${IP4[$n]}"
done

# control_traffic TAG: sums over the nodes' peers in snapshot TAG.
control_traffic() {
	local tag=$1 n
	for n in "${NODES[@]}"; do
		cat "$T_DIR/$tag-$n.json"
	done | jq -rs '[.[].peers[]] |
		"control messages: \([.[].control.msgs_sent] | add // 0), " +
		"peer bytes: \([.[] | .tx_bytes + .rx_bytes] | add // 0) " +
		"(tx \([.[].tx_bytes] | add // 0), rx \([.[].rx_bytes] | add // 0); " +
		"\(length) peer entries; control frames retransmitted " +
		"\([.[].control.frames_retransmitted] | add // 0), messages failed " +
		"\([.[].control.msgs_failed] | add // 0))"'
}
log "at full membership: $(control_traffic members)"

# Every ordered pair: one shell per node, inside its namespace, pings the
# other 19 at once (ping -c 1 -W 2), again for those that did not answer,
# until all did or the deadline; it writes "ok TIME_MS ROUNDS" or "missing
# IPS", and each round's outcome in OUT.rounds. (Spawning the 380 pings alone
# takes several seconds on 2 cores: a second sweep over an established mesh
# takes about as long as the first.)
cat >"$T_DIR/ping_all.sh" <<'EOF'
deadline=$1 out=$2
shift 2
pending=("$@")
rounds=0
while :; do
	rounds=$((rounds + 1))
	pids=()
	for ip in "${pending[@]}"; do
		ping -c 1 -W 2 -q "$ip" >/dev/null 2>&1 &
		pids+=($!)
	done
	left=()
	for k in "${!pending[@]}"; do
		wait "${pids[$k]}" || left+=("${pending[$k]}")
	done
	echo "round $rounds, $(date +%T.%3N): ${#left[@]} unanswered ${left[*]}" >>"$out.rounds"
	pending=("${left[@]}")
	if [ ${#pending[@]} -eq 0 ]; then
		echo "ok $(($(date +%s%N) / 1000000)) $rounds" >"$out"
		exit 0
	fi
	if [ $(($(date +%s%N) / 1000000)) -ge "$deadline" ]; then
		echo "missing ${pending[*]} after $rounds rounds" >"$out"
		exit 1
	fi
	sleep 0.2
done
EOF
log "every node pings the other $((N - 1)) at once ($((N * (N - 1))) ordered pairs)"
declare -A PING_PID
ping_start=$(now_ms)
ping_deadline=$((ping_start + BOUND_S * 1000))
for n in "${NODES[@]}"; do
	others=()
	for m in "${NODES[@]}"; do
		[ "$m" = "$n" ] || others+=("${IP4[$m]}")
	done
	ip netns exec "$T_ID-$n" bash "$T_DIR/ping_all.sh" "$ping_deadline" \
		"$T_DIR/ping-$n.result" "${others[@]}" &
	PING_PID[$n]=$!
done
failed=0
last=0
max_rounds=0
for n in "${NODES[@]}"; do
	rc=0
	wait "${PING_PID[$n]}" || rc=$?
	read -r what when rounds <"$T_DIR/ping-$n.result" || what=none
	if [ "$rc" -ne 0 ] || [ "$what" != ok ]; then
		echo "$n did not reach: $what $when $rounds" >&2
		cat "$T_DIR/ping-$n.result.rounds" >&2
		failed=$((failed + 1))
		continue
	fi
	[ "$when" -le "$last" ] || last=$when
	[ "$rounds" -le "$max_rounds" ] || max_rounds=$rounds
done
[ "$failed" -eq 0 ] || fail "$failed nodes could not ping every other within ${BOUND_S}s"
mesh_ms=$((last - t0))
log "every ordered pair pings: $(secs "$mesh_ms") s after the first join (target < ${TARGET_S} s; $(secs $((last - ping_start))) s of pinging, up to $max_rounds rounds)"
[ "$mesh_ms" -le $((BOUND_S * 1000)) ] || fail "full mesh took $(secs "$mesh_ms") s (bound ${BOUND_S} s)"
[ "$mesh_ms" -le $((TARGET_S * 1000)) ] || log "note: above the ${TARGET_S} s target"

snapshot mesh
log "$(control_traffic mesh)"
paths=$(cat "$T_DIR"/mesh-*.json | jq -r '.peers[].path' | sort | uniq -c | tr -s ' \n' ' ')
log "peer paths over all nodes:$paths"

log "stopping $N daemons"
for n in "${NODES[@]}"; do
	kill -TERM "${DAEMON_PID[$n]}"
done
for n in "${NODES[@]}"; do
	wait_gone "${DAEMON_PID[$n]}" 30
	[ "$WAIT_RC" -eq 0 ] || fail "daemon $n exited with status $WAIT_RC"
done
log "summary: joins $(secs $((t_joined - t0))) s, $N members everywhere $(secs $((t_members - t0))) s, full ping mesh $(secs "$mesh_ms") s"
log "PASS networks_scale"
