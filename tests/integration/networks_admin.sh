#!/bin/bash
# Co-coordinators (issue 5): a grants b the network key; with a stopped, b
# invites c and admits it, and c reaches b; d joins with a reusable key a
# minted (it rides the signed roster, so b admits it); when a comes back it
# learns of c.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nat_lib.sh"

nat_inet
nat_relay
nat_public_nodes 2 a b c d

run ray_on a create --name net3 --hostname alpha >/dev/null
run ray_on b join "$(json_get a .code invite net3)" --hostname beta >/dev/null
b4=$(json_get a '.networks[0].members[] | select(.hostname == "beta") | .ipv4' status)
wait_for 10 "a to reach b" in_ns a ping -c 1 -W 1 "$b4"

log "a makes b a coordinator"
if ray_on c admin add net3 beta 2>/dev/null; then fail "a non-member granted a key"; fi
run ray_on a admin add net3 beta
json_get b '.networks[0].role == "coordinator"' status >/dev/null || fail "b is not a coordinator"
wait_for 5 "b's roster to list it as coordinator" json_get b \
	'.networks[0].members[] | select(.hostname == "beta") | .coordinator' status
run ray_on a admin list net3

fleet=$(json_get a .code invite net3 --reusable --hostname printer)
# b re-reads the roster on a's SYNC; d's join through b below proves it has
# the key (it is in no ledger of b's)
version_a=$(json_get a .networks[0].version status)
wait_for 15 "b to have a's roster with the key" json_get b ".networks[0].version == $version_a" status

log "a stops; b invites and admits c"
daemon_stop a
code=$(json_get b .code invite net3)
run ray_on c join "$code" --hostname gamma
b4=$(json_get c '.networks[0].members[] | select(.hostname == "beta") | .ipv4' status)
wait_for 10 "c to reach b" in_ns c ping -c 1 -W 1 "$b4"

log "d joins with a's fleet key, which b finds in the signed roster"
ray_on d join "$fleet" >"$T_DIR/d-join.txt" || fail "fleet key: $(cat "$T_DIR/d-join.txt")"
json_get d '.networks[0].hostname == "printer"' status >/dev/null || fail "d is not printer"

log "a comes back and learns of c from the signed record"
daemon_start a
has_gamma() { json_get a '.networks[0].members | map(.hostname) | index("gamma") != null' status; }
wait_for 40 "a to see gamma" has_gamma
c4=$(json_get a '.networks[0].members[] | select(.hostname == "gamma") | .ipv4' status)
wait_for 10 "a to reach c" in_ns a ping -c 1 -W 1 "$c4"

for n in a b c d; do
	daemon_stop "$n"
done
log "PASS networks_admin"
