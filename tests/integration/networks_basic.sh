#!/bin/bash
# Networks (issue 5), the first slice: A creates a closed network and invites
# B (plain code) and C (code bound to a hostname); all three reach each other
# by mesh IPv4 through the relay and directly; `ray status` lists everyone;
# a used or expired invite is refused with its own message; an open network
# admits by room id, a closed one queues the request for a coordinator to
# accept or deny (the joiner's daemon restarts while it waits and still gets
# in with no command); every daemon
# (one SIGKILLed) comes back into the network with no command.
#
#   relay 198.18.0.1 ── inet bridge ── a 198.18.0.2, b .3, c .4, d .5
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

nat_inet
nat_relay
nat_public_nodes 2 a b c d e

log "a creates a closed network"
ray_on a create --name net1 --hostname alpha --json >"$T_DIR/create.json"
jq -e '.name == "net1" and .hostname == "alpha" and (.room_id | length) == 52 and
	.open == false' "$T_DIR/create.json" >/dev/null || fail "create: $(cat "$T_DIR/create.json")"
run ray_on a status

log "a invites b, and c with a bound hostname"
code_b=$(json_get a .code invite net1)
code_c=$(json_get a .code invite net1 --hostname gamma)
log "invite code: $code_b (${#code_b} characters)"

log "b and c join"
run ray_on b join "$code_b" --hostname beta
run ray_on c join "$code_c"
json_get c '.networks[0].hostname == "gamma"' status >/dev/null || fail "c did not get its bound hostname"

ip_of() { json_get "$1" ".networks[0].members[] | select(.hostname == \"$2\") | .ipv4" status; }
members_on() { json_get "$1" '.networks[0].members | length' status; }
# has_members NODE COUNT: for wait_for (a $(...) argument would be read once)
has_members() { [ "$(members_on "$1")" = "$2" ]; }
wait_for 10 "b to see all three members" has_members b 3
wait_for 10 "a to see all three members" has_members a 3
a4=$(ip_of b alpha)
b4=$(ip_of a beta)
c4=$(ip_of a gamma)
log "alpha $a4, beta $b4, gamma $c4"
for pair in "a $b4" "a $c4" "b $a4" "b $c4" "c $a4" "c $b4"; do
	set -- $pair
	wait_for 10 "$1 to ping $2" in_ns "$1" ping -c 1 -W 1 "$2"
done
run ray_on b status
run ray_on b ping alpha -c 1
run ray_on b ping gamma.net1 -c 1

log "a used invite and an expired one are refused, each with its reason"
if ray_on d join "$code_b" 2>"$T_DIR/used.err"; then fail "a used invite admitted d"; fi
grep -q "used already" "$T_DIR/used.err" || fail "used invite: $(cat "$T_DIR/used.err")"
code_x=$(json_get a .code invite net1 --expires 1s)
sleep 1.5
if ray_on d join "$code_x" 2>"$T_DIR/expired.err"; then fail "an expired invite admitted d"; fi
grep -q "expired" "$T_DIR/expired.err" || fail "expired invite: $(cat "$T_DIR/expired.err")"
if ray_on d join "ray1-notacode" 2>"$T_DIR/bad.err"; then fail "garbage admitted d"; fi
grep -q "invalid invite code" "$T_DIR/bad.err" || fail "bad code: $(cat "$T_DIR/bad.err")"
if in_ns d ping -c 1 -W 1 "$a4" >/dev/null 2>&1; then fail "d, not a member, reaches a"; fi

log "join by room id: an open network admits at once"
room2=$(json_get a .room_id create --open --name pub)
run ray_on d join "$room2" --hostname delta
wait_for 10 "d to ping a through the open network" in_ns d ping -c 1 -W 1 "$a4"
if in_ns d ping -c 1 -W 1 "$b4" >/dev/null 2>&1; then fail "d reaches b, who is not in pub"; fi

log "join by room id, closed network: the request waits; denied for d, accepted for e"
room1=$(json_get a '.networks[] | select(.name == "net1") | .room_id' status)
ray_on d join "$room1" >"$T_DIR/d-join.txt" || fail "d's request failed: $(cat "$T_DIR/d-join.txt")"
grep -q "approval" "$T_DIR/d-join.txt" || fail "d was not told to wait: $(cat "$T_DIR/d-join.txt")"
ray_on e join "$room1" --hostname echo >/dev/null
has_request() { json_get a "[.requests[].hostname] | index(\"$1\") != null" requests net1; }
wait_for 10 "a to list e's request" has_request echo
log "e's daemon restarts while its request waits, and keeps asking"
json_get e ".pending_joins[0].room_id == \"$room1\"" status >/dev/null ||
	fail "e lists no pending join: $(ray_on e status --json | jq -c .pending_joins)"
daemon_stop e
[ -e "$(node_state e)/joins/$room1.json" ] || fail "e's waiting join is not on disk"
[ "$(stat -c %a "$(node_state e)/joins/$room1.json")" = 600 ] || fail "e's join file is not 0600"
daemon_start e
json_get e "[.pending_joins[].room_id] | index(\"$room1\") != null" status >/dev/null ||
	fail "e forgot its pending join"
run ray_on e status
run ray_on a requests net1
run ray_on a requests net1 deny "$(json_get d .id status)"
run ray_on a requests net1 accept echo
wait_for 20 "e to join net1 once approved" json_get e '.networks[0].name == "net1"' status
json_get e '.pending_joins | length == 0' status >/dev/null || fail "e still lists a pending join"
[ ! -e "$(node_state e)/joins/$room1.json" ] || fail "e's join file outlived the join"
e4=$(json_get a '.networks[] | select(.name == "net1") | .members[] | select(.hostname == "echo") | .ipv4' status)
wait_for 10 "b to reach e" in_ns b ping -c 1 -W 1 "$e4"
sleep 6 # d asks again meanwhile and is refused
json_get d '[.networks[].name] | index("net1") == null' status >/dev/null || fail "d got into net1"
json_get d '.pending_joins | length == 0' status >/dev/null || fail "d, denied, still waits"
[ ! -e "$(node_state d)/joins/$room1.json" ] || fail "d's join file outlived the refusal"
if in_ns d ping -c 1 -W 1 "$b4" >/dev/null 2>&1; then fail "d, denied, reaches b"; fi

log "restart: a and b stop, c is killed; all come back into net1 by themselves"
daemon_stop a
daemon_stop b
kill -KILL "${DAEMON_PID[c]}"
wait_gone "${DAEMON_PID[c]}" 10
for n in a b c; do
	daemon_start "$n"
done
for pair in "a $b4" "b $c4" "c $a4"; do
	set -- $pair
	wait_for 20 "$1 to ping $2 after the restart" in_ns "$1" ping -c 1 -W 1 "$2"
done

for n in a b c d e; do
	daemon_stop "$n"
done
log "PASS networks_basic"
