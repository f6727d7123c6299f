#!/bin/bash
# Invite gossip between co-coordinators (issue 5): a grants b the network
# key and b gets a's invites; a single-use code a minted is redeemed through
# b while a is stopped; when a comes back it learns the code is used and
# refuses it; a code b minted and a revoked is refused by b.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

nat_inet
nat_relay
nat_public_nodes 2 a b c d

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

log "ledgers survive a restart"
daemon_stop b
daemon_start b --relay "$RELAY_URL"
invite_is b "$x_id" used || fail "b forgot invite $x_id"
invite_is b "$y_id" revoked || fail "b forgot invite $y_id"

for n in a b c d; do
	daemon_stop "$n"
done
log "PASS networks_gossip"
