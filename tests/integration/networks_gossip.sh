#!/bin/bash
# Invite gossip between co-coordinators (issue 5): a grants b the network
# key and b gets a's invites; a single-use code a minted is redeemed through
# b while a is stopped; when a comes back it learns the code is used and
# refuses it; a code b minted and a revoked is refused by b; one code
# redeemed at a and at b at the same moment admits exactly one joiner (three
# rounds), also when both have burned it before either hears of the other
# (two more rounds: the lower joiner id wins); ledgers survive a restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

HELPERS=$(dirname "$RAY")/tests
[ -x "$HELPERS/invite_rotate" ] || fail "no helpers in $HELPERS (run make tests)"
ROUNDS=3	    # the codes race as they come
CROSSED_ROUNDS=5 # rounds 4 and 5: each coordinator holds its claim 1.5 s

nat_inet
nat_relay
racers=()
for r in $(seq "$CROSSED_ROUNDS"); do
	racers+=("r${r}x" "r${r}y")
done
nat_public_nodes 2 a b c d "${racers[@]}"

run ray_on a create --name net4 --hostname alpha >/dev/null
run ray_on b join "$(json_get a .code invite net4)" --hostname beta >/dev/null
b4=$(json_get a '.networks[0].members[] | select(.hostname == "beta") | .ipv4' status)
wait_for 10 "a to reach b" in_ns a ping -c 1 -W 1 "$b4"

# invite_state NODE ID: the state of invite ID in NODE's ledger ("" if none)
invite_state() { json_get "$1" ".invites[] | select(.id == $2) | .state" invite net4 --list; }
invite_is() { [ "$(invite_state "$1" "$2")" = "$3" ]; }

log "a mints a code before b is a coordinator; b gets it with the key"
json_get a . invite net4 >"$T_DIR/early.json"
early=$(jq -r .id "$T_DIR/early.json")
run ray_on a admin add net4 beta
wait_for 10 "b to have a's earlier invite" invite_is b "$early" open

log "a mints a single-use code; b hears of it"
json_get a . invite net4 >"$T_DIR/x.json"
x_id=$(jq -r .id "$T_DIR/x.json")
x_code=$(jq -r .code "$T_DIR/x.json")
wait_for 10 "b to have invite $x_id" invite_is b "$x_id" open
[ "$("$HELPERS/invite_rotate" --list "$x_code" | tr '\n' ' ')" = "${NODE_ID[a]} ${NODE_ID[b]} " ] ||
	fail "the code does not name a, then b: $("$HELPERS/invite_rotate" --list "$x_code")"
[ "$(json_get b ".invites[] | select(.id == $x_id) | .reusable" invite net4 --list)" = false ] ||
	fail "the shared invite is not single-use at b"

log "a stops; c redeems a's code through b"
daemon_stop a
start=$(date +%s)
ray_on c join "$x_code" --hostname gamma >"$T_DIR/c-join.txt" 2>&1 ||
	fail "c was not admitted through b: $(cat "$T_DIR/c-join.txt")"
log "c admitted after $(($(date +%s) - start)) s (a, named first in the code, is down)"
json_get c '.networks[0].name == "net4"' status >/dev/null || fail "c is not in net4"
invite_is b "$x_id" used || fail "b did not burn invite $x_id"
b4=$(json_get c '.networks[0].members[] | select(.hostname == "beta") | .ipv4' status)
wait_for 10 "c to reach b" in_ns c ping -c 1 -W 1 "$b4"

log "a comes back, learns the code is used, and refuses it"
daemon_start a --relay "$RELAY_URL"
wait_for 20 "a to learn invite $x_id is used" invite_is a "$x_id" used
if ray_on d join "$x_code" 2>"$T_DIR/d-used.err"; then fail "a used invite admitted d at a"; fi
grep -q "used already" "$T_DIR/d-used.err" || fail "d: $(cat "$T_DIR/d-used.err")"
json_get d '.networks | length == 0' status >/dev/null || fail "d is in a network"
members=$(json_get a '.networks[0].members | length' status)
[ "$members" -le 3 ] || fail "a lists $members members"

log "b mints a code, a revokes it, b refuses it"
json_get b . invite net4 >"$T_DIR/y.json"
y_id=$(jq -r .id "$T_DIR/y.json")
y_code=$(jq -r .code "$T_DIR/y.json")
wait_for 10 "a to have b's invite $y_id" invite_is a "$y_id" open
run ray_on a invite net4 --revoke "$y_id"
wait_for 10 "b to learn invite $y_id is revoked" invite_is b "$y_id" revoked
if ray_on d join "$y_code" 2>"$T_DIR/d-revoked.err"; then fail "a revoked invite admitted d"; fi
grep -q "revoked" "$T_DIR/d-revoked.err" || fail "d: $(cat "$T_DIR/d-revoked.err")"

log "the early code, redeemed at a, is burned at b too"
run ray_on d join "$(jq -r .code "$T_DIR/early.json")" --hostname delta >/dev/null
wait_for 10 "b to burn the early invite" invite_is b "$early" used
invite_is a "$early" used || fail "a did not burn its early invite"

# ids NODE: the sorted member ids of net4 in NODE's roster
ids() { json_get "$1" '[.networks[0].members[].id] | sort | join(" ")' status; }
ids_are() { [ "$(ids "$1")" = "$2" ]; }
race_round() {
	local r=$1 x=r${1}x y=r${1}y id code rotated before want rc_x rc_y pid_x pid_y winner loser
	log "round $r: $x redeems a's new code at a, $y the same code at b, at once"
	json_get a . invite net4 >"$T_DIR/race-$r.json"
	id=$(jq -r .id "$T_DIR/race-$r.json")
	code=$(jq -r .code "$T_DIR/race-$r.json")
	wait_for 10 "b to have invite $id" invite_is b "$id" open
	rotated=$("$HELPERS/invite_rotate" "$code")
	before=$(ids a)
	wait_for 10 "b to have a's roster" ids_are b "$before"
	timeout 40 ip netns exec "$T_ID-$x" "$RAY" --socket "$(node_socket "$x")" join "$code" \
		>"$T_DIR/join-$x.out" 2>"$T_DIR/join-$x.err" &
	pid_x=$!
	timeout 40 ip netns exec "$T_ID-$y" "$RAY" --socket "$(node_socket "$y")" join "$rotated" \
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
	grep -q "used already" "$T_DIR/join-$loser.err" ||
		fail "round $r: $loser failed without 'used already': $(cat "$T_DIR/join-$loser.err")"
	want=$(printf '%s\n' $before "${NODE_ID[$winner]}" | sort | tr '\n' ' ')
	want=${want% }
	wait_for 10 "a to list $winner" ids_are a "$want"
	wait_for 10 "b to list $winner" ids_are b "$want"
	sleep 1 # no late admission of the loser at either
	ids_are a "$want" || fail "round $r: a lists $(ids a)"
	ids_are b "$want" || fail "round $r: b lists $(ids b)"
	json_get "$loser" '.networks | length == 0' status >/dev/null || fail "$loser is in a network"
	invite_is a "$id" used || fail "round $r: invite $id is not used at a"
	invite_is b "$id" used || fail "round $r: invite $id is not used at b"
	log "round $r: $winner joined, $loser was refused"
}
for r in $(seq "$ROUNDS"); do
	race_round "$r"
done

log "ledgers survive a restart; the coordinators now hold each claim a while, so two cross"
daemon_stop a
daemon_stop b
RAYFISH_TEST_CLAIM_DELAY_MS=1500 daemon_start a
RAYFISH_TEST_CLAIM_DELAY_MS=1500 daemon_start b
for n in a b; do
	invite_is "$n" "$x_id" used || fail "$n forgot invite $x_id"
	invite_is "$n" "$y_id" revoked || fail "$n forgot invite $y_id"
done
wait_for 20 "a and b to reach each other" in_ns a ping -c 1 -W 1 \
	"$(json_get a '.networks[0].members[] | select(.hostname == "beta") | .ipv4' status)"
for r in $(seq $((ROUNDS + 1)) "$CROSSED_ROUNDS"); do
	race_round "$r"
done
# a crossing ends in one of these (a held claim is either given up on
# hearing the other's, or refused by the other's that is held)
grep -qE "is claimed at|is used at another coordinator" "$T_DIR/a.log" "$T_DIR/b.log" ||
	fail "no two claims crossed"

for n in a b c d "${racers[@]}"; do
	daemon_stop "$n"
done
log "PASS networks_gossip"
