#!/bin/bash
# Networks: a single-use invite redeemed by two nodes at the same moment.
# Exactly one join succeeds; the other fails with "used already"; the network
# then lists exactly two members (the coordinator and the winner), and the
# loser is in no network. Three rounds, each with a new network, a fresh
# invite and two fresh joiners.
#
#   relay 198.18.0.1 ── inet bridge ── a 198.18.0.2, joiners r1x .3, r1y .4,
#                                      r2x .5, r2y .6, r3x .7, r3y .8
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

ROUNDS=3

nat_inet
nat_relay
netns_add a
nat_attach a 198.18.0.2
host=3
for r in $(seq "$ROUNDS"); do
	for j in x y; do
		netns_add "r$r$j"
		nat_attach "r$r$j" "198.18.0.$host"
		host=$((host + 1))
	done
done
nat_node a
for r in $(seq "$ROUNDS"); do
	nat_node "r${r}x"
	nat_node "r${r}y"
done

# members_of NODE NET: the ids of NET's members in NODE's status, sorted.
members_of() {
	json_get "$1" "[.networks[] | select(.name == \"$2\") | .members[].id] | sort | join(\" \")" status
}
# members_are NODE NET IDS: a function, so that wait_for asks again each try.
members_are() { [ "$(members_of "$1" "$2")" = "$3" ]; }

for r in $(seq "$ROUNDS"); do
	net=race$r
	x=r${r}x
	y=r${r}y
	log "round $r: a creates $net and one single-use invite; $x and $y redeem it at once"
	ray_on a create --name "$net" --json >/dev/null
	ray_on a invite "$net" --json >"$T_DIR/invite-$r.json"
	jq -e '.reusable == false' "$T_DIR/invite-$r.json" >/dev/null ||
		fail "invite: $(cat "$T_DIR/invite-$r.json")"
	code=$(jq -r .code "$T_DIR/invite-$r.json")
	# Both started together, each a simple command so that $! is the join itself.
	timeout 30 ip netns exec "$T_ID-$x" "$RAY" --socket "$(node_socket "$x")" join "$code" \
		>"$T_DIR/join-$x.out" 2>"$T_DIR/join-$x.err" &
	pid_x=$!
	timeout 30 ip netns exec "$T_ID-$y" "$RAY" --socket "$(node_socket "$y")" join "$code" \
		>"$T_DIR/join-$y.out" 2>"$T_DIR/join-$y.err" &
	pid_y=$!
	rc_x=0
	wait "$pid_x" || rc_x=$?
	rc_y=0
	wait "$pid_y" || rc_y=$?
	log "$x: exit $rc_x $(cat "$T_DIR/join-$x.err")"
	log "$y: exit $rc_y $(cat "$T_DIR/join-$y.err")"
	if [ "$rc_x" -eq 0 ] && [ "$rc_y" -ne 0 ]; then
		winner=$x loser=$y
	elif [ "$rc_y" -eq 0 ] && [ "$rc_x" -ne 0 ]; then
		winner=$y loser=$x
	else
		fail "round $r: exit statuses $rc_x and $rc_y, want exactly one 0"
	fi
	[ "$(wc -l <"$T_DIR/join-$loser.err")" -eq 1 ] ||
		fail "round $r: $loser's error is not one line: $(cat "$T_DIR/join-$loser.err")"
	grep -q "used already" "$T_DIR/join-$loser.err" ||
		fail "round $r: $loser failed without 'used already': $(cat "$T_DIR/join-$loser.err")"
	log "round $r: $winner joined, $loser was refused"

	want=$(printf '%s\n' "${NODE_ID[a]}" "${NODE_ID[$winner]}" | sort | tr '\n' ' ')
	want=${want% }
	wait_for 10 "$winner to list a and itself in $net" members_are "$winner" "$net" "$want"
	[ "$(members_of a "$net")" = "$want" ] ||
		fail "round $r: a lists $(members_of a "$net"), want $want"
	json_get "$loser" '.networks | length == 0' status >/dev/null ||
		fail "round $r: $loser is in a network: $(json_get "$loser" '.networks' status)"
	# Still exactly two a moment later (no late admission of the loser).
	sleep 1
	[ "$(members_of a "$net")" = "$want" ] ||
		fail "round $r: a lists $(members_of a "$net") a second later, want $want"
	[ "$(members_of "$winner" "$net")" = "$want" ] ||
		fail "round $r: $winner lists $(members_of "$winner" "$net") a second later"
	wait_for 10 "$winner to ping a in $net" in_ns "$winner" ping -c 1 -W 1 \
		"$(json_get "$winner" ".networks[] | select(.name == \"$net\") | .members[] |
			select(.coordinator) | .ipv4" status)"
	log "round $r: $net lists exactly a and $winner"
done

daemon_stop a
for r in $(seq "$ROUNDS"); do
	daemon_stop "r${r}x"
	daemon_stop "r${r}y"
done
log "PASS networks_race"
