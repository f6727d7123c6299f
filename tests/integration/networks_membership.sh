#!/bin/bash
# Networks (issue 5): renames, invites listed and revoked, a member kicked,
# one leaving, and the network dissolved. A revoked invite is refused with its own message; after a kick
# the removed node reaches nobody and the others drop it from their rosters;
# after a leave the coordinator prunes the leaver.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

nat_inet
nat_relay
nat_public_nodes 2 a b c d

run ray_on a create --name net2 --hostname alpha >/dev/null
for n in b c d; do
	code=$(json_get a .code invite net2 --hostname "host-$n")
	run ray_on "$n" join "$code" >/dev/null
done
members_on() { json_get "$1" '.networks[0].members | length' status; }
# has_members NODE COUNT: for wait_for (a $(...) argument would be read once)
has_members() { [ "$(members_on "$1")" = "$2" ]; }
ip_of() { json_get a ".networks[0].members[] | select(.hostname == \"$1\") | .ipv4" status; }
for n in a b c d; do
	wait_for 10 "$n to see four members" has_members $n 4
done
a4=$(ip_of alpha)
b4=$(ip_of host-b)
c4=$(ip_of host-c)
wait_for 10 "c reaches a" in_ns c ping -c 1 -W 1 "$a4"
wait_for 10 "c reaches b" in_ns c ping -c 1 -W 1 "$b4"

log "rename: b asks for a's name and gets alpha-1, everyone sees it within 5 s"
json_get b '.hostname == "alpha-1"' hostname net2 alpha >/dev/null || fail "b was not renamed to alpha-1"
has_host() { json_get "$1" ".networks[0].members | map(.hostname) | index(\"$2\") != null" status; }
for n in a c d; do
	wait_for 5 "$n to see alpha-1" has_host "$n" alpha-1
done
if has_host a host-b >/dev/null; then fail "the old name host-b is still listed"; fi
json_get a '.hostname == "boss"' hostname net2 boss >/dev/null || fail "the coordinator cannot rename itself"
wait_for 5 "c to see boss" has_host c boss

log "invites: listed, one revoked and refused"
code_r=$(json_get a .code invite net2)
id_r=$(json_get a '.invites | map(select(.state == "open")) | .[0].id' invite net2 --list)
run ray_on a invite net2 --list
run ray_on a invite net2 --revoke "$id_r"
json_get a ".invites[] | select(.id == $id_r) | .state == \"revoked\"" invite net2 --list >/dev/null ||
	fail "the invite is not listed as revoked"
nat_public_nodes 9 e
if ray_on e join "$code_r" 2>"$T_DIR/revoked.err"; then fail "a revoked invite admitted e"; fi
grep -q "revoked" "$T_DIR/revoked.err" || fail "revoked invite: $(cat "$T_DIR/revoked.err")"

log "kick c: it reaches nobody, and everyone's roster drops it"
run ray_on a kick net2 host-c
for n in a b d; do
	wait_for 10 "$n to see three members" has_members $n 3
done
wait_for 10 "c cut off from a" sh -c "! ip netns exec $T_ID-c ping -c 1 -W 1 $a4"
if in_ns c ping -c 2 -W 1 "$b4" >/dev/null 2>&1; then fail "c still reaches b after the kick"; fi
in_ns a ping -c 1 -W 2 "$b4" >/dev/null || fail "a and b lost each other"

log "d leaves: the coordinator prunes it"
run ray_on d leave net2
json_get d ".networks | length == 0" status >/dev/null || fail "d still lists the network: $(ray_on d status --json | jq -c .networks)"
wait_for 10 "a to drop d" has_members a 2
wait_for 10 "b to drop d" has_members b 2

log "a dissolves net2: b removes it"
run ray_on a nuke net2
json_get a '.networks | length == 0' status >/dev/null || fail "a still lists net2"
wait_for 10 "b to remove net2" json_get b '.networks | length == 0' status
if in_ns a ping -c 1 -W 1 "$b4" >/dev/null 2>&1; then fail "a still reaches b after the nuke"; fi

for n in a b c d e; do
	daemon_stop "$n"
done
log "PASS networks_membership"
